// Attendee pages: live ticket stock over the event websocket (lib/socket.js), the hold countdown, "use my
// location" and checkout telemetry. Everything here is an enhancement: the pages work without it.
import htmx from '../vendor/htmx/htmx.esm.js';
import { formatNumber, gettext, interpolate, ngettext } from './lib/i18n.js';
import { LiveSocket } from './lib/socket.js';

// The tier picker's availability poller re-reads every tier (a ticket of one tier can change what
// the shared venue leaves for the others).
function refreshAvailability() {
  const poller = document.getElementById('availability-poller');
  if (poller) htmx.trigger(poller, 'refresh');
}

// Live stock: {"type": "stock", "item": tier_id, "available": n} from /ws/events/<id>/.
function liveStock(path) {
  return new LiveSocket(path, {
    ping: 0,
    resync: refreshAvailability, // what was missed while away
    onFrame: (msg) => {
      if (msg.type !== 'stock') return;
      const status = document.getElementById(`avail-${msg.item}`);
      const state = status?.dataset.state;
      if (state === 'on_sale' || state === 'sold_out') {
        const n = parseInt(msg.available, 10);
        if (!Number.isNaN(n)) {
          status.textContent = n > 0 ? interpolate(ngettext('%s left', '%s left', n), [formatNumber(n)]) : gettext('Sold out');
          status.dataset.state = n > 0 ? 'on_sale' : 'sold_out';
          status.className = `avail avail-${n > 0 ? 'on_sale' : 'sold_out'}`;
        }
      }
      refreshAvailability();
    },
  });
}

// The hold countdown on an order page: m:ss, then a clear message.
function countdown(el) {
  const left = parseInt(el.dataset.countdown, 10);
  if (Number.isNaN(left)) return;
  const end = Date.now() + left * 1000;
  const tick = () => {
    const s = Math.max(0, Math.round((end - Date.now()) / 1000));
    el.textContent = `${Math.floor(s / 60)}:${String(s % 60).padStart(2, '0')}`;
    if (s <= 0) {
      el.textContent = el.dataset.countdownDone || gettext('Time is up');
      document.querySelectorAll('button.pay').forEach((b) => { b.disabled = true; });
      setTimeout(() => location.reload(), 1500);
      return;
    }
    setTimeout(tick, 1000 - (Date.now() % 1000));
  };
  tick();
}

// "Use my location" fills the near field with the browser's coordinates and submits the search.
function geolocate(button) {
  if (!('geolocation' in navigator)) return;
  const input = document.getElementById(button.dataset.geolocate);
  const status = button.parentNode.querySelector('[data-geolocate-status]');
  button.hidden = false;
  button.addEventListener('click', () => {
    if (status) status.textContent = gettext('Finding you…');
    button.disabled = true;
    navigator.geolocation.getCurrentPosition((pos) => {
      input.value = `${pos.coords.latitude.toFixed(3)},${pos.coords.longitude.toFixed(3)}`;
      if (status) status.textContent = '';
      button.form.submit();
    }, (err) => {
      button.disabled = false;
      if (status) {
        status.textContent = err.code === 1 ? gettext('Location is blocked for this site. Type coordinates instead.')
          : gettext('Could not find your location. Type coordinates instead.');
      }
    }, { enableHighAccuracy: false, timeout: 10000, maximumAge: 600000 });
  });
}

// Checkout telemetry: a form marked data-checkout="reserve|pay" notes when it was sent; the page that
// answers it reports the latency (submit → first byte) or, when it shows an error, the error code.
const CHECKOUT_KEY = 'ms-checkout';
function sendSample(sample) {
  if (!navigator.sendBeacon || !/^evt_/.test(sample.event || '')) return;
  navigator.sendBeacon('/api/v1/telemetry', new Blob([JSON.stringify(sample)], { type: 'application/json' }));
}
function checkoutTelemetry() {
  document.querySelectorAll('form[data-checkout]').forEach((form) => {
    form.addEventListener('submit', () => {
      try {
        sessionStorage.setItem(CHECKOUT_KEY, JSON.stringify({ event: form.dataset.telemetryEvent,
          step: form.dataset.checkout, t: Date.now() }));
      } catch { /* storage blocked: nothing measured */ }
    });
  });
  let pending;
  try { pending = JSON.parse(sessionStorage.getItem(CHECKOUT_KEY) || 'null'); sessionStorage.removeItem(CHECKOUT_KEY); }
  catch { pending = null; }
  if (!pending || !/^[a-z]{1,16}$/.test(pending.step || '')) return;
  const nav = performance.getEntriesByType?.('navigation')[0];
  const origin = performance.timeOrigin || Date.now() - performance.now();
  if (!nav || origin - pending.t > 5000 || origin < pending.t - 1000) return; // not this form's answer
  const status = nav.responseStatus || 200;
  const failed = status >= 400 || document.querySelector('.message.error, .errorlist, [data-checkout-error]');
  if (failed) {
    const code = status >= 400 ? `http_${status}` : `${pending.step}_refused`;
    sendSample({ event: pending.event, kind: 'checkout_error', value: 1, detail: code });
  } else {
    const ms = Math.round(origin + nav.responseStart - pending.t);
    if (ms >= 0 && ms <= 600000) sendSample({ event: pending.event, kind: 'checkout_latency_ms', value: ms });
  }
}

checkoutTelemetry();
// One socket per page: the tier picker's, else the drops panel's (either updates every count).
const live = document.querySelector('form[data-ws]') || document.querySelector('[data-ws]');
if (live?.dataset.ws) liveStock(live.dataset.ws);
document.querySelectorAll('[data-countdown]').forEach(countdown);
document.querySelectorAll('[data-geolocate]').forEach(geolocate);
