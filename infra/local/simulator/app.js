// The simulated WhatsApp user's phone. Every string from the server is set as text.
const chat = document.getElementById('chat');
const phoneInput = document.getElementById('phone');
const nameInput = document.getElementById('name');
const textInput = document.getElementById('text');
const fileInput = document.getElementById('file');
const sendButton = document.getElementById('send');
const attachmentBox = document.getElementById('attachment');
const attachmentName = document.getElementById('attachment-name');
const statusLine = document.getElementById('status');
const typingLine = document.getElementById('typing');
const replyingBox = document.getElementById('replying');
const replyingText = document.getElementById('replying-text');
const TEXT_PLACEHOLDER = textInput.placeholder;
// WhatsApp's largest file (a document); the simulator's API takes no more.
const MAX_FILE_BYTES = 100 * 1024 * 1024;
// The reactions the phone offers.
const REACTIONS = ['👍', '❤️', '😂', '🙏', '✅'];
const TICKS = {
  sent: { text: '✓', label: 'Sent' },
  delivered: { text: '✓✓', label: 'Delivered' },
  read: { text: '✓✓', label: 'Read' },
};

let shownPhone = '';
let shownIds = [];
let attached = null;
// Every message shown, by wamid: its latest data and the parts of its bubble that change.
const shown = new Map();
// The message the user is replying to (sent as the webhook's context), or null.
let replyingTo = null;

function el(tag, className, text) {
  const node = document.createElement(tag);
  if (className) node.className = className;
  if (text !== undefined) node.textContent = text;
  return node;
}

function sizeText(bytes) {
  if (bytes < 1024) return `${bytes} B`;
  if (bytes < 1024 * 1024) return `${(bytes / 1024).toFixed(1)} KB`;
  return `${(bytes / (1024 * 1024)).toFixed(1)} MB`;
}

function setStatus(text, isError = false) {
  statusLine.textContent = text;
  statusLine.classList.toggle('error', isError);
}

// Sends through the simulator's API; answers whether it was taken.
async function send(payload) {
  let response;
  try {
    response = await fetch('/simulator/api/send', {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ phone: phoneInput.value.trim(), name: nameInput.value, ...payload }),
    });
  } catch (error) {
    setStatus(`Not sent: the local stack did not answer (${error.message}).`, true);
    return false;
  }
  const body = await response.json().catch(() => ({}));
  if (response.ok) {
    setStatus(`Webhook answered ${body.webhook_status}`, body.webhook_status !== 200);
  } else if (response.status === 413) {
    setStatus('Not sent: the file is larger than the simulator takes (100 MB).', true);
  } else {
    setStatus(`Not sent: ${body.error || `HTTP ${response.status}`}`, true);
  }
  refresh();
  return response.ok;
}

// A tapped choice quotes the message that offered it, as WhatsApp's reply does.
function choiceButton(choice, kind, message) {
  const button = el('button', '', choice.title);
  button.type = 'button';
  button.addEventListener('click', () => send({ reply: { id: choice.id, title: choice.title, kind }, context: message.wamid }));
  return button;
}

// A template's buttons: a quick reply is tapped (its payload sent back as a `button`
// message), the others (a copy-code button…) are only shown.
function templateButton(button, message) {
  const node = el('button', '', button.text);
  node.type = 'button';
  if (button.type === 'QUICK_REPLY') {
    node.addEventListener('click', () => send({ button: { message_id: message.wamid, index: button.index } }));
  } else {
    node.disabled = true;
    node.title = `${button.type} button (not simulated)`;
  }
  return node;
}

