// Form and button helpers that pages opt into with data attributes (no inline handlers anywhere, so
// the Content-Security-Policy can refuse inline script):
//   <select data-autosubmit>             submits its form when changed
//   <button data-copy="id">             copies the element's value (inputs) or text, says so
//   <button data-print>                 prints the page
//   <span data-guess-timezone="id">    the select #id starts at the browser's own timezone (if listed)
//   <form data-tip-form>                "Other amount" shows only when "Other" is picked
//   <form data-reset-on-success="id">   an htmx form: cleared after success; errors shown in #id

import { gettext } from './i18n.js';

export function autosubmit(root = document) {
  root.querySelectorAll('select[data-autosubmit], input[data-autosubmit]').forEach((field) => {
    field.addEventListener('change', () => field.form?.requestSubmit());
  });
}

export function copyButtons(root = document) {
  root.querySelectorAll('[data-copy]').forEach((button) => {
    button.addEventListener('click', () => {
      const source = document.getElementById(button.dataset.copy);
      if (!source) return;
      const isField = 'value' in source && source.tagName !== 'BUTTON';
      const text = (isField ? source.value : source.textContent).trim();
      const status = button.closest('[data-copy-box]')?.querySelector('[data-copy-status]');
      const say = (message) => { if (status) status.textContent = message; else button.textContent = message; };
      if (isField) { source.focus(); source.select(); } else {
        const range = document.createRange();
        range.selectNodeContents(source);
        window.getSelection()?.removeAllRanges();
        window.getSelection()?.addRange(range);
      }
      if (navigator.clipboard && window.isSecureContext) {
        navigator.clipboard.writeText(text).then(() => say(status ? gettext('Copied.') : gettext('Copied')),
          () => say(gettext('Selected: press Ctrl+C or ⌘C to copy.')));
        return;
      }
      let copied = false;
      try { copied = document.execCommand('copy'); } catch { copied = false; }
      say(copied ? (status ? gettext('Copied.') : gettext('Copied'))
        : gettext('Selected: copy it with your device’s copy command.'));
    });
  });
}

export function printButtons(root = document) {
  root.querySelectorAll('[data-print]').forEach((b) => b.addEventListener('click', () => window.print()));
}

export function guessTimezone(root = document) {
  root.querySelectorAll('[data-guess-timezone]').forEach((marker) => {
    const select = document.getElementById(marker.dataset.guessTimezone);
    if (!select) return;
    let tz = '';
    try { tz = Intl.DateTimeFormat().resolvedOptions().timeZone; } catch { return; }
    if (tz && select.querySelector(`option[value="${tz.replace(/"/g, '')}"]`)) select.value = tz;
  });
}

export function tipForms(root = document) {
  root.querySelectorAll('form[data-tip-form]').forEach((form) => {
    const custom = form.querySelector('[data-tip-custom]');
    const input = custom?.querySelector('input');
    if (!custom || !input) return;
    const sync = () => {
      const picked = form.querySelector('input[name=amount]:checked');
      const other = picked?.value === 'custom';
      custom.hidden = !other;
      input.required = other;
      if (other) input.focus();
    };
    form.addEventListener('change', (e) => { if (e.target.name === 'amount') sync(); });
    custom.hidden = true;
  });
}

/** htmx forms: reset after a successful request, show the server's error fragment otherwise. */
export function htmxForms(root = document) {
  root.querySelectorAll('form[data-reset-on-success]').forEach((form) => {
    const errors = () => document.getElementById(form.dataset.resetOnSuccess);
    form.addEventListener('htmx:afterRequest', (event) => {
      if (event.detail.successful) { form.reset(); errors()?.replaceChildren(); }
    });
    form.addEventListener('htmx:responseError', (event) => {
      const box = errors();
      if (!box) return;
      // The server's error fragment is our own escaped template: parse it rather than assign innerHTML.
      const doc = new DOMParser().parseFromString(event.detail.xhr.responseText, 'text/html');
      box.replaceChildren(...doc.body.childNodes);
    });
  });
}

export function wireAll(root = document) {
  autosubmit(root);
  copyButtons(root);
  printButtons(root);
  guessTimezone(root);
  tipForms(root);
  htmxForms(root);
}
