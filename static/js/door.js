// Door scanner: live scans through the server; when the network drops, Ed25519 checks on the
// phone against the stored check-in bundle, with a queue that syncs when the network is back.
import { $ } from './lib/dom.js';
import { NetworkDown, fetchJSON } from './lib/http.js';
import { clientId, deviceId as makeDeviceId, localStore, showNet as showNetBadge, watchConnectivity } from './lib/device.js';
import { LiveSocket } from './lib/socket.js';
import { makeOffline } from './lib/pwa.js';
import { CameraReader, SCANNER_URL } from './lib/qr.js';
import { gettext, interpolate, LANG, ngettext } from './lib/i18n.js';

const root = $('door');
const cfg = root.dataset;
const EVENT = cfg.event;
const BUNDLE_MAX_AGE_MS = 60_000;
const RECENT_MAX = 8;
const SYNC_BATCH = 200;

const store = localStore(`microstage.door.${EVENT}.`);
const timeFmt = new Intl.DateTimeFormat(LANG, { hour: '2-digit', minute: '2-digit', hourCycle: 'h23',
  timeZone: cfg.timezone });
const fmtTime = (iso) => timeFmt.format(new Date(iso));
const deviceId = makeDeviceId('microstage.door.device', 'door');
const newId = () => clientId();

// --- state -----------------------------------------------------------------------------------
let bundle = store.get('bundle', null);       // the server's bundle, as last fetched
let queue = store.get('queue', []);           // scans made offline, waiting to be synced
let duplicates = store.get('duplicates', []); // what the server reported when syncing
let recent = store.get('recent', []);
let counts = { checked_in: Number($('count-in').textContent), tickets: Number($('count-total').textContent),
  capacity: Number($('occupancy').dataset.capacity) || null };
let reachable = true;   // the server answered our last request
let sessionLost = false;
let syncing = false;
let tickets = new Map();
let revoked = new Set();
let verifier = null;
const noble = import(cfg.ed25519Url).catch(() => null); // loaded now so it is there once offline

const isOnline = () => navigator.onLine && reachable;

function indexBundle() {
  tickets = new Map((bundle?.tickets || []).map((t) => [t.id, t]));
  revoked = new Set(bundle?.revoked || []);
}

// --- signatures ------------------------------------------------------------------------------
function b64urlBytes(text) {
  if (!/^[A-Za-z0-9_-]*$/.test(text)) throw new Error('not base64url');
  const b64 = text.replace(/-/g, '+').replace(/_/g, '/') + '='.repeat((4 - (text.length % 4)) % 4);
  return Uint8Array.from(atob(b64), (c) => c.charCodeAt(0));
}

async function makeVerifier(publicKey) {
  const raw = b64urlBytes(publicKey);
  if (globalThis.crypto?.subtle) {
    try {
      const key = await crypto.subtle.importKey('raw', raw, { name: 'Ed25519' }, false, ['verify']);
      return { engine: 'WebCrypto', verify: (sig, msg) => crypto.subtle.verify({ name: 'Ed25519' }, key, sig, msg).catch(() => false) };
    } catch { /* this browser has no Ed25519 in WebCrypto: use the library */ }
  }
  const ed = await noble;
  if (!ed) return null;
  return { engine: 'noble-ed25519', verify: (sig, msg) => ed.verifyAsync(sig, msg, raw).catch(() => false) };
}

async function ensureVerifier() {
  if (!bundle) return null;
  if (!verifier || verifier.key !== bundle.public_key) {
    const v = await makeVerifier(bundle.public_key);
    verifier = v && { ...v, key: bundle.public_key };
  }
  return verifier;
}

