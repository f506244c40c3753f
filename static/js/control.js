// The control room: live chat with moderation (delete, mute, slow mode) over the event websocket,
// stream health and viewers polled every 5 s, and the preflight checklist re-run every minute.
// Builds on window.MicrostageLive from watch.js (the socket with backoff and the chat list).
(function () {
  "use strict";
  var root = document.getElementById("control");
  var live = window.MicrostageLive;
  if (!root || !live) return;
  var el = live.el;
  var chatError = document.getElementById("chat-error");
  var muteMinutes = document.getElementById("mute-minutes");
  var socket;

  function showError(text) {
    chatError.textContent = text || "";
    chatError.hidden = !text;
  }

  var chat = new live.ChatList({
    list: document.getElementById("chat-list"), me: root.getAttribute("data-user"),
    canModerate: function () { return true; },
    onDelete: function (id) { socket.send({ type: "delete", id: id }); },
    onMute: function (userId) {
      socket.send({ type: "mute", user: userId, minutes: parseInt(muteMinutes.value, 10) || 10 });
    }
  });

  var slowSelect = document.getElementById("slow-mode");
  socket = new live.LiveSocket(root.getAttribute("data-ws"), function (msg) {
    switch (msg.type) {
      case "resync": chat.reset(msg.messages || []); (msg.stock || []).forEach(function (s) { live.setStock(s.item, s.available); }); slowSelect.value = String(msg.slow_mode_seconds || 0); break;
      case "chat": chat.add(msg); break;
      case "chat_deleted": chat.remove(msg.id); break;
      case "presence": live.setViewers(document.getElementById("viewers"), msg.viewers); break;
      case "stock": live.setStock(msg.item, msg.available); break;
      case "slow_mode": slowSelect.value = String(msg.seconds); showError(""); break;
      case "mute": showError(msg.until ? "Muted until " + new Date(msg.until).toLocaleTimeString() + "." : "Mute lifted."); break;
      case "error": showError(live.errorText(msg)); break;
    }
  }, function (state) {
    var node = document.getElementById("conn-status");
    node.textContent = state === "open" ? "" : "Reconnecting…";
    node.hidden = state === "open";
  });

  document.getElementById("slow-mode-form").addEventListener("submit", function (event) {
    event.preventDefault();
    socket.send({ type: "slow_mode", seconds: parseInt(slowSelect.value, 10) || 0 });
  });
  var input = document.getElementById("chat-input");
  document.getElementById("chat-form").addEventListener("submit", function (event) {
    event.preventDefault();
    var text = input.value.trim();
    if (text && socket.send({ type: "chat", text: text })) input.value = "";
  });

  // --- health and viewers ----------------------------------------------------------------------
  // LiveStream.health is written by the transcoder; accept the usual names for each figure.
  var FIGURES = {
    bitrate: [["bitrate_kbps", " kbit/s"], ["bitrate", ""], ["kbps", " kbit/s"]],
    fps: [["fps", " fps"], ["frame_rate", " fps"]],
    keyframe: [["keyframe_interval", " s"], ["keyframe_interval_s", " s"], ["gop_seconds", " s"], ["keyint", " frames"]],
    dropped: [["dropped_frames", ""], ["drop_frames", ""], ["dropped", ""]]
  };
  function showHealth(status) {
    var stream = document.getElementById("stream-status");
    stream.textContent = status.status.charAt(0).toUpperCase() + status.status.slice(1);
    stream.setAttribute("data-status", status.status);
    document.getElementById("health-age").textContent = status.health_age_seconds === null
      ? "no health report yet" : "health " + status.health_age_seconds + " s ago" + (status.health_fresh ? "" : " (stale)");
    Object.keys(FIGURES).forEach(function (key) {
      var dd = document.querySelector('#health [data-key="' + key + '"]');
      var shown = "–";
      FIGURES[key].some(function (pair) {
        var v = status.health[pair[0]];
        if (v === undefined || v === null || v === "") return false;
        shown = (typeof v === "number" ? Math.round(v * 100) / 100 : v) + pair[1];
        return true;
      });
      dd.textContent = shown;
    });
    live.setViewers(document.getElementById("viewers"), status.viewers);
    document.getElementById("peak").textContent = status.peak_viewers;
  }
  function pollStatus() {
    fetch(root.getAttribute("data-status-url"), { credentials: "same-origin" })
      .then(function (r) { return r.ok ? r.json() : null; })
      .then(function (s) { if (s) showHealth(s); })
      .catch(function () {});
  }
  setInterval(pollStatus, 5000);
  pollStatus();

  // --- preflight -------------------------------------------------------------------------------
  var csrf = (document.cookie.match(/(?:^|; )csrftoken=([^;]+)/) || [])[1] || "";
  function showPreflight(result) {
    var list = document.getElementById("preflight");
    while (list.firstChild) list.removeChild(list.firstChild);
    result.lines.forEach(function (line) {
      var li = el("li", "pf pf-" + line.status.replace("/", ""));
      li.setAttribute("data-key", line.key);
      li.appendChild(el("span", "pf-mark", line.status === "pass" ? "Pass" : line.status === "fail" ? "Fail" : "n/a"));
      var text = el("span");
      text.appendChild(el("strong", "", line.label));
      text.appendChild(el("span", "sub", line.detail));
      li.appendChild(text);
      list.appendChild(li);
    });
    var at = document.getElementById("preflight-at");
    at.setAttribute("datetime", result.checked_at);
    at.textContent = new Date(result.checked_at).toLocaleTimeString();
  }
  function runPreflight() {
    fetch(root.getAttribute("data-preflight-url"), { method: "POST", credentials: "same-origin",
      headers: { "X-CSRFToken": csrf } })
      .then(function (r) { return r.ok ? r.json() : null; })
      .then(function (result) { if (result) showPreflight(result); })
      .catch(function () {});
  }
  document.getElementById("preflight-run").addEventListener("click", runPreflight);
  runPreflight();
  setInterval(runPreflight, 60000);
})();
