// Activity (a supervisor's; DESIGN §15): the audit log, newest first, a page at a time,
// filtered by admin and by conversation. Never message text or passwords: the server keeps
// none. Loaded on demand (app.js).
import * as api from './api.js';
import { h, timeElement } from './dom.js';
import { showError, clearFeedback } from './feedback.js';
import { viewStyles } from './view-styles.js';

await viewStyles();

const PAGE = 50;
const ACTIONS = {
  login: 'Signed in',
  login_failed: 'Failed to sign in',
  send: 'Sent a message',
  template: 'Sent a template',
  note: 'Added an internal note',
  assign: 'Assigned a chat',
  end_chat: 'Ended a chat',
  admin_create: 'Added an admin',
  admin_disable: 'Disabled an admin',
  admin_enable: 'Enabled an admin',
  admin_password: 'Changed a password',
  canned_reply_create: 'Added a canned reply',
  canned_reply_delete: 'Deleted a canned reply',
};

function entryItem(e) {
  return h('li', { class: `audit-entry audit-${e.action}` },
    h('span', { class: 'audit-when' }, timeElement(e.at)),
    h('span', { class: 'audit-what' },
      h('strong', {}, e.admin), ' ', ACTIONS[e.action] || e.action,
      e.phone ? [' · ', h('a', { href: `#/conversations/${e.phone}` }, `+${e.phone}`)] : null,
      e.detail ? h('span', { class: 'muted' }, ` · ${e.detail}`) : null));
}

export function render(root, { setPageTitle, reportConnection }) {
  setPageTitle('Activity');
  let cursor = null;
  let filters = {};
  let reading = null;

  const admin = h('input', { id: 'audit-admin', list: 'audit-admins', autocomplete: 'off', autocapitalize: 'none', spellcheck: 'false' });
  const admins = h('datalist', { id: 'audit-admins' });
  const phone = h('input', { id: 'audit-phone', inputmode: 'tel', autocomplete: 'off', placeholder: 'e.g. 447700900123' });
  const clear = h('button', { type: 'button', class: 'secondary' }, 'Clear');
  const form = h('form', { class: 'toolbar', 'aria-label': 'Filter the activity' },
    h('div', { class: 'field grow' }, h('label', { for: 'audit-admin' }, 'Admin'), admin, admins),
    h('div', { class: 'field grow' }, h('label', { for: 'audit-phone' }, 'Conversation (phone number)'), phone),
    h('div', { class: 'actions' }, h('button', { type: 'submit', class: 'primary' }, 'Show'), clear));
  const list = h('ol', { class: 'audit-list', 'aria-label': 'Activity, newest first' });
  const summary = h('p', { class: 'muted summary', 'aria-live': 'polite' });
  const more = h('button', { type: 'button', class: 'secondary', hidden: true }, 'Load more');
  const error = h('div', {});

  root.replaceChildren(h('div', { class: 'page' },
    h('div', { class: 'page-head' }, h('h1', {}, 'Activity')),
    form, error, summary, list, more));

  /** The first page for the filters (`again`: false), or the next. */
  async function read(again) {
    const mine = {};
    reading = mine;
    more.disabled = true;
    const q = new URLSearchParams({ limit: String(PAGE) });
    for (const [k, v] of Object.entries(filters)) if (v) q.set(k, v);
    if (again && cursor) q.set('cursor', cursor);
    try {
      const { data } = await api.request('GET', `/api/admin/audit?${q}`);
      if (reading !== mine) return;
      reportConnection(null);
      clearFeedback(error);
      if (!again) list.replaceChildren();
      list.append(...data.entries.map(entryItem));
      cursor = data.next_cursor;
      const n = list.children.length;
      const by = [filters.admin && `by ${filters.admin}`, filters.phone && `on +${filters.phone}`].filter(Boolean).join(' ');
      summary.textContent = n ? `${n} ${n === 1 ? 'entry' : 'entries'}${by ? ` ${by}` : ''}${cursor ? ' so far' : ''}.` : `No activity${by ? ` ${by}` : ''}.`;
    } catch (e) {
      if (reading !== mine) return;
      reportConnection(e);
      showError(error, e, { action: e.status === 403 ? null : { label: 'Try again', run: () => read(again) } });
    } finally {
      if (reading === mine) {
        more.disabled = false;
        more.hidden = !cursor;
      }
    }
  }

  form.addEventListener('submit', (event) => {
    event.preventDefault();
    filters = { admin: admin.value.trim().toLowerCase(), phone: phone.value.replace(/[^0-9]/g, '') };
    cursor = null;
    read(false);
  });
  clear.addEventListener('click', () => {
    admin.value = '';
    phone.value = '';
    form.requestSubmit();
  });
  more.addEventListener('click', () => read(true));

  // The usernames to choose from; the filter works with any text all the same.
  api.request('GET', '/api/admin/admins').then(({ data }) => {
    admins.replaceChildren(...data.admins.map((a) => h('option', { value: a.username })));
  }, () => {});
  read(false);
  return () => { reading = null; };
}