/** The claims {t, e, v} of a genuine ticket code, or null. Same checks as the server's read_token. */
async function readPayload(payload) {
  // A ticket id typed from under the QR code ("tkt_…") counts when the signed list on this phone has it.
  if (/^tkt_[0-9a-z]{16}$/.test(payload) && tickets.has(payload)) {
    return { t: payload, e: EVENT, v: tickets.get(payload).version };
  }
  const parts = payload.length <= 2000 ? payload.split('.') : [];
  if (parts.length !== 3 || parts[0] !== (bundle.payload_prefix || 'MST1')) return null;
  let sig; let body;
  try { sig = b64urlBytes(parts[2]); body = b64urlBytes(parts[1]); } catch { return null; }
  const v = await ensureVerifier();
  if (!v) throw new Error('no Ed25519 verifier');
  if (sig.length !== 64 || !(await v.verify(sig, new TextEncoder().encode(`${parts[0]}.${parts[1]}`)))) return null;
  let claims;
  try { claims = JSON.parse(new TextDecoder('utf-8', { fatal: true }).decode(body)); } catch { return null; }
  const good = claims && typeof claims.t === 'string' && typeof claims.e === 'string' && Number.isInteger(claims.v);
  return good ? claims : null;
}

// --- the bundle ------------------------------------------------------------------------------
async function refreshBundle() {
  if (!navigator.onLine) return;
  try {
    const { status, data } = await fetchJSON(cfg.bundleUrl, { timeout: 15000 });
    if (status === 401 || status === 403 || status === 404) { loseSession(data); return; }
    if (status !== 200) return;
    bundle = { ...data, fetched_at: new Date().toISOString() };
    store.set('bundle', bundle);
    indexBundle();
    reachable = true;
    setCounts(data.counts);
    ensureVerifier().catch(() => null);
  } catch (err) {
    if (err instanceof NetworkDown) reachable = false; else throw err;
  }
  render();
}

/** When the ticket was first let in, as far as this phone knows: the server's list, then its own queue. */
function firstScan(ticketId) {
  const times = [];
  const t = tickets.get(ticketId);
  if (t?.checked_in_at) times.push(t.checked_in_at);
  for (const s of queue) if (s.ticket === ticketId && s.local === 'ok') times.push(s.scanned_at);
  times.sort((a, b) => Date.parse(a) - Date.parse(b));
  return times[0] || null;
}

function markCheckedIn(ticketId, iso) {
  const t = tickets.get(ticketId);
  if (!t || !iso) return;
  if (!t.checked_in_at || Date.parse(iso) < Date.parse(t.checked_in_at)) t.checked_in_at = iso;
  store.set('bundle', bundle);
}

// --- scanning --------------------------------------------------------------------------------
async function checkOnServer(payload) {
  const { status, data } = await fetchJSON(cfg.scanUrl, { method: 'POST', body: JSON.stringify({ payload, device: deviceId }) });
  if (status === 401) { loseSession(data); return null; } // logged out: keep the door moving, check on the phone
  if (status === 403 || status === 404) { loseSession(data); return { kind: 'error', reason: data?.detail || gettext('You can no longer scan here.') }; }
  reachable = true;
  if (data?.counts) setCounts(data.counts);
  const t = data?.ticket;
  if (data?.result === 'ok') {
    markCheckedIn(t.id, t.checked_in_at);
    return { kind: 'ok', holder: t.holder, tier: t.tier, answers: t.answers, noRecording: t.no_recording,
             backstage: !!t.backstage };
  }
  if (data?.result === 'already_checked_in') {
    markCheckedIn(t.id, data.first_scan_at);
    return { kind: 'already', holder: t.holder, tier: t.tier, first: data.first_scan_at, answers: t.answers,
             noRecording: t.no_recording, backstage: !!t.backstage };
  }
  if (data?.result === 'stream_only') return { kind: 'stream_only', holder: t?.holder, tier: t?.tier, reason: STREAM_ONLY };
  return { kind: 'invalid', reason: data?.result === 'invalid' ? gettext('Not a valid ticket for this event.')
    : (data?.detail || gettext('Not a ticket code.')) };
}