// One line of what a message says, for a quote or the reply bar.
function summary(message) {
  if (message.template) return message.template.body;
  const m = message.message;
  const media = m[m.type] || {};
  const labels = { image: '📷 Photo', video: '🎥 Video', audio: '🎤 Voice message', document: '📄 Document', sticker: 'Sticker' };
  let text;
  if (m.type === 'text') text = m.text.body;
  else if (m.type === 'button') text = m.button.text;
  else if (m.type === 'interactive') {
    const reply = m.interactive.button_reply || m.interactive.list_reply;
    text = reply ? reply.title : (m.interactive.body || {}).text || '[choice]';
  } else if (labels[m.type]) text = `${labels[m.type]}${media.caption ? `: ${media.caption}` : media.filename ? `: ${media.filename}` : ''}`;
  else text = `[${m.type}]`;
  return text.length > 140 ? `${text.slice(0, 139)}…` : text;
}

// The quoted message above a reply's bubble.
function quote(wamid) {
  const quoted = shown.get(wamid);
  const box = el('div', 'quote');
  if (!quoted) {
    box.append(el('span', 'quote-text', 'Quoted message'));
    return box;
  }
  box.append(
    el('span', 'quote-author', quoted.message.from === 'business' ? 'EduBot' : 'You'),
    el('span', 'quote-text', summary(quoted.message)),
  );
  return box;
}

function startReply(message) {
  replyingTo = message;
  replyingText.textContent = summary(message);
  replyingBox.hidden = false;
  textInput.focus();
}

function stopReply() {
  replyingTo = null;
  replyingBox.hidden = true;
  replyingText.textContent = '';
}

function react(message, emoji) {
  send({ reaction: { message_id: message.wamid, emoji } });
}

// Reply and react, beside each bubble; the reaction picker opens below it.
function actions(message, item) {
  const bar = el('div', 'actions');
  const replyButton = el('button', '', '↩');
  replyButton.type = 'button';
  replyButton.title = 'Reply';
  replyButton.setAttribute('aria-label', 'Reply to this message');
  replyButton.addEventListener('click', () => startReply(shown.get(message.wamid)?.message || message));
  const reactButton = el('button', '', '☺');
  reactButton.type = 'button';
  reactButton.title = 'React';
  reactButton.setAttribute('aria-label', 'React to this message');
  reactButton.setAttribute('aria-expanded', 'false');
  const picker = el('div', 'picker');
  picker.hidden = true;
  const close = () => {
    picker.hidden = true;
    reactButton.setAttribute('aria-expanded', 'false');
  };
  for (const emoji of REACTIONS) {
    const choice = el('button', '', emoji);
    choice.type = 'button';
    choice.setAttribute('aria-label', `React with ${emoji}`);
    choice.addEventListener('click', () => { close(); react(message, emoji); });
    picker.append(choice);
  }
  const remove = el('button', 'remove', 'Remove');
  remove.type = 'button';
  remove.setAttribute('aria-label', 'Remove your reaction');
  remove.addEventListener('click', () => { close(); react(message, ''); });
  picker.append(remove);
  reactButton.addEventListener('click', () => {
    const opening = picker.hidden;
    picker.hidden = !opening;
    reactButton.setAttribute('aria-expanded', String(opening));
    if (opening) {
      remove.hidden = !shown.get(message.wamid)?.message.reaction;
      picker.firstElementChild.focus();
    }
  });
  bar.append(replyButton, reactButton);
  item.append(bar, picker);
}

// A photo, voice note, video or document, sent or received: the phone's own copy
// (message.file.url, this origin) shown in place, a document as a named download.
function renderMedia(item, message, m) {
  const media = m[m.type] || {};
  const file = message.file;
  const name = (file && file.filename) || media.filename || '';
  if (!file) {
    item.append(el('span', '', `[${m.type}]${name ? ` ${name}` : ''}`));
  } else if (m.type === 'image' || m.type === 'sticker') {
    const link = el('a', 'media');
    link.href = file.url;
    link.target = '_blank';
    link.rel = 'noopener';
    link.title = 'Open full size';
    const image = el('img', 'thumb');
    image.alt = name || 'Photo';
    image.addEventListener('load', () => {
      if (item === chat.lastElementChild) item.scrollIntoView({ block: 'end' });
    });
    image.src = file.url;
    link.append(image);
    item.append(link);
  } else if (m.type === 'audio' || m.type === 'video') {
    const player = el(m.type, m.type === 'video' ? 'thumb' : 'player');
    player.controls = true;
    player.preload = 'metadata';
    player.setAttribute('aria-label', m.type === 'audio' ? 'Audio message' : 'Video');
    player.src = file.url;
    item.append(player);
  } else {
    const link = el('a', 'document', `📄 ${name || 'Document'}`);
    link.href = file.url;
    link.download = name || 'document';
    item.append(link, el('span', 'size', ` ${sizeText(file.size)}`));
  }
  if (media.caption) item.append(el('span', 'caption', media.caption));
}

