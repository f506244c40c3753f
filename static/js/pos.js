// Pop-up till: pick items, take cash (queued on the phone, synced when the network is back) or let the
// buyer pay by QR on their own phone (needs the network). Each sale carries a client id made here, so a
// batch synced twice is recorded once; the server answers conflicts, never drops a sale.
import { $, jsonData } from './lib/dom.js';
import { NetworkDown, fetchJSON } from './lib/http.js';
import { clientId, deviceId as makeDeviceId, localStore, showNet, watchConnectivity } from './lib/device.js';
import { makeOffline } from './lib/pwa.js';
import { showQrSvg } from './lib/qr.js';
import { formatMoney, gettext, interpolate, LANG, ngettext } from './lib/i18n.js';

const root = $('pos');
const cfg = root.dataset;
const SYNC_BATCH = 100;
const store = localStore(`microstage.pos.${cfg.location}.`);
const deviceId = makeDeviceId('microstage.pos.device', 'till');
const newId = () => clientId(deviceId);

// --- state -----------------------------------------------------------------------------------
let snapshot = store.get('snapshot', null) || jsonData('pos-snapshot');
let queue = store.get('queue', []);
let refused = store.get('refused', []);
let cart = {};
let reachable = true;
let sessionLost = false;
let syncing = false;
let qrSale = null;
let qrTimer = null;

const isOnline = () => navigator.onLine && reachable && !sessionLost;
const items = () => snapshot?.items || [];
const byId = (id) => items().find((i) => i.variant === id);
const cents = (s) => Math.round(Number(s) * 100);
const decimal = (c) => (c / 100).toFixed(2); // what the API takes
const money = (c, currency) => formatMoney(c / 100, currency); // what people read

/** On-hand as the server last said, minus what this phone sold and has not synced yet. */
function onHand(variant) {
  const base = byId(variant)?.on_hand ?? 0;
  let queued = 0;
  for (const s of queue) for (const i of s.items) if (i.variant === variant) queued += i.quantity;
  return base - queued - (cart[variant] || 0);
}

function say(text) { $('pos-result').textContent = text; }

// --- cart ------------------------------------------------------------------------------------
function add(variant) { cart[variant] = (cart[variant] || 0) + 1; render(); }
function remove(variant) { if (cart[variant] > 1) cart[variant] -= 1; else delete cart[variant]; render(); }
function cartLines() {
  return Object.entries(cart).map(([variant, quantity]) => ({ variant, quantity, unit_price: byId(variant)?.price ?? '0' }));
}
function cartTotal() { return cartLines().reduce((t, l) => t + cents(l.unit_price) * l.quantity, 0); }

function payCash() {
  const lines = cartLines();
  if (!lines.length) return;
  queue.push({ client_id: newId(), items: lines, sold_at: new Date().toISOString(), device: deviceId,
               total: decimal(cartTotal()) });
  store.set('queue', queue);
  cart = {};
  say(isOnline() ? gettext('Cash sale saved.') : gettext('Cash sale saved on this phone (offline).'));
  render();
  sync();
}

async function payQr() {
  const lines = cartLines();
  if (!lines.length) return;
  if (!isOnline()) { say(gettext('Paying by QR needs the network: take cash instead.')); return; }
  $('pay-qr').disabled = true;
  try {
    const { status, data } = await fetchJSON(cfg.qrUrl, { method: 'POST',
      body: JSON.stringify({ client_id: newId(), items: lines, device: deviceId }) });
    if (status === 401 || status === 403 || status === 404) { loseSession(data); return; }
    if (status !== 201 && status !== 200) { say(data.detail || gettext('Could not start the QR payment.')); return; }
    cart = {};
    qrSale = data.sale;
    showQrSvg($('qr-code'), data.qr_svg); // SVG made by the server (segno), parsed as SVG
    $('qr-status').textContent = gettext('Waiting for the buyer to pay…');
    $('qr-panel').hidden = false;
    pollQr();
    refresh();
  } catch (err) {
    if (!(err instanceof NetworkDown)) throw err;
    reachable = false;
    say(gettext('The network dropped: take cash instead.'));
  } finally { render(); }
}

