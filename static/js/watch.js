// The watch page: the live room socket (lib/socket.js: reconnect, resync), chat rendered as plain text,
// live ticket, drop and group-buy counts, the viewer count, the countdown, the tip form, and the HLS
// player (lib/player.js) with playback-token renewal and an "audio only" mode.
import { $, jsonData } from './lib/dom.js';
import { ChatList, TOO_LONG, errorText, setStock, setViewers, timeLabel } from './lib/chat.js';
import * as groupBuys from './lib/groupbuy.js';
import { formatNumber, gettext, interpolate } from './lib/i18n.js';
import { LiveSocket } from './lib/socket.js';
import { HlsPlayer, TOKEN_RE } from './lib/player.js';

const root = $('watch');
if (root) {
  const cfg = {
    ws: root.dataset.ws,
    statusUrl: root.dataset.statusUrl,
    state: root.dataset.state,
    startsAt: Date.parse(root.dataset.startsAt),
    me: root.dataset.user || '',
    canRead: root.dataset.canRead === 'true',
  };
  const rights = { post: root.dataset.canPost === 'true', moderate: root.dataset.canModerate === 'true' };
  const viewersNode = $('viewers');
  const connNode = $('conn-status');
  const chatError = $('chat-error');
  const chatNote = $('chat-note');
  const form = $('chat-form');
  const input = $('chat-input');
  const counter = $('chat-count');
  const listNode = $('chat-list');
  let pending = null;
  let socket = null;

  const chat = listNode ? new ChatList({
    list: listNode, me: cfg.me,
    canModerate: () => rights.moderate,
    onDelete: (id) => socket.send({ type: 'delete', id }),
    onMute: (userId, name) => {
      if (window.confirm(interpolate(gettext('Mute %s for 10 minutes?'), [name]))) socket.send({ type: 'mute', user: userId, minutes: 10 });
    },
  }) : null;

  const showError = (text) => {
    if (!chatError) return;
    chatError.textContent = text;
    chatError.hidden = !text;
  };

  const setSlowMode = (value) => {
    if (!chatNote) return;
    const seconds = parseInt(value, 10) || 0;
    chatNote.textContent = seconds > 0 ? interpolate(gettext('Slow mode: one message every %s s.'), [formatNumber(seconds)]) : '';
    chatNote.hidden = seconds <= 0;
  };

  const onFrame = (msg) => {
    switch (msg.type) {
      case 'resync':
        rights.post = !!msg.can_post;
        rights.moderate = !!msg.can_moderate;
        chat?.reset(msg.messages || []);
        (msg.stock || []).forEach((s) => setStock(s.item, s.available));
        setViewers(viewersNode, msg.viewers);
        setSlowMode(msg.slow_mode_seconds);
        groupBuys.refresh(); // updates missed while away
        break;
      case 'chat':
        chat?.add(msg);
        if (msg.user_id === cfg.me) { pending = null; showError(''); }
        break;
      case 'chat_deleted': chat?.remove(msg.id); break;
      case 'presence': setViewers(viewersNode, msg.viewers); break;
      case 'stock': setStock(msg.item, msg.available); break;
      case 'group_buy': groupBuys.update(msg); break;
      case 'slow_mode': setSlowMode(msg.seconds); break;
      case 'program': showProgram(msg.mode); break; // control room: live, audio only or slate
      case 'mute': showError(msg.until ? interpolate(gettext('Muted until %s.'), [timeLabel(msg.until)]) : gettext('Mute lifted.')); break;
      case 'error':
        showError(errorText(msg));
        if (pending !== null && input && !input.value) input.value = pending; // give the text back
        pending = null;
        break;
      default: break;
    }
  };

  // The program switch from the control room: a slate covers the player (paused); audio only plays
  // the audio-only rendition and says so over the player; live goes back to video.
  function showProgram(mode) {
    const program = mode === 'audio_only' || mode === 'slate' ? mode : 'live';
    root.dataset.program = program;
    const slate = $('program-slate');
    const audioNote = $('program-audio');
    if (slate) slate.hidden = program !== 'slate';
    if (audioNote) audioNote.hidden = program !== 'audio_only';
    if (video) {
      if (program === 'slate') video.pause();
      else if (video.paused && currentUrl) video.play()?.catch?.(() => {});
    }
    if (player) player.setMode(program === 'audio_only' ? 'audio' : 'video', 'program');
  }

  const onState = (state) => {
    root.dataset.socket = state;
    if (!connNode) return;
    connNode.textContent = state === 'open' ? '' : state === 'connecting' ? gettext('Connecting…') : gettext('Reconnecting…');
    connNode.hidden = state === 'open';
  };

  socket = new LiveSocket(cfg.ws + (cfg.canRead ? '?watch=1' : ''), { onFrame, onState });
  groupBuys.start(); // countdowns; the socket brings the counts

  if (form && input) {
    input.addEventListener('input', () => { if (counter) counter.textContent = `${input.value.length}/500`; });
    form.addEventListener('submit', (event) => {
      event.preventDefault();
      const text = input.value.trim();
      if (!text) return;
      if (text.length > 500) { showError(TOO_LONG); return; }
      if (!socket.send({ type: 'chat', text })) { showError(gettext('Reconnecting… your message was not sent yet.')); return; }
      pending = text;
      input.value = '';
      if (counter) counter.textContent = '0/500';
      showError('');
    });
  }

  // --- countdown before the show -------------------------------------------------------------
  const countdown = $('countdown');
  const tick = () => {
    if (!countdown || Number.isNaN(cfg.startsAt)) return;
    const s = Math.round((cfg.startsAt - Date.now()) / 1000);
    if (s <= 0) { countdown.textContent = gettext('Starting any moment…'); return; }
    const d = Math.floor(s / 86400);
    const pad = (n) => String(n).padStart(2, '0');
    countdown.textContent = `${d ? `${interpolate(gettext('%s d'), [d])} ` : ''}${pad(Math.floor((s % 86400) / 3600))}:${pad(Math.floor((s % 3600) / 60))}:${pad(s % 60)}`;
    setTimeout(tick, 1000 - (Date.now() % 1000));
  };
  tick();

  // --- player --------------------------------------------------------------------------------
  const video = $('player');
  const audioToggle = $('audio-only');
  const audioNote = $('audio-note');

  // Telemetry: player startup (the play() call to the first "playing") and the total rebuffering
  // after that ("waiting" → "playing"), sent on pagehide. No viewer id goes with it.
  const tmEvent = (String(cfg.ws || '').match(/\/ws\/events\/([^/?]+)\//) || [])[1];
  const tm = { asked: 0, started: false, waitingSince: 0, rebuffer: 0, sent: false };
  const report = (kind, value) => {
    if (!tmEvent || !navigator.sendBeacon) return;
    const body = JSON.stringify({ event: tmEvent, kind, value: Math.max(0, Math.min(600000, Math.round(value))) });
    navigator.sendBeacon('/api/v1/telemetry', new Blob([body], { type: 'application/json' }));
  };
  if (video) {
    video.addEventListener('playing', () => {
      const now = performance.now();
      if (!tm.started) { tm.started = true; report('player_startup_ms', now - tm.asked); }
      else if (tm.waitingSince) tm.rebuffer += now - tm.waitingSince;
      tm.waitingSince = 0;
    });
    video.addEventListener('waiting', () => { if (tm.started && !tm.waitingSince) tm.waitingSince = performance.now(); });
    window.addEventListener('pagehide', () => {
      if (!tm.started || tm.sent) return;
      tm.sent = true;
      if (tm.waitingSince) tm.rebuffer += performance.now() - tm.waitingSince;
      report('rebuffer_ms', tm.rebuffer);
    });
  }

  const showMode = (mode, why) => {
    const wrap = $('player-wrap');
    if (wrap) wrap.dataset.mode = mode;
    if (audioToggle) {
      audioToggle.setAttribute('aria-pressed', mode === 'audio' ? 'true' : 'false');
      audioToggle.textContent = mode === 'audio' ? gettext('Back to video') : gettext('Audio only');
    }
    if (audioNote) {
      audioNote.hidden = mode !== 'audio';
      audioNote.textContent = mode !== 'audio' ? ''
        : why === 'stalls' ? gettext('The connection is too slow for video: playing the sound only.')
          : gettext('Playing the sound only (uses far less data).');
    }
  };

  const player = video ? new HlsPlayer(video, {
    onMode: showMode,
    onAudioAvailable: (yes) => { if (audioToggle) audioToggle.hidden = !yes; },
    onUnsupported: () => { const note = $('player-unsupported'); if (note) note.hidden = false; },
    onNetworkError: () => refreshStatus(),
  }) : null;
  if (audioToggle && player) {
    audioToggle.addEventListener('click', () => player.setMode(player.mode === 'audio' ? 'video' : 'audio'));
  }

  let currentUrl = null;
  let renewTimer = null;

  function scheduleRenewal(expiresAt) {
    clearTimeout(renewTimer);
    const left = Date.parse(expiresAt) - Date.now();
    if (Number.isNaN(left)) return;
    // Renew well before expiry (a minute, or a fifth of a short token's life).
    renewTimer = setTimeout(refreshStatus, Math.max(5000, left - Math.min(60000, left / 5)));
  }

  function startPlayer(playback) {
    if (!player || !playback?.hls_url) return;
    const wrap = $('player-wrap');
    if (wrap) wrap.hidden = false;
    const waiting = $('player-waiting');
    if (waiting) waiting.hidden = true;
    currentUrl = playback.hls_url;
    if (!tm.asked) tm.asked = performance.now();
    player.start(currentUrl);
    scheduleRenewal(playback.expires_at);
  }

  function renewPlayer(playback) {
    if (!playback?.hls_url || playback.hls_url === currentUrl) return;
    const samePath = currentUrl && currentUrl.replace(TOKEN_RE, '') === playback.hls_url.replace(TOKEN_RE, '');
    if (!currentUrl || !samePath) { player.destroy(); startPlayer(playback); return; }
    currentUrl = playback.hls_url;
    player.renew(currentUrl);
    scheduleRenewal(playback.expires_at);
  }

  function refreshStatus() {
    if (!cfg.statusUrl) return;
    fetch(cfg.statusUrl, { credentials: 'same-origin', headers: { Accept: 'application/json' } })
      .then((r) => (r.ok ? r.json() : null))
      .then((status) => {
        if (!status) return;
        if (status.state !== cfg.state) { location.reload(); return; }
        setViewers(viewersNode, status.viewers);
        if (status.program && status.program !== root.dataset.program) showProgram(status.program);
        if (status.playback) { if (!currentUrl) startPlayer(status.playback); else renewPlayer(status.playback); }
      })
      .catch(() => { /* offline for a moment: the next poll tries again */ });
  }

  const initial = jsonData('playback-data');
  if (initial) startPlayer(initial);
  showProgram(root.dataset.program);
  if (cfg.state === 'before' || cfg.state === 'live') {
    // Follow the show: before -> live -> after, and pick up the stream once renditions exist.
    setInterval(refreshStatus, cfg.state === 'before' ? 15000 : 20000);
  }

  const unmute = $('unmute');
  if (unmute && video) {
    unmute.addEventListener('click', () => {
      video.muted = false;
      if (video.paused) video.play();
      unmute.hidden = true;
    });
    video.addEventListener('volumechange', () => { unmute.hidden = !video.muted; });
  }
  // Back online: ask at once for the stream's state (a new token, a stream that began meanwhile).
  window.addEventListener('online', refreshStatus);
  root.dataset.ready = 'true';
}
