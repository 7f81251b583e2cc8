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
const TEXT_PLACEHOLDER = textInput.placeholder;
// WhatsApp's largest file (a document); the simulator's API takes no more.
const MAX_FILE_BYTES = 100 * 1024 * 1024;

let shownPhone = '';
let shownIds = [];
let attached = null;

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

function choiceButton(choice, kind) {
  const button = el('button', '', choice.title);
  button.type = 'button';
  button.addEventListener('click', () => send({ reply: { id: choice.id, title: choice.title, kind } }));
  return button;
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

function render(message) {
  const item = el('li', message.from);
  const m = message.message;
  if (m.type === 'text') {
    item.append(el('span', '', m.text.body));
  } else if (m.type === 'interactive' && m.interactive.body) {
    item.append(el('span', '', m.interactive.body.text));
    const choices = el('div', 'choices');
    const action = m.interactive.action || {};
    for (const b of action.buttons || []) choices.append(choiceButton(b.reply, 'button_reply'));
    for (const section of action.sections || []) {
      for (const row of section.rows || []) choices.append(choiceButton(row, 'list_reply'));
    }
    item.append(choices);
  } else if (m.type === 'interactive') {
    const reply = m.interactive.button_reply || m.interactive.list_reply || {};
    item.append(el('span', '', reply.title || '[choice]'));
  } else if (['image', 'audio', 'video', 'document', 'sticker'].includes(m.type)) {
    renderMedia(item, message, m);
  } else {
    item.append(el('span', '', `[${m.type}]`));
  }
  const time = new Date(message.at).toLocaleTimeString();
  item.append(el('span', 'meta', message.from === 'business' ? time : `${time} · ${message.status}`));
  return item;
}

// New messages are added below the ones shown, so a playing voice note keeps playing.
async function load() {
  const phone = phoneInput.value.trim();
  if (!/^[0-9]{8,15}$/.test(phone)) return;
  const response = await fetch(`/simulator/api/messages?phone=${encodeURIComponent(phone)}`);
  if (!response.ok) return;
  const { messages } = await response.json();
  const ids = messages.map((m) => m.wamid);
  const continues = phone === shownPhone && shownIds.every((id, i) => ids[i] === id);
  if (continues && ids.length === shownIds.length) return;
  if (continues) {
    chat.append(...messages.slice(shownIds.length).map(render));
  } else {
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
    const ok = await send({
      file: { filename: file.name, mime_type: file.type || 'application/octet-stream', data_base64: data },
      ...(caption.trim() ? { caption } : {}),
    });
    if (ok && attached === file) {
      clearAttachment();
      textInput.value = '';
    }
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
  send({ text });
});
phoneInput.addEventListener('change', () => { shownPhone = ''; refresh(); });
setInterval(refresh, 1000);
refresh();