async function pollQr() {
  clearTimeout(qrTimer);
  if (!qrSale || qrSale.status !== 'pending_payment') return;
  try {
    const { status, data } = await fetchJSON(cfg.saleUrl.replace('pos_SALE', qrSale.id));
    if (status === 200) qrSale = data.sale;
  } catch { /* try again */ }
  if (qrSale.status === 'completed') { $('qr-status').textContent = gettext('Paid ✓'); say(gettext('Paid by QR.')); refresh(); return; }
  if (qrSale.status === 'cancelled') { $('qr-status').textContent = gettext('Not paid: the items are back on the table.'); refresh(); return; }
  qrTimer = setTimeout(pollQr, 3000);
}

async function cancelQr() {
  if (!qrSale) return;
  try {
    const { data } = await fetchJSON(cfg.cancelUrl.replace('pos_SALE', qrSale.id), { method: 'POST', body: '{}' });
    if (data.sale) qrSale = data.sale;
    $('qr-status').textContent = data.detail || (qrSale.status === 'completed' ? gettext('Paid ✓')
      : gettext('Cancelled: the items are back.'));
  } catch { $('qr-status').textContent = gettext('No network: try again.'); }
  refresh();
}

// --- sync ------------------------------------------------------------------------------------
function applySnapshot(data) {
  if (!data?.items) return;
  snapshot = { location: data.location, items: data.items, conflicts: data.conflicts || [],
               fetched_at: new Date().toISOString() };
  store.set('snapshot', snapshot);
}

async function refresh() {
  if (!navigator.onLine || sessionLost) return;
  try {
    const { status, data } = await fetchJSON(cfg.catalogueUrl);
    if (status === 401 || status === 403 || status === 404) { loseSession(data); return; }
    reachable = true;
    if (status === 200) applySnapshot(data);
  } catch (err) { if (err instanceof NetworkDown) reachable = false; else throw err; }
  render();
}

async function sync() {
  if (syncing || !queue.length || !navigator.onLine || sessionLost) { render(); return; }
  syncing = true;
  render();
  const batch = queue.slice(0, SYNC_BATCH);
  try {
    const body = JSON.stringify({ device: deviceId, sales: batch.map(({ client_id, items: lines, sold_at, device }) => ({ client_id, items: lines, sold_at, device })) });
    const { status, data } = await fetchJSON(cfg.syncUrl, { method: 'POST', body, timeout: 20000 });
    reachable = true;
    if (status === 401 || status === 403 || status === 404) { loseSession(data); return; }
    if (status !== 200) { say(data.detail || gettext('The server did not take the queue.')); return; }
    const done = new Set();
    data.results.forEach((r, i) => {
      done.add(batch[i].client_id);
      if (r.result === 'refused') refused.unshift({ ...batch[i], detail: r.detail });
    });
    queue = queue.filter((s) => !done.has(s.client_id));
    store.set('queue', queue);
    store.set('refused', refused);
    applySnapshot(data);
    const conflicts = data.results.filter((r) => r.sale?.status === 'conflict').length;
    say(conflicts ? interpolate(ngettext('Synced — %s sale sold more than the table held: see below.',
      'Synced — %s sales sold more than the table held: see below.', conflicts), [conflicts]) : gettext('Synced.'));
  } catch (err) {
    if (!(err instanceof NetworkDown)) throw err;
    reachable = false;
  } finally {
    syncing = false;
    render();
  }
  if (queue.length && isOnline()) setTimeout(sync, 300);
}

function loseSession(data) { sessionLost = true; say(data?.detail || gettext('Logged out: log in again to sync.')); render(); }

// --- display ---------------------------------------------------------------------------------
function li(text, right) {
  const el = document.createElement('li');
  const a = document.createElement('span');
  a.textContent = text;
  el.append(a);
  if (right) el.append(right);
  return el;
}

