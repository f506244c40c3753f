// Installable device pages (door scanner, pop-up till): registers the page's service worker and asks
// it to keep this page and everything it loaded (scripts, libraries, the last bundle) for offline use.
import { STATIC_ROOT } from './dom.js';

/**
 * Register `swUrl` with `scope`; once it controls the page, have it cache the page itself, every
 * same-origin static file the page has loaded and `extra` URLs (libraries loaded later, data).
 * Resolves to true when the offline copy is stored; `root.dataset.offline` says "ready" then.
 */
export async function makeOffline(root, { swUrl, scope, extra = [] }) {
  if (!('serviceWorker' in navigator) || !swUrl) return false;
  try {
    await navigator.serviceWorker.register(swUrl, { scope });
    const registration = await navigator.serviceWorker.ready;
    const worker = registration.active;
    if (!worker) return false;
    // Static files and the page's translations (/jsi18n/<lang>.js): the page needs both offline.
    const staticFiles = performance.getEntriesByType('resource').map((e) => e.name)
      .filter((url) => url.startsWith(STATIC_ROOT) || new URL(url, location.href).pathname.startsWith('/jsi18n/'));
    const urls = [...new Set([location.href.split('#')[0], ...staticFiles, ...extra])];
    const stored = await new Promise((resolve) => {
      const channel = new MessageChannel();
      const timer = setTimeout(() => resolve(false), 20000);
      channel.port1.onmessage = (event) => { clearTimeout(timer); resolve(Boolean(event.data?.ok)); };
      worker.postMessage({ type: 'cache', urls }, [channel.port2]);
    });
    root.dataset.offline = stored ? 'ready' : 'failed';
    return stored;
  } catch {
    root.dataset.offline = 'failed';
    return false;
  }
}
