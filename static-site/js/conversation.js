// One conversation: the history as a chat, new messages polled with `after=` every 2.5 s,
// older ones loaded on scrolling up, and the composer for chat support.
import * as api from './api.js';
import { h, every, duration, codePoints, displayName, timeElement, fullTime } from './dom.js';

const MAX_CHARS = 4096;
const MAX_BODY_BYTES = 16 * 1024;
const PAGE = 50;
const TICKS = {
  pending: ['🕓', 'Sending'],
  sent: ['✓', 'Sent'],
  delivered: ['✓✓', 'Delivered'],
  read: ['✓✓', 'Read'],
  failed: ['⚠', 'Failed'],
};

function stateLabel(c) {
  switch (c.state) {
    case 'CHAT_SUPPORT_ACTIVE': return 'In chat support';
    case 'OPTED_OUT': return 'Opted out';
    case 'SUPPORT_FEEDBACK': return 'Chat ended, rating asked';
    case 'NEW': return 'New';
    default: return 'With the bot';
  }
}

export function renderConversation(root, phone, { setPageTitle, reportConnection }) {
  setPageTitle(`+${phone}`);
  const me = api.session()?.username;
  let conv = null;
  let pollCursor = null;
  let olderCursor = null;
  let loadingOlder = false;
  let endedHere = false;
  let polls = 0;
  let sending = false;
  const byId = new Map();

  const title = h('h1', {}, `+${phone}`);
  const subtitle = h('p', { class: 'conv-sub' });
  const endButton = h('button', { type: 'button', class: 'danger', hidden: true }, 'End Chat Support');
  const notice = h('div', { class: 'notice-slot' });
  const olderButton = h('button', { type: 'button', class: 'secondary older', hidden: true }, 'Load older messages');
  const list = h('ol', { class: 'messages' });
  const history = h('div', { class: 'history', role: 'log', 'aria-label': 'Messages', tabindex: '0' }, olderButton, list);
  const jump = h('button', { type: 'button', class: 'jump', hidden: true }, 'New messages ↓');
  const textarea = h('textarea', { id: 'message', rows: '2', maxlength: String(MAX_CHARS * 2), 'aria-describedby': 'composer-reason composer-counter', placeholder: 'Write a reply…' });
  const counter = h('span', { id: 'composer-counter', class: 'counter' }, `0 / ${MAX_CHARS}`);
  const reason = h('p', { id: 'composer-reason', class: 'composer-reason' });
  const sendButton = h('button', { type: 'submit', class: 'primary' }, 'Send');
  const sendError = h('div', { class: 'send-error' });
  const composer = h('form', { class: 'composer', 'aria-label': 'Reply' },
    h('label', { for: 'message', class: 'visually-hidden' }, 'Message'),
    h('div', { class: 'composer-row' }, textarea, sendButton),
    h('div', { class: 'composer-foot' }, reason, counter),
    sendError);
  const confirmButton = h('button', { type: 'button', class: 'danger' }, 'End chat');
  const cancelButton = h('button', { type: 'button', class: 'secondary' }, 'Cancel');
  const dialogText = h('p', {});
  const dialog = h('dialog', { class: 'dialog', 'aria-labelledby': 'end-dialog-title', 'aria-describedby': 'end-dialog-text' },
    h('h2', { id: 'end-dialog-title' }, 'End chat support?'),
    dialogText,
    h('div', { class: 'dialog-actions' }, cancelButton, confirmButton));
  dialogText.id = 'end-dialog-text';

  root.replaceChildren(
    h('div', { class: 'conversation-page' },
      h('div', { class: 'conv-head' },
        h('a', { class: 'back', href: '#/conversations' }, h('span', { 'aria-hidden': 'true' }, '← '), 'Conversations'),
        h('div', { class: 'conv-title' }, title, subtitle),
        endButton),
      notice,
      h('div', { class: 'history-wrap' }, history, jump),
      composer,
      dialog),
  );

  // ---- the history ----

  function authorOf(m) {
    if (m.author === 'user') return conv ? displayName(conv) : `+${phone}`;
    if (m.author === 'admin') return m.admin === me ? `${m.admin} (you)` : (m.admin || 'Admin');
    if (m.author === 'bot') return 'EduBot';
    return 'System';
  }

  function messageNode(m) {
    const side = m.author === 'system' ? 'system' : (m.direction === 'inbound' ? 'in' : 'out');
    const body = m.text !== null && m.text !== undefined && m.text !== ''
      ? h('p', { class: 'text' }, m.text)
      : h('p', { class: 'text other' }, `[${m.kind}]`);
    const meta = h('p', { class: 'meta' }, timeElement(m.created_at));
    if (m.direction === 'outbound' && m.author !== 'system' && TICKS[m.status]) {
      const [glyph, label] = TICKS[m.status];
      meta.append(' ', h('span', { class: `tick tick-${m.status}`, role: 'img', 'aria-label': label, title: label }, glyph));
    }
    const bubble = h('div', { class: 'bubble' }, h('p', { class: 'author' }, authorOf(m)), body, meta);
    if (m.status === 'failed') {
      const e = m.error || {};
      bubble.append(h('p', { class: 'failure' }, `Not delivered: ${e.title || 'unknown reason'}${e.code ? ` (code ${e.code})` : ''}`));
      if (m.author === 'admin') bubble.append(retryButton(m));
    }
    return h('li', { class: `msg ${side} by-${m.author}${m.status === 'failed' ? ' failed' : ''}`, 'data-id': m.id }, bubble);
  }

  /** "Retry": a new attempt on the same failed reply. */
  function retryButton(m) {
    const button = h('button', { type: 'button', class: 'retry' }, 'Retry');
    button.setAttribute('aria-label', 'Retry delivery of this message');
    button.addEventListener('click', async () => {
      button.disabled = true;
      button.textContent = 'Retrying…';
      sendError.replaceChildren();
      try {
        const { data } = await api.retry(phone, m.id);
        merge([data.message]);
      } catch (e) {
        if (e.body && e.body.message) merge([e.body.message]);
        else {
          button.disabled = false;
          button.textContent = 'Retry';
        }
        showError(sendError, e);
      }
    });
    return button;
  }

  const nearBottom = () => history.scrollHeight - history.scrollTop - history.clientHeight < 80;
  const scrollToNewest = () => {
    history.scrollTop = history.scrollHeight;
    jump.hidden = true;
  };

  /** Adds or updates messages, keeping id order (ids sort as the history does). */
  function merge(messages) {
    let added = false;
    for (const m of messages) {
      const known = byId.get(m.id);
      if (known) {
        if (known.data.status !== m.status || JSON.stringify(known.data.error) !== JSON.stringify(m.error)) {
          const node = messageNode(m);
          known.node.replaceWith(node);
          byId.set(m.id, { data: m, node });
        }
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
    return added;
  }

  function unsettledTail() {
    const tail = [...byId.values()].slice(-PAGE);
    return tail.some(({ data }) => data.direction === 'outbound' && data.author !== 'system' && ['pending', 'sent', 'delivered'].includes(data.status));
  }

  // ---- the conversation's state and the composer ----

  function windowOpen() {
    return conv && conv.window_expires_at && Date.parse(conv.window_expires_at) > Date.now();
  }

  function blockedReason() {
    if (!conv) return 'Loading…';
    if (conv.state === 'OPTED_OUT') return 'The user opted out (sent STOP): nothing can be sent until they send START.';
    if (!conv.is_chat_support) {
      return endedHere
        ? 'The chat has ended: the composer is closed. The user can ask for chat support again.'
        : 'This conversation is not in chat support: you can reply once the user asks for Chat Support.';
    }
    if (!windowOpen()) {
      return 'The 24-hour reply window is closed: WhatsApp allows no free-form reply until the user writes again.';
    }
    return null;
  }

  function updateCounter() {
    const n = codePoints(textarea.value);
    const bytes = new TextEncoder().encode(JSON.stringify({ text: textarea.value })).length;
    counter.textContent = n > MAX_CHARS
      ? `${n} / ${MAX_CHARS}: ${n - MAX_CHARS} too many`
      : (bytes > MAX_BODY_BYTES ? `${n} / ${MAX_CHARS}: too large to send` : `${n} / ${MAX_CHARS}`);
    counter.classList.toggle('over', n > MAX_CHARS || bytes > MAX_BODY_BYTES);
    counter.classList.toggle('near', n > MAX_CHARS * 0.9 && n <= MAX_CHARS);
    return n <= MAX_CHARS && bytes <= MAX_BODY_BYTES && textarea.value.trim() !== '';
  }

  function updateComposer() {
    const blocked = blockedReason();
    textarea.disabled = Boolean(blocked);
    if (blocked) {
      reason.textContent = blocked;
      reason.classList.add('blocked');
    } else {
      reason.classList.remove('blocked');
      reason.textContent = `Reply window closes in ${duration(Date.parse(conv.window_expires_at) - Date.now())}.`;
      reason.title = `The 24-hour window since the user's last message ends ${fullTime(conv.window_expires_at)}.`;
    }
    const sendable = updateCounter();
    sendButton.disabled = Boolean(blocked) || sending || !sendable;
  }

  function showConversation(c) {
    const wasSupport = conv?.is_chat_support;
    conv = c;
    title.textContent = displayName(c);
    setPageTitle(displayName(c));
    const parts = [`+${c.phone}`, ' · ', h('span', { class: `state state-${c.state.toLowerCase()}` },
      c.is_chat_support ? h('span', { role: 'img', 'aria-label': 'In chat support', class: 'badge-support' }, '💬') : null,
      c.is_chat_support ? ' ' : null, stateLabel(c))];
    if (c.student && c.student.name) parts.push(' · ', `Student: ${c.student.name}${c.student.course ? ` (${c.student.course})` : ''}`);
    if (c.is_chat_support && c.waiting_since) parts.push(' · ', h('span', { class: 'badge-waiting' }, `Waiting ${duration(Date.now() - Date.parse(c.waiting_since))}`));
    subtitle.replaceChildren(...parts);
    endButton.hidden = !c.is_chat_support;
    if (wasSupport && !c.is_chat_support && !endedHere) {
      notice.replaceChildren(h('p', { class: 'notice', role: 'status' }, 'Chat support has ended. The history stays below.'));
    }
    updateComposer();
  }

  // ---- loading ----

  function showError(slot, e) {
    if (e.status === 401) return;
    slot.replaceChildren(h('p', { class: 'error', role: 'alert' }, e.message));
  }

  async function loadFirst() {
    try {
      const page = await api.messages(phone, { limit: PAGE });
      reportConnection(null);
      showConversation(page.conversation);
      merge(page.messages);
      pollCursor = page.messages.length ? page.messages[page.messages.length - 1].id : null;
      olderCursor = page.next_cursor;
      olderButton.hidden = !olderCursor;
      if (page.messages.length === 0) list.append(h('li', { class: 'empty' }, 'No messages yet.'));
      scrollToNewest();
      return true;
    } catch (e) {
      reportConnection(e);
      if (e.status === 404) {
        title.textContent = `+${phone}`;
        notice.replaceChildren(h('p', { class: 'notice' }, 'There is no conversation with this number yet.'));
        composer.hidden = true;
        return false;
      }
      showError(notice, e);
      return false;
    }
  }

  async function poll() {
    if (!conv) {
      if (!(await loadFirst())) return;
      return;
    }
    polls += 1;
    try {
      const page = await api.messages(phone, { limit: 200, after: pollCursor });
      reportConnection(null);
      const stick = nearBottom();
      list.querySelector('.empty')?.remove();
      const added = merge(page.messages);
      if (page.messages.length) pollCursor = page.messages[page.messages.length - 1].id;
      showConversation(page.conversation);
      // Delivery ticks change on messages already shown: re-read the newest page now and then.
      if (polls % 3 === 0 && unsettledTail()) merge((await api.messages(phone, { limit: PAGE })).messages);
      if (added) {
        if (stick) scrollToNewest();
        else jump.hidden = false;
      }
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
      showError(notice, e);
    } finally {
      loadingOlder = false;
      olderButton.disabled = false;
      olderButton.textContent = 'Load older messages';
      olderButton.hidden = !olderCursor;
    }
  }

  history.addEventListener('scroll', () => {
    if (history.scrollTop < 60) loadOlder();
    if (nearBottom()) jump.hidden = true;
  }, { passive: true });
  olderButton.addEventListener('click', loadOlder);
  jump.addEventListener('click', () => { scrollToNewest(); textarea.focus(); });

  // ---- sending ----

  async function send() {
    sendError.replaceChildren();
    if (blockedReason() || sending || !updateCounter()) return;
    sending = true;
    sendButton.textContent = 'Sending…';
    updateComposer();
    try {
      const { status, data } = await api.send(phone, textarea.value);
      textarea.value = '';
      list.querySelector('.empty')?.remove();
      merge([data.message]);
      scrollToNewest();
      if (status === 202) sendError.replaceChildren(h('p', { class: 'notice', role: 'status' }, 'WhatsApp is busy: the message will be sent as soon as it can.'));
    } catch (e) {
      if (e.body && e.body.message) {
        merge([e.body.message]);
        scrollToNewest();
        textarea.value = '';
      }
      if (e.status === 429) {
        const wait = e.retryAfter ? ` Wait ${e.retryAfter} s.` : '';
        sendError.replaceChildren(h('p', { class: 'error', role: 'alert' }, `Too many messages in a minute.${wait}`));
      } else {
        showError(sendError, e);
      }
      if (e.status === 409) poll();
    } finally {
      sending = false;
      sendButton.textContent = 'Send';
      updateComposer();
      if (!textarea.disabled) textarea.focus();
    }
  }

  composer.addEventListener('submit', (event) => {
    event.preventDefault();
    send();
  });
  textarea.addEventListener('keydown', (event) => {
    if (event.key === 'Enter' && !event.shiftKey && !event.isComposing) {
      event.preventDefault();
      send();
    }
  });
  textarea.addEventListener('input', updateComposer);

  // ---- ending the chat ----

  endButton.addEventListener('click', () => {
    dialogText.textContent = `The chat with ${conv ? displayName(conv) : `+${phone}`} ends and they are asked to rate it. The history stays.`;
    confirmButton.disabled = false;
    dialog.showModal();
    cancelButton.focus();
  });
  cancelButton.addEventListener('click', () => dialog.close());
  confirmButton.addEventListener('click', async () => {
    confirmButton.disabled = true;
    try {
      const { conversation } = await api.endChat(phone);
      endedHere = true;
      dialog.close();
      notice.replaceChildren(h('p', { class: 'notice', role: 'status' }, 'The chat has ended. The history stays below.'));
      showConversation(conversation);
      poll();
    } catch (e) {
      dialog.close();
      if (e.status === 409) {
        notice.replaceChildren(h('p', { class: 'notice', role: 'status' }, 'This chat had already ended.'));
        poll();
      } else {
        showError(notice, e);
      }
    }
    title.focus();
  });

  // ---- timers ----

  const poller = every(poll, 2_500, 10_000);
  const clock = setInterval(() => { if (conv) updateComposer(); }, 1_000);
  return () => {
    poller.stop();
    clearInterval(clock);
    if (dialog.open) dialog.close();
  };
}
