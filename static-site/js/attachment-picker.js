// The paperclip: a file picker offering what WhatsApp takes, and the chosen file as a chip
// (its kind, name, size and a remove button) that shows the upload's progress while it is
// sent. A file too large for WhatsApp is refused at once, not kept.
import { h, fileSize } from './dom.js';
import { ACCEPT, fileType, kindOf, sizeRefusal } from './attachment-types.js';

const ICONS = { image: '🖼️', audio: '🎵', video: '🎬', document: '📄' };

/** `onChange()` when a file is chosen or removed; `onRefused(reason)` for one too large. */
export function createAttachmentPicker({ onChange, onRefused }) {
  let chosen = null; // { file, type }
  let blocked = false;
  let stage = 'idle'; // idle | uploading | sending
  let cancel = null;

  const input = h('input', { type: 'file', accept: ACCEPT, hidden: true, tabindex: '-1' });
  const button = h('button', { type: 'button', class: 'secondary attach', 'aria-label': 'Attach a file', title: 'Attach a file', onclick: () => input.click() },
    h('span', { 'aria-hidden': 'true' }, '📎'));
  const icon = h('span', { class: 'chip-icon', 'aria-hidden': 'true' });
  const name = h('span', { class: 'chip-name' });
  const size = h('span', { class: 'chip-size' });
  const bar = h('progress', { class: 'chip-progress', max: '100', value: '0', 'aria-label': 'Upload progress', 'aria-valuemin': '0', 'aria-valuemax': '100', 'aria-valuenow': '0' });
  const percent = h('span', { class: 'chip-percent' }, '0 %');
  const progress = h('span', { class: 'chip-upload', hidden: true }, bar, percent);
  const remove = h('button', { type: 'button', class: 'secondary chip-remove' });
  const chip = h('div', { class: 'attachment-chip', role: 'group', 'aria-label': 'Attached file', hidden: true },
    icon, h('span', { class: 'chip-text' }, name, size, progress), remove);

  function render() {
    chip.hidden = !chosen;
    button.disabled = blocked || stage !== 'idle';
    progress.hidden = stage === 'idle';
    remove.disabled = stage === 'sending';
    remove.textContent = stage === 'idle' ? '✕' : 'Cancel';
    if (!chosen) return;
    icon.textContent = ICONS[kindOf(chosen.type)] || '📎';
    name.textContent = chosen.file.name;
    name.title = chosen.file.name;
    size.textContent = ` · ${fileSize(chosen.file.size)}`;
    remove.setAttribute('aria-label', stage === 'idle' ? `Remove ${chosen.file.name}` : 'Cancel the upload');
  }

  function setProgress(fraction) {
    const value = String(Math.round(Math.min(1, Math.max(0, fraction)) * 100));
    bar.value = Number(value);
    bar.setAttribute('aria-valuenow', value);
    percent.textContent = `${value} %`;
  }

  input.addEventListener('change', async () => {
    const file = input.files[0];
    input.value = ''; // so the same file can be chosen again
    if (!file) return;
    const type = await fileType(file);
    const refusal = sizeRefusal(type, file.size);
    if (refusal) {
      onRefused(`${file.name} (${fileSize(file.size)}): ${refusal}`);
      return;
    }
    chosen = { file, type };
    render();
    onChange();
  });
  remove.addEventListener('click', () => {
    if (stage === 'uploading') {
      if (cancel) cancel();
      return;
    }
    chosen = null;
    render();
    onChange();
    button.focus();
  });

  render();
  return {
    button,
    input,
    chip,
    /** `{file, type}` (the MIME type to declare), or null. */
    get chosen() { return chosen; },
    setBlocked(value) { blocked = value; render(); },
    /** `idle`, `uploading` (the remove button calls `onCancel`) or `sending`. */
    setStage(next, onCancel = null) {
      stage = next;
      cancel = onCancel;
      if (next === 'uploading') setProgress(0);
      render();
    },
    setProgress,
    clear() { chosen = null; stage = 'idle'; render(); },
  };
}
