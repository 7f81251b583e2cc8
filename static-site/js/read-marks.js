// Read marks (DESIGN §14): while the conversation is open and the tab visible, the newest
// user message is marked read (blue ticks on the phone, the unread count back to 0), once:
// only when a user message newer than the last one marked is loaded. The bot may count a
// message unread after the page marked it (the socket shows it first): an event with a count
// after the mark's own event marks it once more.
import * as api from './api.js';

/** `newestInbound()`: the id of the newest user message shown; `onConversation(c)` with the answer. */
export function createReadMarks(phone, { newestInbound, onConversation }) {
  let marked = '';
  let again = ''; // marked a second time
  let unread = 0; // as last known
  let echo = false; // a mark zeroed the count; its event is still to come
  let busy = false;

  async function check(recount = false) {
    const newest = newestInbound();
    if (busy || document.visibilityState !== 'visible' || !newest || (newest <= marked && !recount)) return;
    busy = true;
    const zeroing = unread > 0;
    try {
      onConversation((await api.markRead(phone)).conversation);
      marked = newest;
      echo = zeroing;
    } catch (e) {
      if (e.status !== 0) marked = newest; // refused: not asked again for the same message
    } finally {
      busy = false;
    }
  }

  /** The conversation as read, or as an event brought it (`pushed`). */
  function seen(c, pushed = false) {
    unread = c.unread_count;
    if (!unread) echo = false;
    else if (pushed && !echo && marked && newestInbound() === marked && again !== marked) {
      again = marked;
      check(true);
      return;
    }
    check();
  }

  const visible = () => check();
  document.addEventListener('visibilitychange', visible);
  return { check: visible, seen, stop: () => document.removeEventListener('visibilitychange', visible) };
}
