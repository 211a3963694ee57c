// The help map: the requests and helpers already listed on the page, drawn at their approximate (blurred)
// positions. The list is the page's content; without this file (or without JavaScript) nothing is lost.
(function () {
  "use strict";
  function ready(fn) { if (document.readyState !== "loading") fn(); else document.addEventListener("DOMContentLoaded", fn); }

  function popup(item) {
    // Built as elements with textContent: what neighbours typed is never parsed as HTML.
    var box = document.createElement("div");
    var title = document.createElement(item.url ? "a" : "strong");
    if (item.url) title.href = item.url;
    title.textContent = item.label;
    box.appendChild(title);
    if (item.description) {
      var p = document.createElement("p");
      p.textContent = item.description;
      box.appendChild(p);
    }
    return box;
  }

  ready(function () {
    var el = document.getElementById("aid-map");
    var source = document.getElementById("aid-map-data");
    if (!el || !source || !window.L) return;
    var data = JSON.parse(source.textContent);
    el.hidden = false;
    var map = L.map(el, { scrollWheelZoom: false }).setView(data.centre, 15);
    if (el.dataset.tiles) {
      L.tileLayer(el.dataset.tiles, { maxZoom: 19, attribution: el.dataset.attribution || "" }).addTo(map);
    }
    var points = [data.centre];
    L.circleMarker(data.centre, { radius: 5, color: "#1d1d1f", weight: 2, fillOpacity: 0.2, className: "aid-me" })
      .bindTooltip(el.dataset.meLabel || "").addTo(map);
    (data.helpers || []).forEach(function (h) {
      L.circleMarker([h.lat, h.lon], { radius: 7, color: "#0a6b2d", weight: 2, fillOpacity: 0.5, className: "aid-helper" })
        .bindPopup(popup(h)).addTo(map);
      points.push([h.lat, h.lon]);
    });
    (data.requests || []).forEach(function (r) {
      L.circleMarker([r.lat, r.lon], { radius: 9, color: r.at_risk ? "#b00020" : "#0b5cad", weight: 2, fillOpacity: 0.6,
        className: "aid-request" }).bindPopup(popup(r)).addTo(map);
      points.push([r.lat, r.lon]);
    });
    if (points.length > 1) map.fitBounds(L.latLngBounds(points), { padding: [30, 30], maxZoom: 16 });
  });
})();
