// Canned replies (DESIGN §15), shared by the whole desk: the list, adding one, deleting one
// (asked twice). In the composer "/" and the shortcut put one in (canned-picker.js). Loaded
// on demand (app.js).
import * as api from './api.js';
import { h } from './dom.js';
import { showError, showNotice, clearFeedback } from './feedback.js';
import { forgetCannedReplies } from './canned-picker.js';
import { MAX_TEXT_CHARS } from './limits.js';
import { viewStyles } from './view-styles.js';

await viewStyles();

const PATH = '/api/admin/canned-replies';

export function render(root, { setPageTitle, reportConnection }) {
  setPageTitle('Canned replies');
  const list = h('ul', { class: 'canned-replies', 'aria-label': 'Canned replies' }, h('li', { class: 'empty' }, 'Loading…'));
  const error = h('div', {});
  const shortcut = h('input', { id: 'canned-shortcut', autocomplete: 'off', autocapitalize: 'none', spellcheck: 'false', 'aria-describedby': 'canned-shortcut-hint' });
  const text = h('textarea', { id: 'canned-text', rows: '3', maxlength: String(MAX_TEXT_CHARS) });
  const add = h('button', { type: 'submit', class: 'primary' }, 'Add canned reply');
  const feedback = h('div', { class: 'feedback' });
  const form = h('form', { class: 'card canned-form', 'aria-labelledby': 'add-canned-title', novalidate: true },
    h('h2', { id: 'add-canned-title' }, 'Add a canned reply'),
    h('div', { class: 'field' }, h('label', { for: 'canned-shortcut' }, 'Shortcut'), shortcut,
      h('span', { id: 'canned-shortcut-hint', class: 'muted hint' }, '1–32 characters: a–z, 0–9, underscore, hyphen. Typed after “/”.')),
    h('div', { class: 'field' }, h('label', { for: 'canned-text' }, 'Text'), text),
    add, feedback);

  root.replaceChildren(h('div', { class: 'page' },
    h('div', { class: 'page-head' }, h('h1', {}, 'Canned replies')),
    h('p', { class: 'muted intro' }, 'Shared by the whole desk. In a reply, type “/” and the shortcut at the start, then Enter or Tab: the text is put in to edit before sending.'),
    error, list, form));

  function item(r) {
    const feedbackSlot = h('div', { class: 'feedback' });
    const del = h('button', { type: 'button', class: 'danger', 'aria-label': `Delete /${r.shortcut}` }, 'Delete');
    const sure = h('button', { type: 'button', class: 'danger', 'aria-label': `Yes, delete /${r.shortcut}` }, 'Yes, delete');
    const keep = h('button', { type: 'button', class: 'secondary' }, 'Keep');
    const confirm = h('div', { class: 'actions', role: 'group', 'aria-label': `Delete /${r.shortcut}?`, hidden: true },
      h('span', {}, `Delete /${r.shortcut} for the whole desk?`), sure, keep);
    const element = h('li', { class: 'canned-reply', 'data-shortcut': r.shortcut },
      h('p', { class: 'canned-shortcut' }, `/${r.shortcut}`), h('p', { class: 'text' }, r.text),
      h('div', { class: 'actions' }, del), confirm, feedbackSlot);
    const ask = (on) => {
      confirm.hidden = !on;
      del.hidden = on;
      (on ? keep : del).focus();
    };
    del.addEventListener('click', () => ask(true));
    keep.addEventListener('click', () => ask(false));
    sure.addEventListener('click', async () => {
      sure.disabled = true;
      try {
        await api.request('DELETE', `${PATH}/${encodeURIComponent(r.shortcut)}`);
        forgetCannedReplies();
        element.remove();
        if (!list.children.length) list.append(h('li', { class: 'empty' }, 'No canned replies yet.'));
        showNotice(feedback, `/${r.shortcut} is deleted.`);
        shortcut.focus();
      } catch (e) {
        showError(feedbackSlot, e);
        sure.disabled = false;
      }
    });
    return element;
  }

  function show(replies) {
    list.replaceChildren(...(replies.length ? replies.map(item) : [h('li', { class: 'empty' }, 'No canned replies yet.')]));
  }

  async function load() {
    try {
      show(await api.cannedReplies());
      reportConnection(null);
      clearFeedback(error);
    } catch (e) {
      reportConnection(e);
      showError(error, e, { action: { label: 'Try again', run: load } });
    }
  }

  form.addEventListener('submit', async (event) => {
    event.preventDefault();
    add.disabled = true;
    clearFeedback(feedback);
    try {
      const { data } = await api.request('POST', PATH, { shortcut: shortcut.value.trim(), text: text.value });
      forgetCannedReplies();
      const r = data.canned_reply;
      list.querySelector('.empty')?.remove();
      const after = [...list.children].find((li) => li.dataset.shortcut > r.shortcut) || null;
      list.insertBefore(item(r), after);
      showNotice(feedback, `/${r.shortcut} is added.`);
      shortcut.value = '';
      text.value = '';
      shortcut.focus();
    } catch (e) {
      showError(feedback, e);
    } finally {
      add.disabled = false;
    }
  });

  load();
  return () => {};
}
