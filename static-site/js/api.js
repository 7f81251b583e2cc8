// The admin API (docs/architecture.md) on this origin, and the signed-in session (sessionStorage).

const SESSION_KEY = 'edubot.session';

export class ApiError extends Error {
  constructor(status, code, message, body) {
    super(message);
    this.status = status;
    this.code = code;
    this.body = body;
  }
}

let onUnauthorized = () => {};

/** Called when the API rejects the token (expired, tampered, admin disabled). */
export function setUnauthorizedHandler(handler) {
  onUnauthorized = handler;
}

export function session() {
  try {
    const s = JSON.parse(sessionStorage.getItem(SESSION_KEY) || 'null');
    if (s && typeof s.token === 'string' && Date.parse(s.expires_at) > Date.now()) return s;
  } catch (e) {
    // A damaged entry is no session.
  }
  return null;
}

export function hadExpiredSession() {
  return sessionStorage.getItem(SESSION_KEY) !== null && session() === null;
}

export function clearSession() {
  sessionStorage.removeItem(SESSION_KEY);
}

async function call(method, path, body, { auth = true, signal, text = false } = {}) {
  const headers = { accept: text ? '*/*' : 'application/json' };
  if (body !== undefined) headers['content-type'] = 'application/json';
  if (auth) {
    const s = session();
    if (!s) {
      onUnauthorized('expired');
      throw new ApiError(401, 'unauthorized', 'Your session has expired.');
    }
    headers.authorization = `Bearer ${s.token}`;
  }
  let response;
  try {
    response = await fetch(path, {
      method,
      headers,
      body: body === undefined ? undefined : JSON.stringify(body),
      cache: 'no-store',
      credentials: 'omit',
      signal,
    });
  } catch (e) {
    if (signal?.aborted) throw e;
    throw new ApiError(0, 'network', 'The server could not be reached. Check the connection.');
  }
  const data = text && response.ok ? await response.text() : await response.json().catch(() => null);
  if (response.ok) return { status: response.status, data };
  const error = (data && data.error) || {};
  const message = error.message || `The server answered ${response.status}.`;
  if (response.status === 401 && auth) onUnauthorized('rejected');
  const retryAfter = response.headers.get('retry-after');
  const err = new ApiError(response.status, error.code || 'error', message, data);
  err.retryAfter = retryAfter ? Number(retryAfter) : null;
  throw err;
}

/** Any admin call, for the views loaded on demand: `{status, data}`, or an ApiError; `text`: data is the body as text (a CSV). */
export const request = call;

export async function signIn(username, password) {
  const { data } = await call('POST', '/api/admin/login', { username, password }, { auth: false });
  const s = { token: data.token, expires_at: data.expires_at, username: data.username || username.trim().toLowerCase(), role: data.role || 'admin' };
  sessionStorage.setItem(SESSION_KEY, JSON.stringify(s));
  return s;
}

/** `{ticket, expires_at, url}`: opens the desk's WebSocket once, within 30 s (live.js). */
export async function wsTicket() {
  return (await call('POST', '/api/admin/ws-ticket', {})).data;
}

const phonePath = (phone) => `/api/admin/conversations/${encodeURIComponent(phone)}`;

let dashboardCall = null;
/** The desk's figures; callers at the same time share one request. */
export function dashboard() {
  dashboardCall ??= call('GET', '/api/admin/dashboard').then((r) => r.data).finally(() => { dashboardCall = null; });
  return dashboardCall;
}

/**
 * `{conversations, next_cursor}`: most recent activity first, `filter` `support`, `mine` or
 * `unassigned`; or, with `q`, those whose name or number matches, across the whole desk.
 */
export async function conversations({ filter = null, q = null, limit = 50, cursor = null, signal } = {}) {
  const query = new URLSearchParams({ limit: String(limit) });
  if (q) query.set('q', q);
  else if (filter) query.set('filter', filter);
  if (cursor) query.set('cursor', cursor);
  return (await call('GET', `/api/admin/conversations?${query}`, undefined, { signal })).data;
}

/** `{conversation, messages, next_cursor}`; `before` pages back, `after` polls. */
export async function messages(phone, { limit = 50, before = null, after = null } = {}) {
  const q = new URLSearchParams({ limit: String(limit) });
  if (before) q.set('before', before);
  if (after) q.set('after', after);
  return (await call('GET', `${phonePath(phone)}/messages?${q}`)).data;
}

/** `{status, data}`: 201 sent, 202 a retry is scheduled. `replyTo`: the id of the message answered. */
export async function send(phone, text, replyTo = null) {
  return call('POST', `${phonePath(phone)}/chat-support/send`, replyTo ? { text, reply_to: replyTo } : { text });
}

/** `{attachment_id, upload_url, upload_headers}`: where to put a file's bytes before sending it. */
export async function declareAttachment(phone, { filename, mime_type, size }) {
  return (await call('POST', `${phonePath(phone)}/attachments`, { filename, mime_type, size })).data;
}

/** Sends an uploaded attachment, `caption` (if any) under it: `{status, data}` as for `send`. */
export async function sendAttachment(phone, attachmentId, caption, replyTo = null) {
  const body = { attachment_id: attachmentId };
  if (caption && caption.trim()) body.text = caption;
  if (replyTo) body.reply_to = replyTo;
  return call('POST', `${phonePath(phone)}/chat-support/send`, body);
}

/** `[{name, language, category, body, parameter_count}]`: the approved templates. */
export async function templates() {
  return (await call('GET', '/api/admin/templates')).data.templates;
}

/** Sends a template, open window or not: `{status, data}` as for `send`. */
export async function sendTemplate(phone, name, language, parameters) {
  return call('POST', `${phonePath(phone)}/template`, { name, language, parameters });
}

/** Marks the newest user message read (blue ticks): `{conversation}` with `unread_count` 0. */
export async function markRead(phone) {
  return (await call('POST', `${phonePath(phone)}/read`, {})).data;
}

/** Shows the user that an admin is typing (the server sends at most one per 20 s). */
export async function typing(phone) {
  await call('POST', `${phonePath(phone)}/typing`, {});
}

/** Sends a failed admin reply again: `{status, data}` as for `send`. */
export async function retry(phone, id) {
  return call('POST', `${phonePath(phone)}/messages/${encodeURIComponent(id)}/retry`, {});
}

/** `{url, mime_type, expires_at}`: a short-lived link to a message's stored file. */
export async function mediaLink(phone, id) {
  return (await call('GET', `${phonePath(phone)}/messages/${encodeURIComponent(id)}/media`)).data;
}

/**
 * `{conversation}`: assigned to `admin` (null: nobody), only if it was assigned to `expected`
 * (what the page showed), else 409 `assigned_to_other` with the conversation as it is.
 */
export async function assign(phone, admin, expected) {
  return (await call('POST', `${phonePath(phone)}/assign`, { admin, expected_assigned_to: expected })).data;
}

/** `{message}`: an internal note, for the desk only. */
export async function addNote(phone, text) {
  return (await call('POST', `${phonePath(phone)}/notes`, { text })).data;
}

/** `[{shortcut, text}]`: the desk's canned replies, by shortcut. */
export async function cannedReplies() {
  return (await call('GET', '/api/admin/canned-replies')).data.canned_replies;
}

export async function endChat(phone) {
  return (await call('POST', `${phonePath(phone)}/chat-support/end`, {})).data;
}
