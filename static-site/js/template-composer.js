// "Send a template": outside the 24-hour window WhatsApp takes only approved templates. A
// picker, one field per parameter, a live preview of the filled-in text, the server's
// checks before sending (template-text.js), and the errors of sending.
import * as api from './api.js';
import { h, codePoints } from './dom.js';
import { showError, showNotice, clearFeedback } from './feedback.js';
import { fillParts, filled, templateProblems } from './template-text.js';
import { MAX_TEMPLATE_CHARS } from './limits.js';

const SENT = 'Template sent. The chat reopens when the user answers.';

/**
 * `onSent(message)` with each message the API stored; on a 409, `onConflict(e, tell)` may
 * answer `{message, action}` to show instead (as the composer's). `templates`, when given,
 * is the templates' read already under way, used by the first load.
 */
export function createTemplateComposer({ phone, onSent, onConflict, templates = null }) {
  let list = null; // the approved templates, once read
  let loading = null;
  let firstRead = templates;
  let sending = false;

  const picker = h('select', { id: 'template-name' });
  const pickerField = h('div', { class: 'field' }, h('label', { for: 'template-name' }, 'Template'), picker);
  const fields = h('div', { class: 'template-fields' }, pickerField);
  const preview = h('p', { id: 'template-preview', class: 'template-preview text', 'aria-live': 'polite' });
  const counter = h('span', { class: 'counter' });
  const sendButton = h('button', { type: 'submit', class: 'primary' }, 'Send template');
  const feedback = h('div', { class: 'send-error' });
  const form = h('form', { class: 'composer template-composer', 'aria-labelledby': 'template-title', hidden: true, novalidate: true },
    h('h2', { id: 'template-title' }, 'Send a template'),
    h('p', { class: 'composer-reason blocked' }, 'The 24-hour reply window is closed: WhatsApp takes only an approved template until the user writes again.'),
    fields,
    h('div', { class: 'field' }, h('span', { class: 'label' }, 'Preview'), preview),
    h('div', { class: 'composer-foot' }, counter, sendButton),
    feedback);

  const chosen = () => (list && picker.value !== '' ? list[Number(picker.value)] : null);
  const inputs = () => [...fields.querySelectorAll('input')];
  const values = () => inputs().map((i) => i.value);

  function update() {
    const t = chosen();
    preview.replaceChildren(...(t ? fillParts(t.body, values()).map((p) => (typeof p === 'string' ? p : h('span', { class: 'placeholder' }, `{{${p.n}}}`))) : ['Choose a template.']));
    const n = t ? codePoints(filled(t.body, values())) : 0;
    counter.textContent = t ? `${n} / ${MAX_TEMPLATE_CHARS}` : '';
    counter.classList.toggle('over', n > MAX_TEMPLATE_CHARS);
    sendButton.disabled = !t || sending;
  }

  function choose() {
    const t = chosen();
    const made = [];
    for (let n = 1; t && n <= t.parameter_count; n += 1) {
      const input = h('input', { id: `template-parameter-${n}`, autocomplete: 'off' });
      input.addEventListener('input', () => { input.removeAttribute('aria-invalid'); update(); });
      made.push(h('div', { class: 'field' }, h('label', { for: input.id }, `Parameter ${n}`), input));
    }
    fields.replaceChildren(pickerField, ...made);
    clearFeedback(feedback);
    update();
  }

  async function load() {
    if (list || loading) return;
    picker.replaceChildren(h('option', { value: '' }, 'Loading templates…'));
    picker.disabled = true;
    const read = firstRead ?? api.templates();
    firstRead = null; // "Try again" reads afresh
    loading = read.then((templates) => {
      list = templates;
      picker.replaceChildren(h('option', { value: '' }, list.length ? 'Choose a template…' : 'No approved templates'),
        ...list.map((t, i) => h('option', { value: String(i) }, `${t.name} (${t.language})`)));
      picker.disabled = list.length === 0;
      choose();
    }, (e) => {
      picker.replaceChildren(h('option', { value: '' }, 'Templates unavailable'));
      showError(feedback, `The templates could not be read: ${e.message}`, { action: { label: 'Try again', run: load } });
    }).finally(() => { loading = null; });
  }

  async function send() {
    const t = chosen();
    if (!t || sending) return;
    const params = values();
    const problems = templateProblems(t, params);
    inputs().forEach((input, i) => (problems.some((p) => p.n === i + 1) ? input.setAttribute('aria-invalid', 'true') : input.removeAttribute('aria-invalid')));
    if (problems.length) {
      showError(feedback, problems.map((p) => p.text).join(' '));
      fields.querySelector('[aria-invalid]')?.focus();
      return;
    }
    clearFeedback(feedback);
    sending = true;
    sendButton.textContent = 'Sending…';
    update();
    try {
      const { status, data } = await api.sendTemplate(phone, t.name, t.language, params);
      onSent(data.message);
      picker.value = '';
      choose();
      showNotice(feedback, status === 202 ? `${SENT} WhatsApp is busy: it goes as soon as it can.` : SENT);
    } catch (e) {
      if (e.body && e.body.message) onSent(e.body.message);
      const told = e.status === 409 ? onConflict(e, (text) => showNotice(feedback, text)) : null;
      if (e.status === 429) showError(feedback, `Too many messages in a minute.${e.retryAfter ? ` Wait ${e.retryAfter} s.` : ''}`);
      else showError(feedback, told?.message || e, { action: told?.action });
    } finally {
      sending = false;
      sendButton.textContent = 'Send template';
      update();
    }
  }

  picker.addEventListener('change', choose);
  form.addEventListener('submit', (event) => {
    event.preventDefault();
    send();
  });

  return {
    element: form,
    /** Shown (reading the templates the first time) or hidden. */
    show(on) {
      const shown = !form.hidden;
      form.hidden = !on;
      if (on && !shown) {
        clearFeedback(feedback);
        load();
      }
    },
  };
}
