// Links to messages' stored files (GET …/messages/{id}/media): presigned, valid a few
// minutes. One per message, kept until shortly before it expires, then asked for again.
import * as api from './api.js';

/** A link is renewed this long before it expires, so a click never meets an expired one. */
const MARGIN_MS = 30_000;
/** The API's links last at most 5 minutes: a clock running behind cannot keep one longer. */
const MAX_LIFE_MS = 5 * 60_000;

export function createMediaLinks(phone) {
  const cache = new Map(); // message id → { promise, link, expiresAt }

  const fresh = (entry) => entry.link === null || entry.expiresAt - MARGIN_MS > Date.now();

  return {
    /**
     * `{url, mime_type, expires_at}` for message `id`: the cached link while fresh (or being
     * asked for), else a new one; `renew` asks for a new one in any case. Rejects with the
     * API's error (404: no stored file; 409: still being fetched).
     */
    get(id, { renew = false } = {}) {
      const known = cache.get(id);
      if (known && !renew && fresh(known)) return known.promise;
      const asked = Date.now();
      const entry = { link: null, expiresAt: 0 };
      entry.promise = api.mediaLink(phone, id).then((link) => {
        entry.link = link;
        const expires = Date.parse(link.expires_at);
        entry.expiresAt = Math.min(Number.isNaN(expires) ? 0 : expires, asked + MAX_LIFE_MS);
        return link;
      }, (error) => {
        if (cache.get(id) === entry) cache.delete(id);
        throw error;
      });
      cache.set(id, entry);
      return entry.promise;
    },
    /** The cached link of message `id` if it is still fresh, else null (synchronously). */
    current(id) {
      const known = cache.get(id);
      return known && known.link && fresh(known) ? known.link : null;
    },
  };
}
