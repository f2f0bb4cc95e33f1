/* The dispatch board's map (Leaflet, vendored): the store, each route's stops numbered in its colour and joined
   in order, and the waiting orders as grey dots; with live tracking, each driver on the road as a labelled car
   (first name, age of the fix), the route still to drive and the next stop ringed, refreshed every 15 s from
   the fleet JSON with the cards' arrivals and the alerts. Vectors only unless a tile server is configured.
   "Plan all waiting orders" says it is planning while the planner works (the page reloads with the result). */
(function () {
  "use strict";

  function drawMap() {
    var element = document.getElementById("dispatch-map");
    var source = document.getElementById("dispatch-map-data");
    if (!element || !source || typeof L === "undefined") return;
    var data = JSON.parse(source.textContent);
    var tiles = data.tiles || {};
    var map = L.map(element, { zoomControl: true, attributionControl: Boolean(tiles.url) });
    if (tiles.url) L.tileLayer(tiles.url, { attribution: tiles.attribution || "", maxZoom: 19 }).addTo(map);
    var bounds = L.latLngBounds([]);
    if (data.store.latitude !== null) {
      var home = [data.store.latitude, data.store.longitude];
      L.circleMarker(home, { radius: 9, color: "#111827", weight: 3, fillColor: "#facc15", fillOpacity: 1 })
        .bindTooltip(data.store.name + " (start and end of every route)").addTo(map);
      bounds.extend(home);
    }
    data.routes.forEach(function (route) {
      var line = data.store.latitude !== null ? [[data.store.latitude, data.store.longitude]] : [];
      route.stops.forEach(function (stop) {
        var at = [stop.latitude, stop.longitude];
        line.push(at);
        bounds.extend(at);
        var icon = L.divIcon({
          className: "",
          html: '<span class="dsp-marker" style="background:' + route.colour + '">' + stop.sequence + "</span>",
          iconSize: [24, 24],
          iconAnchor: [12, 12],
        });
        L.marker(at, { icon: icon, title: stop.label, keyboard: false }).bindTooltip(stop.label).addTo(map);
      });
      if (line.length > 1) {
        if (data.store.latitude !== null) line.push(line[0]);
        L.polyline(line, { color: route.colour, weight: 3, opacity: 0.7 }).bindTooltip(route.label).addTo(map);
      }
    });
    data.waiting.forEach(function (order) {
      var at = [order.latitude, order.longitude];
      bounds.extend(at);
      L.circleMarker(at, { radius: 6, color: "#374151", weight: 2, fillColor: "#9ca3af", fillOpacity: 0.9 })
        .bindTooltip(order.label).addTo(map);
    });
    var fleet = L.layerGroup().addTo(map);
    drawFleet(fleet, data.fleet, bounds);
    if (bounds.isValid()) {
      map.fitBounds(bounds.pad(0.15));
    } else {
      map.setView([39.5, -98.35], 4);
    }
    if (data.fleet_url) startPolling(data.fleet_url, fleet);
  }

  function escapeHtml(text) {
    return String(text).replace(/[&<>"']/g, function (c) {
      return { "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" }[c];
    });
  }

  // The drivers on the road: the route still to drive (dashed, from the car), the next stop ringed with its
  // arrival, and the car labelled with the driver's first name and how old the fix is.
  function drawFleet(layer, fleet, bounds) {
    layer.clearLayers();
    if (!fleet) return;
    (fleet.drivers || []).forEach(function (driver) {
      if (driver.route.length > 1) {
        L.polyline(driver.route, { color: driver.colour, weight: 5, opacity: 0.9, dashArray: "10 6" })
          .bindTooltip(driver.driver + ": route still to drive").addTo(layer);
      }
      var next = driver.next_stop;
      if (next) {
        var ring = L.divIcon({
          className: "",
          html: '<span class="dsp-next" style="background:' + driver.colour + '">' + next.sequence + "</span>",
          iconSize: [30, 30],
          iconAnchor: [15, 15],
        });
        var words = driver.driver + "'s next stop: " + next.sequence + ". " + next.customer + ", expected " + next.eta + " (" + next.words + ")";
        L.marker([next.latitude, next.longitude], { icon: ring, title: words, keyboard: false, zIndexOffset: 500 })
          .bindTooltip(words).addTo(layer);
        if (bounds) bounds.extend([next.latitude, next.longitude]);
      }
      if (driver.position) {
        var at = [driver.position.latitude, driver.position.longitude];
        var car = L.divIcon({
          className: "",
          html: '<span class="dsp-car' + (driver.position.fresh ? "" : " dsp-car--stale") + '" style="background:' + driver.colour +
            '" data-car="' + driver.trip + '">' + escapeHtml(driver.driver) + " <small>" + escapeHtml(driver.position.age) + "</small></span>",
          iconSize: null,
          iconAnchor: [12, 12],
        });
        var label = driver.driver + ", " + driver.vehicle + ": position " + driver.position.age + " (" + driver.position.time + ")";
        L.marker(at, { icon: car, title: label, keyboard: false, zIndexOffset: 1000 }).bindTooltip(label).addTo(layer);
        if (bounds) bounds.extend(at);
      }
    });
  }

  // The route cards' live lines and the alerts, from the same JSON.
  function updateCards(fleet) {
    (fleet.drivers || []).forEach(function (driver) {
      var box = document.querySelector('[data-live-trip="' + driver.trip + '"]');
      if (!box) return;
      var where = box.querySelector("[data-live-position]");
      if (where) {
        where.textContent = driver.position
          ? "Last position " + driver.position.age + " (" + driver.position.time + ")" + (driver.position.fresh ? "." : ": too old to be sure where the car is.")
          : "No position from the driver's phone yet.";
      }
      var summary = box.querySelector("[data-live-summary]");
      if (summary) {
        summary.textContent = driver.summary;
        summary.classList.toggle("dsp-live__summary--late", driver.late);
      }
      driver.stops.forEach(function (stop) {
        var line = document.querySelector('[data-stop-eta="' + stop.id + '"]');
        if (!line) return;
        line.textContent = stop.eta ? (stop.next ? "Next stop · " : "") + "Expected " + stop.eta + ": " + stop.words : stop.status_label;
        line.classList.toggle("dsp-stop__eta--late", stop.late_minutes > 0);
        line.classList.toggle("dsp-stop__eta--next", stop.next);
      });
    });
    var updated = document.querySelector("[data-fleet-updated]");
    if (updated && (fleet.drivers || []).length) updated.textContent = "Positions as of " + fleet.generated_label + ".";
    var section = document.querySelector("[data-alerts]");
    var list = section && section.querySelector("[data-alerts-list]");
    if (!list) return;
    var alerts = [];
    (fleet.drivers || []).forEach(function (driver) { alerts = alerts.concat(driver.alerts); });
    list.textContent = "";
    alerts.forEach(function (alert) {
      var item = document.createElement("li");
      item.className = "dsp-alert" + (alert.resolved ? " dsp-alert--resolved" : "");
      item.setAttribute("data-alert", alert.id);
      item.innerHTML =
        "<p><strong>" + escapeHtml(alert.kind_label) + "</strong> · " + escapeHtml(alert.raised_at) +
        (alert.resolved ? " · over since " + escapeHtml(alert.resolved_at) : "") + "</p>" +
        '<p class="small">' + escapeHtml(alert.message) + "</p>" +
        '<form method="post" action="' + escapeHtml(section.dataset.ackUrl.replace(/\/0\/acknowledge\/$/, "/" + alert.id + "/acknowledge/")) + '">' +
        '<input type="hidden" name="csrfmiddlewaretoken" value="' + escapeHtml(section.dataset.csrf) + '">' +
        '<input type="hidden" name="next" value="' + escapeHtml(section.dataset.next) + '">' +
        '<button class="btn btn--secondary btn--sm" type="submit">Acknowledge</button></form>';
      list.appendChild(item);
    });
    section.hidden = alerts.length === 0;
  }

  function startPolling(url, layer) {
    window.setInterval(function () {
      if (document.hidden) return;
      fetch(url, { credentials: "same-origin", headers: { Accept: "application/json" } })
        .then(function (response) {
          var type = response.headers.get("Content-Type") || "";
          return response.ok && type.indexOf("json") !== -1 ? response.json() : null;
        })
        .then(function (fleet) {
          if (!fleet) return;
          drawFleet(layer, fleet, null);
          updateCards(fleet);
        })
        .catch(function () {});
    }, 15000);
  }

  function planProgress() {
    var form = document.querySelector("[data-plan-form]");
    if (!form) return;
    form.addEventListener("submit", function () {
      var button = form.querySelector("[data-plan-button]");
      var status = form.querySelector("[data-plan-status]");
      if (button) {
        button.disabled = true;
        button.textContent = "Planning…";
      }
      if (status) status.textContent = "The planner is placing every waiting order; this takes a few seconds.";
    });
  }

  function start() {
    drawMap();
    planProgress();
  }

  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", start);
  } else {
    start();
  }
})();
