// The reply composer: text entry, the character and size limits with a counter, why it is
// closed (or how long the reply window stays open), Send and Enter, and the errors of sending.
// "Reply" or "Internal note" (`modes`): a note goes to the desk only, in any state of the chat.
// "/" at the start offers the canned replies (canned-picker.js).
// With a file attached (the paperclip, attachment-picker.js) the text is its caption and Send
// declares, uploads and sends the file (send-file.js). A reply chosen in the history
// (reply-context.js) goes with the next send; typing is shown to the user (typing.js).
import * as api from './api.js';
import { h, duration, codePoints, fullTime } from './dom.js';
import { showError, showNotice, clearFeedback } from './feedback.js';
import { MAX_TEXT_CHARS, MAX_BODY_BYTES, MAX_CAPTION_CHARS } from './limits.js';
import { createAttachmentPicker } from './attachment-picker.js';
import { kindOf } from './attachment-types.js';
import { sendFile } from './send-file.js';
import { UploadError } from './upload.js';
import { createReplyContext } from './reply-context.js';
import { typing } from './typing.js';
import { createCannedPicker } from './canned-picker.js';

const PLACEHOLDERS = {
  text: 'Write a reply…',
  caption: 'Write a caption for the file (optional)…',
  audio: 'Audio is sent without a caption',
  note: 'Write an internal note: only the desk sees it…',
};

/**
 * `onSent(message)` with each message the API stored for a send or note. On a 409 (the
 * conversation changed) `onConflict(e, tell)` may answer `{message, action}` to show instead
 * of the API's words; `tell(text)` says how it ended. `onMode(note)` when the mode changes.
 * Closed until `setConversation`.
 */
