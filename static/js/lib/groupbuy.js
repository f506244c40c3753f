// Group-buy progress bars (the /g/<id>/ page, the dashboard and the watch page): live counts, price,
// next tier and countdown, updated from {"type": "group_buy", ...} frames or by polling the API.

import { formatMoney, formatNumber, gettext, interpolate } from './i18n.js';

function money(amount, currency) {
  const value = Number(amount);
  if (!value) return gettext('Free');
  return formatMoney(value, currency);
}

function setText(root, selector, text) {
  const node = root.querySelector(selector);
  if (node) node.textContent = text;
}

export function update(msg) {
  if (!msg || msg.id === undefined) return;
  document.querySelectorAll(`[data-group-buy="${String(msg.id).replace(/"/g, '')}"]`).forEach((root) => {
    const currency = msg.currency || root.dataset.currency || 'EUR';
    const bar = root.querySelector('.gb-bar');
    if (bar) {
      const target = Math.max(Number(root.dataset.target) || 1, msg.committed_quantity);
      bar.max = target;
      bar.value = msg.committed_quantity;
      bar.textContent = interpolate(gettext('%s of %s'), [formatNumber(msg.committed_quantity), formatNumber(target)]);
    }
    setText(root, '.gb-committed', formatNumber(msg.committed_quantity));
    setText(root, '.gb-price', money(msg.current_price, currency));
    const status = msg.status || 'open';
    root.dataset.status = status;
    let next;
    if (status !== 'open') {  // as GroupBuy.status_summary says it
      const reached = msg.outcome === 'reached';
      root.dataset.outcome = msg.outcome || '';
      const outcome = reached ? gettext('Deal reached') : gettext('Deal not reached');
      const step = status === 'settled' ? (reached ? gettext('settled') : gettext('nothing charged'))
        : (reached ? gettext('charging…') : gettext('releasing holds…'));
      next = `${outcome} · ${step}`;
    }
    else if (msg.next_tier) {
      next = interpolate(gettext('%(needed)s more for %(price)s each'),
        { needed: formatNumber(msg.needed), price: money(msg.next_tier.price, currency) }, true);
    }
    else next = gettext('Best price reached');
    setText(root, '.gb-next', next);
  });
}

function countdown() {
  const now = Date.now();
  document.querySelectorAll('.gb-countdown').forEach((node) => {
    const left = Math.max(0, Math.floor((Date.parse(node.getAttribute('datetime')) - now) / 1000));
    const d = Math.floor(left / 86400);
    const h = Math.floor((left % 86400) / 3600);
    const m = Math.floor((left % 3600) / 60);
    const s = left % 60;
    const parts = [];
    if (d) parts.push(interpolate(gettext('%sd'), [d]));
    if (d || h) parts.push(interpolate(gettext('%sh'), [h]));
    parts.push(interpolate(gettext('%sm'), [m]));
    if (!d) parts.push(interpolate(gettext('%ss'), [s]));
    node.textContent = left === 0 ? gettext('a moment (closing)') : parts.join(' ');
  });
}

function poll(root) {
  const url = root.dataset.api;
  if (!url) return;
  fetch(url, { credentials: 'same-origin', headers: { Accept: 'application/json' } })
    .then((r) => (r.ok ? r.json() : null))
    .then((data) => { if (data) update({ ...data, type: 'group_buy' }); })
    .catch(() => { /* offline for a moment: the next poll tries again */ });
}

/** Re-read every group-buy on the page (after a websocket reconnect: updates missed while away). */
export function refresh() {
  document.querySelectorAll('[data-group-buy]').forEach(poll);
}

/** Start the countdowns; with `pollEvery` (ms), also poll each group-buy's API while the tab is visible. */
export function start({ pollEvery = 0 } = {}) {
  if (!document.querySelector('[data-group-buy], .gb-countdown')) return;
  countdown();
  setInterval(countdown, 1000);
  if (pollEvery) {
    document.querySelectorAll('[data-group-buy]').forEach((root) => {
      setInterval(() => { if (!document.hidden) poll(root); }, pollEvery);
    });
  }
}
