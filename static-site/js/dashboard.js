// Dashboard: the Support Alert banner while users are in chat support, and the desk's numbers;
// kept up to date by the socket's events (polled while it is down: polling.js).
import * as api from './api.js';
import { h, duration, since, plural, timeElement, keepingFocus } from './dom.js';
import { conversationItem, withConversation, FILTERS } from './conversations.js';
import { showError, clearFeedback } from './feedback.js';
import { keepUpdated, throttle, DASHBOARD_MIN_MS } from './polling.js';

function banner(d) {
  const sla = duration(d.sla_seconds * 1000);
  const facts = [
    h('li', {}, h('strong', {}, plural(d.active_chats, 'user', 'users')), ' in chat support'),
    h('li', {}, h('strong', {}, String(d.waiting_chats)), ` waiting longer than the ${sla} target`),
    d.oldest_waiting_since
      ? h('li', {}, 'Oldest wait: ', h('strong', {}, since(d.oldest_waiting_since)), ' (since ', timeElement(d.oldest_waiting_since), ')')
      : h('li', {}, 'Nobody is waiting for an answer'),
  ];
  return h('section', { class: `support-alert${d.waiting_chats > 0 ? ' overdue' : ''}`, 'aria-labelledby': 'support-alert-title' },
    h('h2', { id: 'support-alert-title' }, h('span', { 'aria-hidden': 'true' }, '⚠️ '), 'Support Alert'),
    h('ul', { class: 'facts' }, facts),
    h('a', { class: 'button', href: '#/conversations?filter=support' }, 'Open chat-support conversations'),
  );
}

function stat(label, value, extra) {
  return h('div', { class: 'stat' }, h('dt', {}, label), h('dd', {}, value, extra || null));
}

const ROWS = 20;

export function renderDashboard(root, { setPageTitle, reportConnection, live }) {
  setPageTitle('Dashboard');
  const me = api.session()?.username;
  const bannerSlot = h('div', { class: 'banner-slot' });
  const stats = h('dl', { class: 'stats' });
  const list = h('ul', { class: 'conversation-list', 'aria-label': 'Chats in support' });
  const listSection = h('section', { class: 'card', 'aria-labelledby': 'in-support-title' },
    h('h2', { id: 'in-support-title' }, 'Chats in support'), list);
  const updated = h('p', { class: 'muted updated', 'aria-live': 'off' }, 'Loading…');
  const error = h('div', {});
  let d = null;
  let support = [];
  let slaTimer = null;
  let left = false; // answers that come after the page was left change nothing

  const page = h('div', { class: 'page' },
    h('div', { class: 'page-head' }, h('h1', {}, 'Dashboard'), updated),
    error, bannerSlot, stats, listSection);
  root.replaceChildren(page);
  const rows = () => keepingFocus(list, () => list.replaceChildren(...(support.length ? support.map((c) => conversationItem(c, me)) : [h('li', { class: 'empty' }, 'None.')])));
  const render = () => keepingFocus(page, () => {
    if (!d) return;
    bannerSlot.replaceChildren(d.active_chats > 0 ? banner(d) : h('p', { class: 'all-clear' }, 'No users are in chat support right now.'));
    stats.replaceChildren(
      stat('In chat support', String(d.active_chats)),
      stat('Waiting for an answer', String(d.unanswered_chats ?? d.waiting_chats)),
      stat(`Waiting over ${duration(d.sla_seconds * 1000)}`, String(d.waiting_chats)),
      stat('Oldest wait', d.oldest_waiting_since ? since(d.oldest_waiting_since) : '—'),
    );
    rows();
  });
  const shown = () => {
    if (left) return;
    reportConnection(null);
    clearFeedback(error);
    render();
    updated.replaceChildren('Updated ', timeElement(new Date().toISOString()));
    // Someone waits, not yet past the target: no event says when they pass it, so read the
    // figures again then (the first of those listed; within a minute).
    clearTimeout(slaTimer);
    if (d.unanswered_chats > d.waiting_chats) {
      const due = support.filter((c) => c.waiting_since)
        .map((c) => Date.parse(c.waiting_since) + d.sla_seconds * 1000 - Date.now()).filter((ms) => ms > 0);
      slaTimer = setTimeout(readFigures, Math.min(60_000, ...due) + 1_000);
    }
  };
  const failed = (e) => {
    reportConnection(e);
    showError(error, e, { unlessOffline: true });
  };
  const readAll = async () => {
    try {
      const [figures, { conversations }] = await Promise.all([api.dashboard(), api.conversations({ filter: 'support', limit: ROWS })]);
      d = figures;
      support = conversations;
      shown();
    } catch (e) {
      failed(e);
    }
  };
  async function readFigures() {
    try {
      d = await api.dashboard();
      shown();
    } catch (e) {
      failed(e);
    }
  }
  const figuresSoon = throttle(readFigures, DASHBOARD_MIN_MS);

  const updates = keepUpdated(live, readAll, (e) => {
    if (e.type !== 'conversation') return;
    support = withConversation(support, e.conversation, FILTERS.support[1], support.length >= ROWS);
    rows();
    figuresSoon();
  });
  const clock = setInterval(render, 30_000);
  return () => {
    left = true;
    updates.stop();
    clearInterval(clock);
    clearTimeout(slaTimer);
  };
}
