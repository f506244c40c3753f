// What an offline-capable device page (door scanner, pop-up till) keeps on the phone: JSON in
// localStorage under its own prefix, a stable device id, and client ids for queued work.

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
