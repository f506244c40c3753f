/* Group-buy progress bars (the /g/<id>/ page and the watch page): live counts, price, next tier, countdown.
   Updated from {"type": "group_buy", ...} frames (watch.js passes them on) and, on the group-buy's own page,
   by polling its API every few seconds. */
(function () {
  "use strict";

  function money(amount, currency) {
    var value = Number(amount);
    if (!value) return "Free";
    try {
      return new Intl.NumberFormat(undefined, { style: "currency", currency: currency }).format(value);
    } catch (e) {
      return value.toFixed(2) + " " + currency;
    }
  }

  function setText(root, selector, text) {
    var node = root.querySelector(selector);
    if (node) node.textContent = text;
  }

  function update(msg) {
    if (!msg || msg.id === undefined) return;
    var nodes = document.querySelectorAll('[data-group-buy="' + String(msg.id).replace(/"/g, "") + '"]');
    Array.prototype.forEach.call(nodes, function (root) {
      var currency = msg.currency || root.getAttribute("data-currency") || "EUR";
      var bar = root.querySelector(".gb-bar");
      if (bar) {
        var target = Math.max(Number(root.getAttribute("data-target")) || 1, msg.committed_quantity);
        bar.max = target;
        bar.value = msg.committed_quantity;
        bar.textContent = msg.committed_quantity + " of " + target;
      }
      setText(root, ".gb-committed", String(msg.committed_quantity));
      setText(root, ".gb-price", money(msg.current_price, currency));
      var status = msg.status || "open";
      root.setAttribute("data-status", status);
      var next;
      if (status !== "open") {  // as GroupBuy.status_summary says it
        var reached = msg.outcome === "reached";
        root.setAttribute("data-outcome", msg.outcome || "");
        next = (reached ? "Deal reached" : "Deal not reached") + " · " + (status === "settled"
          ? (reached ? "settled" : "nothing charged") : (reached ? "charging…" : "releasing holds…"));
      }
      else if (msg.next_tier) next = msg.needed + " more for " + money(msg.next_tier.price, currency) + " each";
      else next = "Best price reached";
      setText(root, ".gb-next", next);
    });
  }

  function countdown() {
    var now = Date.now();
    Array.prototype.forEach.call(document.querySelectorAll(".gb-countdown"), function (node) {
      var left = Math.max(0, Math.floor((Date.parse(node.getAttribute("datetime")) - now) / 1000));
      var d = Math.floor(left / 86400), h = Math.floor(left % 86400 / 3600), m = Math.floor(left % 3600 / 60);
      var s = left % 60;
      node.textContent = left === 0 ? "a moment (closing)" :
        (d ? d + "d " : "") + (d || h ? h + "h " : "") + m + "m " + (d ? "" : s + "s");
    });
  }

  function poll(root) {
    var url = root.getAttribute("data-api");
    if (!url || !window.fetch) return;
    fetch(url, { credentials: "same-origin", headers: { Accept: "application/json" } })
      .then(function (r) { return r.ok ? r.json() : null; })
      .then(function (data) {
        if (!data) return;
        data.type = "group_buy";
        update(data);
      })
      .catch(function () { /* offline for a moment: the next poll tries again */ });
  }

  function refresh() {
    Array.prototype.forEach.call(document.querySelectorAll("[data-group-buy]"), poll);
  }

  window.MicrostageGroupBuy = { update: update, refresh: refresh };

  document.addEventListener("DOMContentLoaded", function () {
    countdown();
    setInterval(countdown, 1000);
    // On the watch page the event's websocket brings updates; elsewhere the page polls.
    if (!document.getElementById("watch")) {
      Array.prototype.forEach.call(document.querySelectorAll("[data-group-buy]"), function (root) {
        setInterval(function () { if (!document.hidden) poll(root); }, 5000);
      });
    }
  });
})();
