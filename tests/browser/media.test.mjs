// Files in the admin page's history, in headless Chromium against the real local stack:
// a photo and a PDF a user sends through the simulator (the desk fetches them from the
// Graph stand-in into the local S3 server) shown as a thumbnail and a download; and every
// state of a file (being fetched, could not be kept, gone, each kind, an expired link, a
// file the browser cannot play) on a conversation the API answers with fixed data.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { startStack, launchBrowser, eventually, artifacts, trackSockets, pushEvent } from './stack.mjs';
import { png, pdf, wav } from './files.mjs';

const SAM = { phone: '447700900321', name: 'Sam Student' };
const HOSTILE = '<img src=x onerror=alert(1)>';
// A 2×2 PNG in the page's yellow and green, and a 1.5 KB PDF with binary bytes in it.
const RECEIPT = png(2, 2, (x, y) => ((x + y) % 2 ? [11, 110, 79] : [255, 243, 191]));
const CERTIFICATE = pdf(1536);

let stack;
let browser;
let context;
let page;
const problems = []; // console errors, page errors and dialogs, from every page
const allowed404 = new Set(); // resources a test answers 404 on purpose

function watch(p, label) {
  p.on('console', (msg) => {
    if (msg.type() !== 'error') return;
    const url = msg.location()?.url || '';
    if (msg.text().includes('status of 404') && [...allowed404].some((part) => url.includes(part))) return;
    problems.push(`${label} console: ${msg.text()} (${url})`);
  });
  p.on('pageerror', (err) => problems.push(`${label} page error: ${err.message}`));
  p.on('dialog', async (dialog) => {
    problems.push(`${label} unexpected ${dialog.type()} dialog: ${dialog.message()}`);
    await dialog.dismiss();
  });
}

async function signIn(p) {
  await p.goto(stack.url);
  await p.getByLabel('Username').fill(stack.username);
  await p.getByLabel('Password').fill(stack.password);
  await p.getByRole('button', { name: 'Sign in' }).click();
  await p.getByRole('heading', { name: 'Dashboard', level: 1 }).waitFor();
}

async function openConversation(p, phone, name) {
  await p.evaluate((ph) => { location.hash = `#/conversations/${ph}`; }, phone);
  await p.getByRole('heading', { name, level: 1 }).waitFor();
  return p.getByRole('log', { name: 'Messages' });
}

/** The WhatsApp user sends a file (with a caption), through the simulator. */
async function userSendsFile(who, { filename, mimeType, bytes }, caption) {
  const body = { phone: who.phone, name: who.name, file: { filename, mime_type: mimeType, data_base64: bytes.toString('base64') } };
  if (caption) body.caption = caption;
  const response = await fetch(`${stack.url}/simulator/api/send`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify(body),
  });
  if (!response.ok) throw new Error(`simulator send of ${filename}: ${response.status} ${await response.text()}`);
}

/** The admin API with the page's own token. */
async function apiGet(p, path) {
  const { token } = JSON.parse(await p.evaluate(() => sessionStorage.getItem('edubot.session')));
  const response = await fetch(`${stack.url}${path}`, { headers: { authorization: `Bearer ${token}` } });
  return response.json();
}

/** Waits until an `<img>` has loaded; its natural width. */
async function loaded(img) {
  await img.waitFor();
  return eventually(() => img.evaluate((el) => (el.complete && el.naturalWidth > 0 ? el.naturalWidth : 0)), { what: 'the image to load' });
}

async function downloadBytes(link) {
  const [download] = await Promise.all([link.page().waitForEvent('download'), link.click()]);
  return { name: download.suggestedFilename(), bytes: readFileSync(await download.path()) };
}

before(async () => {
  mkdirSync(artifacts, { recursive: true });
  stack = await startStack();
  browser = await launchBrowser();
  context = await browser.newContext({ viewport: { width: 1280, height: 800 } });
  await trackSockets(context); // the fixture's changes are pushed into the page's socket
  page = await context.newPage();
  watch(page, 'desktop');
  await signIn(page);
});

after(async () => {
  await browser?.close();
  await stack?.stop();
});

