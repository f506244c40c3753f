// Attendee pages: live ticket stock over the event websocket, the hold countdown, "use my location"
// and the receipt's print button. Everything here is an enhancement: the pages work without it.
(function () {
  "use strict";

  // Live stock: {"type": "stock", "item": tier_id, "available": n} from /ws/events/<id>/.
  function liveStock(form) {
    var path = form.getAttribute("data-ws");
    if (!path || !("WebSocket" in window)) return;
    var delay = 2000;
    function connect() {
      var ws = new WebSocket((location.protocol === "https:" ? "wss://" : "ws://") + location.host + path);
      ws.onopen = function () { delay = 2000; };
      ws.onmessage = function (event) {
        var msg;
        try { msg = JSON.parse(event.data); } catch (e) { return; }
        if (!msg || msg.type !== "stock") return;
        var status = document.getElementById("avail-" + msg.item);
        var state = status && status.getAttribute("data-state");
        if (state === "on_sale" || state === "sold_out") {
          var n = parseInt(msg.available, 10);
          if (!isNaN(n)) {
            status.textContent = n > 0 ? n + " left" : "Sold out";
            status.setAttribute("data-state", n > 0 ? "on_sale" : "sold_out");
            status.className = "avail avail-" + (n > 0 ? "on_sale" : "sold_out");
          }
        }
        // A ticket of one tier can change what the shared venue leaves for the others: re-read them all.
        var poller = document.getElementById("availability-poller");
        if (poller && window.htmx) window.htmx.trigger(poller, "refresh");
      };
      ws.onclose = function () {
        setTimeout(connect, delay + Math.random() * 1000);
        delay = Math.min(delay * 2, 60000);
      };
    }
    connect();
  }

  // The hold countdown on an order page: m:ss, then a clear message.
  function countdown(el) {
    var left = parseInt(el.getAttribute("data-countdown"), 10);
    if (isNaN(left)) return;
    var end = Date.now() + left * 1000;
    function tick() {
      var s = Math.max(0, Math.round((end - Date.now()) / 1000));
      el.textContent = Math.floor(s / 60) + ":" + String(s % 60).padStart(2, "0");
      if (s <= 0) {
        el.textContent = el.getAttribute("data-countdown-done") || "Time is up";
        document.querySelectorAll("button.pay").forEach(function (b) { b.disabled = true; });
        setTimeout(function () { location.reload(); }, 1500);
        return;
      }
      setTimeout(tick, 1000 - (Date.now() % 1000));
    }
    tick();
  }

  // "Use my location" fills the near field with the browser's coordinates and submits the search.
  function geolocate(button) {
    if (!("geolocation" in navigator)) return;
    var input = document.getElementById(button.getAttribute("data-geolocate"));
    var status = button.parentNode.querySelector("[data-geolocate-status]");
    button.hidden = false;
    button.addEventListener("click", function () {
      if (status) status.textContent = "Finding you…";
      button.disabled = true;
      navigator.geolocation.getCurrentPosition(function (pos) {
        input.value = pos.coords.latitude.toFixed(3) + "," + pos.coords.longitude.toFixed(3);
        if (status) status.textContent = "";
        button.form.submit();
      }, function (err) {
        button.disabled = false;
        if (status) status.textContent = err.code === 1 ? "Location is blocked for this site. Type coordinates instead."
          : "Could not find your location. Type coordinates instead.";
      }, { enableHighAccuracy: false, timeout: 10000, maximumAge: 600000 });
    });
  }

  // Checkout telemetry: a form marked data-checkout="reserve|pay" notes when it was sent; the page that
  // answers it reports the latency (submit → first byte) or, when it shows an error, the error code.
  var CHECKOUT_KEY = "ms-checkout";
  function sendSample(sample) {
    if (!navigator.sendBeacon || !/^evt_/.test(sample.event || "")) return;
    navigator.sendBeacon("/api/v1/telemetry", new Blob([JSON.stringify(sample)], { type: "application/json" }));
  }
  function checkoutTelemetry() {
    document.querySelectorAll("form[data-checkout]").forEach(function (form) {
      form.addEventListener("submit", function () {
        try {
          sessionStorage.setItem(CHECKOUT_KEY, JSON.stringify({ event: form.getAttribute("data-telemetry-event"),
            step: form.getAttribute("data-checkout"), t: Date.now() }));
        } catch (e) { /* storage blocked: nothing measured */ }
      });
    });
    var pending;
    try { pending = JSON.parse(sessionStorage.getItem(CHECKOUT_KEY) || "null"); sessionStorage.removeItem(CHECKOUT_KEY); }
    catch (e) { pending = null; }
    if (!pending || !/^[a-z]{1,16}$/.test(pending.step || "")) return;
    var nav = performance.getEntriesByType && performance.getEntriesByType("navigation")[0];
    var origin = performance.timeOrigin || Date.now() - performance.now();
    if (!nav || origin - pending.t > 5000 || origin < pending.t - 1000) return;  // not this form's answer
    var status = nav.responseStatus || 200;
    var failed = status >= 400 || document.querySelector(".message.error, .errorlist, [data-checkout-error]");
    if (failed) {
      var code = status >= 400 ? "http_" + status : pending.step + "_refused";
      sendSample({ event: pending.event, kind: "checkout_error", value: 1, detail: code });
    } else {
      var ms = Math.round(origin + nav.responseStart - pending.t);
      if (ms >= 0 && ms <= 600000) sendSample({ event: pending.event, kind: "checkout_latency_ms", value: ms });
    }
  }

  function init() {
    checkoutTelemetry();
    // One socket per page: the tier picker's, else the drops panel's (either updates every count).
    var live = document.querySelector("form[data-ws]") || document.querySelector("[data-ws]");
    if (live) liveStock(live);
    document.querySelectorAll("[data-countdown]").forEach(countdown);
    document.querySelectorAll("[data-geolocate]").forEach(geolocate);
    document.querySelectorAll("[data-print]").forEach(function (b) {
      b.addEventListener("click", function () { window.print(); });
    });
  }

  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", init);
  else init();
})();
