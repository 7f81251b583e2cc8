// Sign-in: username and password for a token kept in sessionStorage (this tab only).
import * as api from './api.js';
import { h } from './dom.js';
import { showError, noticeNode } from './feedback.js';

export function renderSignIn(root, { notice, onSignedIn }) {
  const username = h('input', { id: 'username', name: 'username', autocomplete: 'username', autocapitalize: 'none', spellcheck: 'false', required: true });
  const password = h('input', { id: 'password', name: 'password', type: 'password', autocomplete: 'current-password', required: true });
  const submit = h('button', { type: 'submit', class: 'primary' }, 'Sign in');
  const errorSlot = h('div', { class: 'form-error-slot' });

  const form = h('form', { id: 'sign-in-form', class: 'card sign-in', novalidate: true },
    h('h1', {}, 'Sign in'),
    h('p', { class: 'muted' }, 'Support desk for EduBot’s WhatsApp conversations.'),
    notice ? noticeNode(notice) : null,
    errorSlot,
    h('div', { class: 'field' }, h('label', { for: 'username' }, 'Username'), username),
    h('div', { class: 'field' }, h('label', { for: 'password' }, 'Password'), password),
    submit,
  );

  form.addEventListener('submit', async (event) => {
    event.preventDefault();
    if (!username.value.trim() || !password.value) {
      showError(errorSlot, 'Enter your username and password.');
      (username.value.trim() ? password : username).focus();
      return;
    }
    submit.disabled = true;
    submit.textContent = 'Signing in…';
    try {
      const s = await api.signIn(username.value, password.value);
      onSignedIn(s);
    } catch (e) {
      submit.disabled = false;
      submit.textContent = 'Sign in';
      if (e.status === 401) showError(errorSlot, 'Wrong username or password.');
      else if (e.status === 429) {
        const wait = e.retryAfter ? ` Try again in ${Math.ceil(e.retryAfter / 60)} min.` : ' Try again later.';
        showError(errorSlot, `Too many failed attempts.${wait}`);
      } else showError(errorSlot, e);
      password.value = '';
      password.focus();
    }
  });

  root.replaceChildren(form);
  username.focus();
}