test('a photo and a PDF from the user: a thumbnail that opens full size, and a download with name and size', async () => {
  await userSendsFile(SAM, { filename: 'receipt.png', mimeType: 'image/png', bytes: RECEIPT }, 'My fee receipt');
  await userSendsFile(SAM, { filename: 'certificate.pdf', mimeType: 'application/pdf', bytes: CERTIFICATE });
  // Both messages are stored (their files may still be being fetched: the page shows either).
  await eventually(async () => {
    const answer = await apiGet(page, `/api/admin/conversations/${SAM.phone}/messages?limit=10`);
    return (answer.messages || []).filter((m) => m.media).length === 2;
  }, { what: 'the two messages with files' });
  const log = await openConversation(page, SAM.phone, SAM.name);
  const photo = log.getByRole('img', { name: 'My fee receipt' });
  try {
    await photo.waitFor({ timeout: 30_000 });
    assert.equal(await loaded(photo), 2, 'the 2×2 PNG is shown');
  } catch (e) {
    const messages = await apiGet(page, `/api/admin/conversations/${SAM.phone}/messages?limit=10`);
    throw new Error(`${e.message}\nthe API's messages: ${JSON.stringify(messages.messages?.map((m) => [m.kind, m.media]))}`);
  }
  // The thumbnail's link is the stored object itself, byte for byte.
  const src = await photo.getAttribute('src');
  assert.deepEqual(Buffer.from(await (await fetch(src)).arrayBuffer()), RECEIPT);
  const full = log.getByRole('link', { name: 'Open the photo full size: My fee receipt' });
  assert.equal(await full.getAttribute('href'), src);
  assert.equal(await full.getAttribute('target'), '_blank');
  // The caption is shown as text; the message's summary ("[image] My fee receipt") is not.
  await log.locator('.caption', { hasText: 'My fee receipt' }).waitFor();
  assert.equal(await log.getByText('[image]').count(), 0);

  const document = log.getByRole('link', { name: 'Download certificate.pdf · 1.5 KB' });
  await eventually(() => document.getAttribute('href'), { what: 'the PDF\'s link' });
  const { name, bytes } = await downloadBytes(document);
  assert.equal(name, 'certificate.pdf', 'downloaded under its own name');
  assert.deepEqual(bytes, CERTIFICATE, 'the PDF downloads byte for byte');
  assert.equal(await page.getByRole('heading', { name: SAM.name, level: 1 }).isVisible(), true, 'the desk stays open');
  await page.screenshot({ path: join(artifacts, 'media-desktop.png') });
});

// ---- every state of a file, on a conversation with fixed data ----

const FIXTURE = { phone: '447700900555', name: 'Fixture Files' };
const id = (n) => `01JCCCCCCCCCCCCCCCCCCCCCC${n}`;
const iso = (ms) => new Date(ms).toISOString();
const media = (fields) => ({ mime_type: null, size: null, filename: null, caption: null, status: 'stored', error: null, ...fields });

/** The files the fixture's links serve; `lifeMs`: how long each link is said to last. */
const FILES = {
  [id(1)]: { type: 'image/png', bytes: RECEIPT, lifeMs: 300_000 },
  [id(2)]: { type: 'image/png', bytes: png(4, 4, () => [26, 95, 208]), lifeMs: 300_000 },
  [id(3)]: { type: 'audio/wav', bytes: wav(200), lifeMs: 300_000 },
  [id(4)]: { type: 'video/mp4', bytes: Buffer.from('not a video'), lifeMs: 300_000 },
  // Said to expire in 10 s: already inside the page's margin, so a click asks for a new one.
  [id(5)]: { type: 'application/pdf', bytes: CERTIFICATE, lifeMs: 10_000, download: 'certificate.pdf' },
  [id(6)]: { type: 'image/png', bytes: png(3, 2, () => [180, 35, 24]), lifeMs: 300_000 },
  [id(9)]: { type: 'image/png', bytes: png(2, 3, () => [8, 81, 58]), lifeMs: 300_000 },
};

function fixtureMessages(now) {
  const message = (n, fields) => ({
    id: id(n), direction: 'inbound', author: 'user', admin: null, kind: 'text', text: null, status: 'received',
    error: null, wamid: `wamid.F${n}`, created_at: iso(now - (10 - n) * 60_000), sent_at: iso(now - (10 - n) * 60_000),
    media: null, reply_to: null, reactions: [], ...fields,
  });
  return [
    message(1, { kind: 'image', text: '[image] My fee receipt', media: media({ mime_type: 'image/png', size: RECEIPT.length, caption: 'My fee receipt' }) }),
    message(2, { kind: 'sticker', text: '[sticker]', media: media({ mime_type: 'image/webp', size: 412 }) }),
    message(3, { kind: 'audio', text: '[audio]', media: media({ mime_type: 'audio/ogg; codecs=opus', size: 1_700 }) }),
    message(4, { kind: 'video', text: `[video] ${HOSTILE}`, media: media({ mime_type: 'video/mp4', size: 11, caption: HOSTILE }) }),
    message(5, { kind: 'document', text: '[document] certificate.pdf', media: media({ mime_type: 'application/pdf', size: 1_258_291, filename: 'certificate.pdf' }) }),
    message(6, { kind: 'image', text: '[image]', media: media({ mime_type: 'image/jpeg', status: 'pending' }) }),
    message(7, { kind: 'document', text: '[document] marks.xlsx', media: media({ filename: 'marks.xlsx', status: 'failed', error: { code: '131052', title: 'Media download error' } }) }),
    message(8, { kind: 'image', text: '[image]', media: media({ mime_type: 'image/jpeg', size: 52_000 }) }),
    message(9, { direction: 'outbound', author: 'admin', admin: 'admin', kind: 'image', text: 'Your timetable', status: 'read', media: media({ mime_type: 'image/png', size: 80, caption: 'Your timetable' }) }),
  ];
}

