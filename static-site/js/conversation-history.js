// The history of one conversation as a chat: messages in id order with their authors,
// delivery ticks and failures (with Retry), and their files (message-media.js); new and
// changed ones shown as the socket brings them (`apply`), else read with `after=` (`refresh`,
// polling.js), the newest page re-read now and then while ticks can still change or a file
// is still being fetched; older pages loaded on scrolling up. Scrolled to the newest, it
// stays there as messages grow. A reply quotes the message it answers (reply-context.js);
// reactions show on their target (reactions.js), never as bubbles. An admin's internal note
// (kind `note`) is marked as one, yellow, without ticks: it never reaches the user.
import * as api from './api.js';
import { h, timeElement } from './dom.js';
import { MAX_PAGE_SIZE } from './limits.js';
import { createMediaLinks } from './media-links.js';
import { mediaBlock } from './message-media.js';
import { quoteNode } from './reply-context.js';
import { reactionsNode, withReaction } from './reactions.js';

const PAGE = 50;
const TICKS = {
  pending: ['🕓', 'Sending'],
  sent: ['✓', 'Sent'],
  delivered: ['✓✓', 'Delivered'],
  read: ['✓✓', 'Read'],
  failed: ['⚠', 'Failed'],
};
const FORWARD = ['pending', 'sent', 'delivered', 'read'];
/** `m` is older news than `known` (events and reads cross): its status or its file went back. */
const stale = (known, m) => (FORWARD.includes(m.status) && FORWARD.indexOf(m.status) < FORWARD.indexOf(known.status))
  || (m.media?.status === 'pending' && known.media && known.media.status !== 'pending');

/**
 * `me`: the signed-in admin's username; `userName()`: how the user is named now.
 * `onReply(message, author)` when Reply is pressed on a message; `onLoaded()` after each read.
 * Reports to the page: `onConversation(c)` with the conversation of every page read,
 * `onMissing()` when the number has no conversation, `onError(e)` when a page could not be
 * read, `onRetry()` and `onRetryError(e)` around a Retry, `onJump()` after "New messages ↓".
 * Nothing is read before `refresh()`.
 */