async function checkOnPhone(payload, scannedAt) {
  if (!bundle) return { kind: 'error', reason: gettext('No ticket list on this phone yet: connect once to download it.') };
  let claims;
  try { claims = await readPayload(payload); } catch {
    return { kind: 'error', reason: gettext('This browser cannot check signatures offline (it needs HTTPS).') };
  }
  if (!claims) return { kind: 'invalid', reason: gettext('Not a genuine Microstage ticket code.'), offline: true };
  if (claims.e !== EVENT) return { kind: 'invalid', reason: gettext('This ticket is for another event.'), offline: true };
  if (revoked.has(claims.t)) return { kind: 'invalid', reason: gettext('This ticket was refunded or cancelled.'), offline: true };
  const t = tickets.get(claims.t);
  if (t && t.version !== claims.v) return { kind: 'invalid', reason: gettext('An old code: this ticket was passed on to someone else.'), offline: true };
  if (t && t.opens_room === false) return { kind: 'stream_only', holder: t.holder, tier: t.tier, reason: STREAM_ONLY, offline: true };
  const first = firstScan(claims.t);
  const holder = t?.holder || gettext('Ticket holder');
  const tier = t?.tier || '';
  queue.push({ id: newId(), payload, scanned_at: scannedAt, device: deviceId, ticket: claims.t, holder, tier,
               local: first ? 'already' : 'ok' });
  store.set('queue', queue);
  const answers = t?.answers || {};
  const noRecording = Boolean(t?.no_recording);
  const backstage = !!t?.backstage;
  if (first) return { kind: 'already', holder, tier, first, offline: true, answers, noRecording, backstage };
  return { kind: 'ok', holder, tier, offline: true, answers, noRecording, backstage,
           note: t ? '' : gettext('Issued after this phone last downloaded the list; the signature is genuine.') };
}

let chain = Promise.resolve();
function scan(text, source) {
  const payload = (text || '').trim();
  if (!payload) return chain;
  chain = chain.then(() => handleScan(payload, source)).catch((err) => {
    show({ kind: 'error', reason: gettext('Something went wrong checking that code. Try again.') });
    console.error(err); // eslint-disable-line no-console
  });
  return chain;
}

async function handleScan(payload) {
  const scannedAt = new Date().toISOString();
  let answer = null;
  if (navigator.onLine && !sessionLost) {
    try { answer = await checkOnServer(payload); } catch (err) {
      if (!(err instanceof NetworkDown)) throw err;
      reachable = false;
    }
  }
  if (!answer) answer = await checkOnPhone(payload, scannedAt);
  show(answer);
  recent.unshift({ kind: answer.kind, holder: answer.holder || '', tier: answer.tier || '', at: scannedAt,
                   first: answer.first || null, offline: Boolean(answer.offline) });
  recent = recent.slice(0, RECENT_MAX);
  store.set('recent', recent);
  render();
  if (isOnline() && queue.length) sync();
}

// --- sync ------------------------------------------------------------------------------------
async function sync() {
  if (syncing || !queue.length || !navigator.onLine || sessionLost) return;
  syncing = true;
  render();
  const batch = queue.slice(0, SYNC_BATCH);
  try {
    const body = JSON.stringify({ scans: batch.map(({ payload, scanned_at, device }) => ({ payload, scanned_at, device })) });
    const { status, data } = await fetchJSON(cfg.syncUrl, { method: 'POST', body, timeout: 20000 });
    reachable = true;
    if (status === 401 || status === 403 || status === 404) { loseSession(data); return; }
    if (status === 400 && data?.fields) { dropRefused(batch, data); return; }
    if (status !== 200) return;
    data.results.forEach((r, i) => settle(batch[i], r));
    const done = new Set(batch.map((s) => s.id));
    queue = queue.filter((s) => !done.has(s.id));
    store.set('queue', queue);
    store.set('duplicates', duplicates);
    setCounts(data.counts);
  } catch (err) {
    if (!(err instanceof NetworkDown)) throw err;
    reachable = false;
  } finally {
    syncing = false;
    render();
  }
  if (queue.length && isOnline()) setTimeout(sync, 500);
  else if (!queue.length) refreshBundle();
}