/** Answers the fixture's conversation, its files' links and the files, in `ctx` (popups too). */
async function serveFixture(ctx) {
  const now = Date.now();
  const state = {
    linkCalls: {},
    conversation: {
      phone: FIXTURE.phone, name: FIXTURE.name, state: 'CHAT_SUPPORT_ACTIVE', is_chat_support: true,
      support_started_at: iso(now - 600_000), waiting_since: null, last_message_at: iso(now - 60_000),
      last_message_preview: 'Your timetable', unread_count: 0, window_expires_at: iso(now + 3_600_000), last_rating: null,
      assigned_to: null,
    },
    messages: fixtureMessages(now),
  };
  allowed404.add(`/messages/${id(8)}/media`);
  await ctx.route(`**/api/admin/conversations/${FIXTURE.phone}/messages?**`, (route) => route.fulfill({
    json: { conversation: state.conversation, messages: state.messages, next_cursor: null },
  }));
  await ctx.route(`**/api/admin/conversations/${FIXTURE.phone}/messages/*/media`, (route) => {
    const messageId = new URL(route.request().url()).pathname.split('/').at(-2);
    const calls = (state.linkCalls[messageId] || 0) + 1;
    state.linkCalls[messageId] = calls;
    const file = FILES[messageId];
    const stored = state.messages.find((m) => m.id === messageId)?.media?.status === 'stored';
    if (!file || !stored) {
      route.fulfill({ status: 404, json: { error: { code: 'not_found', message: 'This message has no stored file.' } } });
      return;
    }
    route.fulfill({ json: { url: `${stack.url}/fixture-files/${messageId}?link=${calls}`, mime_type: file.type, expires_at: iso(Date.now() + file.lifeMs) } });
  });
  await ctx.route(`**/api/admin/conversations/${FIXTURE.phone}/read`, (route) => route.fulfill({ json: { conversation: state.conversation } }));
  await ctx.route('**/fixture-files/**', (route) => {
    const file = FILES[new URL(route.request().url()).pathname.split('/').at(-1)];
    const headers = { 'cache-control': 'no-store' };
    if (file.download) headers['content-disposition'] = `attachment; filename="${file.download}"`;
    route.fulfill({ status: 200, contentType: file.type, headers, body: file.bytes });
  });
  return state;
}

