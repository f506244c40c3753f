// QR helpers of the device pages: the camera reader (html5-qrcode from npm, loaded on demand) for the
// door, and showing a QR code the server drew (segno SVG) for the till.
import { libraryUrl, loadScript } from './dom.js';
import { gettext } from './i18n.js';

export const SCANNER_URL = libraryUrl('scanner', 'vendor/qr/html5-qrcode.min.js');

/** Load the camera library; resolves to window.Html5Qrcode or null. */
export function loadScanner() {
  if (window.Html5Qrcode) return Promise.resolve(window.Html5Qrcode);
  return loadScript(SCANNER_URL).then(() => window.Html5Qrcode || null, () => null);
}

/**
 * A camera reader in the element `readerId` that calls onCode(text) for each code it reads, ignoring
 * the same code held in front of the lens and giving the door time to read the last result.
 */
export class CameraReader {
  constructor(readerId, onCode, { repeatMs = 4000, gapMs = 1200 } = {}) {
    this.readerId = readerId;
    this.onCode = onCode;
    this.repeatMs = repeatMs;
    this.gapMs = gapMs;
    this.scanner = null;
    this.on = false;
    this.last = '';
    this.lastAt = 0;
  }

  decoded(text) {
    const now = Date.now();
    if (text === this.last && now - this.lastAt < this.repeatMs) return;
    if (now - this.lastAt < this.gapMs) return;
    this.last = text;
    this.lastAt = now;
    this.onCode(text);
  }

  /** Start the back camera; throws an Error with a readable message when it cannot. */
  async start() {
    const Html5Qrcode = await loadScanner();
    if (!Html5Qrcode) throw new Error(gettext('The camera scanner did not load.'));
    this.scanner = this.scanner || new Html5Qrcode(this.readerId, {
      verbose: false, formatsToSupport: [window.Html5QrcodeSupportedFormats.QR_CODE] });
    const qrbox = (w, h) => { const side = Math.max(120, Math.floor(Math.min(w, h) * 0.7)); return { width: side, height: side }; };
    await this.scanner.start({ facingMode: 'environment' }, { fps: 10, qrbox, aspectRatio: 1 },
      (text) => this.decoded(text), () => {});
    this.on = true;
  }

  async stop() {
    try { if (this.scanner && this.on) await this.scanner.stop(); } catch { /* already stopped */ }
    this.on = false;
  }
}

/** Show an SVG QR code drawn by the server, parsed as SVG (never as HTML). */
export function showQrSvg(container, svgText) {
  const doc = new DOMParser().parseFromString(svgText || '', 'image/svg+xml');
  const svg = doc.documentElement;
  if (!svg || svg.nodeName.toLowerCase() !== 'svg' || doc.querySelector('parsererror, script, foreignObject')) {
    container.replaceChildren();
    return false;
  }
  container.replaceChildren(document.importNode(svg, true));
  return true;
}