function render() {
  let state = 'online';
  let text = queue.length ? interpolate(gettext('Online · %s to sync'), [queue.length]) : gettext('Online');
  if (sessionLost) { state = 'lost'; text = gettext('Logged out'); }
  else if (!isOnline()) { state = 'offline'; text = interpolate(gettext('Offline · %s to sync'), [queue.length]); }
  else if (syncing) text = interpolate(gettext('Syncing %s…'), [queue.length]);
  showNet($('pos-net'), state, text);

  const grid = $('pos-items');
  grid.replaceChildren(...items().map((item) => {
    const left = onHand(item.variant);
    const b = document.createElement('button');
    b.type = 'button';
    b.className = `pos-item secondary${left <= 0 ? ' out' : ''}`;
    b.dataset.variant = item.variant;
    const name = document.createElement('span'); name.textContent = item.label;
    const price = document.createElement('span'); price.className = 'price'; price.textContent = formatMoney(item.price, item.currency);
    const l = document.createElement('span'); l.className = 'left'; l.textContent = left <= 0 ? interpolate(gettext('%s left — count the table'), [left])
      : interpolate(ngettext('%s left', '%s left', left), [left]);
    b.append(name, price, l);
    b.addEventListener('click', () => add(item.variant));
    return b;
  }));
  $('pos-empty').hidden = items().length > 0;

  $('cart-list').replaceChildren(...cartLines().map((l) => {
    const minus = document.createElement('button');
    minus.type = 'button'; minus.className = 'small secondary'; minus.textContent = '−';
    minus.setAttribute('aria-label', interpolate(gettext('One less %s'), [byId(l.variant)?.label || '']));
    minus.addEventListener('click', () => remove(l.variant));
    return li(`${l.quantity} × ${byId(l.variant)?.label || l.variant}`, minus);
  }));
  const currency = items()[0]?.currency || '';
  $('cart-total').textContent = money(cartTotal(), currency);
  const empty = !cartLines().length;
  $('pay-cash').disabled = empty;
  $('pay-qr').disabled = empty || !isOnline();

  $('pending').hidden = !queue.length;
  $('pending-count').textContent = String(queue.length);
  $('pending-list').replaceChildren(...queue.map((s) => li(
    `${new Date(s.sold_at).toLocaleTimeString(LANG, { hour: '2-digit', minute: '2-digit' })} · ${s.items.map((i) => `${i.quantity} × ${byId(i.variant)?.label || i.variant}`).join(', ')}`)));
  $('sync-now').disabled = syncing || !navigator.onLine;

  const conflicts = snapshot?.conflicts || [];
  $('conflicts').hidden = !conflicts.length;
  $('conflict-count').textContent = String(conflicts.length);
  $('conflict-list').replaceChildren(...conflicts.map((c) => li(
    `${new Date(c.sold_at).toLocaleTimeString(LANG, { hour: '2-digit', minute: '2-digit' })} · ${c.items.map((i) => `${i.quantity} × ${i.label}`).join(', ')} · ${formatMoney(c.total, c.currency)}`)));

  $('refused').hidden = !refused.length;
  $('refused-list').replaceChildren(...refused.map((s) => li(`${s.items.map((i) => `${i.quantity} × ${byId(i.variant)?.label || i.variant}`).join(', ')}: ${s.detail}`)));
}

// --- wiring ----------------------------------------------------------------------------------
$('pay-cash').addEventListener('click', payCash);
$('pay-qr').addEventListener('click', payQr);
$('cart-clear').addEventListener('click', () => { cart = {}; render(); });
$('qr-cancel').addEventListener('click', cancelQr);
$('qr-close').addEventListener('click', () => { clearTimeout(qrTimer); qrSale = null; $('qr-panel').hidden = true; });
$('sync-now').addEventListener('click', () => { reachable = true; sync(); });
watchConnectivity({
  back: () => { reachable = true; render(); sync(); refresh(); },
  gone: render,
  tick: () => {
    if (sessionLost) return;
    reachable = true;
    if (queue.length) sync(); else refresh();
  },
});

render();
refresh().then(() => { if (queue.length) sync(); });
root.dataset.ready = 'true';
// Installable and usable with no network: the page, its scripts and the last catalogue.
makeOffline(root, { swUrl: cfg.swUrl, scope: cfg.swScope, extra: [cfg.catalogueUrl] });