test('each state and kind of file: fetching, kept, not kept, gone; players, a renewed link, a file the browser cannot play', async () => {
  const state = await serveFixture(context);
  const log = await openConversation(page, FIXTURE.phone, FIXTURE.name);
  const bubble = (n) => log.locator(`li[data-id="${id(n)}"]`);

  // An image: a thumbnail with its caption as the alt text, opening full size in a new tab.
  assert.equal(await loaded(bubble(1).getByRole('img', { name: 'My fee receipt' })), 2);
  assert.equal(await bubble(1).locator('.caption').textContent(), 'My fee receipt');
  const [full] = await Promise.all([
    context.waitForEvent('page'),
    bubble(1).getByRole('link', { name: 'Open the photo full size: My fee receipt' }).click(),
  ]);
  await full.waitForURL(`**/fixture-files/${id(1)}?link=1`);
  await full.close();
  // A sticker without caption: named for what it is.
  assert.equal(await loaded(bubble(2).getByRole('img', { name: 'Sticker from the user' })), 4);
  // Audio: the browser's player, with the file loaded.
  const audio = bubble(3).locator('audio[controls]');
  assert.equal(await audio.getAttribute('aria-label'), 'Audio from the user');
  await eventually(() => audio.evaluate((el) => el.readyState >= 1), { what: 'the audio\'s metadata' });
  // A video the browser cannot play: one new link is tried, then a way to open the file.
  await bubble(4).getByText('The file could not be shown here.').waitFor();
  await bubble(4).getByRole('link', { name: 'Open the video in a new tab' }).waitFor();
  assert.equal(state.linkCalls[id(4)], 2);
  await bubble(4).getByText(HOSTILE, { exact: true }).waitFor();
  assert.equal(await log.locator('img[src="x"]').count(), 0, 'a caption is text, never HTML');
  // A document: its name and size; its link had expired, so the click asks for a new one first.
  const document = bubble(5).getByRole('link', { name: 'Download certificate.pdf · 1.2 MB' });
  await eventually(() => document.getAttribute('href'), { what: 'the document\'s link' });
  assert.equal(state.linkCalls[id(5)], 1);
  const { name, bytes } = await downloadBytes(document);
  assert.equal(name, 'certificate.pdf');
  assert.deepEqual(bytes, CERTIFICATE);
  assert.equal(state.linkCalls[id(5)], 2, 'a new link for the click');
  assert.match(await document.getAttribute('href'), /link=2$/);
  // Not kept, and gone.
  await bubble(7).getByText('The file could not be kept: Media download error').waitFor();
  await bubble(8).getByText('The file is not available.').waitFor();
  // What an admin sent: named as sent to the user.
  assert.equal(await loaded(bubble(9).getByRole('img', { name: 'Your timetable' })), 2);
  // The summaries in `text` are not shown for files.
  assert.equal(await log.getByText(/^\[(image|sticker|audio|video|document)\]/).count(), 0);

  // Being fetched: a placeholder, replaced by the photo once the page reads it as stored.
  await bubble(6).getByText('Fetching the file…').waitFor();
  assert.equal(state.linkCalls[id(6)], undefined, 'no link is asked for while the file is fetched');
  await page.screenshot({ path: join(artifacts, 'media-states.png') });
  await log.evaluate((el) => { el.scrollTop = el.scrollHeight; });
  state.messages[5] = { ...state.messages[5], media: { ...state.messages[5].media, status: 'stored', size: 70 } };
  await pushEvent(page, { type: 'message', phone: FIXTURE.phone, message: state.messages[5] });
  assert.equal(await loaded(bubble(6).getByRole('img', { name: 'Photo from the user' })), 3);
  assert.equal(await bubble(6).getByText('Fetching the file…').count(), 0);
  const atNewest = await log.evaluate((el) => el.scrollHeight - el.scrollTop - el.clientHeight < 2);
  assert.ok(atNewest, 'the history stays at the newest message as files appear');
  await page.screenshot({ path: join(artifacts, 'media-fixture.png') });
});

test('files on a phone (375 px): no sideways scrolling and 44 px targets', async () => {
  const phoneContext = await browser.newContext({ viewport: { width: 375, height: 667 }, isMobile: true, hasTouch: true, deviceScaleFactor: 2 });
  const phone = await phoneContext.newPage();
  watch(phone, 'phone');
  try {
    const state = await serveFixture(phoneContext);
    state.messages[5].media.status = 'stored';
    await signIn(phone);
    const log = await openConversation(phone, FIXTURE.phone, FIXTURE.name);
    await loaded(log.getByRole('img', { name: 'Your timetable' }));
    await log.getByRole('link', { name: 'Download certificate.pdf · 1.2 MB' }).waitFor();
    const layout = await phone.evaluate(() => {
      const small = [];
      for (const el of document.querySelectorAll('.history a[href], .history button, .history audio, .history video')) {
        const r = el.getBoundingClientRect();
        if (r.width === 0 && r.height === 0) continue;
        if (r.width < 43.5 || r.height < 43.5) small.push(`${el.tagName.toLowerCase()} "${(el.textContent || el.getAttribute('aria-label') || '').trim().slice(0, 30)}" ${Math.round(r.width)}×${Math.round(r.height)}`);
      }
      const wide = [...document.querySelectorAll('.bubble')].filter((b) => b.scrollWidth > b.clientWidth + 1).length;
      return { scrollWidth: document.scrollingElement.scrollWidth, innerWidth: window.innerWidth, small, wide };
    });
    assert.ok(layout.scrollWidth <= layout.innerWidth, `the page is ${layout.scrollWidth} px wide in ${layout.innerWidth}`);
    assert.equal(layout.wide, 0, 'nothing sticks out of a bubble');
    assert.deepEqual(layout.small, [], 'targets under 44 px');
    await phone.screenshot({ path: join(artifacts, 'media-phone.png') });
  } finally {
    await phoneContext.close();
  }
});

test('no console errors, page errors or dialogs', () => {
  assert.deepEqual(problems, []);
});
