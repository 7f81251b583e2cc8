// Real time (DESIGN §16) in headless Chromium against the real local stack: the page's socket
// (live.js) brings users' messages, list changes and delivery ticks as they happen, the header
// says whether it is live, a dropped socket comes back with a fresh ticket and what was missed,
// and the page polls only while its socket is down. The page's polling interval is made an hour
// (a test hook serving polling.js with other constants), so in the first tests nothing but the
// socket, and the read again on reconnecting, can show anything.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { startStack, launchBrowser, userSends, eventually, artifacts, pollEvery, trackSockets, dropSocket } from './stack.mjs';
import { userWebhook, text, statusWebhook } from './webhooks.mjs';

const ADA = { phone: '447700900811', name: 'Ada Lovelace' };
const GRACE = { phone: '447700900822', name: 'Grace Hopper' };
const LINUS = { phone: '447700900833', name: 'Linus Torvalds' };
const HOUR = 3_600_000;

let stack;
let browser;
let page;
const problems = [];

/** A page signed in, polling every `pollMs` while its socket is down; its API requests noted. */
async function desk(pollMs) {
  const context = await browser.newContext({ viewport: { width: 1280, height: 800 } });
  await pollEvery(context, pollMs);
  await trackSockets(context);
  const p = await context.newPage();
  p.requests = []; // [method, path and query]
  p.on('console', (msg) => { if (msg.type() === 'error') problems.push(`console: ${msg.text()}`); });
  p.on('pageerror', (err) => problems.push(`page error: ${err.message}`));
  p.on('request', (r) => {
    const url = new URL(r.url());
    if (url.pathname.startsWith('/api/')) p.requests.push([r.method(), url.pathname + url.search]);
  });
  await p.goto(stack.url);
  await p.getByLabel('Username').fill(stack.username);
  await p.getByLabel('Password').fill(stack.password);
  await p.getByRole('button', { name: 'Sign in' }).click();
  await p.getByRole('heading', { name: 'Dashboard', level: 1 }).waitFor();
  return p;
}

before(async () => {
  mkdirSync(artifacts, { recursive: true });
  stack = await startStack();
  browser = await launchBrowser();
  page = await desk(HOUR);
  await userSends(stack, ADA.phone, ADA.name, 'support');
  await eventually(async () => (await conversation(ADA)).is_chat_support, { what: 'Ada in chat support' });
});

after(async () => {
  await browser?.close();
  await stack?.stop();
});

async function apiGet(path) {
  const { token } = JSON.parse(await page.evaluate(() => sessionStorage.getItem('edubot.session')));
  return (await fetch(`${stack.url}${path}`, { headers: { authorization: `Bearer ${token}` } })).json();
}
const history = (who) => apiGet(`/api/admin/conversations/${who.phone}/messages?limit=200`);
const conversation = async (who) => (await history(who)).conversation || {};
const stored = (who, body) => eventually(async () => (await history(who)).messages.find((m) => m.text === body), { what: `“${body}” stored` });

const indicator = (p = page) => p.locator('#live');
const isLive = (p = page) => indicator(p).filter({ hasText: /^Live$/ }).waitFor({ timeout: 10_000 });
const bubble = (body, p = page) => p.getByRole('log', { name: 'Messages' }).locator('li.msg', { has: p.locator('.bubble > .text', { hasText: body }) });
const since = (p, from) => p.requests.slice(from);
const reads = (p, from, what) => since(p, from).filter(([method, path]) => method === 'GET' && path.includes(what));

/** Holds the page's ticket requests (so its socket cannot come back) until the answer is called. */
async function holdTickets(p) {
  let release;
  const held = new Promise((r) => { release = r; });
  const handled = [];
  await p.route('**/api/admin/ws-ticket', (route) => {
    const done = held.then(() => route.continue());
    handled.push(done);
    return done;
  });
  return async () => {
    release();
    await Promise.all(handled);
    await p.unroute('**/api/admin/ws-ticket');
  };
}

