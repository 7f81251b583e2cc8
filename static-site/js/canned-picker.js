// Canned replies in the composer: "/" at the start of the text opens the desk's replies whose
// shortcut starts with what follows (a listbox over the text); ↑ ↓ choose, Tab or Enter puts
// the reply's text in place of "/shortcut" to edit before sending (nothing is sent), Escape
// closes. The replies are read when the list opens, at most once a minute.
import * as api from './api.js';
import { h } from './dom.js';

const FRESH_MS = 60_000;
const PREVIEW_CHARS = 70;
let cache = null; // { at, replies }

/** The management view changed the replies: the next list reads them again. */
export function forgetCannedReplies() {
  cache = null;
}

/** The picker for `textarea`; `onInsert()` after a reply's text is put in. */
export function createCannedPicker(textarea, { onInsert }) {
  let shown = []; // the replies offered
  let active = 0;
  let query = null; // what follows "/", while the list is open
  let reading = null;

  const list = h('ul', { id: 'canned-list', class: 'canned-list', role: 'listbox', 'aria-label': 'Canned replies' });
  const note = h('p', { class: 'canned-note' });
  const status = h('p', { class: 'visually-hidden', role: 'status' });
  // A press in the list keeps the focus in the text (and the list open) until the click lands.
  const element = h('div', { class: 'canned', hidden: true, onmousedown: (e) => e.preventDefault() }, list, note);
  textarea.setAttribute('aria-autocomplete', 'list');

  /** "/abc" before the caret, at the very start: "abc"; else null. */
  function typed() {
    const before = textarea.value.slice(0, textarea.selectionEnd);
    const m = before.match(/^\/([a-z0-9_-]*)$/i);
    return m && textarea.selectionStart === textarea.selectionEnd ? m[1].toLowerCase() : null;
  }

  function render() {
    const replies = cache?.replies || [];
    shown = replies.filter((r) => r.shortcut.startsWith(query));
    active = Math.min(active, Math.max(0, shown.length - 1));
    list.replaceChildren(...shown.map((r, i) => {
      const text = [...r.text.replace(/\s+/g, ' ')];
      return h('li', {
        id: `canned-${i}`, role: 'option', class: 'canned-option', 'aria-selected': String(i === active),
        onclick: () => insert(i),
      }, h('span', { class: 'canned-shortcut' }, `/${r.shortcut}`),
      h('span', { class: 'canned-text' }, text.length > PREVIEW_CHARS ? `${text.slice(0, PREVIEW_CHARS - 1).join('')}…` : text.join('')));
    }));
    list.hidden = shown.length === 0;
    let why = '';
    if (!cache) why = reading ? 'Reading the canned replies…' : 'The canned replies could not be read.';
    else if (replies.length === 0) why = 'No canned replies yet.';
    else if (shown.length === 0) why = `No canned reply starts with /${query}.`;
    note.replaceChildren(why, why && cache && !shown.length ? ' ' : '', cache && !shown.length ? h('a', { href: '#/canned-replies' }, 'Manage canned replies') : '');
    note.hidden = !why;
    if (shown.length) {
      textarea.setAttribute('aria-activedescendant', `canned-${active}`);
      list.children[active].scrollIntoView({ block: 'nearest' });
    } else textarea.removeAttribute('aria-activedescendant');
    status.textContent = shown.length ? `${shown.length} canned ${shown.length === 1 ? 'reply' : 'replies'}: arrow keys to choose, Enter to insert, Escape to close.` : why;
  }

  function read() {
    if (reading || (cache && Date.now() - cache.at < FRESH_MS)) return;
    reading = api.cannedReplies().then((replies) => {
      cache = { at: Date.now(), replies };
    }, () => {}).finally(() => {
      reading = null;
      if (query !== null) render();
    });
  }

  function open(q) {
    if (query === null) active = 0;
    query = q;
    element.hidden = false;
    textarea.setAttribute('aria-controls', 'canned-list');
    read();
    render();
  }

  function close() {
    query = null;
    element.hidden = true;
    status.textContent = '';
    textarea.removeAttribute('aria-controls');
    textarea.removeAttribute('aria-activedescendant');
  }

  function insert(i) {
    const r = shown[i];
    if (!r) return;
    const rest = textarea.value.slice(textarea.selectionEnd);
    textarea.value = r.text + rest;
    textarea.setSelectionRange(r.text.length, r.text.length);
    close();
    textarea.focus();
    onInsert();
  }

  textarea.addEventListener('input', () => {
    const q = typed();
    if (q === null) close();
    else open(q);
  });
  textarea.addEventListener('blur', close);

  return {
    element,
    status,
    /** A key in the text: true when the list used it (the composer must not). */
    key(event) {
      if (query === null || event.isComposing) return false;
      if (event.key === 'Escape') close();
      else if (event.key === 'ArrowDown' || event.key === 'ArrowUp') {
        if (!shown.length) return false;
        active = (active + (event.key === 'ArrowDown' ? 1 : -1) + shown.length) % shown.length;
        render();
      } else if ((event.key === 'Enter' && !event.shiftKey) || (event.key === 'Tab' && !event.shiftKey && shown.length)) {
        if (shown.length) insert(active);
        else close(); // nothing to insert: the next Enter sends the text as it is
      } else return false;
      event.preventDefault();
      return true;
    },
    close,
  };
}
