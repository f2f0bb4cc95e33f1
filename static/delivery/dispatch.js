/* The dispatch board's map (Leaflet, vendored): the store, each route's stops numbered in its colour and joined
   in order, and the waiting orders as grey dots. "Plan all waiting orders" says it is planning while the
   planner works (the page reloads with the result). */
(function () {
  "use strict";

  function drawMap() {
    var element = document.getElementById("dispatch-map");
    var source = document.getElementById("dispatch-map-data");
    if (!element || !source || typeof L === "undefined") return;
    var data = JSON.parse(source.textContent);
    var map = L.map(element, { zoomControl: true, attributionControl: false });
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
    if (bounds.isValid()) {
      map.fitBounds(bounds.pad(0.15));
    } else {
      map.setView([39.5, -98.35], 4);
    }
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
