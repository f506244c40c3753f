// The control room: live chat with moderation (delete, mute, slow mode) over the event websocket
// (lib/socket.js), stream health, viewers, alerts and the program switch (lib/program.js) polled every
// 5 s, and the preflight checklist re-run every minute.
import { $, el } from './lib/dom.js';
import { ChatList, errorText, setStock, setViewers } from './lib/chat.js';
import { csrfToken } from './lib/http.js';
import { formatNumber, gettext, interpolate, LANG } from './lib/i18n.js';
import { LiveSocket } from './lib/socket.js';
import { loadHls } from './lib/player.js';
import { programSwitch } from './lib/program.js';

const root = $('control');
if (root) {
  const chatError = $('chat-error');
  const muteMinutes = $('mute-minutes');
  const slowSelect = $('slow-mode');
  let socket = null;

  const showError = (text) => {
    chatError.textContent = text || '';
    chatError.hidden = !text;
  };

  const chat = new ChatList({
    list: $('chat-list'), me: root.dataset.user,
    canModerate: () => true,
    onDelete: (id) => socket.send({ type: 'delete', id }),
    onMute: (userId) => socket.send({ type: 'mute', user: userId, minutes: parseInt(muteMinutes.value, 10) || 10 }),
  });

  socket = new LiveSocket(root.dataset.ws, {
    onFrame: (msg) => {
      switch (msg.type) {
        case 'resync':
          chat.reset(msg.messages || []);
          (msg.stock || []).forEach((s) => setStock(s.item, s.available));
          slowSelect.value = String(msg.slow_mode_seconds || 0);
          break;
        case 'chat': chat.add(msg); break;
        case 'chat_deleted': chat.remove(msg.id); break;
        case 'presence': setViewers($('viewers'), msg.viewers); break;
        case 'stock': setStock(msg.item, msg.available); break;
        case 'slow_mode': slowSelect.value = String(msg.seconds); showError(''); break;
        case 'mute': showError(msg.until ? interpolate(gettext('Muted until %s.'), [new Date(msg.until).toLocaleTimeString(LANG)]) : gettext('Mute lifted.')); break;
        case 'error': showError(errorText(msg)); break;
        default: break;
      }
    },
    onState: (state) => {
      const node = $('conn-status');
      node.textContent = state === 'open' ? '' : gettext('Reconnecting…');
      node.hidden = state === 'open';
      root.dataset.socket = state;
    },
  });

  $('slow-mode-form').addEventListener('submit', (event) => {
    event.preventDefault();
    socket.send({ type: 'slow_mode', seconds: parseInt(slowSelect.value, 10) || 0 });
  });
  const input = $('chat-input');
  $('chat-form').addEventListener('submit', (event) => {
    event.preventDefault();
    const text = input.value.trim();
    if (text && socket.send({ type: 'chat', text })) input.value = '';
  });

  // --- health and viewers --------------------------------------------------------------------
  // LiveStream.health is written by the transcoder; accept the usual names for each figure.
  const FIGURES = {
    bitrate: [['bitrate_kbps', ' kbit/s'], ['bitrate', ''], ['kbps', ' kbit/s']],
    fps: [['fps', ' fps'], ['frame_rate', ' fps']],
    keyframe: [['keyframe_interval', ' s'], ['keyframe_interval_s', ' s'], ['gop_seconds', ' s'], ['keyint', ` ${gettext('frames')}`]],
    dropped: [['dropped_frames', ''], ['drop_frames', ''], ['dropped', '']],
  };
  const showHealth = (status) => {
    const stream = $('stream-status');
    stream.textContent = status.status.charAt(0).toUpperCase() + status.status.slice(1);
    stream.dataset.status = status.status;
    $('health-age').textContent = status.health_age_seconds === null
      ? gettext('no health report yet')
      : interpolate(status.health_fresh ? gettext('health %s s ago') : gettext('health %s s ago (stale)'),
        [formatNumber(status.health_age_seconds)]);
    Object.keys(FIGURES).forEach((key) => {
      const dd = document.querySelector(`#health [data-key="${key}"]`);
      let shown = '–';
      FIGURES[key].some(([name, unit]) => {
        const v = status.health[name];
        if (v === undefined || v === null || v === '') return false;
        shown = (typeof v === 'number' ? formatNumber(Math.round(v * 100) / 100) : v) + unit;
        return true;
      });
      dd.textContent = shown;
    });
    setViewers($('viewers'), status.viewers);
    $('peak').textContent = formatNumber(status.peak_viewers);
  };
  const program = programSwitch();
  const pollStatus = () => {
    fetch(root.dataset.statusUrl, { credentials: 'same-origin' })
      .then((r) => (r.ok ? r.json() : null))
      .then((s) => { if (s) { showHealth(s); program?.show(s); } })
      .catch(() => {});
  };
  setInterval(pollStatus, 5000);
  pollStatus();

  // --- preflight -----------------------------------------------------------------------------
  const showPreflight = (result) => {
    const list = $('preflight');
    list.replaceChildren(...result.lines.map((line) => {
      const li = el('li', `pf pf-${line.status.replace('/', '')}`);
      li.dataset.key = line.key;
      li.append(el('span', 'pf-mark', line.status === 'pass' ? gettext('Pass') : line.status === 'fail' ? gettext('Fail') : gettext('n/a')));
      const text = el('span');
      text.append(el('strong', '', line.label), el('span', 'sub', line.detail));
      li.append(text);
      return li;
    }));
    const at = $('preflight-at');
    at.setAttribute('datetime', result.checked_at);
    at.textContent = new Date(result.checked_at).toLocaleTimeString();
  };
  const runPreflight = () => {
    fetch(root.dataset.preflightUrl, { method: 'POST', credentials: 'same-origin', headers: { 'X-CSRFToken': csrfToken() } })
      .then((r) => (r.ok ? r.json() : null))
      .then((result) => { if (result) showPreflight(result); })
      .catch(() => {});
  };
  $('preflight-run').addEventListener('click', runPreflight);
  runPreflight();
  setInterval(runPreflight, 60000);
  root.dataset.ready = 'true';
}

// The team's private test ingest (never on the watch page): hls.js, or native HLS on Safari.
const testPlayer = $('test-player');
if (testPlayer) {
  loadHls().then((Hls) => {
    const url = testPlayer.dataset.hlsUrl;
    if (Hls && Hls.isSupported()) {
      const hls = new Hls();
      hls.loadSource(url);
      hls.attachMedia(testPlayer);
    } else {
      testPlayer.src = url;
    }
  });
}
