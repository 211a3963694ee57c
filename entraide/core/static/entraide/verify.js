// One-time geolocation check: fill the hidden fields from the browser and submit.
(function () {
  "use strict";
  document.addEventListener("DOMContentLoaded", function () {
    var button = document.getElementById("verify-geolocation");
    if (!button) return;
    if (!navigator.geolocation) { button.disabled = true; return; }
    button.addEventListener("click", function () {
      button.disabled = true;
      navigator.geolocation.getCurrentPosition(function (p) {
        document.getElementById("id_geo-lat").value = p.coords.latitude;
        document.getElementById("id_geo-lon").value = p.coords.longitude;
        document.getElementById("id_geo-accuracy_m").value = p.coords.accuracy;
        document.getElementById("geolocation-form").submit();
      }, function () { button.disabled = false; }, { enableHighAccuracy: true, timeout: 20000 });
    });
  });
})();
