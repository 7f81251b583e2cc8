// Read marks (DESIGN §14): while the conversation is open and the tab visible, the newest
// user message is marked read (blue ticks on the phone, the unread count back to 0), once:
// only when a user message newer than the last one marked is loaded.
import * as api from './api.js';

/** `newestInbound()`: the id of the newest user message shown; `onConversation(c)` with the answer. */
export function createReadMarks(phone, { newestInbound, onConversation }) {
  let marked = '';
  let busy = false;

  async function check() {
    const newest = newestInbound();
    if (busy || document.visibilityState !== 'visible' || !newest || newest <= marked) return;
    busy = true;
    try {
      onConversation((await api.markRead(phone)).conversation);
      marked = newest;
    } catch (e) {
      if (e.status !== 0) marked = newest; // refused: not asked again for the same message
    } finally {
      busy = false;
    }
  }

  document.addEventListener('visibilitychange', check);
  return { check, stop: () => document.removeEventListener('visibilitychange', check) };
}
