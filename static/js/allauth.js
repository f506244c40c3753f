// Account pages (django-allauth): allauth's own page scripts (its `extra_body` block) arrive inert in
// <template id="allauth-extra"> so the Content-Security-Policy never meets an un-nonced script tag.
// This module loads those scripts (same origin, trusted through the nonce) in order and runs their
// `data-allauth-onload` hooks, which is what allauth's onload.js would do on DOMContentLoaded.
import { loadScript } from './lib/dom.js';

const extra = document.getElementById('allauth-extra');
if (extra) {
  const scripts = [...extra.content.querySelectorAll('script')];
  for (const script of scripts) {
    const src = script.getAttribute('src');
    if (src && !/\/onload\.js$/.test(src)) {
      try { await loadScript(new URL(src, location.href).href); } catch { /* the page works without it */ }
    }
  }
  for (const script of scripts) {
    const ref = script.dataset.allauthOnload;
    if (typeof ref !== 'string' || !ref.startsWith('allauth.')) continue;
    const fn = ref.split('.').reduce((acc, part) => acc && acc[part], window);
    let arg = null;
    try { arg = JSON.parse(script.textContent); } catch { arg = null; }
    if (typeof fn === 'function') fn(arg);
  }
}
document.documentElement.dataset.allauth = 'ready';
