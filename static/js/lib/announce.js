// Screen-reader announcements for live counters ("16 left") without flooding.
//
// A counter opts in with data-announce="<its name>" (a ticket tier, a drop). The counters themselves
// are not live regions: the websocket and the availability poller may change them many times a
// second in a rush. One hidden polite live region (#live-announcer, made here) says what changed, at
// most once every ANNOUNCE_INTERVAL_MS, and only the latest value of each counter ("Standard: 12 left").
// Scrollable table wrappers also become keyboard-focusable here (a keyboard user can scroll them).

export const ANNOUNCE_INTERVAL_MS = 5000;

export class Announcer {
  constructor(region, intervalMs = ANNOUNCE_INTERVAL_MS) {
    this.region = region;
    this.intervalMs = intervalMs;
    this.pending = new Map(); // key -> latest text, in first-changed order
    this.last = -Infinity;
    this.timer = null;
    this.count = 0;
  }

  say(key, text) {
    this.pending.delete(key); // keep only the latest value of each counter
    this.pending.set(key, text);
    if (this.timer !== null) return;
    const wait = Math.max(0, this.last + this.intervalMs - Date.now());
    this.timer = setTimeout(() => this.flush(), wait);
  }

  flush() {
    this.timer = null;
    if (!this.pending.size) return;
    this.region.textContent = [...this.pending.values()].join('. ');
    this.pending.clear();
    this.last = Date.now();
    this.count += 1;
    this.region.dataset.announcements = String(this.count);
  }
}

function liveRegion() {
  let region = document.getElementById('live-announcer');
  if (!region) {
    region = document.createElement('div');
    region.id = 'live-announcer';
    region.className = 'visually-hidden';
    region.setAttribute('role', 'status');
    region.setAttribute('aria-live', 'polite');
    region.setAttribute('aria-atomic', 'true');
    document.body.append(region);
  }
  return region;
}

const counterText = (node) => node.textContent.replace(/\s+/g, ' ').trim();

export function announceCounters(root = document.body) {
  if (!root || !root.querySelector('[data-announce]')) return null;
  const announcer = new Announcer(liveRegion());
  const seen = new Map();
  const snapshot = () => root.querySelectorAll('[data-announce][id]');
  snapshot().forEach((node) => seen.set(node.id, counterText(node)));
  const observer = new MutationObserver(() => {
    snapshot().forEach((node) => {
      const text = counterText(node);
      if (seen.get(node.id) === text) return;
      seen.set(node.id, text);
      announcer.say(node.id, `${node.dataset.announce}: ${text}`);
    });
  });
  observer.observe(root, { subtree: true, childList: true, characterData: true });
  return announcer;
}

export function focusableScrollers(root = document) {
  root.querySelectorAll('.table-wrap').forEach((wrap) => {
    if (wrap.hasAttribute('tabindex')) return;
    wrap.tabIndex = 0;
    const caption = wrap.querySelector('caption');
    const heading = wrap.closest('section')?.querySelector('h2, h3');
    const name = caption || heading;
    if (name) {
      wrap.setAttribute('role', 'region');
      if (name.id) wrap.setAttribute('aria-labelledby', name.id);
      else wrap.setAttribute('aria-label', counterText(name));
    }
  });
}
