// Dashboard: the Support Alert banner while users are in chat support, and the desk's numbers.
import * as api from './api.js';
import { h, every, duration, since, plural, timeElement } from './dom.js';
import { conversationItem } from './conversations.js';
import { showError, clearFeedback } from './feedback.js';

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

export function renderDashboard(root, { setPageTitle, reportConnection }) {
  setPageTitle('Dashboard');
  const bannerSlot = h('div', { class: 'banner-slot' });
  const stats = h('dl', { class: 'stats' });
  const list = h('ul', { class: 'conversation-list', 'aria-label': 'Chats in support' });
  const listSection = h('section', { class: 'card', 'aria-labelledby': 'in-support-title' },
    h('h2', { id: 'in-support-title' }, 'Chats in support'), list);
  const updated = h('p', { class: 'muted updated', 'aria-live': 'off' }, 'Loading…');
  const error = h('div', {});

  root.replaceChildren(
    h('div', { class: 'page' },
      h('div', { class: 'page-head' }, h('h1', {}, 'Dashboard'), updated),
      error, bannerSlot, stats, listSection),
  );

  const poller = every(async () => {
    try {
      const [d, support] = await Promise.all([
        api.dashboard(),
        api.conversations({ supportOnly: true, limit: 20 }),
      ]);
      reportConnection(null);
      clearFeedback(error);
      bannerSlot.replaceChildren(d.active_chats > 0 ? banner(d) : h('p', { class: 'all-clear' }, 'No users are in chat support right now.'));
      stats.replaceChildren(
        stat('In chat support', String(d.active_chats)),
        stat('Waiting for an answer', String(d.unanswered_chats ?? d.waiting_chats)),
        stat(`Waiting over ${duration(d.sla_seconds * 1000)}`, String(d.waiting_chats)),
        stat('Oldest wait', d.oldest_waiting_since ? since(d.oldest_waiting_since) : '—'),
      );
      list.replaceChildren(...(support.conversations.length
        ? support.conversations.map((c) => conversationItem(c))
        : [h('li', { class: 'empty' }, 'None.')]));
      updated.replaceChildren('Updated ', timeElement(new Date().toISOString()));
    } catch (e) {
      reportConnection(e);
      showError(error, e, { unlessOffline: true });
    }
  }, 10_000, 30_000);

  return () => poller.stop();
}
