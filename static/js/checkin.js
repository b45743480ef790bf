// Check-in: ask the phone for its position; if it refuses, the inspector says why.
(function () {
  "use strict";
  var form = document.querySelector("[data-geo]");
  if (!form) return;
  var status = form.querySelector("[data-geo-status]");
  var reasonBox = form.querySelector("[data-geo-reason]");
  var locate = form.querySelector("[data-geo-locate]");
  var lat = form.querySelector("#lat"), lon = form.querySelector("#lon"), acc = form.querySelector("#accuracy");
  var farBox = form.querySelector("[data-geo-far]");
  var texts = {
    zh: { asking: "正在获取位置…", ok: "已定位:精度约 {a} 米", denied: "无法获取位置({e})。请在下方说明原因后签到。",
          why: { 1: "未允许定位", 2: "位置不可用", 3: "定位超时", unsupported: "浏览器不支持定位" } },
    en: { asking: "Getting your position…", ok: "Position found: accurate to about {a} m", denied: "No position ({e}). Say why below, then check in.",
          why: { 1: "location not allowed", 2: "position unavailable", 3: "timed out", unsupported: "not supported by this browser" } }
  };
  var t = texts[document.documentElement.lang === "en" ? "en" : "zh"];

  function ask() {
    if (!navigator.geolocation) { fail(t.why.unsupported); return; }
    status.textContent = t.asking;
    navigator.geolocation.getCurrentPosition(function (pos) {
      lat.value = pos.coords.latitude.toFixed(6);
      lon.value = pos.coords.longitude.toFixed(6);
      acc.value = Math.round(pos.coords.accuracy);
      status.textContent = t.ok.replace("{a}", acc.value);
      status.className = "geo-status ok";
      reasonBox.hidden = true;
      showFar(window.checkinPlace(form, parseFloat(lat.value), parseFloat(lon.value), parseFloat(acc.value)));
    }, function (err) { fail(t.why[err && err.code] || t.why[2]); },  // err.message is the browser's English
    { enableHighAccuracy: true, timeout: 15000, maximumAge: 60000 });
  }
  // Far from the outlet: say so and ask why (the server refuses the check-in without a reason).
  function showFar(place) {
    if (!farBox) return;
    farBox.hidden = !(place && place.far);
    if (place && place.far) {
      status.textContent = form.dataset.msgFar.replace("{m}", Math.round(place.meters)).replace("{r}", place.radius);
      status.className = "geo-status warn";
      farBox.querySelector("textarea").focus();
    }
  }
  function fail(message) {
    if (farBox) farBox.hidden = true;
    lat.value = lon.value = acc.value = "";
    status.textContent = t.denied.replace("{e}", message);
    status.className = "geo-status warn";
    reasonBox.hidden = false;
  }
  locate.addEventListener("click", ask);
  ask();
})();
