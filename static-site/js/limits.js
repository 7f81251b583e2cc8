// The server's limits, in one place for the page. The server refuses anything past them;
// the page checks first so the admin learns why before sending. Each is the server's own
// number (tests/tests/admin_api.rs, `the_pages_limits_are_the_servers`).

/** Message text, in Unicode code points (MAX_TEXT_CHARS in shared/domain/src/whatsapp.rs). */
export const MAX_TEXT_CHARS = 4096;

/** An admin request's body, in bytes (MAX_ADMIN_BODY_BYTES in shared/adapters/src/http.rs). */
export const MAX_BODY_BYTES = 64 * 1024;

/** The most items one page of a list may ask for with `limit=` (MAX_PAGE in shared/adapters/src/http.rs). */
export const MAX_PAGE_SIZE = 200;

/** A search's text, in code points (MAX_QUERY_CHARS in shared/domain/src/search.rs). */
export const MAX_QUERY_CHARS = 100;

/** A template's filled-in body, in code points (MAX_TEMPLATE_BODY_CHARS in shared/domain/src/templates.rs). */
export const MAX_TEMPLATE_CHARS = 1024;

/** A file's caption, in code points (MAX_CAPTION_CHARS in shared/domain/src/media.rs). */
export const MAX_CAPTION_CHARS = 1024;

const MB = 1024 * 1024;
/** The largest file WhatsApp takes of each kind (AttachmentKind::max_bytes), and the server's words. */
export const MAX_FILE_BYTES = {
  image: [5 * MB, 'Images can be at most 5 MB.'],
  document: [100 * MB, 'Documents can be at most 100 MB.'],
  audio: [16 * MB, 'Audio can be at most 16 MB.'],
  video: [16 * MB, 'Videos can be at most 16 MB.'],
};
