// The one websocket client of every page that opens /ws/events/<id>/: reconnects by itself with
// exponential backoff and jitter, keeps the socket alive with pings, and tells the page when it is
// back so the page can resync what it missed (the events socket also sends a "resync" frame itself).

export function wsUrl(path) {
  return `${location.protocol === 'https:' ? 'wss' : 'ws'}://${location.host}${path}`;
}

export class LiveSocket {
  /**
   * @param {string} path  e.g. /ws/events/evt_…/?watch=1
   * @param {{onFrame?: (msg: object) => void, onState?: (state: string) => void,
   *          onOpen?: (info: {reconnected: boolean}) => void, ping?: number}} handlers
   *   onState gets "connecting", "open" or "reconnecting".
   */
  constructor(path, { onFrame = () => {}, onState = () => {}, onOpen = () => {}, ping = 25000 } = {}) {
    this.path = path;
    this.onFrame = onFrame;
    this.onState = onState;
    this.onOpen = onOpen;
    this.pingEvery = ping;
    this.attempt = 0;
    this.opened = false;
    this.ws = null;
    this.timer = null;
    this.pinger = null;
    if ('WebSocket' in window) this.connect();
  }

  connect() {
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
      this.onOpen({ reconnected });
    });
    ws.addEventListener('message', (event) => {
      let msg;
      try { msg = JSON.parse(event.data); } catch { return; }
      if (msg && typeof msg.type === 'string') this.onFrame(msg);
    });
    ws.addEventListener('close', () => {
      clearInterval(this.pinger);
      if (this.ws === ws) this.retry();
    });
  }

  retry() {
    this.attempt += 1;
    this.onState('reconnecting');
    // Exponential backoff with jitter, capped at 30 s: a restarting server is not stampeded.
    let delay = Math.min(30000, 1000 * 2 ** Math.min(this.attempt - 1, 5));
    delay = delay / 2 + (Math.random() * delay) / 2;
    clearTimeout(this.timer);
    this.timer = setTimeout(() => this.connect(), delay);
  }

  /** Send a JSON frame; false when the socket is not open (the caller decides what to tell the user). */
  send(payload) {
    if (!this.ws || this.ws.readyState !== WebSocket.OPEN) return false;
    this.ws.send(JSON.stringify(payload));
    return true;
  }

  close() {
    const { ws } = this;
    this.ws = null;
    clearTimeout(this.timer);
    clearInterval(this.pinger);
    if (ws) ws.close();
  }
}
