// Conversations: most recent activity first, chat support marked, filter and search; kept
// up to date by the socket's events (polled while it is down: polling.js).
import * as api from './api.js';
import { h, since, plural, timeElement, displayName, keepingFocus } from './dom.js';
import { showError, clearFeedback } from './feedback.js';
import { MAX_PAGE_SIZE } from './limits.js';
import { keepUpdated } from './polling.js';

const PAGE = 50;

/** One row of a conversation list: a link to the conversation. */
export function conversationItem(c) {
  const waiting = c.is_chat_support && c.waiting_since;
  const marks = h('span', { class: 'marks' });
  if (c.is_chat_support) {
    marks.append(h('span', { class: 'badge-support', role: 'img', 'aria-label': 'In chat support', title: 'In chat support' }, '💬'));
  }
  if (waiting) {
    marks.append(h('span', { class: 'badge-waiting', title: `Waiting since ${new Date(c.waiting_since).toLocaleString()}` },
      h('span', { 'aria-hidden': 'true' }, '⏳ '), `Waiting ${since(c.waiting_since)}`));
  }
  if (c.state === 'OPTED_OUT') marks.append(h('span', { class: 'badge-muted' }, 'Opted out'));
  const unread = c.unread_count > 0
    ? h('span', { class: 'unread', 'aria-label': plural(c.unread_count, 'unread message', 'unread messages') }, String(c.unread_count))
    : null;
  const classes = ['conversation'];
  if (c.is_chat_support) classes.push('in-support');
  if (waiting) classes.push('waiting');
  return h('li', { class: classes.join(' ') },
    h('a', { href: `#/conversations/${c.phone}`, 'data-phone': c.phone },
      h('span', { class: 'row-top' },
        h('span', { class: 'who' }, h('span', { class: 'name' }, displayName(c)), marks),
        h('span', { class: 'when' }, timeElement(c.last_message_at, true))),
      h('span', { class: 'row-bottom' },
        h('span', { class: 'phone' }, `+${c.phone}`),
        h('span', { class: 'preview' }, c.last_message_preview || ''),
        unread)));
}

/**
 * The list `loaded` (most recent activity first) after conversation `c` changed: its row
 * moved to its place, or added, or left out (not in chat support for a `supportOnly` list;
 * older than every row of an `incomplete` list, so on a page not loaded yet).
 */
export function withConversation(loaded, c, supportOnly, incomplete) {
  const rest = loaded.filter((x) => x.phone !== c.phone);
  if (supportOnly && !c.is_chat_support) return rest;
  let at = rest.findIndex((x) => Date.parse(x.last_message_at) < Date.parse(c.last_message_at));
  if (at < 0) {
    if (incomplete && rest.length === loaded.length) return rest;
    at = rest.length;
  }
  rest.splice(at, 0, c);
  return rest;
}

function matches(c, query) {
  if (!query) return true;
  const q = query.toLowerCase();
  const digits = q.replace(/[^0-9]/g, '');
  return (c.name || '').toLowerCase().includes(q) || (digits.length > 0 && c.phone.includes(digits));
}

