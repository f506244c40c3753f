// The one websocket client of every page that opens a live socket (/ws/events/<id>/ and the door's):
// - connects to a path of this host (ws:// or wss:// like the page);
// - reconnects by itself with exponential backoff and jitter (capped at 30 s), at once when the
//   browser says it is back online;
// - resyncs after a reconnect: `resync()` re-asks the server for the current state the page's own way
//   (the events socket also sends a "resync" frame by itself on every connect);
// - keeps the socket alive with pings ({"type": "ping"}, answered with {"type": "pong"});
// - closes cleanly (code 1000) when the page goes away or the page calls close(), and never retries then.
// Frames are JSON objects with a string "type"; anything else is ignored.

export function wsUrl(path) {
  return `${location.protocol === 'https:' ? 'wss' : 'ws'}://${location.host}${path}`;
}

const MAX_DELAY_MS = 30000;
const NORMAL_CLOSURE = 1000;

/** The wait before reconnect attempt `attempt` (1, 2, …): 1 s doubling to 30 s, half of it random. */
export function backoff(attempt, random = Math.random) {
  const delay = Math.min(MAX_DELAY_MS, 1000 * 2 ** Math.min(attempt - 1, 5));
  return delay / 2 + (random() * delay) / 2;
}

export class LiveSocket {
  /**
   * @param {string} path  e.g. /ws/events/evt_…/?watch=1
   * @param {{onFrame?: (msg: object) => void, onState?: (state: string) => void,
   *          resync?: () => void, ping?: number}} handlers
   *   onState gets "connecting", "open", "reconnecting" or "closed"; resync runs after each reconnect
   *   (not after the first connect: the page was drawn with the current state).
   */
  constructor(path, { onFrame = () => {}, onState = () => {}, resync = () => {}, ping = 25000 } = {}) {
    this.path = path;
    this.onFrame = onFrame;
    this.onState = onState;
    this.resync = resync;
    this.pingEvery = ping;
    this.attempt = 0;
    this.opened = false;
    this.closed = false;
    this.ws = null;
    this.timer = null;
    this.pinger = null;
    if (!('WebSocket' in window)) return;
    this.onOnline = () => { if (!this.ws) { this.attempt = 0; this.connect(); } }; // waiting to retry: now
    this.onPageHide = (event) => { if (!event.persisted) this.close(); else this.drop(); };
    this.onPageShow = (event) => { if (event.persisted && !this.closed) this.connect(); };
    window.addEventListener('online', this.onOnline);
    window.addEventListener('pagehide', this.onPageHide);
    window.addEventListener('pageshow', this.onPageShow);
    this.connect();
  }

  isOpen() {
    return Boolean(this.ws && this.ws.readyState === WebSocket.OPEN);
  }

  connect() {
    if (this.closed) return;
    this.drop();
    this.onState(this.attempt ? 'reconnecting' : 'connecting');
    let ws;
    try { ws = new WebSocket(wsUrl(this.path)); } catch { this.retry(); return; }
    this.ws = ws;
    ws.addEventListener('open', () => {
      const reconnected = this.opened;
      this.attempt = 0;
      this.opened = true;
      this.onState('open');
      clearInterval(this.pinger);
      // Keeps proxies from closing an idle socket; the server answers {"type": "pong"}.
      if (this.pingEvery) this.pinger = setInterval(() => this.send({ type: 'ping' }), this.pingEvery);
      if (reconnected) this.resync(); // what was missed while away
    });
    ws.addEventListener('message', (event) => {
      let msg;
      try { msg = JSON.parse(event.data); } catch { return; }
      if (msg && typeof msg.type === 'string') this.onFrame(msg);
    });
    ws.addEventListener('close', () => {
      clearInterval(this.pinger);
      if (this.ws === ws) { this.ws = null; this.retry(); }
    });
  }

  retry() {
    if (this.closed) return;
    this.attempt += 1;
    this.onState('reconnecting');
    // Backoff with jitter: a restarting server is not stampeded by every page at once.
    clearTimeout(this.timer);
    this.timer = setTimeout(() => this.connect(), backoff(this.attempt));
  }

  /** Send a JSON frame; false when the socket is not open (the caller decides what to tell the user). */
  send(payload) {
    if (!this.isOpen()) return false;
    this.ws.send(JSON.stringify(payload));
    return true;
  }

  /** Let go of the current socket (no retry from it). */
  drop() {
    const { ws } = this;
    this.ws = null;
    clearTimeout(this.timer);
    clearInterval(this.pinger);
    if (ws && ws.readyState <= WebSocket.OPEN) ws.close(NORMAL_CLOSURE);
  }

  /** Close for good: a clean close frame, no reconnect. */
  close() {
    if (this.closed) return;
    this.closed = true;
    this.drop();
    window.removeEventListener('online', this.onOnline);
    window.removeEventListener('pagehide', this.onPageHide);
    window.removeEventListener('pageshow', this.onPageShow);
    this.onState('closed');
  }
}