export function createHistory({ phone, me, userName, reportConnection, onConversation, onMissing, onError, onRetry, onRetryError, onJump, onReply, onLoaded }) {
  let loaded = false;
  let pollCursor = null;
  let olderCursor = null;
  let loadingOlder = false;
  let polls = 0;
  const byId = new Map();
  const links = createMediaLinks(phone);

  const olderButton = h('button', { type: 'button', class: 'secondary older', hidden: true }, 'Load older messages');
  const list = h('ol', { class: 'messages' });
  const history = h('div', { class: 'history no-reply', role: 'log', 'aria-label': 'Messages', tabindex: '0' }, olderButton, list);
  const jump = h('button', { type: 'button', class: 'jump', hidden: true }, 'New messages ↓');
  const element = h('div', { class: 'history-wrap' }, history, jump);

  // ---- one message ----

  function authorOf(m) {
    if (m.author === 'user') return userName();
    if (m.author === 'admin') return m.admin === me ? `${m.admin} (you)` : (m.admin || 'Admin');
    if (m.author === 'bot') return 'EduBot';
    return 'System';
  }

  /** `shownMedia`: the message's file as already shown, kept as it is (a player keeps playing). */
  function messageNode(m, shownMedia = null) {
    const isNote = m.kind === 'note';
    const side = m.author === 'system' ? 'system' : (m.direction === 'inbound' ? 'in' : 'out');
    // A file shows itself and its caption (`text` only summarises it, as "[image] caption").
    let body;
    if (m.media) body = shownMedia || mediaBlock(m, links);
    else if (m.text !== null && m.text !== undefined && m.text !== '') body = h('p', { class: 'text' }, m.text);
    else body = h('p', { class: 'text other' }, `[${m.kind}]`);
    const meta = h('p', { class: 'meta' }, timeElement(m.created_at));
    const quoted = m.reply_to ? byId.get(m.reply_to)?.data : null;
    if (m.direction === 'outbound' && m.author !== 'system' && !isNote && TICKS[m.status]) {
      const [glyph, label] = TICKS[m.status];
      meta.append(' ', h('span', { class: `tick tick-${m.status}`, role: 'img', 'aria-label': label, title: label }, glyph));
    }
    const reply = m.wamid && h('button', { type: 'button', class: 'reply-action', onclick: () => onReply(m, authorOf(m)) }, 'Reply');
    const bubble = h('div', isNote ? { class: 'bubble', role: 'note', 'aria-label': `Internal note by ${authorOf(m)}` } : { class: 'bubble' },
      h('p', { class: 'author' }, isNote ? h('span', { class: 'note-label' }, 'Internal note · ') : null, authorOf(m)),
      m.reply_to && quoteNode(quoted, quoted && authorOf(quoted)), body,
      reactionsNode(m.reactions, (who) => (who === 'user' ? userName() : 'Admin')),
      h('div', { class: 'bubble-foot' }, reply, meta));
    if (m.status === 'failed') {
      const e = m.error || {};
      bubble.append(h('p', { class: 'failure' }, `Not delivered: ${e.title || 'unknown reason'}${e.code ? ` (code ${e.code})` : ''}`));
      if (m.author === 'admin') bubble.append(retryButton(m));
    }
    const node = h('li', { class: `msg ${side} by-${m.author}${isNote ? ' note' : ''}${m.status === 'failed' ? ' failed' : ''}`, 'data-id': m.id }, bubble);
    node.quoteMissing = Boolean(m.reply_to && !quoted);
    return node;
  }

  /** "Retry": a new attempt on the same failed reply. */
  function retryButton(m) {
    const button = h('button', { type: 'button', class: 'retry' }, 'Retry');
    button.setAttribute('aria-label', 'Retry delivery of this message');
    button.addEventListener('click', async () => {
      button.disabled = true;
      button.textContent = 'Retrying…';
      onRetry();
      try {
        const { data } = await api.retry(phone, m.id);
        merge([data.message]);
      } catch (e) {
        if (e.body && e.body.message) merge([e.body.message]);
        else {
          button.disabled = false;
          button.textContent = 'Retry';
        }
        onRetryError(e);
      }
    });
    return button;
  }

  // ---- the list ----

  const nearBottom = () => history.scrollHeight - history.scrollTop - history.clientHeight < 80;
  const scrollToNewest = () => {
    history.scrollTop = history.scrollHeight;
    jump.hidden = true;
  };
  // At the newest message, the history stays there while what is shown grows (a file
  // replacing "Fetching the file…") or the box shrinks (a longer reply being typed).
  let pinned = true;
  const keepPinned = new ResizeObserver(() => {
    if (pinned) history.scrollTop = history.scrollHeight;
  });
  keepPinned.observe(list);
  keepPinned.observe(history);

  /** Shows `m` in place of its bubble as shown (a file already shown is kept as it is). */
  function update(known, m) {
    const sameMedia = JSON.stringify(known.data.media) === JSON.stringify(m.media);
    const node = messageNode(m, sameMedia ? known.node.querySelector('.media-block') : null);
    known.node.replaceWith(node);
    byId.set(m.id, { data: m, node });
  }

  const shown = (m) => JSON.stringify([m.status, m.error, m.media, m.wamid, m.reactions]);

  /**
   * Adds or updates messages, keeping id order (ids sort as the history does). A reaction
   * is applied to its target when `live` (new since the last read): a page read afresh
   * already has it summarised on the target.
   */
  function merge(messages, live = false) {
    let added = false;
    for (const m of messages) {
      const known = byId.get(m.id);
      if (m.kind === 'reaction') {
        const target = live && byId.get(m.reply_to);
        if (target) update(target, { ...target.data, reactions: withReaction(target.data.reactions, m) });
        continue;
      }
      if (known) {
        if (shown(known.data) !== shown(m) && !stale(known.data, m)) update(known, m);
        continue;
      }
      const node = messageNode(m);
      byId.set(m.id, { data: m, node });
      // Most messages are the newest: append those; older pages go before the first later id.
      let before = null;
      const last = list.lastElementChild;
      if (last && last.dataset.id && last.dataset.id > m.id) {
        before = [...list.children].find((child) => child.dataset.id && child.dataset.id > m.id) || null;
      }
      list.insertBefore(node, before);
      added = true;
    }
    // A reply whose quoted message has come since shows the quote.
    if (added) for (const known of byId.values()) if (known.node.quoteMissing && byId.has(known.data.reply_to)) update(known, known.data);
    return added;
  }

  function unsettledTail() {
    const tail = [...byId.values()].slice(-PAGE);
    return tail.some(({ data }) => data.media?.status === 'pending'
      || (data.direction === 'outbound' && data.author !== 'system' && data.kind !== 'note' && ['pending', 'sent', 'delivered'].includes(data.status)));
  }

  // ---- reading ----

  async function loadFirst() {
    try {
      const page = await api.messages(phone, { limit: PAGE });
      reportConnection(null);
      loaded = true;
      onConversation(page.conversation);
      merge(page.messages);
      pollCursor = page.messages.length ? page.messages[page.messages.length - 1].id : null;
      olderCursor = page.next_cursor;
      olderButton.hidden = !olderCursor;
      if (byId.size === 0) list.append(h('li', { class: 'empty' }, 'No messages yet.'));
      scrollToNewest();
      onLoaded();
    } catch (e) {
      reportConnection(e);
      if (e.status === 404) onMissing();
      else onError(e);
    }
  }

  /** Shows messages new or changed since the last read, the newest end kept in view. */
  function took(messages) {
    const stick = nearBottom();
    const added = merge(messages, true);
    if (added) list.querySelector('.empty')?.remove();
    if (stick) scrollToNewest();
    else if (added) jump.hidden = false;
  }

  /** Reads what is new (`back`: the socket is back, so whatever changed meanwhile, too). */
  async function poll(back = false) {
    if (!loaded) {
      await loadFirst();
      return;
    }
    polls += 1;
    try {
      let page;
      do {
        page = await api.messages(phone, { limit: MAX_PAGE_SIZE, after: pollCursor });
        reportConnection(null);
        took(page.messages);
        if (page.messages.length) pollCursor = page.messages[page.messages.length - 1].id;
      } while (page.messages.length === MAX_PAGE_SIZE);
      onConversation(page.conversation);
      // Delivery ticks change on messages already shown: re-read the newest page now and then.
      if ((back || polls % 3 === 0) && unsettledTail()) merge((await api.messages(phone, { limit: PAGE })).messages);
      onLoaded();
    } catch (e) {
      reportConnection(e);
    }
  }

  async function loadOlder() {
    if (!olderCursor || loadingOlder) return;
    loadingOlder = true;
    olderButton.disabled = true;
    olderButton.textContent = 'Loading older messages…';
    try {
      const page = await api.messages(phone, { limit: PAGE, before: olderCursor });
      const height = history.scrollHeight;
      const top = history.scrollTop;
      merge(page.messages);
      olderCursor = page.next_cursor;
      // Keep the messages in view where they were.
      history.scrollTop = top + (history.scrollHeight - height);
    } catch (e) {
      onError(e);
    } finally {
      loadingOlder = false;
      olderButton.disabled = false;
      olderButton.textContent = 'Load older messages';
      olderButton.hidden = !olderCursor;
    }
  }

  history.addEventListener('scroll', () => {
    pinned = nearBottom();
    if (history.scrollTop < 60) loadOlder();
    if (pinned) jump.hidden = true;
  }, { passive: true });
  olderButton.addEventListener('click', loadOlder);
  jump.addEventListener('click', () => { scrollToNewest(); onJump(); });

  return {
    element,
    /** Reads the first page, then what is new (after a change made from this page, or polling). */
    refresh: poll,
    /**
     * A new or changed message, as the socket brings it; false before the first page is read.
     * (Not `onLoaded`: the conversation's own event follows once the bot has counted it.)
     */
    apply(m) {
      if (!loaded) return false;
      took([m]);
      return true;
    },
    /** The id of the newest user message shown (reactions aside), or null. */
    newestInbound() {
      const ids = [...byId.values()].filter(({ data }) => data.direction === 'inbound').map(({ data }) => data.id);
      return ids.length ? ids.reduce((a, b) => (a > b ? a : b)) : null;
    },
    /** The usernames of the admins who wrote here. */
    admins: () => [...byId.values()].map(({ data }) => data.admin).filter(Boolean),
    /** Offers Reply on messages (only while a reply can be sent). */
    setReplyable(on) { history.classList.toggle('no-reply', !on); },
    /** A message sent from this page: shown, and scrolled to. */
    showSent(message) {
      list.querySelector('.empty')?.remove();
      merge([message]);
      scrollToNewest();
    },
    stop() {
      keepPinned.disconnect();
    },
  };
}
