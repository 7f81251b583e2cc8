// Replies (WhatsApp's `context`): the quote a message shows of the one it answers, and the
// "Replying to" bar above the composer, whose message the next send answers.
import { h } from './dom.js';

const QUOTE_CHARS = 80;

/** The first line of a message's text (a file's caption, else its kind), at most 80 characters. */
export function shortQuote(m) {
  const text = m.media ? (m.media.caption || `[${m.kind}]`) : (m.text || `[${m.kind}]`);
  const line = [...text.trim().split('\n')[0]];
  return line.length > QUOTE_CHARS ? `${line.slice(0, QUOTE_CHARS - 1).join('')}…` : line.join('');
}

/** The quote at the top of a reply's bubble: `quoted` is null when it is not loaded. */
export function quoteNode(quoted, author) {
  if (!quoted) return h('p', { class: 'quote' }, h('span', { class: 'quote-text' }, 'a previous message'));
  return h('p', { class: 'quote' }, h('span', { class: 'quote-author' }, author), h('span', { class: 'quote-text' }, shortQuote(quoted)));
}

/** `onChange()` when a reply is chosen or cancelled. */
export function createReplyContext({ onChange }) {
  let target = null;
  const text = h('span', { class: 'reply-to-text' });
  const cancel = h('button', { type: 'button', class: 'secondary chip-remove', 'aria-label': 'Cancel the reply', title: 'Cancel the reply' }, '×');
  const element = h('div', { class: 'reply-to', role: 'group', 'aria-label': 'Replying to', hidden: true }, text, cancel);
  cancel.addEventListener('click', () => set(null));

  function set(message, author = '') {
    target = message;
    element.hidden = !message;
    text.replaceChildren(...(message ? ['Replying to: ', h('strong', {}, author), ` “${shortQuote(message)}”`] : []));
    onChange();
  }

  return {
    element,
    /** The id of the message the next send answers, or null. */
    get id() { return target ? target.id : null; },
    set,
  };
}
