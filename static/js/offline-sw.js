// Service worker of the device pages (door scanner, pop-up till), served at the top of their scope
// (/door/sw.js, /dashboard/products/pos/sw.js) by microstage.pwa. It keeps the page, its scripts and
// the last data it fetched (the door's signed bundle, the till's catalogue) and the translations
// (/jsi18n/<lang>.js) so the page opens and
// works with no network. POSTs (scans, sales, sync) always go to the network: the page queues them.
const VERSION = '__VERSION__';
const STATIC_URL = '__STATIC_URL__';
const CACHE = `microstage-device-${VERSION}`;

self.addEventListener('install', () => self.skipWaiting());

self.addEventListener('activate', (event) => {
  event.waitUntil((async () => {
    const names = await caches.keys();
    await Promise.all(names.filter((n) => n.startsWith('microstage-device-') && n !== CACHE).map((n) => caches.delete(n)));
    await self.clients.claim();
  })());
});

async function store(urls) {
  const cache = await caches.open(CACHE);
  const results = await Promise.allSettled(urls.map(async (url) => {
    const target = new URL(url, self.location.href);
    if (target.origin !== self.location.origin) return;
    const response = await fetch(target.href, { credentials: 'same-origin', cache: 'no-cache' });
    if (response.ok) await cache.put(target.href, response);
  }));
  return results.every((r) => r.status === 'fulfilled');
}

self.addEventListener('message', (event) => {
  if (event.data?.type !== 'cache' || !Array.isArray(event.data.urls)) return;
  const reply = event.ports[0];
  event.waitUntil(store(event.data.urls.slice(0, 200)).then((ok) => reply?.postMessage({ ok }),
    () => reply?.postMessage({ ok: false })));
});

const withTimeout = (promise, ms) => new Promise((resolve, reject) => {
  const timer = setTimeout(() => reject(new Error('timeout')), ms);
  promise.then((v) => { clearTimeout(timer); resolve(v); }, (e) => { clearTimeout(timer); reject(e); });
});

/** Pages, their scripts and data: the network first (fresh when it answers), the stored copy when it does not. */
async function networkFirst(request) {
  const cache = await caches.open(CACHE);
  const key = request.url.split('#')[0];
  try {
    const response = await withTimeout(fetch(request), 8000);
    if (response.ok && response.type === 'basic') await cache.put(key, response.clone());
    return response;
  } catch (err) {
    const stored = await cache.match(key, { ignoreVary: true });
    if (!stored) throw err;
    // Say it is the stored copy: the page then knows the server was not reached.
    const headers = new Headers(stored.headers);
    headers.set('X-Microstage-Offline', 'stored');
    return new Response(stored.body, { status: stored.status, statusText: stored.statusText, headers });
  }
}

self.addEventListener('fetch', (event) => {
  const { request } = event;
  if (request.method !== 'GET') return;
  const url = new URL(request.url);
  if (url.origin !== self.location.origin) return;
  const inScope = url.href.startsWith(self.registration.scope) && !url.pathname.endsWith('/sw.js');
  // The JavaScript catalogue (/jsi18n/<lang>.js) too: without it the page would be in English offline.
  const catalogue = url.pathname.startsWith('/jsi18n/');
  if (inScope || catalogue || url.pathname.startsWith(STATIC_URL)) event.respondWith(networkFirst(request));
});
