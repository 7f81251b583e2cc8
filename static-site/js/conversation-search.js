// Search across the whole desk (`GET /api/admin/conversations?q=`): DEBOUNCE_MS after the
// admin stops typing, for the newest text only (a request still on its way for older text is
// cancelled with its AbortController), and "Load more" for the next page.
import * as api from './api.js';
import { MAX_QUERY_CHARS } from './limits.js';

export const DEBOUNCE_MS = 250;
const PAGE = 25;
/** A page may hold no match and still have a next one: read on until one, at most this many pages at once. */
const READS = 4;

/** Whether the server searches `q`: a letter or digit, at most MAX_QUERY_CHARS characters. */
export const searchable = (q) => /[\p{L}\p{N}]/u.test(q) && [...q].length <= MAX_QUERY_CHARS;

/** `onResults(conversations, more)` (`more`: a next page exists), `onError(e)`. */
export function createSearch({ onResults, onError }) {
  let query = '';
  let timer = null;
  let controller = null;
  let results = [];
  let cursor = null;

  async function read(more) {
    controller?.abort();
    const mine = new AbortController();
    controller = mine;
    try {
      if (!more) results = [];
      const had = results.length;
      let reads = 0;
      do {
        const page = await api.conversations({ q: query, limit: PAGE, cursor: more || reads ? cursor : null, signal: mine.signal });
        const known = new Set(results.map((c) => c.phone));
        results = results.concat(page.conversations.filter((c) => !known.has(c.phone)));
        cursor = page.next_cursor;
        reads += 1;
      } while (cursor && reads < READS && results.length === had);
      onResults(results, Boolean(cursor));
    } catch (e) {
      if (!mine.signal.aborted) onError(e);
    } finally {
      if (controller === mine) controller = null;
    }
  }

  return {
    /** Searches `q` after the pause ('' stops searching). */
    set(q) {
      clearTimeout(timer);
      controller?.abort();
      controller = null;
      query = q;
      cursor = null;
      if (q) timer = setTimeout(() => read(false), DEBOUNCE_MS);
    },
    more: () => (cursor && query ? read(true) : null),
    /** A conversation changed (an event): its row among the results shows it. */
    update(c) {
      const at = results.findIndex((x) => x.phone === c.phone);
      if (at < 0) return false;
      results[at] = c;
      return true;
    },
    results: () => results,
    stop() {
      clearTimeout(timer);
      controller?.abort();
    },
  };
}
