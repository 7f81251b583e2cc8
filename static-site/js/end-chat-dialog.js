// "End chat support?": asks before ending a chat, then ends it through the API.
import * as api from './api.js';
import { h } from './dom.js';

/**
 * `userName()`: how the user is named now. Reports `onEnded(conversation)` when the chat
 * ended from here, `onAlreadyEnded()` when it had ended before (409), `onError(e)` otherwise,
 * then gives the focus to `returnFocus`.
 */
export function createEndChatDialog({ phone, userName, returnFocus, onEnded, onAlreadyEnded, onError }) {
  const confirmButton = h('button', { type: 'button', class: 'danger' }, 'End chat');
  const cancelButton = h('button', { type: 'button', class: 'secondary' }, 'Cancel');
  const text = h('p', { id: 'end-dialog-text' });
  const dialog = h('dialog', { class: 'dialog', 'aria-labelledby': 'end-dialog-title', 'aria-describedby': 'end-dialog-text' },
    h('h2', { id: 'end-dialog-title' }, 'End chat support?'),
    text,
    h('div', { class: 'dialog-actions' }, cancelButton, confirmButton));

  cancelButton.addEventListener('click', () => dialog.close());
  confirmButton.addEventListener('click', async () => {
    confirmButton.disabled = true;
    try {
      const { conversation } = await api.endChat(phone);
      dialog.close();
      onEnded(conversation);
    } catch (e) {
      dialog.close();
      if (e.status === 409) onAlreadyEnded();
      else onError(e);
    }
    returnFocus.focus();
  });

  return {
    element: dialog,
    open() {
      text.textContent = `The chat with ${userName()} ends and they are asked to rate it. The history stays.`;
      confirmButton.disabled = false;
      dialog.showModal();
      cancelButton.focus();
    },
    close() {
      if (dialog.open) dialog.close();
    },
  };
}
