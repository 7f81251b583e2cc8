// The desk's WebSocket (DESIGN §16, docs/realtime.md), opened with a single-use ticket and
// kept open: a keep-alive frame every 5 minutes (API Gateway ends idle connections after 10);
// after any close (and API Gateway ends every one after 2 hours) a new ticket and socket,
// backing off 1 s, 2 s, 4 s … 30 s with jitter. A text frame is one event; anything else
// (an error frame answering the keep-alive) is ignored.
import * as api from './api.js';

export const PING_MS = 5 * 60_000;
const RETRY_MS = 1_000;
const RETRY_MAX_MS = 30_000;
/** A socket that stayed open this long starts the backoff afresh when it closes. */
const STEADY_MS = 60_000;

/** `{start, stop, up, subscribe}`; listeners: `{event(e), change(up)}`. */
export function createLive() {
  const listeners = new Set();
  let socket = null;
  let up = false;
  let failures = 0;
  let retry = null;
  let ping = null;
  let openedAt = 0;
  let generation = 0; // odd while started; a stop leaves earlier attempts behind

  const tell = (what, arg) => {
    for (const l of [...listeners]) {
      try {
        l[what]?.(arg);
      } catch (e) {
        console.error(e);
      }
    }
  };

  function again() {
    const wait = Math.min(RETRY_MAX_MS, RETRY_MS * 2 ** failures++);
    retry = setTimeout(connect, wait / 2 + Math.random() * wait / 2);
  }

  async function connect() {
    const mine = generation;
    let ws;
    try {
      const t = await api.wsTicket();
      if (mine !== generation) return;
      const url = new URL(t.url);
      url.searchParams.set('ticket', t.ticket);
      ws = socket = new WebSocket(url);
    } catch (e) {
      if (mine === generation) again();
      return;
    }
    ws.onopen = () => {
      openedAt = Date.now();
      ping = setInterval(() => ws.send('{"action":"ping"}'), PING_MS);
      up = true;
      tell('change', true);
    };
    ws.onmessage = ({ data }) => {
      let e = null;
      try {
        e = JSON.parse(data);
      } catch (err) {
        return;
      }
      if (socket === ws && (e?.type === 'message' || e?.type === 'conversation')) tell('event', e);
    };
    ws.onclose = () => {
      if (socket !== ws) return;
      socket = null;
      clearInterval(ping);
      if (openedAt && Date.now() - openedAt > STEADY_MS) failures = 0;
      openedAt = 0;
      if (up) tell('change', up = false);
      again();
    };
  }

  return {
    start() {
      if (generation % 2) return;
      generation += 1;
      failures = 0;
      connect();
    },
    stop() {
      if (generation % 2) generation += 1;
      clearTimeout(retry);
      clearInterval(ping);
      const ws = socket;
      socket = null;
      up = false;
      ws?.close();
    },
    up: () => up,
    subscribe(listener) {
      listeners.add(listener);
      return () => listeners.delete(listener);
    },
  };
}
