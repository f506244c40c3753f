// The live room: a websocket to /ws/events/<id>/ that reconnects by itself (backoff + resync),
// chat rendered as plain text (textContent, never HTML), live ticket counts, the viewer count, and
// on the watch page the HLS player (hls.js, or native HLS on Safari) with playback-token renewal.
// window.MicrostageLive is shared with the control room (static/js/control.js).
(function () {
  "use strict";

  var MAX_MESSAGES = 200;

  function el(tag, cls, text) {
    var node = document.createElement(tag);
    if (cls) node.className = cls;
    if (text !== undefined && text !== null) node.textContent = String(text);
    return node;
  }

  function timeLabel(iso) {
    var d = new Date(iso);
    if (isNaN(d.getTime())) return "";
    return d.toLocaleTimeString([], { hour: "2-digit", minute: "2-digit" });
  }

  // --- the socket ------------------------------------------------------------------------------
  // onFrame(msg) for every JSON frame; onState("connecting"|"open"|"reconnecting").
  function LiveSocket(path, onFrame, onState) {
    this.path = path;
    this.onFrame = onFrame;
    this.onState = onState || function () {};
    this.attempt = 0;
    this.ws = null;
    this.timer = null;
    this.pinger = null;
    this.connect();
  }

  LiveSocket.prototype.connect = function () {
    var self = this;
    var url = (location.protocol === "https:" ? "wss://" : "ws://") + location.host + this.path;
    this.onState(this.attempt ? "reconnecting" : "connecting");
    var ws;
    try { ws = new WebSocket(url); } catch (e) { this.retry(); return; }
    this.ws = ws;
    ws.onopen = function () {
      self.attempt = 0;
      self.onState("open");
      clearInterval(self.pinger);
      // Keeps proxies from closing an idle socket; the server answers {"type": "pong"}.
      self.pinger = setInterval(function () { self.send({ type: "ping" }); }, 25000);
    };
    ws.onmessage = function (event) {
      var msg;
      try { msg = JSON.parse(event.data); } catch (e) { return; }
      if (msg && typeof msg.type === "string") self.onFrame(msg);
    };
    ws.onclose = function () {
      clearInterval(self.pinger);
      if (self.ws === ws) self.retry();
    };
  };

  LiveSocket.prototype.retry = function () {
    var self = this;
    this.attempt += 1;
    this.onState("reconnecting");
    // Exponential backoff with jitter, capped at 30 s: a restarting server is not stampeded.
    var delay = Math.min(30000, 1000 * Math.pow(2, Math.min(this.attempt - 1, 5)));
    delay = delay / 2 + Math.random() * delay / 2;
    clearTimeout(this.timer);
    this.timer = setTimeout(function () { self.connect(); }, delay);
  };

  LiveSocket.prototype.send = function (payload) {
    if (!this.ws || this.ws.readyState !== 1) return false;
    this.ws.send(JSON.stringify(payload));
    return true;
  };

  // --- the chat list ---------------------------------------------------------------------------
  // options: {list, me, canModerate, onDelete(id), onMute(userId, name)}
  function ChatList(options) {
    this.list = options.list;
    this.options = options;
  }

  ChatList.prototype.render = function (m) {
    var li = el("li", "chat-msg");
    li.id = "chat-" + m.id;
    li.setAttribute("data-id", m.id);
    li.setAttribute("data-user", m.user_id || "");
    var head = el("span", "chat-meta");
    head.appendChild(el("strong", "chat-user", m.user));
    var t = el("time", "chat-time", timeLabel(m.sent_at));
    t.setAttribute("datetime", m.sent_at || "");
    head.appendChild(t);
    li.appendChild(head);
    li.appendChild(el("span", "chat-text", m.text));  // textContent: whatever was typed stays text
    var o = this.options;
    if (o.canModerate && o.canModerate()) {
      var tools = el("span", "chat-tools");
      var del = el("button", "link small chat-delete", "Delete");
      del.type = "button";
      del.setAttribute("aria-label", "Delete this message by " + m.user);
      del.addEventListener("click", function () { o.onDelete(m.id); });
      tools.appendChild(del);
      if (m.user_id && m.user_id !== o.me) {
        var mute = el("button", "link small chat-mute", "Mute");
        mute.type = "button";
        mute.setAttribute("aria-label", "Mute " + m.user);
        mute.addEventListener("click", function () { o.onMute(m.user_id, m.user); });
        tools.appendChild(mute);
      }
      li.appendChild(tools);
    }
    return li;
  };

  ChatList.prototype.nearBottom = function () {
    var l = this.list;
    return l.scrollHeight - l.scrollTop - l.clientHeight < 80;
  };

  ChatList.prototype.add = function (m) {
    if (document.getElementById("chat-" + m.id)) return;
    var stick = this.nearBottom();
    var empty = this.list.querySelector(".chat-empty");
    if (empty) empty.remove();
    this.list.appendChild(this.render(m));
    while (this.list.children.length > MAX_MESSAGES) this.list.removeChild(this.list.firstChild);
    if (stick) this.list.scrollTop = this.list.scrollHeight;
  };

  ChatList.prototype.reset = function (messages) {
    while (this.list.firstChild) this.list.removeChild(this.list.firstChild);
    if (!messages.length) this.list.appendChild(el("li", "chat-empty muted", "No messages yet."));
    for (var i = 0; i < messages.length; i++) this.add(messages[i]);
    this.list.scrollTop = this.list.scrollHeight;
  };

  ChatList.prototype.remove = function (id) {
    var node = document.getElementById("chat-" + id);
    if (node) node.remove();
  };

  function setStock(item, available) {
    var node = document.getElementById("stock-" + item);
    if (!node) return;
    var n = parseInt(available, 10);
    if (isNaN(n)) return;
    node.textContent = n > 0 ? n + " left" : "Sold out";
    node.setAttribute("data-available", String(n));
    node.className = "stock-count " + (n > 0 ? "avail-on_sale" : "avail-sold_out");
  }

  function setViewers(node, n) {
    if (!node) return;
    n = parseInt(n, 10);
    if (isNaN(n)) return;
    node.textContent = n === 1 ? "1 watching" : n + " watching";
    node.setAttribute("data-viewers", String(n));
  }

  var ERROR_TEXT = {
    rate_limited: "You are sending messages too fast.",
    slow_mode: "Slow mode is on.",
    too_long: "That message is too long (500 characters at most).",
    muted: "A moderator muted you for a while.",
    login_required: "Log in to chat.",
    forbidden: "Only ticket holders and the team can do that."
  };

  function errorText(msg) {
    return msg.detail || ERROR_TEXT[msg.code] || "That did not work.";
  }

  window.MicrostageLive = {
    LiveSocket: LiveSocket, ChatList: ChatList, setStock: setStock, setViewers: setViewers, el: el,
    errorText: errorText
  };

  // --- the watch page --------------------------------------------------------------------------
  var root = document.getElementById("watch");
  if (!root) return;
  var cfg = {
    ws: root.getAttribute("data-ws"),
    statusUrl: root.getAttribute("data-status-url"),
    state: root.getAttribute("data-state"),
    startsAt: Date.parse(root.getAttribute("data-starts-at")),
    me: root.getAttribute("data-user") || "",
    canRead: root.getAttribute("data-can-read") === "true"
  };
  var rights = { post: root.getAttribute("data-can-post") === "true", moderate: root.getAttribute("data-can-moderate") === "true" };
  var viewersNode = document.getElementById("viewers");
  var connNode = document.getElementById("conn-status");
  var chatError = document.getElementById("chat-error");
  var chatNote = document.getElementById("chat-note");
  var form = document.getElementById("chat-form");
  var input = document.getElementById("chat-input");
  var counter = document.getElementById("chat-count");
  var pending = null;
  var listNode = document.getElementById("chat-list");

  var socket;
  var chat = listNode ? new ChatList({
    list: listNode, me: cfg.me,
    canModerate: function () { return rights.moderate; },
    onDelete: function (id) { socket.send({ type: "delete", id: id }); },
    onMute: function (userId, name) {
      if (window.confirm("Mute " + name + " for 10 minutes?")) socket.send({ type: "mute", user: userId, minutes: 10 });
    }
  }) : null;

  function showError(text) {
    if (!chatError) return;
    chatError.textContent = text;
    chatError.hidden = !text;
  }

  function onFrame(msg) {
    switch (msg.type) {
      case "resync":
        rights.post = !!msg.can_post;
        rights.moderate = !!msg.can_moderate;
        if (chat) chat.reset(msg.messages || []);
        (msg.stock || []).forEach(function (s) { setStock(s.item, s.available); });
        setViewers(viewersNode, msg.viewers);
        setSlowMode(msg.slow_mode_seconds);
        if (window.MicrostageGroupBuy) window.MicrostageGroupBuy.refresh();  // updates missed while away
        break;
      case "chat":
        if (chat) chat.add(msg);
        if (msg.user_id === cfg.me) { pending = null; showError(""); }
        break;
      case "chat_deleted":
        if (chat) chat.remove(msg.id);
        break;
      case "presence":
        setViewers(viewersNode, msg.viewers);
        break;
      case "stock":
        setStock(msg.item, msg.available);
        break;
      case "group_buy":  // live group-buy progress (static/js/groupbuy.js draws it)
        if (window.MicrostageGroupBuy) window.MicrostageGroupBuy.update(msg);
        break;
      case "slow_mode":
        setSlowMode(msg.seconds);
        break;
      case "program":  // the control room switched viewers to live, audio only or the standby slate
        showProgram(msg.mode);
        break;
      case "mute":
        showError(msg.until ? "Muted until " + timeLabel(msg.until) + "." : "Mute lifted.");
        break;
      case "error":
        showError(errorText(msg));
        if (pending !== null && input && !input.value) input.value = pending;  // give the text back
        pending = null;
        break;
    }
  }

  // The program switch: a slate covers the player (paused); audio only asks hls.js for the audio rung
  // (a level without video) and says so over the player; live goes back to automatic quality.
  function showProgram(mode) {
    mode = mode === "audio_only" || mode === "slate" ? mode : "live";
    root.setAttribute("data-program", mode);
    var slate = document.getElementById("program-slate");
    var audioNote = document.getElementById("program-audio");
    if (slate) slate.hidden = mode !== "slate";
    if (audioNote) audioNote.hidden = mode !== "audio_only";
    if (typeof video !== "undefined" && video) {
      if (mode === "slate") video.pause();
      else if (video.paused && currentUrl) { var p = video.play(); if (p && p.catch) p.catch(function () {}); }
    }
    if (hls && hls.levels) {
      var audioLevel = -1;
      hls.levels.forEach(function (level, i) { if (!level.height && !level.width) audioLevel = i; });
      hls.currentLevel = mode === "audio_only" && audioLevel >= 0 ? audioLevel : -1;
    }
  }

  function setSlowMode(seconds) {
    if (!chatNote) return;
    seconds = parseInt(seconds, 10) || 0;
    chatNote.textContent = seconds > 0 ? "Slow mode: one message every " + seconds + " s." : "";
    chatNote.hidden = seconds <= 0;
  }

  function onState(state) {
    if (!connNode) return;
    connNode.textContent = state === "open" ? "" : state === "connecting" ? "Connecting…" : "Reconnecting…";
    connNode.hidden = state === "open";
    root.setAttribute("data-socket", state);
  }

  socket = new LiveSocket(cfg.ws + (cfg.canRead ? "?watch=1" : ""), onFrame, onState);

  if (form && input) {
    input.addEventListener("input", function () {
      if (counter) counter.textContent = input.value.length + "/500";
    });
    form.addEventListener("submit", function (event) {
      event.preventDefault();
      var text = input.value.trim();
      if (!text) return;
      if (text.length > 500) { showError(ERROR_TEXT.too_long); return; }
      if (!socket.send({ type: "chat", text: text })) { showError("Reconnecting… your message was not sent yet."); return; }
      pending = text;
      input.value = "";
      if (counter) counter.textContent = "0/500";
      showError("");
    });
  }

  // --- countdown before the show ---------------------------------------------------------------
  var countdown = document.getElementById("countdown");
  function tick() {
    if (!countdown || isNaN(cfg.startsAt)) return;
    var s = Math.round((cfg.startsAt - Date.now()) / 1000);
    if (s <= 0) { countdown.textContent = "Starting any moment…"; return; }
    var d = Math.floor(s / 86400), h = Math.floor(s % 86400 / 3600), m = Math.floor(s % 3600 / 60), sec = s % 60;
    countdown.textContent = (d ? d + " d " : "") + String(h).padStart(2, "0") + ":" + String(m).padStart(2, "0") + ":" + String(sec).padStart(2, "0");
    setTimeout(tick, 1000 - (Date.now() % 1000));
  }
  tick();

  // --- player ----------------------------------------------------------------------------------
  var video = document.getElementById("player");
  var currentUrl = null;

  // Telemetry: player startup (page load, or the play() call, to the first "playing") and the total
  // rebuffering after that ("waiting" → "playing"), sent on pagehide. No viewer id goes with it.
  var tmEvent = (String(cfg.ws || "").match(/\/ws\/events\/([^/?]+)\//) || [])[1];
  var tm = { asked: 0, started: false, waitingSince: 0, rebuffer: 0, sent: false };
  function report(kind, value) {
    if (!tmEvent || !navigator.sendBeacon) return;
    var body = JSON.stringify({ event: tmEvent, kind: kind, value: Math.max(0, Math.min(600000, Math.round(value))) });
    navigator.sendBeacon("/api/v1/telemetry", new Blob([body], { type: "application/json" }));
  }
  if (video) {
    video.addEventListener("playing", function () {
      var now = performance.now();
      if (!tm.started) { tm.started = true; report("player_startup_ms", now - tm.asked); }
      else if (tm.waitingSince) tm.rebuffer += now - tm.waitingSince;
      tm.waitingSince = 0;
    });
    video.addEventListener("waiting", function () {
      if (tm.started && !tm.waitingSince) tm.waitingSince = performance.now();
    });
    window.addEventListener("pagehide", function () {
      if (!tm.started || tm.sent) return;
      tm.sent = true;
      if (tm.waitingSince) tm.rebuffer += performance.now() - tm.waitingSince;
      report("rebuffer_ms", tm.rebuffer);
    });
  }
  var hls = null;
  var renewTimer = null;

  // Playback URLs carry the token as one path segment (/streaming/hls/<event>/<token>/...): a renewed
  // token is swapped into every later playlist and segment request without restarting the player.
  var TOKEN_RE = /(\/streaming\/hls\/[^/]+\/)[^/]+\//;
  function withCurrentToken(url) {
    if (!currentUrl) return url;
    var m = currentUrl.match(TOKEN_RE);
    return m ? url.replace(TOKEN_RE, m[0]) : url;
  }

  function startPlayer(playback) {
    if (!video || !playback || !playback.hls_url) return;
    var wrap = document.getElementById("player-wrap");
    if (wrap) wrap.hidden = false;
    var waiting = document.getElementById("player-waiting");
    if (waiting) waiting.hidden = true;
    currentUrl = playback.hls_url;
    if (video.canPlayType("application/vnd.apple.mpegurl")) {
      video.src = currentUrl;  // Safari: native HLS
    } else if (window.Hls && window.Hls.isSupported()) {
      hls = new window.Hls({
        lowLatencyMode: false,
        xhrSetup: function (xhr, url) { xhr.open("GET", withCurrentToken(url), true); }
      });
      hls.on(window.Hls.Events.ERROR, function (event, data) {
        if (!data.fatal) return;
        if (data.type === window.Hls.ErrorTypes.NETWORK_ERROR) { refreshStatus(); hls.startLoad(); }
        else if (data.type === window.Hls.ErrorTypes.MEDIA_ERROR) hls.recoverMediaError();
      });
      hls.loadSource(currentUrl);
      hls.attachMedia(video);
    } else {
      var note = document.getElementById("player-unsupported");
      if (note) note.hidden = false;
      return;
    }
    if (!tm.asked) tm.asked = performance.now();
    var playing = video.play();
    if (playing && playing.catch) playing.catch(function () { /* autoplay refused: the controls remain */ });
    scheduleRenewal(playback.expires_at);
  }

  function renewPlayer(playback) {
    if (!playback || !playback.hls_url || playback.hls_url === currentUrl) return;
    var samePath = currentUrl && currentUrl.replace(TOKEN_RE, "") === playback.hls_url.replace(TOKEN_RE, "");
    if (!currentUrl || !samePath) { teardown(); startPlayer(playback); return; }
    currentUrl = playback.hls_url;
    if (!hls && video) {  // native HLS keeps its own URL: point it at the new one where it was
      var at = video.currentTime, paused = video.paused;
      video.src = currentUrl;
      video.addEventListener("loadedmetadata", function once() {
        video.removeEventListener("loadedmetadata", once);
        if (!isFinite(video.duration) || video.duration > at) { try { video.currentTime = at; } catch (e) { /* live */ } }
        if (!paused) video.play();
      });
    }
    scheduleRenewal(playback.expires_at);
  }

  function teardown() {
    if (hls) { hls.destroy(); hls = null; }
    currentUrl = null;
  }

  function scheduleRenewal(expiresAt) {
    clearTimeout(renewTimer);
    var left = Date.parse(expiresAt) - Date.now();
    if (isNaN(left)) return;
    // Renew well before expiry (a minute, or a fifth of a short token's life).
    var wait = Math.max(5000, left - Math.min(60000, left / 5));
    renewTimer = setTimeout(refreshStatus, wait);
  }

  var polling = null;
  function refreshStatus() {
    if (!cfg.statusUrl) return;
    fetch(cfg.statusUrl, { credentials: "same-origin", headers: { Accept: "application/json" } })
      .then(function (r) { return r.ok ? r.json() : null; })
      .then(function (status) {
        if (!status) return;
        if (status.state !== cfg.state) { location.reload(); return; }
        setViewers(viewersNode, status.viewers);
        if (status.program && status.program !== root.getAttribute("data-program")) showProgram(status.program);
        if (status.playback) {
          if (!currentUrl) startPlayer(status.playback); else renewPlayer(status.playback);
        }
      })
      .catch(function () { /* offline for a moment: the next poll tries again */ });
  }

  showProgram(root.getAttribute("data-program"));
  var initial = document.getElementById("playback-data");
  if (initial) {
    var playback = null;
    try { playback = JSON.parse(initial.textContent); } catch (e) { playback = null; }
    if (playback) startPlayer(playback);
  }
  if (cfg.state === "before" || cfg.state === "live") {
    // Follow the show: before -> live -> after, and pick up the stream once renditions exist.
    polling = setInterval(refreshStatus, cfg.state === "before" ? 15000 : 20000);
  }

  var unmute = document.getElementById("unmute");
  if (unmute && video) {
    unmute.addEventListener("click", function () {
      video.muted = false;
      if (video.paused) video.play();
      unmute.hidden = true;
    });
    video.addEventListener("volumechange", function () { unmute.hidden = !video.muted; });
  }
  window.MicrostageWatch = { socket: socket, refresh: refreshStatus, polling: polling };
})();

// Tip form of the watch page: the "Other amount" field shows only when "Other" is picked (without
// JavaScript it is always there), and typing in it picks "Other".
(function () {
  "use strict";
  var form = document.querySelector("[data-tip-form]");
  if (!form) return;
  var custom = form.querySelector("[data-tip-custom]");
  var input = custom && custom.querySelector("input");
  function sync() {
    var picked = form.querySelector("input[name=amount]:checked");
    var other = picked && picked.value === "custom";
    custom.hidden = !other;
    input.required = other;
    if (other) input.focus();
  }
  form.addEventListener("change", function (e) { if (e.target.name === "amount") sync(); });
  custom.hidden = true;
})();
