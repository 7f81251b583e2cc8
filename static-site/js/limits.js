// The server's limits, in one place for the page. The server refuses anything past them;
// the page checks first so the admin learns why before sending.

/** Message text, in Unicode code points (MAX_TEXT_CHARS in shared/domain/src/whatsapp.rs). */
export const MAX_TEXT_CHARS = 4096;

/** An admin request's body, in bytes (MAX_ADMIN_BODY_BYTES in shared/adapters/src/http.rs). */
export const MAX_BODY_BYTES = 64 * 1024;

/** The most items one page of a list may ask for with `limit=` (the API's page limit). */
export const MAX_PAGE_SIZE = 200;