function settle(scanItem, r) {
  if (r.result === 'ok') { markCheckedIn(scanItem.ticket, scanItem.scanned_at); return; }
  // Our own scan delivered twice (an answer lost on the way back): it is the first scan, not a duplicate.
  if (r.result === 'already_checked_in' && Date.parse(r.first_scan_at) === Date.parse(scanItem.scanned_at)) {
    markCheckedIn(scanItem.ticket, scanItem.scanned_at);
    return;
  }
  if (r.result === 'already_checked_in') markCheckedIn(scanItem.ticket, r.first_scan_at);
  duplicates.unshift({ holder: scanItem.holder, tier: scanItem.tier, scanned_at: scanItem.scanned_at,
                       local: scanItem.local, result: r.result, first: r.first_scan_at || null });
}

function dropRefused(batch, data) {
  // A scan the server will never take (a clock far ahead): report it rather than block the queue.
  const bad = new Set(Object.keys(data.fields).map((k) => Number((k.match(/^scans\[(\d+)\]/) || [])[1])));
  const drop = new Set(batch.filter((_, i) => bad.has(i)).map((s) => s.id));
  for (const s of batch) {
    if (drop.has(s.id)) duplicates.unshift({ holder: s.holder, tier: s.tier, scanned_at: s.scanned_at, local: s.local,
                                             result: 'refused', first: null });
  }
  queue = queue.filter((s) => !drop.has(s.id));
  store.set('queue', queue);
  store.set('duplicates', duplicates);
  syncing = false;
  render();
  if (drop.size && queue.length) setTimeout(sync, 500);
}

function loseSession(data) {
  sessionLost = true;
  showNet('lost', data?.detail || gettext('Logged out: log in again to keep scanning.'));
}

// --- display ---------------------------------------------------------------------------------
const STREAM_ONLY = gettext('A stream-only ticket: it does not open the room.');
const VERDICT = {
  ok: { icon: '✓', word: () => gettext('Admitted') },
  stream_only: { icon: '✕', word: () => gettext('Stream only') },
  already: { icon: '!', word: (a) => interpolate(gettext('Already in at %s'), [fmtTime(a.first)]) },
  invalid: { icon: '✕', word: () => gettext('Invalid') },
  error: { icon: '?', word: () => gettext("Can't check") },
};

let scanCount = 0;
function show(answer) {
  const el = $('door-result');
  const v = VERDICT[answer.kind];
  scanCount += 1;
  el.className = `door-result ${answer.kind}${answer.offline ? ' offline' : ''}`;
  el.dataset.result = answer.kind;
  el.dataset.scan = String(scanCount);
  el.replaceChildren();
  const verdict = document.createElement('p');
  verdict.className = 'verdict';
  const icon = document.createElement('span');
  icon.className = 'icon';
  icon.setAttribute('aria-hidden', 'true');
  icon.textContent = v.icon;
  const word = document.createElement('span');
  word.className = 'word';
  word.textContent = v.word(answer);
  verdict.append(icon, ' ', word);
  el.append(verdict);
  if (answer.holder) {
    const who = document.createElement('p');
    who.className = 'who';
    who.textContent = answer.tier ? `${answer.holder} · ${answer.tier}` : answer.holder;
    el.append(who);
  }
  showConsent(el, answer);
  if (answer.backstage && answer.kind !== 'invalid') {
    const flag = document.createElement('p');
    flag.className = 'backstage-flag';
    flag.id = 'door-backstage';
    flag.textContent = gettext('Backstage access');
    el.append(flag);
  }
  const detailText = [answer.reason, answer.note,
    answer.kind === 'already' ? gettext('Do not let them in again without checking.') : '',
    answer.offline && answer.kind !== 'invalid' && answer.kind !== 'stream_only' ? gettext('Checked on this phone, offline.') : ''].filter(Boolean).join(' ');
  if (detailText) {
    const detail = document.createElement('p');
    detail.className = 'detail';
    detail.textContent = detailText;
    el.append(detail);
  }
  feedback(answer.kind);
}