export function renderConversations(root, params, { setPageTitle, reportConnection, live }) {
  setPageTitle('Conversations');
  let supportOnly = params.get('filter') === 'support';
  let query = params.get('q') || '';
  let loaded = [];
  let nextCursor = null;
  let loadingMore = false;

  const search = h('input', { id: 'search', type: 'search', value: query, autocomplete: 'off', placeholder: 'Name or phone number' });
  const filter = h('input', { id: 'support-only', type: 'checkbox', checked: supportOnly });
  const list = h('ul', { class: 'conversation-list', 'aria-label': 'Conversations' });
  const summary = h('p', { class: 'muted summary', 'aria-live': 'polite' });
  const more = h('button', { type: 'button', class: 'secondary', hidden: true }, 'Load more conversations');
  const updated = h('p', { class: 'muted updated' }, 'Loading…');
  const error = h('div', {});

  root.replaceChildren(
    h('div', { class: 'page' },
      h('div', { class: 'page-head' }, h('h1', {}, 'Conversations'), updated),
      h('form', { class: 'toolbar', role: 'search', onsubmit: (e) => e.preventDefault() },
        h('div', { class: 'field grow' }, h('label', { for: 'search' }, 'Search by name or phone'), search),
        h('label', { class: 'check', for: 'support-only' }, filter, 'Chat support only')),
      error, summary, list, more),
  );

  // The filter and search live in the address, so a link (the dashboard's) can set them.
  const syncAddress = () => {
    const q = new URLSearchParams();
    if (supportOnly) q.set('filter', 'support');
    if (query) q.set('q', query);
    const hash = `#/conversations${q.toString() ? `?${q}` : ''}`;
    if (location.hash !== hash) history.replaceState(null, '', hash);
  };

  const render = () => {
    const shown = loaded.filter((c) => matches(c, query));
    const items = shown.map(conversationItem);
    const digits = query.replace(/[^0-9]/g, '');
    // Search covers the conversations loaded so far; a full number can always be opened.
    if (/^[0-9]{8,15}$/.test(digits) && !shown.some((c) => c.phone === digits)) {
      items.push(h('li', { class: 'open-number' }, h('a', { href: `#/conversations/${digits}` }, `Open the conversation with +${digits}`)));
    }
    if (items.length === 0) {
      items.push(h('li', { class: 'empty' }, query ? 'No conversation matches the search.' : (supportOnly ? 'No users are in chat support.' : 'No conversations yet.')));
    }
    keepingFocus(list, () => list.replaceChildren(...items));
    summary.textContent = query
      ? `${plural(shown.length, 'conversation matches', 'conversations match')} “${query}”${nextCursor ? ' among those loaded' : ''}.`
      : '';
    more.hidden = !nextCursor;
  };

  const stamp = () => updated.replaceChildren('Updated ', timeElement(new Date().toISOString()));
  const refresh = async () => {
    const wanted = supportOnly;
    try {
      // Re-read as many as are shown (at most the API's page limit), newest first.
      const page = await api.conversations({ supportOnly: wanted, limit: Math.min(MAX_PAGE_SIZE, Math.max(PAGE, loaded.length)) });
      if (wanted !== supportOnly) {
        // The filter changed while this page was on its way: read again with the new one.
        setTimeout(() => updates.now(), 0);
        return;
      }
      loaded = page.conversations;
      nextCursor = page.next_cursor;
      reportConnection(null);
      clearFeedback(error);
      render();
      stamp();
    } catch (e) {
      reportConnection(e);
      showError(error, e, { unlessOffline: true });
    }
  };

  more.addEventListener('click', async () => {
    if (!nextCursor || loadingMore) return;
    loadingMore = true;
    more.disabled = true;
    try {
      const page = await api.conversations({ supportOnly, limit: PAGE, cursor: nextCursor });
      const known = new Set(loaded.map((c) => c.phone));
      loaded = loaded.concat(page.conversations.filter((c) => !known.has(c.phone)));
      nextCursor = page.next_cursor;
      render();
    } catch (e) {
      showError(error, e);
    } finally {
      loadingMore = false;
      more.disabled = false;
    }
  });

  search.addEventListener('input', () => {
    query = search.value.trim();
    syncAddress();
    render();
  });
  filter.addEventListener('change', () => {
    supportOnly = filter.checked;
    loaded = [];
    nextCursor = null;
    syncAddress();
    list.replaceChildren(h('li', { class: 'empty' }, 'Loading…'));
    updates.now();
  });

  const updates = keepUpdated(live, refresh, (e) => {
    if (e.type !== 'conversation') return;
    loaded = withConversation(loaded, e.conversation, supportOnly, Boolean(nextCursor));
    render();
    stamp();
  });
  // Waits ("Waiting 7 min") grow without any event.
  const clock = setInterval(render, 30_000);
  return () => {
    updates.stop();
    clearInterval(clock);
  };
}
