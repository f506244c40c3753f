// The live room's shared pieces (watch page and control room): the chat list, rendered as plain text
// (textContent, never HTML), live stock counts and the viewer count.
import { el } from './dom.js';
import { formatNumber, gettext, interpolate, LANG, ngettext } from './i18n.js';

const MAX_MESSAGES = 200;

export function timeLabel(iso) {
  const d = new Date(iso);
  if (Number.isNaN(d.getTime())) return '';
  return d.toLocaleTimeString(LANG, { hour: '2-digit', minute: '2-digit' });
}

export class ChatList {
  /** options: {list, me, canModerate(), onDelete(id), onMute(userId, name)} */
  constructor(options) {
    this.list = options.list;
    this.options = options;
  }

  render(m) {
    const li = el('li', 'chat-msg');
    li.id = `chat-${m.id}`;
    li.dataset.id = m.id;
    li.dataset.user = m.user_id || '';
    const head = el('span', 'chat-meta');
    head.append(el('strong', 'chat-user', m.user));
    const t = el('time', 'chat-time', timeLabel(m.sent_at));
    t.setAttribute('datetime', m.sent_at || '');
    head.append(t);
    li.append(head, el('span', 'chat-text', m.text)); // textContent: whatever was typed stays text
    const o = this.options;
    if (o.canModerate && o.canModerate()) {
      const tools = el('span', 'chat-tools');
      const del = el('button', 'link small chat-delete', gettext('Delete'));
      del.type = 'button';
      del.setAttribute('aria-label', interpolate(gettext('Delete this message by %s'), [m.user]));
      del.addEventListener('click', () => o.onDelete(m.id));
      tools.append(del);
      if (m.user_id && m.user_id !== o.me) {
        const mute = el('button', 'link small chat-mute', gettext('Mute'));
        mute.type = 'button';
        mute.setAttribute('aria-label', interpolate(gettext('Mute %s'), [m.user]));
        mute.addEventListener('click', () => o.onMute(m.user_id, m.user));
        tools.append(mute);
      }
      li.append(tools);
    }
    return li;
  }

  nearBottom() {
    const l = this.list;
    return l.scrollHeight - l.scrollTop - l.clientHeight < 80;
  }

  add(m) {
    if (document.getElementById(`chat-${m.id}`)) return;
    const stick = this.nearBottom();
    this.list.querySelector('.chat-empty')?.remove();
    this.list.append(this.render(m));
    while (this.list.children.length > MAX_MESSAGES) this.list.firstChild.remove();
    if (stick) this.list.scrollTop = this.list.scrollHeight;
  }

  reset(messages) {
    this.list.replaceChildren();
    if (!messages.length) this.list.append(el('li', 'chat-empty muted', gettext('No messages yet.')));
    messages.forEach((m) => this.add(m));
    this.list.scrollTop = this.list.scrollHeight;
  }

  remove(id) {
    document.getElementById(`chat-${id}`)?.remove();
  }
}

export function setStock(item, available) {
  const node = document.getElementById(`stock-${item}`);
  const n = parseInt(available, 10);
  if (!node || Number.isNaN(n)) return;
  node.textContent = n > 0 ? interpolate(ngettext('%s left', '%s left', n), [formatNumber(n)]) : gettext('Sold out');
  node.dataset.available = String(n);
  node.className = `stock-count ${n > 0 ? 'avail-on_sale' : 'avail-sold_out'}`;
}

export function setViewers(node, count) {
  const n = parseInt(count, 10);
  if (!node || Number.isNaN(n)) return;
  node.textContent = interpolate(ngettext('%s watching', '%s watching', n), [formatNumber(n)]);
  node.dataset.viewers = String(n);
}

const ERROR_TEXT = {
  rate_limited: gettext('You are sending messages too fast.'),
  slow_mode: gettext('Slow mode is on.'),
  too_long: gettext('That message is too long (500 characters at most).'),
  muted: gettext('A moderator muted you for a while.'),
  login_required: gettext('Log in to chat.'),
  forbidden: gettext('Only ticket holders and the team can do that.'),
};

export function errorText(msg) {
  return msg.detail || ERROR_TEXT[msg.code] || gettext('That did not work.');
}
export const TOO_LONG = ERROR_TEXT.too_long;