// The holder's answers to the consent form, from the server or the offline bundle.
function showConsent(el, answer) {
  if (answer.kind !== 'ok' && answer.kind !== 'already') return;
  if (answer.noRecording) {
    const warn = document.createElement('p');
    warn.className = 'door-consent no-recording';
    warn.dataset.noRecording = 'true';
    warn.textContent = gettext('No recording: said no to being filmed. Seat them away from the cameras.');
    el.append(warn);
  }
  const questions = bundle?.questions || [];
  if (!questions.length) return;
  const list = document.createElement('ul');
  list.className = 'door-answers';
  list.setAttribute('aria-label', gettext('Answers to the consent form'));
  for (const q of questions) {
    const value = answer.answers ? answer.answers[q.key] : undefined;
    const item = document.createElement('li');
    item.dataset.key = q.key;
    item.textContent = `${q.text} — ${value === true ? gettext('Yes') : value === false ? gettext('No') : gettext('Not answered')}`;
    list.append(item);
  }
  el.append(list);
}

let audio = null;
function unlockAudio() {
  try { audio = audio || new (window.AudioContext || window.webkitAudioContext)(); audio.resume?.(); } catch { audio = null; }
}
function feedback(kind) {
  const patterns = { ok: [90], already: [120, 80, 120], invalid: [300], stream_only: [300], error: [60, 60, 60] };
  try { navigator.vibrate?.(patterns[kind]); } catch { /* not allowed without a gesture */ }
  if (!audio) return;
  const tones = { ok: [[880, 0.12]], already: [[520, 0.12], [520, 0.12]], invalid: [[220, 0.35]],
    stream_only: [[220, 0.35]], error: [[330, 0.1]] };
  let t = audio.currentTime;
  for (const [freq, len] of tones[kind]) {
    const osc = audio.createOscillator();
    const gain = audio.createGain();
    osc.frequency.value = freq;
    gain.gain.setValueAtTime(0.15, t);
    gain.gain.exponentialRampToValueAtTime(0.001, t + len);
    osc.connect(gain).connect(audio.destination);
    osc.start(t);
    osc.stop(t + len);
    t += len + 0.06;
  }
}

function setCounts(c) {
  if (c && Number.isFinite(c.checked_in) && Number.isFinite(c.tickets)) {
    counts = { checked_in: c.checked_in, tickets: c.tickets, capacity: 'capacity' in c ? c.capacity : counts.capacity };
  }
  renderCounts();
}

function renderCounts() {
  // Admissions made offline are not on the server yet: count them so the room total stays right.
  const pendingAdmits = new Set(queue.filter((s) => s.local === 'ok' && !tickets.get(s.ticket)?.checked_in_at).map((s) => s.ticket)).size;
  const shown = counts.checked_in + pendingAdmits;
  $('count-in').textContent = String(shown);
  $('count-total').textContent = String(counts.tickets);
  $('count-bar').style.width = `${counts.tickets ? Math.min(100, Math.round((100 * shown) / counts.tickets)) : 0}%`;
  const note = $('count-note');
  note.hidden = !pendingAdmits;
  note.textContent = pendingAdmits
    ? interpolate(ngettext('Includes %s let in offline, not synced yet.', 'Includes %s let in offline, not synced yet.',
      pendingAdmits), [pendingAdmits]) : '';
  // The room against the venue's capacity (stream-only tickets never count).
  const occ = $('occupancy');
  occ.hidden = !counts.capacity;
  occ.classList.toggle('full', Boolean(counts.capacity) && shown >= counts.capacity);
  $('occ-in').textContent = String(shown);
  $('occ-cap').textContent = String(counts.capacity || '');
  $('occ-full').textContent = counts.capacity && shown >= counts.capacity ? ` · ${gettext('the room is full')}` : '';
}

