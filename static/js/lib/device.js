// What the offline-capable device pages (door scanner, pop-up till) share: what they keep on the phone
// (JSON in localStorage under their own prefix, a stable device id, client ids for queued work), the
// network badge and the connectivity loop (back online, gone offline, every 15 s).

/** get/set of JSON values under `prefix`; storage that is full or disabled never throws. */
export function localStore(prefix) {
  return {
    get(name, fallback) {
      try { const raw = localStorage.getItem(prefix + name); return raw === null ? fallback : JSON.parse(raw); }
      catch { return fallback; }
    },
    set(name, value) {
      try { localStorage.setItem(prefix + name, JSON.stringify(value)); } catch { /* storage full or disabled */ }
    },
  };
}

const random = (n) => {
  const rnd = globalThis.crypto?.randomUUID ? crypto.randomUUID().replace(/-/g, '') : Math.random().toString(36).slice(2);
  return rnd.slice(0, n);
};

/** This phone's id (`name`-…), kept in localStorage under `key` (a new one per visit without storage). */
export function deviceId(key, name) {
  let id = null;
  try { id = localStorage.getItem(key); } catch { /* storage disabled */ }
  if (!id) {
    id = `${name}-${random(10)}`;
    try { localStorage.setItem(key, id); } catch { /* a new id per visit, then */ }
  }
  return id;
}

/** A unique id for one queued item (a scan, a sale), so a batch sent twice is recorded once. */
export function clientId(prefix = '') {
  const id = `${Date.now().toString(36)}-${Math.random().toString(36).slice(2, 8)}`;
  return prefix ? `${prefix}-${id}` : id;
}

const NET_STATES = ['online', 'offline', 'syncing', 'lost'];

/**
 * The page's network badge (<p class="…-net"><span class="net-text">): `state` is "online",
 * "offline", "syncing" or "lost" (logged out), as a class next to the badge's own and as data-state.
 */
export function showNet(node, state, text) {
  node.classList.remove(...NET_STATES);
  node.classList.add(state);
  node.dataset.state = state;
  node.querySelector('.net-text').textContent = text;
}

/**
 * The connectivity loop of a device page: `back()` when the browser is online again, `gone()` when it
 * goes offline, and `tick()` every `every` ms while it is online (sync the queue, refresh the data).
 */
export function watchConnectivity({ back, gone, tick, every = 15_000 }) {
  window.addEventListener('online', back);
  window.addEventListener('offline', gone);
  setInterval(() => { if (navigator.onLine) tick(); }, every);
}
