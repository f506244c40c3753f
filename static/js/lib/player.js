// The one HLS player of the watch room and the replay pages: hls.js (from npm, loaded when needed) or
// native HLS on Safari, with the playback token swapped into every later request, and an "audio only"
// mode. The ladder makes an audio-only rendition, but hls.js drops audio-only levels when video levels
// exist, so audio-only mode loads that rendition's media playlist by itself; the player falls back to
// it after repeated stalls and can be switched back by the viewer.
import { libraryUrl } from './dom.js';

// Playback URLs carry the token as one path segment (/streaming/hls/<event>/<token>/...).
export const TOKEN_RE = /(\/streaming\/hls\/[^/]+\/)[^/]+\//;

/** `url` with the token segment of `current` (so a renewed token reaches every later request). */
export function withToken(url, current) {
  const m = current && current.match(TOKEN_RE);
  return m ? url.replace(TOKEN_RE, m[0]) : url;
}

let hlsLib = null;
export function loadHls() {
  if (!hlsLib) hlsLib = import(libraryUrl('hls', 'vendor/hls/hls.min.mjs')).then((m) => m.default, () => null);
  return hlsLib;
}

/**
 * The URI of the first audio-only variant of a master playlist (no RESOLUTION and no video codec),
 * resolved against the master's URL; null when there is none.
 */
export function audioOnlyVariant(masterText, masterUrl) {
  const lines = String(masterText).split(/\r?\n/);
  for (let i = 0; i < lines.length; i += 1) {
    const line = lines[i].trim();
    if (!line.startsWith('#EXT-X-STREAM-INF:')) continue;
    const attrs = line.slice(18);
    const codecs = (attrs.match(/CODECS="([^"]*)"/) || [])[1] || '';
    const hasVideo = /RESOLUTION=/.test(attrs) || /(avc|hvc|hev|av01|vp0?9)/i.test(codecs);
    const audioish = /mp4a|ac-3|ec-3|opus/i.test(codecs) || /NAME="?audio/i.test(attrs);
    let uri = '';
    for (let j = i + 1; j < lines.length && !uri; j += 1) {
      const next = lines[j].trim();
      if (next && !next.startsWith('#')) uri = next;
    }
    if (uri && !hasVideo && (audioish || !codecs)) return new URL(uri, masterUrl).href;
  }
  return null;
}

export class HlsPlayer {
  /**
   * @param {HTMLVideoElement} video
   * @param {{onMode?: (mode: string, why: string) => void, onAudioAvailable?: (yes: boolean) => void,
   *          onUnsupported?: () => void, onNetworkError?: () => void,
   *          stallLimit?: number, stallWindowMs?: number, startupMs?: number, autoAudio?: boolean,
   *          autoplay?: boolean}} options
   */
  constructor(video, options = {}) {
    this.video = video;
    this.o = { stallLimit: 3, stallWindowMs: 60000, startupMs: 8000, autoAudio: true, autoplay: true, ...options };
    this.url = null;         // the master playlist, with the newest token
    this.audioUrl = null;    // the audio-only media playlist, when the ladder has one
    this.mode = 'video';
    this.hls = null;
    this.Hls = null;
    this.stalls = [];
    this.playing = false;
    this.startupTimer = null;
    this.native = false;
    video.addEventListener('playing', () => { this.playing = true; clearTimeout(this.startupTimer); });
    video.addEventListener('waiting', () => { if (this.playing) this.stalled('waiting'); });
  }

  /** Start playing the master playlist `url` (in the current mode). */
  async start(url) {
    this.url = url;
    this.findAudio();
    await this.load();
  }

  async findAudio() {
    try {
      const res = await fetch(this.url, { credentials: 'same-origin' });
      this.audioUrl = res.ok ? audioOnlyVariant(await res.text(), res.url || this.url) : null;
    } catch { this.audioUrl = null; }
    this.o.onAudioAvailable?.(Boolean(this.audioUrl));
  }

  source() {
    return this.mode === 'audio' && this.audioUrl ? withToken(this.audioUrl, this.url) : this.url;
  }