function showNet(state, text) {
  showNetBadge($('door-net'), state, text);
}

function row(mainText, subText, badge) {
  const li = document.createElement('li');
  li.className = 'row';
  const who = document.createElement('span');
  who.className = 'who';
  const strong = document.createElement('strong');
  strong.textContent = mainText;
  who.append(strong);
  if (subText) {
    const sub = document.createElement('span');
    sub.className = 'muted';
    sub.textContent = subText;
    who.append(sub);
  }
  li.append(who);
  if (badge) {
    const b = document.createElement('span');
    b.className = `badge ${badge.cls || ''}`;
    b.textContent = badge.text;
    li.append(b);
  }
  return li;
}

function render() {
  if (sessionLost) showNet('lost', gettext('Logged out: log in again to keep scanning'));
  else if (!isOnline()) showNet('offline', queue.length ? interpolate(gettext('Offline · %s to sync'), [queue.length])
    : gettext('Offline · checking on this phone'));
  else if (syncing) showNet('syncing', interpolate(gettext('Online · syncing %s…'), [queue.length]));
  else showNet('online', queue.length ? interpolate(gettext('Online · %s to sync'), [queue.length]) : gettext('Online'));
  renderCounts();

  $('pending').hidden = !queue.length;
  $('pending-count').textContent = String(queue.length);
  $('pending-list').replaceChildren(...queue.map((s) => row(
    s.tier ? `${s.holder} · ${s.tier}` : s.holder, interpolate(gettext('Scanned %s'), [fmtTime(s.scanned_at)]),
    { text: s.local === 'ok' ? gettext('Let in · pending sync') : gettext('Refused · pending sync'), cls: 'warning' })));
  $('sync-now').disabled = syncing || !navigator.onLine;

  $('duplicates').hidden = !duplicates.length;
  $('duplicates-list').replaceChildren(...duplicates.map((d) => {
    let sub;
    if (d.result === 'already_checked_in') {
      sub = d.local === 'ok'
        ? interpolate(gettext('Let in offline at %(at)s, but it was first scanned at %(first)s.'),
          { at: fmtTime(d.scanned_at), first: fmtTime(d.first) }, true)
        : interpolate(gettext('Refused at %(at)s: already in since %(first)s.'),
          { at: fmtTime(d.scanned_at), first: fmtTime(d.first) }, true);
    } else if (d.result === 'stream_only') {
      sub = interpolate(gettext('Let in offline at %s, but it is a stream-only ticket.'), [fmtTime(d.scanned_at)]);
    } else if (d.result === 'refused') {
      sub = interpolate(gettext("Scan at %s not accepted: check this phone's clock."), [fmtTime(d.scanned_at)]);
    } else {
      sub = interpolate(gettext('Let in offline at %s, but the ticket is not valid (refunded or passed on).'),
        [fmtTime(d.scanned_at)]);
    }
    const badge = d.result !== 'already_checked_in' ? { text: gettext('Problem'), cls: 'danger' }
      : d.local === 'ok' ? { text: gettext('Entered twice'), cls: 'danger' } : { text: gettext('Turned away'), cls: 'warning' };
    return row(d.tier ? `${d.holder} · ${d.tier}` : d.holder, sub, badge);
  }));

  const labels = { ok: gettext('Admitted'), already: gettext('Already in'), invalid: gettext('Invalid'),
    stream_only: gettext('Stream only'), error: gettext("Can't check") };
  const items = recent.map((r) => row(
    r.holder ? (r.tier ? `${r.holder} · ${r.tier}` : r.holder) : labels[r.kind],
    `${fmtTime(r.at)}${r.offline ? ` · ${gettext('offline')}` : ''}${r.kind === 'already' && r.first
      ? ` · ${interpolate(gettext('first in %s'), [fmtTime(r.first)])}` : ''}`,
    { text: labels[r.kind], cls: { ok: 'success', already: 'warning', invalid: 'danger', stream_only: 'danger', error: '' }[r.kind] }));
  $('recent-list').replaceChildren(...(items.length ? items : [$('recent-empty') || row(gettext('No scans yet on this phone.'))]));

  const status = $('bundle-status');
  if (bundle) {
    const age = bundle.fetched_at ? ` · ${interpolate(gettext('updated %s'), [fmtTime(bundle.fetched_at)])}` : '';
    status.textContent = `${interpolate(gettext('Offline list: %(tickets)s tickets, %(cancelled)s cancelled'),
      { tickets: tickets.size, cancelled: revoked.size }, true)}${age}${verifier ? ` · ${verifier.engine}` : ''}`;
  } else {
    status.textContent = navigator.onLine ? gettext('Downloading the offline ticket list…')
      : gettext('No offline ticket list on this phone yet.');
  }
}

