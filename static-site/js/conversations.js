// Conversations: most recent activity first, chat support and its assignee marked, filters
// (chat support, mine, unassigned), search across the whole desk (conversation-search.js);
// kept up to date by the socket's events (polled while it is down: polling.js).
import * as api from './api.js';
import { h, since, plural, timeElement, displayName, keepingFocus } from './dom.js';
import { showError, clearFeedback } from './feedback.js';
import { MAX_PAGE_SIZE, MAX_QUERY_CHARS } from './limits.js';
import { keepUpdated } from './polling.js';
import { createSearch, searchable } from './conversation-search.js';

const PAGE = 50;

/** The list's filters: the API's `filter=`, and which conversations each keeps (`me`: my username). */
export const FILTERS = {
  all: ['All', () => true],
  support: ['Chat support', (c) => c.is_chat_support],
  mine: ['Assigned to me', (c, me) => c.is_chat_support && c.assigned_to === me],
  unassigned: ['Unassigned', (c) => c.is_chat_support && !c.assigned_to],
};

/** Who a chat in support is assigned to: "👤 jane", "👤 you" or "Unassigned". */
export function assigneeBadge(c, me) {
  if (!c.is_chat_support) return null;
  if (!c.assigned_to) return h('span', { class: 'badge-muted' }, 'Unassigned');
  return h('span', { class: 'badge-assignee', title: `Assigned to ${c.assigned_to}` },
    h('span', { class: 'visually-hidden' }, 'Assigned to '), h('span', { 'aria-hidden': 'true' }, '👤 '),
    c.assigned_to === me ? 'you' : c.assigned_to);
}