  async load() {
    const { video } = this;
    this.destroyHls();
    this.playing = false;
    const src = this.source();
    // hls.js wherever Media Source Extensions exist (it swaps renewed tokens into every request and
    // behaves the same everywhere); the browser's own HLS (Safari, recent Chrome) otherwise.
    const turn = (this.loads = (this.loads || 0) + 1);
    const Hls = this.Hls || (this.Hls = await loadHls());
    if (turn !== this.loads) return; // a newer load (a mode switch) started meanwhile
    if (Hls && Hls.isSupported()) {
      this.native = false;
      const hls = new Hls({
        lowLatencyMode: false,
        // Start 1.5 segments (3 s) behind the live edge instead of hls.js's 3 (6 s): glass-to-glass
        // stays near 5 s (bench/glass.py); drifting past 4 segments catches up by playing 10% faster.
        liveSyncDurationCount: 1.5,
        liveMaxLatencyDurationCount: 4,
        maxLiveSyncPlaybackRate: 1.1,
        xhrSetup: (xhr, u) => { xhr.open('GET', withToken(u, this.url), true); },
      });
      hls.on(Hls.Events.ERROR, (_event, data) => {
        if (data.details === Hls.ErrorDetails.BUFFER_STALLED_ERROR) this.stalled('buffer');
        if (!data.fatal) return;
        if (data.type === Hls.ErrorTypes.NETWORK_ERROR) { this.o.onNetworkError?.(); hls.startLoad(); }
        else if (data.type === Hls.ErrorTypes.MEDIA_ERROR) hls.recoverMediaError();
      });
      hls.loadSource(src);
      hls.attachMedia(video);
      this.hls = hls;
    } else if (video.canPlayType('application/vnd.apple.mpegurl')) {
      this.native = true;
      video.src = src;
    } else {
      this.o.onUnsupported?.();
      return;
    }
    if (!this.o.autoplay) return;
    this.watchStartup();
    const playing = video.play();
    if (playing?.catch) playing.catch(() => { /* autoplay refused: the controls remain */ });
  }

  /** Not playing `startupMs` after being asked to (and not paused by the viewer): a stall, again and again. */
  watchStartup() {
    clearTimeout(this.startupTimer);
    this.startupTimer = setTimeout(() => {
      if (this.playing || this.video.paused) return;
      this.stalled('startup');
      this.watchStartup();
    }, this.o.startupMs);
  }

  /** A new token for the same stream: later requests use it; native HLS is pointed at it where it was. */
  renew(url) {
    if (!url || url === this.url) return;
    this.url = url;
    if (this.native) {
      const { video } = this;
      const at = video.currentTime;
      const { paused } = video;
      video.src = this.source();
      video.addEventListener('loadedmetadata', () => {
        if (!Number.isFinite(video.duration) || video.duration > at) { try { video.currentTime = at; } catch { /* live */ } }
        if (!paused) video.play();
      }, { once: true });
    }
  }

  stalled(kind) {
    const now = Date.now();
    const last = this.stalls[this.stalls.length - 1];
    if (last && now - last.at < 2000) return; // one stall, reported by the video and by hls.js
    this.stalls = this.stalls.filter((s) => now - s.at < this.o.stallWindowMs);
    this.stalls.push({ at: now, kind });
    if (this.o.autoAudio && this.mode === 'video' && this.audioUrl && this.stalls.length >= this.o.stallLimit) {
      this.setMode('audio', 'stalls');
    }
  }

  /** Switch between "video" and "audio" (the audio-only rendition); `why` is "viewer" or "stalls". */
  setMode(mode, why = 'viewer') {
    if (mode === this.mode || (mode === 'audio' && !this.audioUrl)) return;
    this.mode = mode;
    this.stalls = [];
    this.o.onMode?.(mode, why);
    if (this.url) this.load();
  }

  destroyHls() {
    if (this.hls) { this.hls.destroy(); this.hls = null; }
  }

  destroy() {
    clearTimeout(this.startupTimer);
    this.destroyHls();
    this.url = null;
  }
}
