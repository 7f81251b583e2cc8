// The reply composer: text entry, the character and size limits with a counter, why it is
// closed (or how long the reply window stays open), Send and Enter, and the errors of sending.
import * as api from './api.js';
import { h, duration, codePoints, fullTime } from './dom.js';
import { showError, showNotice, clearFeedback } from './feedback.js';
import { MAX_TEXT_CHARS, MAX_BODY_BYTES } from './limits.js';

/**
 * `onSent(message)` with each message the API stored for a send, `onConflict()` when the
 * API says the conversation changed (409). Closed until `setConversation`.
 */
export function createComposer({ phone, onSent, onConflict }) {
  let conv = null;
  let endedHere = false;
  let sending = false;

  const textarea = h('textarea', { id: 'message', rows: '2', maxlength: String(MAX_TEXT_CHARS * 2), 'aria-describedby': 'composer-reason composer-counter', placeholder: 'Write a reply…' });
  const counter = h('span', { id: 'composer-counter', class: 'counter' }, `0 / ${MAX_TEXT_CHARS}`);
  const reason = h('p', { id: 'composer-reason', class: 'composer-reason' });
  const sendButton = h('button', { type: 'submit', class: 'primary' }, 'Send');
  const sendError = h('div', { class: 'send-error' });
  const form = h('form', { class: 'composer', 'aria-label': 'Reply' },
    h('label', { for: 'message', class: 'visually-hidden' }, 'Message'),
    h('div', { class: 'composer-row' }, textarea, sendButton),
    h('div', { class: 'composer-foot' }, reason, counter),
    sendError);

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

  /** Updates the counter; true when the text may be sent. */
  function updateCounter() {
    const n = codePoints(textarea.value);
    const bytes = new TextEncoder().encode(JSON.stringify({ text: textarea.value })).length;
    counter.textContent = n > MAX_TEXT_CHARS
      ? `${n} / ${MAX_TEXT_CHARS}: ${n - MAX_TEXT_CHARS} too many`
      : (bytes > MAX_BODY_BYTES ? `${n} / ${MAX_TEXT_CHARS}: too large to send` : `${n} / ${MAX_TEXT_CHARS}`);
    counter.classList.toggle('over', n > MAX_TEXT_CHARS || bytes > MAX_BODY_BYTES);
    counter.classList.toggle('near', n > MAX_TEXT_CHARS * 0.9 && n <= MAX_TEXT_CHARS);
    return n <= MAX_TEXT_CHARS && bytes <= MAX_BODY_BYTES && textarea.value.trim() !== '';
  }

  function update() {
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

  async function send() {
    clearFeedback(sendError);
    if (blockedReason() || sending || !updateCounter()) return;
    sending = true;
    sendButton.textContent = 'Sending…';
    update();
    try {
      const { status, data } = await api.send(phone, textarea.value);
      textarea.value = '';
      onSent(data.message);
      if (status === 202) showNotice(sendError, 'WhatsApp is busy: the message will be sent as soon as it can.');
    } catch (e) {
      if (e.body && e.body.message) {
        onSent(e.body.message);
        textarea.value = '';
      }
      if (e.status === 429) {
        const wait = e.retryAfter ? ` Wait ${e.retryAfter} s.` : '';
        showError(sendError, `Too many messages in a minute.${wait}`);
      } else {
        showError(sendError, e);
      }
      if (e.status === 409) onConflict();
    } finally {
      sending = false;
      sendButton.textContent = 'Send';
      update();
      if (!textarea.disabled) textarea.focus();
    }
  }

  form.addEventListener('submit', (event) => {
    event.preventDefault();
    send();
  });
  textarea.addEventListener('keydown', (event) => {
    if (event.key === 'Enter' && !event.shiftKey && !event.isComposing) {
      event.preventDefault();
      send();
    }
  });
  textarea.addEventListener('input', update);

  // The reply window counts down.
  const clock = setInterval(() => { if (conv) update(); }, 1_000);

  return {
    element: form,
    /** The conversation as last read; `endedHere` when this page ended its chat. */
    setConversation(c, { endedHere: ended = false } = {}) {
      conv = c;
      endedHere = ended;
      update();
    },
    /** Errors of what the admin sends from elsewhere on the page (Retry), shown here. */
    showSendError(e) { showError(sendError, e); },
    clearSendError() { clearFeedback(sendError); },
    focus() { textarea.focus(); },
    hide() { form.hidden = true; },
    stop() { clearInterval(clock); },
  };
}
