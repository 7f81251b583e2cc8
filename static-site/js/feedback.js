// Errors and notices in a slot of the page: the one way the page shows an error. (The
// connection line under the header, in app.js, reports only the state of the connection.)
import { h } from './dom.js';

/**
 * Shows `error` in `slot` in place of what the slot showed: a message, or an error from
 * api.js (its message). A fresh alert node each time, so assistive technology announces a
 * repeated error too. An API 401 shows nothing: the sign-in page takes over. With
 * `unlessOffline`, neither does a network failure: the connection line already says so.
 * `action` `{label, run}`: a button after the message (as "Try again").
 */
export function showError(slot, error, { unlessOffline = false, action = null } = {}) {
  let message = error;
  if (typeof error !== 'string') {
    if (error.status === 401 || (unlessOffline && error.status === 0)) return;
    message = error.message;
  }
  slot.replaceChildren(h('p', { class: 'error', role: 'alert' }, message));
  if (action) slot.append(h('button', { type: 'button', class: 'secondary', onclick: action.run }, action.label));
}

/** A notice (not an error); `live: false` for one that is the page's content, not news. */
export function noticeNode(text, { live = true } = {}) {
  return h('p', { class: 'notice', role: live ? 'status' : null }, text);
}

export function showNotice(slot, text, options) {
  slot.replaceChildren(noticeNode(text, options));
}

export function clearFeedback(slot) {
  slot.replaceChildren();
}
