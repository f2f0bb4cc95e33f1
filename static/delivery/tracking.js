/* The customer's tracking page: asks the server every ~20 s how the order stands (the same link's status.json)
   and updates the words, the estimate and the map. The map (Leaflet, vendored) appears only while the server
   sends the driver's position, that is while the driver is on the way to this customer; it draws the driver and
   the address as vectors on a plain background, or on the configured tiles. When the status changes (delivered,
   not delivered) the page reloads to show what is new (the receipt). */
(function () {
  "use strict";

  var main = document.querySelector("[data-tracking]");
  if (!main) return;
  var dataNode = document.getElementById("trk-data");
  var tilesNode = document.getElementById("trk-tiles");
  var state = dataNode ? JSON.parse(dataNode.textContent) : {};
  var tiles = tilesNode ? JSON.parse(tilesNode.textContent) : {};
  var url = main.getAttribute("data-refresh-url");
  var seconds = parseInt(main.getAttribute("data-refresh-seconds"), 10) || 20;
  var map = null;
  var driver = null;
  var home = null;
  var line = null;

  function text(selector, value) {
    var node = main.querySelector(selector);
    if (node) node.textContent = value || "";
    return node;
  }

  function drawMap(position, destination, name) {
    var wrap = main.querySelector("[data-map-wrap]");
    if (!position || typeof L === "undefined") {
      if (wrap) wrap.hidden = true;
      return;
    }
    wrap.hidden = false;
    var here = [position.latitude, position.longitude];
    var there = destination ? [destination.latitude, destination.longitude] : null;
    if (!map) {
      map = L.map("trk-map", { zoomControl: true, attributionControl: Boolean(tiles.url) });
      if (tiles.url) {
        L.tileLayer(tiles.url, { attribution: tiles.attribution || "", maxZoom: 19 }).addTo(map);
      }
      var icon = L.divIcon({ className: "", html: '<span class="trk-driver"></span>', iconSize: [22, 22], iconAnchor: [11, 11] });
      driver = L.marker(here, { icon: icon, title: name || "Your driver", keyboard: false }).addTo(map);
      driver.bindTooltip(name || "Your driver", { permanent: true, direction: "top", offset: [0, -12] });
      if (there) {
        home = L.circleMarker(there, { radius: 9, color: "#166534", weight: 3, fillColor: "#22c55e", fillOpacity: 1 })
          .bindTooltip("You", { permanent: true, direction: "top", offset: [0, -8] }).addTo(map);
        line = L.polyline([here, there], { color: "#2563eb", weight: 3, dashArray: "6 6", opacity: 0.8 }).addTo(map);
      }
    } else {
      driver.setLatLng(here);
      if (line && there) line.setLatLngs([here, there]);
    }
    var bounds = L.latLngBounds([here]);
    if (there) bounds.extend(there);
    map.invalidateSize();
    map.fitBounds(bounds.pad(0.35), { maxZoom: 16 });
  }

  function show(data) {
    if (data.status !== state.status) {
      window.location.reload();
      return;
    }
    state = data;
    text("[data-headline]", data.headline);
    text("[data-detail]", data.detail);
    var eta = text("[data-eta]", data.eta_text);
    if (eta) {
      eta.hidden = !data.eta_text;
      eta.classList.toggle("trk__eta--late", Boolean(data.late));
    }
    text("[data-position-time]", data.position ? data.driver_first_name + "'s position at " + data.position.recorded_label + "." : "");
    drawMap(data.position, data.destination, data.driver_first_name);
  }

  function refresh() {
    fetch(url, { headers: { Accept: "application/json" }, credentials: "omit", cache: "no-store" })
      .then(function (response) {
        if (!response.ok) throw new Error(String(response.status));
        return response.json();
      })
      .then(function (data) {
        show(data);
        text("[data-updated]", "Updated at " + new Date().toLocaleTimeString([], { hour: "numeric", minute: "2-digit" }) + ". This page updates by itself.");
      })
      .catch(function () {
        text("[data-updated]", "Could not update just now; trying again shortly.");
      })
      .then(function () {
        window.setTimeout(refresh, seconds * 1000);
      });
  }

  function start() {
    drawMap(state.position, state.destination, state.driver_first_name);
    window.setTimeout(refresh, seconds * 1000);
  }

  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", start);
  } else {
    start();
  }
})();