// --- camera ----------------------------------------------------------------------------------
const camera = new CameraReader('door-reader', (text) => scan(text, 'camera'));

async function startCamera() {
  const errorEl = $('camera-error');
  errorEl.hidden = true;
  const reader = $('door-reader');
  reader.hidden = false;
  $('camera-toggle').disabled = true;
  try {
    await camera.start();
    store.set('camera', true);
  } catch (err) {
    reader.hidden = true;
    store.set('camera', false);
    const why = String(err?.message || err).slice(0, 120);
    errorEl.textContent = why === gettext('The camera scanner did not load.')
      ? interpolate(gettext('%s Enter codes below instead.'), [why])
      : interpolate(gettext('The camera is not available (%s). Enter codes below instead.'), [why]);
    errorEl.hidden = false;
  } finally {
    $('camera-toggle').disabled = false;
    $('camera-toggle').textContent = camera.on ? gettext('Stop camera') : gettext('Scan with camera');
  }
}

async function stopCamera() {
  await camera.stop();
  store.set('camera', false);
  $('door-reader').hidden = true;
  $('camera-toggle').textContent = gettext('Scan with camera');
}

// --- live counts over the websocket ----------------------------------------------------------
function connectLive() {
  // Counts missed while the socket was away come with the next bundle.
  return new LiveSocket(cfg.wsPath, {
    onFrame: (msg) => { if (msg.type === 'checkins') setCounts(msg); },
    resync: refreshBundle,
  });
}

// --- wiring ----------------------------------------------------------------------------------
$('manual-form').addEventListener('submit', (e) => {
  e.preventDefault();
  unlockAudio();
  const input = $('manual-code');
  const value = input.value;
  input.value = '';
  scan(value, 'manual').then(() => input.focus());
});
$('camera-toggle').addEventListener('click', () => { unlockAudio(); return camera.on ? stopCamera() : startCamera(); });
$('sync-now').addEventListener('click', () => { reachable = true; sync(); });
$('duplicates-clear').addEventListener('click', () => { duplicates = []; store.set('duplicates', duplicates); render(); });
watchConnectivity({
  back: () => { reachable = true; render(); sync(); refreshBundle(); },
  gone: render,
  tick: () => {
    if (sessionLost) return;
    if (queue.length) { reachable = true; sync(); }
    const age = bundle?.fetched_at ? Date.now() - Date.parse(bundle.fetched_at) : Infinity;
    if (!queue.length && age > BUNDLE_MAX_AGE_MS) refreshBundle();
  },
});

indexBundle();
render();
refreshBundle().then(() => { if (queue.length) sync(); });
connectLive();
if (store.get('camera', false)) startCamera();
root.dataset.ready = 'true';
// Installable and usable with no network: the page, its scripts, the camera and signature libraries.
makeOffline(root, { swUrl: cfg.swUrl, scope: cfg.swScope, extra: [SCANNER_URL, cfg.ed25519Url, cfg.bundleUrl] });
