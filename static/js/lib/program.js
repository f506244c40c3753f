// The control room's program switch (live / audio only / standby slate) and its stream alerts. The
// switch posts the chosen mode; the alerts and the current mode come with the control room's status
// poll (control.js calls show() with each status).
import { $, el } from './dom.js';
import { csrfToken } from './http.js';
import { gettext } from './i18n.js';

export function programSwitch() {
  const box = $('stream-alerts');
  const group = $('program-switch');
  if (!box || !group) return null;
  const errorNode = $('program-error');

  const showProgram = (mode) => {
    group.dataset.program = mode;
    group.querySelectorAll('button[data-mode]').forEach((b) => {
      const on = b.dataset.mode === mode;
      b.setAttribute('aria-pressed', on ? 'true' : 'false');
      b.classList.toggle('secondary', !on);
    });
  };

  const showAlerts = (alerts) => {
    $('alert-list').replaceChildren(...(alerts || []).map((a) => {
      const li = el('li', `row alert-${a.kind}`);
      li.dataset.kind = a.kind;
      li.append(el('strong', '', a.label), el('span', 'muted', ` ${a.detail || ''}`));
      return li;
    }));
    box.hidden = !(alerts && alerts.length);
  };

  const showError = (text) => {
    errorNode.hidden = !text;
    errorNode.textContent = text || '';
  };

  group.addEventListener('click', (event) => {
    const button = event.target.closest('button[data-mode]');
    if (!button || button.disabled) return;
    fetch(box.dataset.programUrl, {
      method: 'POST', credentials: 'same-origin', body: new URLSearchParams({ mode: button.dataset.mode }),
      headers: { 'X-CSRFToken': csrfToken() },
    }).then((r) => r.json().then((data) => ({ ok: r.ok, data })))
      .then(({ ok, data }) => {
        if (ok) { showError(''); showProgram(data.program); } else showError(data.detail || gettext('Could not switch.'));
      })
      .catch(() => showError(gettext('No connection: try again.')));
  });

  return {
    /** The control room's status ({alerts, program, ...}). */
    show(status) {
      showAlerts(status.alerts);
      if (status.program) showProgram(status.program);
    },
  };
}