function renderTemplate(item, message) {
  const template = message.template;
  if (template.header) {
    const format = String(template.header.format || '').toLowerCase();
    item.append(el('span', 'template-header', `${format === 'image' ? '🖼️' : '📎'} ${format} header`));
  }
  item.append(el('span', '', template.body));
  if (template.buttons.length) {
    const choices = el('div', 'choices');
    for (const button of template.buttons) choices.append(templateButton(button, message));
    item.append(choices);
  }
}

// A message's bubble; what changes later (ticks, reaction) is set by update().
function render(message) {
  const item = el('li', message.from);
  item.dataset.wamid = message.wamid;
  const m = message.message;
  if (message.reply_to) item.append(quote(message.reply_to));
  if (message.template) {
    renderTemplate(item, message);
  } else if (m.type === 'text') {
    item.append(el('span', '', m.text.body));
  } else if (m.type === 'interactive' && m.interactive.body) {
    item.append(el('span', '', m.interactive.body.text));
    const choices = el('div', 'choices');
    const action = m.interactive.action || {};
    for (const b of action.buttons || []) choices.append(choiceButton(b.reply, 'button_reply', message));
    for (const section of action.sections || []) {
      for (const row of section.rows || []) choices.append(choiceButton(row, 'list_reply', message));
    }
    item.append(choices);
  } else if (m.type === 'interactive') {
    const reply = m.interactive.button_reply || m.interactive.list_reply || {};
    item.append(el('span', '', reply.title || '[choice]'));
  } else if (m.type === 'button') {
    item.append(el('span', '', m.button.text));
  } else if (['image', 'audio', 'video', 'document', 'sticker'].includes(m.type)) {
    renderMedia(item, message, m);
  } else {
    item.append(el('span', '', `[${m.type}]`));
  }
  const meta = el('span', 'meta', new Date(message.at).toLocaleTimeString());
  const ticks = el('span', 'ticks');
  if (message.from === 'user') meta.append(' ', ticks);
  const reaction = el('span', 'reaction');
  reaction.hidden = true;
  item.append(meta, reaction);
  actions(message, item);
  const entry = { item, ticks, reaction, message: null };
  shown.set(message.wamid, entry);
  update(entry, message);
  return item;
}

// The parts of a bubble that change: the user's ticks (blue once read) and the reaction.
function update(entry, message) {
  const before = entry.message;
  entry.message = message;
  if (!before || before.status !== message.status) {
    const tick = TICKS[message.status] || { text: '', label: message.status };
    entry.ticks.textContent = tick.text;
    entry.ticks.title = tick.label;
    entry.ticks.setAttribute('aria-label', tick.label);
    entry.ticks.classList.toggle('read', message.status === 'read');
  }
  if (!before || before.reaction !== message.reaction) {
    entry.reaction.textContent = message.reaction || '';
    entry.reaction.hidden = !message.reaction;
    entry.reaction.title = message.reaction ? 'Your reaction' : '';
  }
}