/** One row of a conversation list: a link to the conversation (`me`: my username). */
export function conversationItem(c, me) {
  const waiting = c.is_chat_support && c.waiting_since;
  const marks = h('span', { class: 'marks' });
  if (c.is_chat_support) {
    marks.append(h('span', { class: 'badge-support', role: 'img', 'aria-label': 'In chat support', title: 'In chat support' }, '💬'), assigneeBadge(c, me));
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
 * moved to its place, or added, or left out (not kept by the list's filter, `keeps(c)`;
 * older than every row of an `incomplete` list, so on a page not loaded yet).
 */
export function withConversation(loaded, c, keeps, incomplete) {
  const rest = loaded.filter((x) => x.phone !== c.phone);
  if (!keeps(c)) return rest;
  let at = rest.findIndex((x) => Date.parse(x.last_message_at) < Date.parse(c.last_message_at));
  if (at < 0) {
    if (incomplete && rest.length === loaded.length) return rest;
    at = rest.length;
  }
  rest.splice(at, 0, c);
  return rest;
}

export function renderConversations(root, params, { setPageTitle, reportConnection, live }) {
  setPageTitle('Conversations');
  const me = api.session()?.username;
  let filter = FILTERS[params.get('filter')] ? params.get('filter') : 'all';
  let query = (params.get('q') || '').trim();
  let searching = searchable(query);
  let found = null; // the search's results, once read
  let foundMore = false;
  let loaded = [];
  let nextCursor = null;
  let loadingMore = false;
  const keeps = (c) => FILTERS[filter][1](c, me);

  const search = h('input', { id: 'search', type: 'search', value: query, autocomplete: 'off', maxlength: String(MAX_QUERY_CHARS), placeholder: 'Name or phone number', 'aria-describedby': 'search-hint' });
  const radios = Object.entries(FILTERS).map(([name, [label]]) => h('label', { class: 'check' },
    h('input', { type: 'radio', name: 'filter', value: name, checked: name === filter }), label));
  const filters = h('fieldset', { class: 'filters' }, h('legend', {}, 'Show'), radios);
  const list = h('ul', { class: 'conversation-list', 'aria-label': 'Conversations' });
  const summary = h('p', { class: 'muted summary', 'aria-live': 'polite' });
  const more = h('button', { type: 'button', class: 'secondary', hidden: true }, 'Load more conversations');
  const updated = h('p', { class: 'muted updated' }, 'Loading…');
  const error = h('div', {});

  root.replaceChildren(
    h('div', { class: 'page' },
      h('div', { class: 'page-head' }, h('h1', {}, 'Conversations'), updated),
      h('form', { class: 'toolbar', role: 'search', onsubmit: (e) => e.preventDefault() },
        h('div', { class: 'field grow' }, h('label', { for: 'search' }, 'Search by name or phone'), search,
          h('span', { id: 'search-hint', class: 'muted hint' }, 'Searches every conversation: the start of a name’s words, or of the number.')),
        filters),
      error, summary, list, more),
  );

  // The filter and search live in the address, so a link (the dashboard's) can set them.
  const syncAddress = () => {
    const q = new URLSearchParams();
    if (filter !== 'all') q.set('filter', filter);
    if (query) q.set('q', query);
    const hash = `#/conversations${q.toString() ? `?${q}` : ''}`;
    if (location.hash !== hash) history.replaceState(null, '', hash);
  };

  const render = () => {
    filters.disabled = searching;
    const shown = searching ? (found || []) : loaded;
    const items = shown.map((c) => conversationItem(c, me));
    const digits = query.replace(/[^0-9]/g, '');
    // A full number can always be opened, found or not.
    if (searching && found && /^[0-9]{8,15}$/.test(digits) && !shown.some((c) => c.phone === digits)) {
      items.push(h('li', { class: 'open-number' }, h('a', { href: `#/conversations/${digits}` }, `Open the conversation with +${digits}`)));
    }
    if (items.length === 0) {
      let empty = 'No conversations yet.';
      if (searching) empty = found ? 'No conversation matches the search.' : 'Searching…';
      else if (filter !== 'all') empty = { support: 'No users are in chat support.', mine: 'No chat in support is assigned to you.', unassigned: 'Every chat in support is assigned.' }[filter];
      items.push(h('li', { class: 'empty' }, empty));
    }
    keepingFocus(list, () => list.replaceChildren(...items));
    if (!searching) summary.textContent = '';
    else if (!found) summary.textContent = `Searching every conversation for “${query}”…`;
    else summary.textContent = `${plural(found.length, 'conversation matches', 'conversations match')} “${query}”${foundMore ? ' so far' : ''}.`;
    more.hidden = searching ? !foundMore : !nextCursor;
  };

  const finder = createSearch({
    onResults(results, hasMore) {
      found = results;
      foundMore = hasMore;
      clearFeedback(error);
      reportConnection(null);
      render();
    },
    onError(e) {
      reportConnection(e);
      showError(error, e, { unlessOffline: true });
    },
  });

  const stamp = () => updated.replaceChildren('Updated ', timeElement(new Date().toISOString()));
  const refresh = async () => {
    const wanted = filter;
    try {
      // Re-read as many as are shown (at most the API's page limit), newest first.
      const page = await api.conversations({ filter: wanted === 'all' ? null : wanted, limit: Math.min(MAX_PAGE_SIZE, Math.max(PAGE, loaded.length)) });
      if (wanted !== filter) {
        // The filter changed while this page was on its way: read again with the new one.
        setTimeout(() => updates.now(), 0);
        return;
      }
      loaded = page.conversations;
      nextCursor = page.next_cursor;
      reportConnection(null);
      if (!searching) clearFeedback(error);
      render();
      stamp();
    } catch (e) {
      reportConnection(e);
      showError(error, e, { unlessOffline: true });
    }
  };

  more.addEventListener('click', async () => {
    if (loadingMore) return;
    loadingMore = true;
    more.disabled = true;
    try {
      if (searching) await finder.more();
      else if (nextCursor) {
        const page = await api.conversations({ filter: filter === 'all' ? null : filter, limit: PAGE, cursor: nextCursor });
        const known = new Set(loaded.map((c) => c.phone));
        loaded = loaded.concat(page.conversations.filter((c) => !known.has(c.phone)));
        nextCursor = page.next_cursor;
        render();
      }
    } catch (e) {
      showError(error, e);
    } finally {
      loadingMore = false;
      more.disabled = false;
    }
  });

  const searchFor = () => {
    searching = searchable(query);
    found = null;
    foundMore = false;
    clearFeedback(error);
    finder.set(searching ? query : '');
    render();
  };
  search.addEventListener('input', () => {
    if (search.value.trim() === query) return;
    query = search.value.trim();
    syncAddress();
    searchFor();
  });
  filters.addEventListener('change', (event) => {
    filter = event.target.value;
    loaded = [];
    nextCursor = null;
    syncAddress();
    list.replaceChildren(h('li', { class: 'empty' }, 'Loading…'));
    updates.now();
  });

  const updates = keepUpdated(live, refresh, (e) => {
    if (e.type !== 'conversation') return;
    loaded = withConversation(loaded, e.conversation, keeps, Boolean(nextCursor));
    if (searching && found) finder.update(e.conversation);
    render();
    stamp();
  });
  if (searching) searchFor();
  // Waits ("Waiting 7 min") grow without any event.
  const clock = setInterval(render, 30_000);
  return () => {
    updates.stop();
    finder.stop();
    clearInterval(clock);
  };
}