export function createComposer({ phone, onSent, onConflict, onMode }) {
  let conv = null;
  let note = false; // writing an internal note
  let endedHere = false;
  let sending = false;
  let upload = null; // while a file is being sent: its AbortController

  const textarea = h('textarea', { id: 'message', rows: '2', maxlength: String(MAX_TEXT_CHARS * 2), 'aria-describedby': 'composer-reason composer-counter', placeholder: 'Write a reply…' });
  const counter = h('span', { id: 'composer-counter', class: 'counter' }, `0 / ${MAX_TEXT_CHARS}`);
  const reason = h('p', { id: 'composer-reason', class: 'composer-reason' });
  const sendButton = h('button', { type: 'submit', class: 'primary' }, 'Send');
  const sendError = h('div', { class: 'send-error' });
  const picker = createAttachmentPicker({
    onChange() {
      clearFeedback(sendError);
      update();
    },
    onRefused: (why) => showError(sendError, why),
  });
  const replyTo = createReplyContext({ onChange: () => textarea.focus() });
  const canned = createCannedPicker(textarea, { onInsert: () => update() });
  const replyMode = h('button', { type: 'button', class: 'mode', 'aria-pressed': 'true', onclick: () => setMode(false) }, 'Reply');
  const noteMode = h('button', { type: 'button', class: 'mode', 'aria-pressed': 'false', onclick: () => setMode(true) }, 'Internal note');
  const modes = h('div', { class: 'composer-modes', role: 'group', 'aria-label': 'Write' }, replyMode, noteMode);
  const form = h('form', { class: 'composer', 'aria-label': 'Reply' },
    h('label', { for: 'message', class: 'visually-hidden' }, 'Message'),
    canned.element,
    canned.status,
    replyTo.element,
    picker.chip,
    h('div', { class: 'composer-row' }, picker.button, picker.input, textarea, sendButton),
    h('div', { class: 'composer-foot' }, reason, counter),
    sendError);

  function windowOpen() {
    return conv && conv.window_expires_at && Date.parse(conv.window_expires_at) > Date.now();
  }

  function blockedReason() {
    if (!conv) return 'Loading…';
    if (note) return null;
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

  /** What the text is: a reply, a file's caption, or nothing (audio takes no caption). */
  function textRole() {
    if (note) return 'note';
    if (!picker.chosen) return 'text';
    return kindOf(picker.chosen.type) === 'audio' ? 'audio' : 'caption';
  }

  /** Updates the counter (and the placeholder); true when the text (or the file) may be sent. */
  function updateCounter() {
    const role = textRole();
    textarea.placeholder = PLACEHOLDERS[role];
    const max = role === 'text' || role === 'note' ? MAX_TEXT_CHARS : MAX_CAPTION_CHARS;
    const n = codePoints(textarea.value);
    const bytes = new TextEncoder().encode(JSON.stringify({ text: textarea.value })).length;
    const noCaption = role === 'audio' && textarea.value.trim() !== '';
    const prefix = role === 'caption' || role === 'audio' ? 'Caption: ' : '';
    if (noCaption) counter.textContent = 'Audio takes no caption: send the text on its own';
    else if (n > max) counter.textContent = `${prefix}${n} / ${max}: ${n - max} too many`;
    else counter.textContent = `${prefix}${n} / ${max}${bytes > MAX_BODY_BYTES ? ': too large to send' : ''}`;
    const over = noCaption || n > max || bytes > MAX_BODY_BYTES;
    counter.classList.toggle('over', over);
    counter.classList.toggle('near', n > max * 0.9 && n <= max);
    return !over && ((role !== 'text' && role !== 'note') || textarea.value.trim() !== '');
  }

  function update() {
    const blocked = blockedReason();
    textarea.disabled = Boolean(blocked);
    picker.setBlocked(Boolean(blocked) || note);
    if (note) {
      reason.classList.remove('blocked');
      reason.textContent = 'Only the desk sees a note: nothing is sent to the user.';
      reason.removeAttribute('title');
    } else if (blocked) {
      reason.textContent = blocked;
      reason.classList.add('blocked');
    } else {
      reason.classList.remove('blocked');
      reason.textContent = `Reply window closes in ${duration(Date.parse(conv.window_expires_at) - Date.now())}.`;
      reason.title = `The 24-hour window since the user's last message ends ${fullTime(conv.window_expires_at)}.`;
    }
    const sendable = updateCounter();
    sendButton.disabled = Boolean(blocked) || sending || !sendable;
    if (!sending) sendButton.textContent = note ? 'Add note' : 'Send';
  }

  /** Reply (false) or internal note (true). */
  function setMode(on) {
    if (note === on) return;
    note = on;
    replyMode.setAttribute('aria-pressed', String(!on));
    noteMode.setAttribute('aria-pressed', String(on));
    form.classList.toggle('note-mode', on);
    form.setAttribute('aria-label', on ? 'Internal note' : 'Reply');
    clearFeedback(sendError);
    update();
    onMode(on);
    if (!textarea.disabled) textarea.focus();
  }

  /** Declares, uploads (with its progress in the chip) and sends the chosen file. */
  function sendChosenFile() {
    const controller = new AbortController();
    upload = controller;
    // The caption is the text as it is now; it cannot change while the file goes.
    textarea.readOnly = true;
    return sendFile(phone, { ...picker.chosen, caption: textarea.value, replyTo: replyTo.id }, {
      signal: controller.signal,
      onProgress: picker.setProgress,
      onStage(stage) {
        picker.setStage(stage, stage === 'uploading' ? () => controller.abort() : null);
        sendButton.textContent = stage === 'uploading' ? 'Uploading…' : 'Sending…';
      },
    }).finally(() => {
      upload = null;
      textarea.readOnly = false;
      picker.setStage('idle');
    });
  }

  function sent() {
    textarea.value = '';
    picker.clear();
    replyTo.set(null);
  }

  /** A refusal, in the API's words, or as `onConflict` tells it (with "Take over"). */
  function report(e) {
    const told = e.status === 409 ? onConflict(e, (text) => showNotice(sendError, text)) : null;
    showError(sendError, told?.message || e, { action: told?.action });
    // On a phone the page may scroll past the composer: the refusal (and Take over) in view.
    sendError.scrollIntoView({ block: 'nearest' });
  }

  async function addNote() {
    const { message } = await api.addNote(phone, textarea.value);
    textarea.value = '';
    onSent(message);
  }

  async function send() {
    clearFeedback(sendError);
    if (blockedReason() || sending || !updateCounter()) return;
    sending = true;
    sendButton.textContent = note ? 'Adding…' : 'Sending…';
    update();
    if (note) {
      try {
        await addNote();
      } catch (e) {
        showError(sendError, e);
      } finally {
        sending = false;
        update();
        textarea.focus();
      }
      return;
    }
    try {
      const { status, data } = picker.chosen ? await sendChosenFile() : await api.send(phone, textarea.value, replyTo.id);
      sent();
      onSent(data.message);
      if (status === 202) showNotice(sendError, 'WhatsApp is busy: the message will be sent as soon as it can.');
    } catch (e) {
      // A message stored, even failed, was sent as far as it went; anything else is kept to send again.
      if (e.body && e.body.message) {
        onSent(e.body.message);
        sent();
      }
      if (e.aborted) {
        showNotice(sendError, 'The upload was cancelled. The file is still attached.');
      } else if (e instanceof UploadError) {
        showError(sendError, e.message, { action: { label: 'Try again', run: send } });
      } else if (e.status === 429) {
        const wait = e.retryAfter ? ` Wait ${e.retryAfter} s.` : '';
        showError(sendError, `Too many messages in a minute.${wait}`);
      } else {
        report(e);
      }
    } finally {
      sending = false;
      update();
      if (!textarea.disabled) textarea.focus();
    }
  }

  form.addEventListener('submit', (event) => {
    event.preventDefault();
    send();
  });
  textarea.addEventListener('keydown', (event) => {
    if (canned.key(event)) return;
    if (event.key === 'Enter' && !event.shiftKey && !event.isComposing) {
      event.preventDefault();
      send();
    }
  });
  textarea.addEventListener('input', () => {
    update();
    if (!note && !blockedReason() && textarea.value.trim()) typing(phone);
  });

  // The reply window counts down.
  const clock = setInterval(() => { if (conv) update(); }, 1_000);

  return {
    element: form,
    /** "Reply" / "Internal note", placed above this composer and the template composer. */
    modes,
    /** Writing an internal note. */
    get note() { return note; },
    /** The conversation as last read; `endedHere` when this page ended its chat. */
    setConversation(c, { endedHere: ended = false } = {}) {
      conv = c;
      endedHere = ended;
      update();
    },
    /** Errors of what the admin sends from elsewhere on the page (Retry), shown here. */
    showSendError: report,
    clearSendError() { clearFeedback(sendError); },
    focus() { textarea.focus(); },
    /** Whether a reply can be sent now (the window open, in chat support). */
    canSend: () => !note && !blockedReason(),
    /** The next send answers `message` (`author`: how the history names its author). */
    replyTo: (message, author) => replyTo.set(message, author),
    hide() { form.hidden = true; },
    stop() {
      clearInterval(clock);
      if (upload) upload.abort();
    },
  };
}
