// Assignment (DESIGN §15) in a conversation's head: "Assign to me", "Assign to…" and
// "Unassign", each sent with the assignee the page showed (`expected_assigned_to`): of two
// admins at once one wins, and the other is told who holds the chat (409 with the
// conversation). "Take over" (`takeOver`) assigns a colleague's chat to me the same way.
import * as api from './api.js';
import { h } from './dom.js';

/**
 * `known()`: usernames the page has seen (the history's authors). Reports
 * `onAssigned(conversation)`, `onConflict(e)` when someone else holds the chat (`e.body.conversation`),
 * `onError(e)` for any other refusal.
 */
export function createAssignment({ phone, me, known, onAssigned, onConflict, onError }) {
  let conv = null;
  let busy = false;
  let team = null; // a supervisor's enabled colleagues, read the first time "Assign to…" opens

  /** A supervisor may list the admins; an admin may not (403): the page offers the names it knows. */
  function colleagues() {
    if (api.session()?.role !== 'supervisor') return Promise.resolve([]);
    team ??= api.request('GET', '/api/admin/admins')
      .then(({ data }) => data.admins.filter((a) => !a.disabled).map((a) => a.username))
      .catch(() => { team = null; return []; });
    return team;
  }

  const mine = h('button', { type: 'button', class: 'secondary', onclick: () => assign(me) }, 'Assign to me');
  const other = h('button', { type: 'button', class: 'secondary', 'aria-expanded': 'false', 'aria-controls': 'assign-form' }, 'Assign to…');
  const none = h('button', { type: 'button', class: 'secondary', onclick: () => assign(null) }, 'Unassign');
  const input = h('input', { id: 'assign-to', list: 'assign-names', autocomplete: 'off', autocapitalize: 'none', spellcheck: 'false', 'aria-describedby': 'assign-hint' });
  const names = h('datalist', { id: 'assign-names' });
  const cancel = h('button', { type: 'button', class: 'secondary' }, 'Cancel');
  const form = h('form', { id: 'assign-form', class: 'assign-form', hidden: true },
    h('label', { for: 'assign-to' }, 'Assign to'),
    h('span', { id: 'assign-hint', class: 'visually-hidden' }, 'A colleague’s username'),
    h('div', { class: 'assign-row' }, input, names, h('button', { type: 'submit', class: 'primary' }, 'Assign'), cancel));
  const element = h('div', { class: 'assign', role: 'group', 'aria-label': 'Assignment' }, mine, other, none, form);

  function render() {
    const open = Boolean(conv?.is_chat_support);
    mine.hidden = !open || conv.assigned_to === me;
    none.hidden = !open || !conv.assigned_to;
    other.hidden = !open;
    if (!open) showForm(false);
    for (const b of [mine, other, none]) b.disabled = busy;
  }

  function showForm(on) {
    form.hidden = !on;
    other.setAttribute('aria-expanded', String(on));
    if (!on) return;
    input.value = '';
    colleagues().then((list) => {
      const all = new Set([...list, ...known(), conv?.assigned_to, me].filter(Boolean));
      names.replaceChildren(...[...all].sort().map((n) => h('option', { value: n })));
    });
    input.focus();
  }

  /** Assigns the chat to `to` (null: nobody), if it is still assigned as shown. */
  async function assign(to) {
    if (!conv || busy) return false;
    busy = true;
    render();
    try {
      const { conversation } = await api.assign(phone, to, conv.assigned_to ?? null);
      showForm(false);
      onAssigned(conversation);
      return true;
    } catch (e) {
      if (e.code === 'assigned_to_other' && e.body?.conversation) onConflict(e);
      else onError(e);
      return false;
    } finally {
      busy = false;
      render();
    }
  }

  other.addEventListener('click', () => showForm(form.hidden));
  cancel.addEventListener('click', () => { showForm(false); other.focus(); });
  form.addEventListener('submit', (event) => {
    event.preventDefault();
    const to = input.value.trim().toLowerCase();
    if (to) assign(to);
    else input.focus();
  });
  form.addEventListener('keydown', (event) => {
    if (event.key === 'Escape') { showForm(false); other.focus(); }
  });

  return {
    element,
    /** The conversation as last read. */
    show(c) {
      conv = c;
      render();
    },
    /** "Take over": the chat assigned to me, if `holder` still holds it. */
    takeOver(holder) {
      if (conv) conv = { ...conv, assigned_to: holder };
      return assign(me);
    },
  };
}
