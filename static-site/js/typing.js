// "Typing…" on the user's phone while an admin types: at most once per 20 s per
// conversation (the server throttles too), kept across visits to the page.
import * as api from './api.js';

const EVERY_MS = 20_000;
const last = new Map(); // phone → when it was last sent

/** Tells the user an admin is typing, unless it was said in the last 20 s. */
export function typing(phone) {
  const now = Date.now();
  if (now - (last.get(phone) ?? -Infinity) < EVERY_MS) return;
  last.set(phone, now);
  api.typing(phone).catch(() => {}); // a hint only: a failure changes nothing
}
