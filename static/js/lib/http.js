// Requests to our own server: the CSRF token, JSON with a timeout, and "the network is down" as its
// own error (so offline-capable pages can queue the work instead of failing).
export class NetworkDown extends Error {}

/** The CSRF token: the one base.html puts on <body hx-headers>, else the cookie. */
export function csrfToken() {
  try {
    const token = JSON.parse(document.body.getAttribute('hx-headers') || '{}')['X-CSRFToken'];
    if (token) return token;
  } catch { /* fall through to the cookie */ }
  const m = document.cookie.match(/(?:^|;\s*)csrftoken=([^;]+)/);
  return m ? decodeURIComponent(m[1]) : '';
}

/**
 * {status, data} of a JSON request. Throws NetworkDown when the server cannot be reached, answers
 * 5xx, or answers something that is not JSON (a proxy's error page).
 */
export async function fetchJSON(url, { method = 'GET', body, timeout = 8000 } = {}) {
  const ctrl = new AbortController();
  const timer = setTimeout(() => ctrl.abort(), timeout);
  let res;
  try {
    res = await fetch(url, {
      method, body, signal: ctrl.signal, credentials: 'same-origin', cache: 'no-store',
      headers: { Accept: 'application/json', 'Content-Type': 'application/json', 'X-CSRFToken': csrfToken() },
    });
  } catch (err) {
    throw new NetworkDown(String(err));
  } finally {
    clearTimeout(timer);
  }
  if (res.status >= 500) throw new NetworkDown(`server answered ${res.status}`);
  // The service worker's stored copy (device pages): the server itself was not reached.
  if (res.headers.get('X-Microstage-Offline')) throw new NetworkDown('answered from the offline copy');
  let data = null;
  try { data = await res.json(); } catch { /* not JSON */ }
  if (data === null && res.status !== 204) throw new NetworkDown(`unreadable answer (${res.status})`);
  return { status: res.status, data };
}
