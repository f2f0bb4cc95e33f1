/* The delivery zones map (Leaflet, vendored): draws the store, its zones and excluded places on a plain
   background (or the configured tile layer), and edits one zone's outline: click the map to add a corner, drag a
   corner to move it, click a corner to remove it. The outline is written as a GeoJSON Polygon into the form's
   geometry field, which also accepts a pasted outline. "Place an excluded place" fills in a point instead. */
(function () {
  "use strict";

  function start() {
    var element = document.getElementById("zones-map");
    var source = document.getElementById("zones-map-data");
    if (!element || !source || typeof L === "undefined") return;
    var data = JSON.parse(source.textContent);
    var field = document.querySelector("[data-zone-geometry]");
    var counter = document.querySelector("[data-zone-corners]");
    var checkForm = document.querySelector("[data-check-form]");
    var checkLatitude = document.querySelector("[data-check-latitude]");
    var checkLongitude = document.querySelector("[data-check-longitude]");
    var latitudeInput = document.querySelector("[data-place-latitude]");
    var longitudeInput = document.querySelector("[data-place-longitude]");
    var radiusInput = document.querySelector("[data-place-radius]");

    var map = L.map(element, { zoomControl: true, attributionControl: Boolean(data.tiles.url) });
    if (data.tiles.url) {
      L.tileLayer(data.tiles.url, { attribution: data.tiles.attribution || "", maxZoom: 19 }).addTo(map);
    }
    var bounds = L.latLngBounds([]);
    var layers = []; // added once the map has a view (Leaflet draws a layer only then)

    data.zones.forEach(function (zone) {
      if (zone.id === data.editing) return; // drawn as the editable outline below
      var layer = L.geoJSON(zone.geometry, {
        style: zone.active
          ? { color: "#166534", weight: 2, fillColor: "#16a34a", fillOpacity: 0.15 }
          : { color: "#6b7280", weight: 2, dashArray: "6 4", fillOpacity: 0.05 },
      });
      layers.push(layer);
      layer.bindTooltip(zone.label + (zone.active ? "" : " (inactive)"), { sticky: true });
      bounds.extend(layer.getBounds());
    });
    data.places.forEach(function (place) {
      var layer;
      var style = { color: "#b91c1c", weight: 2, fillColor: "#ef4444", fillOpacity: 0.25 };
      if (place.geometry) {
        layer = L.geoJSON(place.geometry, { style: style });
      } else {
        layer = L.circle([place.latitude, place.longitude], Object.assign({ radius: place.radius_m }, style));
      }
      layers.push(layer);
      layer.bindTooltip(place.name + " (" + place.kind + "): no deliveries", { sticky: true });
      // A circle knows its bounds only once the map has a view: from its centre and radius instead.
      bounds.extend(place.geometry ? layer.getBounds()
        : L.latLng(place.latitude, place.longitude).toBounds(place.radius_m * 2));
    });
    if (data.check) {
      var checked = [data.check.latitude, data.check.longitude];
      var checkMarker = L.circleMarker(checked, { radius: 7, color: "#111827", weight: 3, fillColor: "#fbbf24", fillOpacity: 1 });
      checkMarker.bindTooltip("Checked point", { direction: "top" });
      layers.push(checkMarker);
      bounds.extend(checked);
    }
    if (data.store.latitude !== null) {
      var storePoint = [data.store.latitude, data.store.longitude];
      var storeMarker = L.circleMarker(storePoint, { radius: 8, color: "#1e3a8a", weight: 2, fillColor: "#1d4ed8", fillOpacity: 1 });
      layers.push(storeMarker);
      storeMarker.bindTooltip(data.store.name, { permanent: true, direction: "auto", offset: [10, 0], className: "dz-label" });
      bounds.extend(storePoint);
    }

    // --- The outline being drawn or edited ---------------------------------------------------------
    var corners = [];
    var outline = L.polygon([], { color: "#1d4ed8", weight: 3, fillColor: "#3b82f6", fillOpacity: 0.2 });
    var markers = L.layerGroup();

    function writeField() {
      if (counter) counter.textContent = String(corners.length);
      if (!field) return;
      if (corners.length < 3) {
        field.value = "";
        return;
      }
      var ring = corners.map(function (c) { return [round(c.lng), round(c.lat)]; });
      ring.push(ring[0].slice());
      field.value = JSON.stringify({ type: "Polygon", coordinates: [ring] });
    }

    function round(value) { return Math.round(value * 1e6) / 1e6; }

    function redraw() {
      // An empty outline is kept off the map: Leaflet cannot draw a polygon without points.
      outline.setLatLngs(corners);
      if (corners.length && !map.hasLayer(outline)) outline.addTo(map);
      if (!corners.length && map.hasLayer(outline)) map.removeLayer(outline);
      markers.clearLayers();
      corners.forEach(function (corner, index) {
        var marker = L.marker(corner, {
          draggable: true,
          keyboard: true,
          title: "Corner " + (index + 1) + ": drag to move, click to remove",
          icon: L.divIcon({ className: "dz-vertex" + (index === 0 ? " dz-vertex--first" : ""), iconSize: null }),
        });
        marker.on("drag", function (event) {
          corners[index] = event.target.getLatLng();
          outline.setLatLngs(corners);
        });
        marker.on("dragend", function () { writeField(); });
        marker.on("click", function () {
          corners.splice(index, 1);
          redraw();
          writeField();
        });
        markers.addLayer(marker);
      });
    }

    function loadFromField() {
      corners = [];
      if (!field || !field.value.trim()) return;
      try {
        var geometry = JSON.parse(field.value);
        var ring = geometry.type === "Polygon" ? geometry.coordinates[0]
          : geometry.type === "MultiPolygon" ? geometry.coordinates[0][0] : null;
        if (!ring) return;
        ring.slice(0, ring.length - 1).forEach(function (point) { corners.push(L.latLng(point[1], point[0])); });
      } catch (error) {
        corners = []; // a pasted outline that is not JSON is left for the server to explain
      }
    }

    loadFromField();
    corners.forEach(function (corner) { bounds.extend(corner); });
    if (bounds.isValid()) {
      map.fitBounds(bounds.pad(0.08));
    } else {
      map.setView([39.5, -98.35], 4); // the whole country, until something is on the map
    }
    layers.forEach(function (layer) { layer.addTo(map); });
    markers.addTo(map);
    redraw();
    if (counter) counter.textContent = String(corners.length);
    if (field) {
      field.addEventListener("change", function () { loadFromField(); redraw(); if (counter) counter.textContent = String(corners.length); });
    }

    // --- Modes: drawing a zone, or placing an excluded place ------------------------------------
    var mode = "draw";
    var placePreview = null;
    var modeButtons = document.querySelectorAll("[data-zone-mode]");
    function setMode(next) {
      mode = next;
      element.classList.toggle("is-drawing", mode === "draw");
      element.classList.toggle("is-placing", mode === "place" || mode === "check");
      modeButtons.forEach(function (button) {
        button.setAttribute("aria-pressed", String(button.getAttribute("data-zone-mode") === mode));
      });
    }
    modeButtons.forEach(function (button) {
      button.addEventListener("click", function () { setMode(button.getAttribute("data-zone-mode")); });
    });
    setMode(data.check ? "check" : "draw");

    map.on("click", function (event) {
      if (mode === "draw") {
        corners.push(event.latlng);
        redraw();
        writeField();
        return;
      }
      if (mode === "check") {
        if (!checkForm || !checkLatitude || !checkLongitude) return;
        checkLatitude.value = round(event.latlng.lat).toFixed(6);
        checkLongitude.value = round(event.latlng.lng).toFixed(6);
        checkForm.submit();
        return;
      }
      if (!latitudeInput || !longitudeInput) return;
      latitudeInput.value = round(event.latlng.lat).toFixed(6);
      longitudeInput.value = round(event.latlng.lng).toFixed(6);
      var radius = parseInt(radiusInput && radiusInput.value, 10) || 300;
      if (placePreview) map.removeLayer(placePreview);
      placePreview = L.circle(event.latlng, { radius: radius, color: "#b91c1c", dashArray: "4 4", fillOpacity: 0.1 }).addTo(map);
    });

    var undo = document.querySelector("[data-zone-undo]");
    if (undo) undo.addEventListener("click", function () { corners.pop(); redraw(); writeField(); });
    var clear = document.querySelector("[data-zone-clear]");
    if (clear) clear.addEventListener("click", function () { corners = []; redraw(); writeField(); });
  }

  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", start);
  } else {
    start();
  }
})();