async function open(who, p = page) {
  await p.evaluate((phone) => { location.hash = `#/conversations/${phone}`; }, who.phone);
  await p.getByRole('heading', { name: who.name, level: 1 }).waitFor();
  // Its history read: an event before that is followed by one read more (the first read
  // may or may not have held it), which the tests counting reads would count.
  await p.getByRole('log', { name: 'Messages' }).locator('li.msg, li.empty').first().waitFor();
}

test('a user’s message appears in the open conversation within a second or two, without polling; the list follows', async () => {
  // Live before the conversation opens: a socket coming up once it is open reads what it
  // missed (`after=`), a read the check below would count.
  await isLive();
  await open(ADA);
  await isLive();
  const from = page.requests.length;
  const sent = Date.now();
  await userWebhook(stack, ADA, text('Is the library open on Sunday?'));
  await bubble('Is the library open on Sunday?').waitFor({ timeout: 5_000 });
  const latency = Date.now() - sent;
  // It is read at once, as a polled message was.
  await eventually(() => since(page, from).some(([method, path]) => method === 'POST' && path.endsWith(`/${ADA.phone}/read`)), { what: 'the read mark' });
  // The bot counts it unread after the socket showed it; a mark made before is made again.
  await page.waitForTimeout(1_000);
  await eventually(async () => (await conversation(ADA)).unread_count === 0, { what: 'nothing unread', timeout: 5_000 });
  assert.deepEqual(reads(page, from, '/messages'), [], 'nothing read: the socket brought it');
  assert.ok(latency < 3_000, `on the screen ${latency} ms after the webhook`);

  await page.evaluate(() => { location.hash = '#/conversations'; });
  const rows = page.locator('li.conversation');
  await rows.filter({ hasText: ADA.name }).waitFor();
  const listFrom = page.requests.length;
  // A new user, in chat support: a new row at the top, with the 💬 badge.
  await userSends(stack, GRACE.phone, GRACE.name, 'support');
  await rows.filter({ hasText: GRACE.name }).getByRole('img', { name: 'In chat support' }).waitFor({ timeout: 5_000 });
  await eventually(async () => (await rows.first().textContent()).includes(GRACE.name), { what: 'Grace first', timeout: 5_000 });
  // Ada writes again: her row moves to the top with the new preview and an unread count.
  await userWebhook(stack, ADA, text('And on bank holidays?'));
  const ada = rows.filter({ hasText: ADA.name });
  await ada.locator('.preview', { hasText: 'And on bank holidays?' }).waitFor({ timeout: 5_000 });
  await ada.getByLabel('1 unread message').waitFor({ timeout: 5_000 });
  assert.match(await rows.first().textContent(), /Ada Lovelace/);
  // The title's count follows, from the dashboard read again (at most every few seconds).
  await eventually(() => page.title().then((t) => /^\(\d+\) Conversations/.test(t)), { what: 'the unread count in the title', timeout: 10_000 });
  assert.deepEqual(reads(page, listFrom, '/conversations'), [], 'the list was not read again');
  assert.ok(reads(page, listFrom, '/dashboard').length <= 3, 'the dashboard read at most every few seconds');
  await page.screenshot({ path: join(artifacts, 'live-list.png') });
});

test('the header says Live; a dropped socket says Reconnecting…, comes back with a new ticket, and shows what it missed', async () => {
  await open(ADA);
  await isLive();
  assert.equal(await indicator().getAttribute('role'), 'status');
  assert.equal(await indicator().getAttribute('aria-live'), 'polite');
  const tickets = () => page.requests.filter(([method, path]) => method === 'POST' && path === '/api/admin/ws-ticket').length;
  const before = { tickets: tickets(), sockets: await page.evaluate(() => window.openedSockets.length) };
  // The socket cannot come back while the test holds the ticket.
  const release = await holdTickets(page);
  try {
    await dropSocket(page);
    await indicator().filter({ hasText: 'Reconnecting…' }).waitFor({ timeout: 5_000 });
    await page.screenshot({ path: join(artifacts, 'live-reconnecting.png'), clip: { x: 0, y: 0, width: 1280, height: 120 } });
    await userWebhook(stack, ADA, text('Sent while the desk was away'));
    await stored(ADA, 'Sent while the desk was away');
    await page.waitForTimeout(1_000);
    assert.equal(await bubble('Sent while the desk was away').count(), 0, 'nothing shows while the socket is down (polling is hourly here)');
  } finally {
    await release();
  }
  await isLive();
  await bubble('Sent while the desk was away').waitFor({ timeout: 5_000 });
  assert.ok(tickets() > before.tickets, 'a new ticket');
  assert.ok(await page.evaluate(() => window.openedSockets.length) > before.sockets, 'a new socket');
  // The new socket brings what comes next.
  await userWebhook(stack, ADA, text('Are you back?'));
  await bubble('Are you back?').waitFor({ timeout: 5_000 });
  await page.screenshot({ path: join(artifacts, 'live-header.png'), clip: { x: 0, y: 0, width: 1280, height: 120 } });
});