// New messages are added below the ones shown, so a playing voice note keeps playing.
async function load() {
  const phone = phoneInput.value.trim();
  if (!/^[0-9]{8,15}$/.test(phone)) return;
  const response = await fetch(`/simulator/api/messages?phone=${encodeURIComponent(phone)}`);
  if (!response.ok) return;
  const { messages, typing } = await response.json();
  if (phone !== phoneInput.value.trim()) return;
  typingLine.hidden = !typing;
  const ids = messages.map((m) => m.wamid);
  const continues = phone === shownPhone && shownIds.every((id, i) => ids[i] === id);
  for (const message of continues ? messages.slice(0, shownIds.length) : []) {
    update(shown.get(message.wamid), message);
  }
  if (continues && ids.length === shownIds.length) return;
  if (continues) {
    chat.append(...messages.slice(shownIds.length).map(render));
  } else {
    shown.clear();
    stopReply();
    chat.replaceChildren(...messages.map(render));
  }
  shownPhone = phone;
  shownIds = ids;
  chat.lastElementChild?.scrollIntoView({ block: 'end' });
}

let loading = null;
function refresh() {
  loading ??= load().catch(() => {}).finally(() => { loading = null; });
  return loading;
}

function clearAttachment() {
  attached = null;
  fileInput.value = '';
  attachmentBox.hidden = true;
  textInput.placeholder = TEXT_PLACEHOLDER;
}

fileInput.addEventListener('change', () => {
  const file = fileInput.files[0];
  if (!file) {
    clearAttachment();
    return;
  }
  if (file.size > MAX_FILE_BYTES) {
    clearAttachment();
    setStatus(`Not sent: ${file.name} is larger than 100 MB, the most WhatsApp takes.`, true);
    return;
  }
  if (file.size === 0) {
    clearAttachment();
    setStatus(`Not sent: ${file.name} is empty.`, true);
    return;
  }
  attached = file;
  attachmentName.textContent = `📎 ${file.name} (${sizeText(file.size)})`;
  attachmentBox.hidden = false;
  textInput.placeholder = 'Add a caption (optional)';
  setStatus('');
  textInput.focus();
});
document.getElementById('attachment-remove').addEventListener('click', () => {
  clearAttachment();
  textInput.focus();
});

// The file as base64, without the data URL's prefix.
function readBase64(file) {
  return new Promise((resolve, reject) => {
    const reader = new FileReader();
    reader.addEventListener('load', () => {
      const url = String(reader.result);
      resolve(url.slice(url.indexOf(',') + 1));
    });
    reader.addEventListener('error', () => reject(reader.error));
    reader.readAsDataURL(file);
  });
}

async function sendFile(file, caption) {
  sendButton.disabled = true;
  try {
    setStatus(`Reading ${file.name}…`);
    let data;
    try {
      data = await readBase64(file);
    } catch (error) {
      setStatus(`Not sent: ${file.name} could not be read (${error?.message || 'unknown error'}).`, true);
      return;
    }
    setStatus(`Sending ${file.name} (${sizeText(file.size)})…`);
    const replying = replyingTo;
    const ok = await send({
      file: { filename: file.name, mime_type: file.type || 'application/octet-stream', data_base64: data },
      ...(caption.trim() ? { caption } : {}),
      ...(replying ? { context: replying.wamid } : {}),
    });
    if (ok && attached === file) {
      clearAttachment();
      textInput.value = '';
    }
    if (ok && replyingTo === replying) stopReply();
  } finally {
    sendButton.disabled = false;
  }
}

document.getElementById('composer').addEventListener('submit', (event) => {
  event.preventDefault();
  if (attached) {
    sendFile(attached, textInput.value);
    return;
  }
  const text = textInput.value;
  if (!text.trim()) return;
  textInput.value = '';
  const replying = replyingTo;
  stopReply();
  send({ text, ...(replying ? { context: replying.wamid } : {}) });
});
document.getElementById('reply-cancel').addEventListener('click', () => {
  stopReply();
  textInput.focus();
});
phoneInput.addEventListener('change', () => { shownPhone = ''; refresh(); });
setInterval(refresh, 1000);
refresh();
