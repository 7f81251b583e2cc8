// Team (a supervisor's; DESIGN §15): the desk's accounts with their role, whether they are
// enabled and since when; adding one; for each, Disable or Enable and a new password. The
// server checks every field and who may ask (an admin's request is 403): its words are shown
// where the change was asked. Loaded on demand (app.js).
import * as api from './api.js';
import { h, timeElement } from './dom.js';
import { showError, showNotice, clearFeedback } from './feedback.js';
import { viewStyles } from './view-styles.js';

await viewStyles();

const path = (username) => `/api/admin/admins/${encodeURIComponent(username)}`;

export function render(root, { setPageTitle, reportConnection }) {
  setPageTitle('Team');
  const me = api.session()?.username;
  const rows = new Map(); // username → row
  const list = h('ul', { class: 'team-list', 'aria-label': 'Admins' }, h('li', { class: 'empty' }, 'Loading…'));
  const error = h('div', {});

  const username = h('input', { id: 'new-username', autocomplete: 'off', autocapitalize: 'none', spellcheck: 'false', 'aria-describedby': 'new-username-hint' });
  const password = h('input', { id: 'new-password', type: 'password', autocomplete: 'new-password', 'aria-describedby': 'new-password-hint' });
  const role = h('select', { id: 'new-role' }, h('option', { value: 'admin' }, 'Admin'), h('option', { value: 'supervisor' }, 'Supervisor'));
  const create = h('button', { type: 'submit', class: 'primary' }, 'Add admin');
  const createFeedback = h('div', { class: 'feedback' });
  const form = h('form', { class: 'card team-form', 'aria-labelledby': 'add-admin-title', novalidate: true },
    h('h2', { id: 'add-admin-title' }, 'Add an admin'),
    h('div', { class: 'form-grid' },
      h('div', { class: 'field' }, h('label', { for: 'new-username' }, 'Username'), username,
        h('span', { id: 'new-username-hint', class: 'muted hint' }, '3–64 characters: a–z, 0–9, dot, underscore, hyphen')),
      h('div', { class: 'field' }, h('label', { for: 'new-password' }, 'Password'), password,
        h('span', { id: 'new-password-hint', class: 'muted hint' }, 'At least 12 characters')),
      h('div', { class: 'field' }, h('label', { for: 'new-role' }, 'Role'), role)),
    h('p', { class: 'muted hint' }, 'A supervisor also manages the team and reads the activity log.'),
    create, createFeedback);

  root.replaceChildren(h('div', { class: 'page' },
    h('div', { class: 'page-head' }, h('h1', {}, 'Team')),
    error,
    h('section', { class: 'card', 'aria-labelledby': 'admins-title' }, h('h2', { id: 'admins-title' }, 'Admins'), list),
    form));

  /** One account: its facts, Disable/Enable, and a new password. */
  function row(a) {
    const facts = h('p', { class: 'admin-facts' });
    const toggle = h('button', { type: 'button', class: 'secondary' });
    const setPassword = h('button', { type: 'button', class: 'secondary', 'aria-expanded': 'false' }, 'Set password');
    const feedback = h('div', { class: 'feedback' });
    const id = `password-${a.username}`;
    const input = h('input', { id, type: 'password', autocomplete: 'new-password' });
    const save = h('button', { type: 'submit', class: 'primary' }, 'Save password');
    const cancel = h('button', { type: 'button', class: 'secondary' }, 'Cancel');
    const passwordForm = h('form', { class: 'password-form', hidden: true, novalidate: true },
      h('div', { class: 'field' }, h('label', { for: id }, `New password for ${a.username}`), input),
      h('div', { class: 'actions' }, save, cancel));
    const element = h('li', { class: 'admin-row', 'data-username': a.username },
      h('h3', {}, a.username, a.username === me ? h('span', { class: 'muted' }, ' (you)') : null),
      facts, h('div', { class: 'actions' }, toggle, setPassword), passwordForm, feedback);
    let current = a;

    function show(x) {
      current = x;
      element.classList.toggle('disabled', x.disabled);
      facts.replaceChildren(h('span', { class: `role role-${x.role}` }, x.role === 'supervisor' ? 'Supervisor' : 'Admin'), ' · ',
        h('span', { class: x.disabled ? 'status-off' : 'status-on' }, x.disabled ? 'Disabled' : 'Enabled'), ' · ',
        'added ', timeElement(x.created_at));
      toggle.textContent = x.disabled ? 'Enable' : 'Disable';
      toggle.setAttribute('aria-label', `${x.disabled ? 'Enable' : 'Disable'} ${x.username}`);
      setPassword.setAttribute('aria-label', `Set password for ${x.username}`);
    }
    function openForm(on) {
      passwordForm.hidden = !on;
      setPassword.setAttribute('aria-expanded', String(on));
      input.value = '';
      if (on) input.focus();
    }

    toggle.addEventListener('click', async () => {
      const enabling = current.disabled;
      toggle.disabled = true;
      clearFeedback(feedback);
      try {
        const { data } = await api.request('POST', `${path(current.username)}/${enabling ? 'enable' : 'disable'}`, {});
        show(data.admin);
        showNotice(feedback, enabling
          ? `${current.username} is enabled: they can sign in again.`
          : `${current.username} is disabled: their sessions end within a minute.`);
      } catch (e) {
        showError(feedback, e);
      } finally {
        toggle.disabled = false;
      }
    });
    setPassword.addEventListener('click', () => openForm(passwordForm.hidden));
    cancel.addEventListener('click', () => { openForm(false); setPassword.focus(); });
    passwordForm.addEventListener('submit', async (event) => {
      event.preventDefault();
      save.disabled = true;
      clearFeedback(feedback);
      try {
        const { data } = await api.request('POST', `${path(current.username)}/password`, { password: input.value });
        show(data.admin);
        openForm(false);
        showNotice(feedback, `${current.username}’s password is changed: their other sessions end within a minute.`);
        setPassword.focus();
      } catch (e) {
        showError(feedback, e);
        input.focus();
      } finally {
        save.disabled = false;
      }
    });
    show(a);
    return { element, show };
  }

  function place(admins) {
    for (const a of admins) {
      if (rows.has(a.username)) rows.get(a.username).show(a);
      else rows.set(a.username, row(a));
    }
    const names = [...rows.keys()].sort();
    list.replaceChildren(...(names.length ? names.map((n) => rows.get(n).element) : [h('li', { class: 'empty' }, 'No admins.')]));
  }

  async function load() {
    try {
      const { data } = await api.request('GET', '/api/admin/admins');
      reportConnection(null);
      clearFeedback(error);
      place(data.admins);
    } catch (e) {
      reportConnection(e);
      list.replaceChildren();
      showError(error, e, { action: e.status === 403 ? null : { label: 'Try again', run: load } });
      if (e.status === 403) form.hidden = true;
    }
  }

  form.addEventListener('submit', async (event) => {
    event.preventDefault();
    create.disabled = true;
    clearFeedback(createFeedback);
    try {
      const { data } = await api.request('POST', '/api/admin/admins', { username: username.value.trim(), password: password.value, role: role.value });
      place([data.admin]);
      showNotice(createFeedback, `${data.admin.username} is added as ${data.admin.role === 'supervisor' ? 'a supervisor' : 'an admin'}.`);
      username.value = '';
      password.value = '';
      role.value = 'admin';
      username.focus();
    } catch (e) {
      showError(createFeedback, e);
    } finally {
      create.disabled = false;
    }
  });

  load();
  return () => {};
}
