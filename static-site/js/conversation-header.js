// The head of a conversation page: the way back, who the user is (name, number, state,
// assignee, student), the assignment's buttons (assignment.js) and End Chat Support.
import { h, duration, displayName } from './dom.js';
import { assigneeBadge } from './conversations.js';

function stateLabel(c) {
  switch (c.state) {
    case 'CHAT_SUPPORT_ACTIVE': return 'In chat support';
    case 'OPTED_OUT': return 'Opted out';
    case 'SUPPORT_FEEDBACK': return 'Chat ended, rating asked';
    case 'NEW': return 'New';
    default: return 'With the bot';
  }
}

/**
 * `onEnd()` when End Chat Support is pressed (shown only while the user is in chat support);
 * `assignment`: its buttons, shown beside it; `me`: my username.
 */
export function createHeader(phone, { onEnd, assignment, me }) {
  const title = h('h1', {}, `+${phone}`);
  const subtitle = h('p', { class: 'conv-sub' });
  // "End Chat" on a phone; its name stays "End Chat Support".
  const endButton = h('button', { type: 'button', class: 'danger', hidden: true }, 'End Chat', h('span', { class: 'wide-only' }, ' Support'));
  endButton.addEventListener('click', onEnd);

  const element = h('div', { class: 'conv-head' },
    h('a', { class: 'back', href: '#/conversations' }, h('span', { 'aria-hidden': 'true' }, '← '), 'Conversations'),
    h('div', { class: 'conv-title' }, title, subtitle),
    h('div', { class: 'conv-actions' }, assignment, endButton));

  return {
    element,
    title,
    /** The conversation as last read. */
    show(c) {
      title.textContent = displayName(c);
      const parts = [`+${c.phone}`, ' · ', h('span', { class: `state state-${c.state.toLowerCase()}` },
        c.is_chat_support ? h('span', { role: 'img', 'aria-label': 'In chat support', class: 'badge-support' }, '💬') : null,
        c.is_chat_support ? ' ' : null, stateLabel(c))];
      if (c.is_chat_support) parts.push(' ', assigneeBadge(c, me));
      if (c.student && c.student.name) parts.push(' · ', `Student: ${c.student.name}${c.student.course ? ` (${c.student.course})` : ''}`);
      if (c.is_chat_support && c.waiting_since) parts.push(' · ', h('span', { class: 'badge-waiting' }, `Waiting ${duration(Date.now() - Date.parse(c.waiting_since))}`));
      subtitle.replaceChildren(...parts);
      endButton.hidden = !c.is_chat_support;
    },
    /** No conversation with this number: just the number. */
    showMissing() {
      title.textContent = `+${phone}`;
    },
  };
}
