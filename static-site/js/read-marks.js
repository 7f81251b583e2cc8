// Read marks (DESIGN §14): while the conversation is open and the tab visible, the newest
// user message is marked read (blue ticks on the phone, the unread count back to 0), once:
// only when a user message newer than the last one marked is loaded. A message can be shown
// before the bot has counted it unread (the socket brings it first), undoing a mark made
// meanwhile: a conversation still counting unread messages once its newest is marked is
// marked once more.
import * as api from './api.js';

/** `newestInbound()`: the id of the newest user message shown; `onConversation(c)` with the answer. */
export function createReadMarks(phone, { newestInbound, onConversation }) {
  let marked = '';
  let again = '';
  let busy = false;

  /** `unread`: the unread count as last read, when it comes with the call. */
  async function check(unread = 0) {
    const newest = newestInbound();
    const recount = unread > 0 && newest === marked && again !== newest;
    if (busy || document.visibilityState !== 'visible' || !newest || (newest <= marked && !recount)) return;
    busy = true;
    if (recount) again = newest;
    try {
      onConversation((await api.markRead(phone)).conversation);
      marked = newest;
    } catch (e) {
      if (e.status !== 0) marked = newest; // refused: not asked again for the same message
    } finally {
      busy = false;
    }
  }

  const visible = () => check();
  document.addEventListener('visibilitychange', visible);
  return { check, stop: () => document.removeEventListener('visibilitychange', visible) };
}
