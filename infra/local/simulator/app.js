// The simulated WhatsApp user's phone. Every string from the server is set as text.
const chat = document.getElementById('chat');
const phoneInput = document.getElementById('phone');
const nameInput = document.getElementById('name');
const textInput = document.getElementById('text');
const statusLine = document.getElementById('status');
let shown = '';

function el(tag, className, text) {
  const node = document.createElement(tag);
  if (className) node.className = className;
  if (text !== undefined) node.textContent = text;
  return node;
}

async function send(payload) {
  const response = await fetch('/simulator/api/send', {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ phone: phoneInput.value.trim(), name: nameInput.value, ...payload }),
  });
  const body = await response.json().catch(() => ({}));
  statusLine.textContent = response.ok ? `Webhook answered ${body.webhook_status}` : `Not sent: ${body.error || response.status}`;
  refresh();
}

function choiceButton(choice, kind) {
  const button = el('button', '', choice.title);
  button.type = 'button';
  button.addEventListener('click', () => send({ reply: { id: choice.id, title: choice.title, kind } }));
  return button;
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
  } else {
    item.append(el('span', '', `[${m.type}]`));
  }
  const time = new Date(message.at).toLocaleTimeString();
  item.append(el('span', 'meta', message.from === 'business' ? time : `${time} · ${message.status}`));
  return item;
}

async function refresh() {
  const phone = phoneInput.value.trim();
  if (!/^[0-9]{8,15}$/.test(phone)) return;
  const response = await fetch(`/simulator/api/messages?phone=${encodeURIComponent(phone)}`);
  if (!response.ok) return;
  const { messages } = await response.json();
  const key = JSON.stringify(messages.map((m) => m.wamid));
  if (key === shown) return;
  shown = key;
  chat.replaceChildren(...messages.map(render));
  chat.lastElementChild?.scrollIntoView({ block: 'end' });
}

document.getElementById('composer').addEventListener('submit', (event) => {
  event.preventDefault();
  const text = textInput.value;
  if (!text.trim()) return;
  textInput.value = '';
  send({ text });
});
phoneInput.addEventListener('change', () => { shown = ''; refresh(); });
setInterval(refresh, 1000);
refresh();
