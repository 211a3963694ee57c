// Maps: a neighbourhood outline, or a pin to place on one's home. Everything works without this file.
(function () {
  "use strict";
  function ready(fn) { if (document.readyState !== "loading") fn(); else document.addEventListener("DOMContentLoaded", fn); }
  ready(function () {
    var el = document.getElementById("map");
    if (!el || !window.L) return;
    var map = L.map(el, { scrollWheelZoom: false }).setView([48.8566, 2.3522], 12);
    if (el.dataset.tiles) {
      L.tileLayer(el.dataset.tiles, { maxZoom: 19, attribution: el.dataset.attribution || "" }).addTo(map);
    }
    if (el.dataset.geometry) {
      var layer = L.geoJSON(JSON.parse(el.dataset.geometry), { style: { color: "#0b5cad", weight: 2 } }).addTo(map);
      map.fitBounds(layer.getBounds());
    }
    if (!el.dataset.pick) return;
    var latField = document.getElementById(el.dataset.latField);
    var lonField = document.getElementById(el.dataset.lonField);
    var marker = null;
    function place(lat, lon, zoom) {
      if (marker) marker.setLatLng([lat, lon]); else marker = L.marker([lat, lon], { keyboard: true }).addTo(map);
      latField.value = (+lat).toFixed(6); lonField.value = (+lon).toFixed(6);
      if (zoom) map.setView([lat, lon], 17);
    }
    if (el.dataset.outlines) {
      fetch(el.dataset.outlines).then(function (r) { return r.json(); }).then(function (fc) {
        var outlines = L.geoJSON(fc, { style: { color: "#0b5cad", weight: 1, fillOpacity: 0.05 },
          onEachFeature: function (f, l) { l.bindTooltip(f.properties.name); } }).addTo(map);
        var bounds = outlines.getBounds();
        if (!latField.value && bounds.isValid()) map.fitBounds(bounds);  // none yet on a fresh install
        outlines.on("click", function (e) { place(e.latlng.lat, e.latlng.lng, false); });
      });
    }
    if (latField.value && lonField.value) place(latField.value, lonField.value, true);
    map.on("click", function (e) { place(e.latlng.lat, e.latlng.lng, false); });
    document.addEventListener("click", function (e) {
      var button = e.target.closest && e.target.closest("button.candidate");
      if (!button) return;
      var address = document.getElementById("id_address");
      if (address) address.value = button.dataset.label;
      place(button.dataset.lat, button.dataset.lon, true);
      document.getElementById("suggestions").innerHTML = "";
      if (address) address.focus();  // the focused suggestion is gone: keep keyboard users in the form
    });
    var geolocate = document.getElementById("geolocate");
    if (geolocate && navigator.geolocation) {
      geolocate.addEventListener("click", function () {
        navigator.geolocation.getCurrentPosition(function (p) { place(p.coords.latitude, p.coords.longitude, true); });
      });
    }
  });
})();
