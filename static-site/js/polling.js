// Keeping a view up to date (docs/admin-page.md, "Keeping up to date"): while the socket is
// up (live.js) the view applies its events and reads nothing; while it is down the view
// polls; when the socket is back, the view reads what it may have missed.
import { every } from './dom.js';

/** While the socket is down, each view reads again every POLL_MS (POLL_HIDDEN_MS in a hidden tab). */
export const POLL_MS = 10_000;
export const POLL_HIDDEN_MS = 30_000;
/** On events, the dashboard (its figures, the title's unread count) is read at most this often. */
export const DASHBOARD_MIN_MS = 5_000;

/**
 * Reads now (`read()`), then: `onEvent(e)` for each event while the socket is up; `read()`
 * every POLL_MS while it is down; `read(true)` when it is back. One read at a time: a call
 * meanwhile reads once more afterwards. `{now, stop}`.
 */
export function keepUpdated(live, read, onEvent) {
  let running = false;
  let queued = null;
  let poller = null;
  const once = async (back) => {
    if (running) {
      queued = { back: queued?.back || back };
      return;
    }
    running = true;
    await read(back).catch(() => {}); // each read reports its own failures
    running = false;
    const next = queued;
    queued = null;
    if (next) once(next.back);
  };
  const poll = () => { poller = every(once, POLL_MS, POLL_HIDDEN_MS, true); };
  const unsubscribe = live.subscribe({
    event: onEvent,
    change(up) {
      poller?.stop();
      if (up) once(true);
      else poll();
    },
  });
  once();
  if (!live.up()) poll();
  return { now: once, stop() { unsubscribe(); poller?.stop(); } };
}

/** `task`, run at most once every `ms`: calls meanwhile make one run when the time is up. */
export function throttle(task, ms) {
  let last = 0;
  let timer = null;
  return () => {
    timer ??= setTimeout(() => {
      timer = null;
      last = Date.now();
      task();
    }, last + ms - Date.now());
  };
}
