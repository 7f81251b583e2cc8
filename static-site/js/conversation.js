// One conversation page: wires the header (with the assignment), the history, the composer
// (or, with the window closed, the template composer; a note any time), the read marks and
// the end-chat dialog, and keeps what they share: the conversation as last read, and whether
// its chat was ended from this page. A send refused because a colleague holds the chat says
// who, and offers "Take over". The template composer, needed only with the window closed, is
// loaded the first time it is.
import * as api from './api.js';
import { h, displayName } from './dom.js';
import { showError, showNotice } from './feedback.js';
import { createHeader } from './conversation-header.js';
import { createAssignment } from './assignment.js';
import { createHistory } from './conversation-history.js';
import { createComposer } from './composer.js';
import { createEndChatDialog } from './end-chat-dialog.js';
import { createReadMarks } from './read-marks.js';
import { keepUpdated } from './polling.js';

export function renderConversation(root, phone, { setPageTitle, reportConnection, refreshUnread, live }) {
  setPageTitle(`+${phone}`);
  let conv = null;
  let endedHere = false;
  let left = false; // answers that come after the page was left change nothing
  const userName = () => (conv ? displayName(conv) : `+${phone}`);
  const me = api.session()?.username;

  const notice = h('div', { class: 'notice-slot' });
  const assignment = createAssignment({
    phone,
    me,
    known: () => messageHistory.admins(),
    onAssigned(c) {
      showNotice(notice, c.assigned_to ? `Assigned to ${c.assigned_to === me ? 'you' : c.assigned_to}.` : 'Nobody is assigned now.');
      showConversation(c);
    },
    onConflict(e) {
      showConversation(e.body.conversation);
      const told = conflict(e, (text) => showNotice(notice, text));
      showError(notice, told.message, { action: told.action });
    },
    onError: (e) => showError(notice, e),
  });
  const header = createHeader(phone, { onEnd: () => endDialog.open(), assignment: assignment.element, me });
  /**
   * A 409 from sending: the history read again; when a colleague holds the chat, who, and
   * "Take over" (the chat assigned to me if they still hold it; `tell(text)` says so).
   */
  function conflict(e, tell) {
    messageHistory.refresh();
    const c = e.body?.conversation;
    if (e.code !== 'assigned_to_other' || !c) return null;
    showConversation(c);
    const holder = c.assigned_to;
    return {
      message: holder ? `${holder} is handling this chat.` : e.message,
      action: {
        label: 'Take over',
        run: async () => {
          if (await assignment.takeOver(holder)) {
            tell('The chat is assigned to you now: send your message again.');
            composer.focus();
          }
        },
      },
    };
  }
  const composer = createComposer({
    phone,
    onSent: (message) => messageHistory.showSent(message),
    onConflict: conflict,
    onMode: () => { if (conv) showComposer(); },
  });
  // Until it is loaded, its place says it is loading or offers "Try again".
  const templatePlace = h('div', { hidden: true });
  let templateComposer = null;
  let templateAsked = false; // a failed load is retried only by "Try again"
  function loadTemplateComposer() {
    templateAsked = true;
    templatePlace.replaceChildren(h('p', { class: 'loading' }, 'Loading…'));
    // The templates are asked for with the module, not after it: one round trip, not two.
    const templates = api.templates();
    templates.catch(() => {}); // the composer shows this failure; a failed module shows its own
    import('./template-composer.js').then(({ createTemplateComposer }) => {
      if (left) return;
      templateComposer = createTemplateComposer({
        phone,
        templates,
        onSent: (message) => messageHistory.showSent(message),
        onConflict: conflict,
      });
      templatePlace.replaceWith(templateComposer.element);
      showComposer();
    }, () => {
      if (!left) showError(templatePlace, 'The template form could not be loaded. Check the connection.', { action: { label: 'Try again', run: loadTemplateComposer } });
    });
  }
  function showTemplateComposer(on) {
    if (templateComposer) {
      templateComposer.show(on);
      return;
    }
    templatePlace.hidden = !on;
    if (on && !templateAsked) loadTemplateComposer();
  }
  const messageHistory = createHistory({
    phone,
    me,
    userName,
    reportConnection,
    onConversation: showConversation,
    onMissing() {
      header.showMissing();
      showNotice(notice, 'There is no conversation with this number yet.', { live: false });
      composer.hide();
      composer.modes.hidden = true;
      showTemplateComposer(false);
    },
    onError: (e) => showError(notice, e),
    onRetry: () => composer.clearSendError(),
    onRetryError: (e) => composer.showSendError(e),
    onJump: () => composer.focus(),
    onReply: (message, author) => composer.replyTo(message, author),
    onLoaded: () => readMarks.check(),
  });
  const readMarks = createReadMarks(phone, {
    newestInbound: () => messageHistory.newestInbound(),
    onConversation(c) {
      showConversation(c);
      refreshUnread();
    },
  });
  const endDialog = createEndChatDialog({
    phone,
    userName,
    returnFocus: header.title,
    onEnded(c) {
      endedHere = true;
      showNotice(notice, 'The chat has ended. The history stays below.');
      showConversation(c);
      messageHistory.refresh();
    },
    onAlreadyEnded() {
      showNotice(notice, 'This chat had already ended.');
      messageHistory.refresh();
    },
    onError: (e) => showError(notice, e),
  });

  /** `pushed`: as an event brought it. */
  function showConversation(c, pushed = false) {
    if (left) return;
    const wasSupport = conv?.is_chat_support;
    conv = c;
    header.show(c);
    assignment.show(c);
    setPageTitle(displayName(c));
    if (wasSupport && !c.is_chat_support && !endedHere) {
      showNotice(notice, 'Chat support has ended. The history stays below.');
    }
    composer.setConversation(c, { endedHere });
    showComposer();
    readMarks.seen(c, pushed);
  }

  /** With the window closed, only a template can reach the user (unless they opted out); a note, always. */
  function showComposer() {
    const open = conv.window_expires_at && Date.parse(conv.window_expires_at) > Date.now();
    const template = !open && conv.state !== 'OPTED_OUT' && !composer.note;
    composer.element.hidden = template;
    showTemplateComposer(template);
    messageHistory.setReplyable(composer.canSend());
  }
  // The window closes while the page is open; the wait ("Waiting 7 min") grows.
  let ticks = 0;
  const clock = setInterval(() => {
    if (!conv) return;
    showComposer();
    if (++ticks % 30 === 0) header.show(conv);
  }, 1_000);

  root.replaceChildren(
    h('div', { class: 'conversation-page' },
      header.element,
      notice,
      messageHistory.element,
      composer.modes,
      composer.element,
      templatePlace,
      endDialog.element),
  );
  const updates = keepUpdated(live, messageHistory.refresh, (e) => {
    if (e.type === 'message' && e.phone === phone && !messageHistory.apply(e.message)) updates.now();
    else if (e.type === 'conversation' && e.conversation.phone === phone) showConversation(e.conversation, true);
  });

  return () => {
    left = true;
    updates.stop();
    clearInterval(clock);
    messageHistory.stop();
    readMarks.stop();
    composer.stop();
    endDialog.close();
  };
}