test('delivery ticks change as the statuses come: sent, delivered (the simulator’s webhook), read (a status webhook)', async () => {
  await open(ADA);
  await isLive();
  const from = page.requests.length;
  await page.getByRole('textbox', { name: 'Message' }).fill('We open at 10 on Sundays.');
  await page.getByRole('button', { name: 'Send' }).click();
  const mine = bubble('We open at 10 on Sundays.');
  await mine.getByRole('img', { name: 'Delivered' }).waitFor({ timeout: 5_000 });
  const { wamid } = await stored(ADA, 'We open at 10 on Sundays.');
  await statusWebhook(stack, ADA.phone, wamid, 'read');
  await mine.getByRole('img', { name: 'Read' }).waitFor({ timeout: 5_000 });
  assert.deepEqual(reads(page, from, '/messages'), [], 'the ticks came through the socket');
});

test('while its socket is down the page polls (every second here), and stops once it is back; signing out closes it', async () => {
  const p = await desk(1_000);
  await userSends(stack, LINUS.phone, LINUS.name, 'support');
  await eventually(async () => (await conversation(LINUS)).is_chat_support, { what: 'Linus in chat support' });
  await open(LINUS, p);
  await isLive(p);
  await p.waitForTimeout(1_500); // the bot's answer and its statuses come meanwhile
  let from = p.requests.length;
  await p.waitForTimeout(2_500);
  assert.deepEqual(reads(p, from, 'after='), [], 'no polling while live');

  const release = await holdTickets(p);
  try {
    await dropSocket(p);
    await indicator(p).filter({ hasText: 'Reconnecting…' }).waitFor({ timeout: 5_000 });
    from = p.requests.length;
    await userWebhook(stack, LINUS, text('Hello? Anyone?'));
    await bubble('Hello? Anyone?', p).waitFor({ timeout: 5_000 });
    assert.ok(reads(p, from, 'after=').length >= 1, 'polled');
  } finally {
    await release();
  }
  await isLive(p);
  await p.waitForTimeout(300); // the read on reconnecting
  from = p.requests.length;
  await p.waitForTimeout(2_500);
  assert.deepEqual(reads(p, from, '/api/admin/'), [], 'nothing read once live again');

  const tickets = () => p.requests.filter(([, path]) => path === '/api/admin/ws-ticket').length;
  await p.getByRole('button', { name: 'Sign out' }).click();
  await eventually(() => p.evaluate(() => window.openedSockets.at(-1).readyState === WebSocket.CLOSED), { what: 'the socket closed' });
  const after = tickets();
  await p.waitForTimeout(2_000);
  assert.equal(tickets(), after, 'no new ticket once signed out');
  assert.equal(await indicator(p).isVisible(), false);
  await p.context().close();
});

test('the page’s Content-Security-Policy names the socket’s origin, on either local host name', async () => {
  const csp = (await fetch(`${stack.url}/`)).headers.get('content-security-policy');
  const connect = csp.split(';').map((d) => d.trim().split(/\s+/)).find(([name]) => name === 'connect-src');
  const port = new URL(stack.url).port;
  for (const origin of [`ws://127.0.0.1:${port}`, `ws://localhost:${port}`]) {
    const [, host] = origin.split('//');
    assert.ok(connect.some((source) => source === origin || source === `ws://${host.split(':')[0]}:*`), `connect-src names ${origin}: ${connect.join(' ')}`);
  }
});

test('no console errors or page errors', () => {
  assert.deepEqual(problems, []);
});
