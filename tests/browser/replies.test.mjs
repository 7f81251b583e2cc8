// Read marks, typing, replies and reactions (DESIGN §14) in headless Chromium against the
// real local stack: the user writes through the simulator and, for replies and reactions,
// through signed webhooks carrying `context` and `reaction`.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { startStack, launchBrowser, userSends, eventually, artifacts } from './stack.mjs';
import { userWebhook, text, reaction, businessMessages } from './webhooks.mjs';

const ADA = { phone: '447700900711', name: 'Ada Lovelace' };

let stack;
let browser;
let page;
const problems = [];
const posts = []; // [path, body] of every POST the page made

before(async () => {
  mkdirSync(artifacts, { recursive: true });
  stack = await startStack();
  browser = await launchBrowser();
  const context = await browser.newContext({ viewport: { width: 1280, height: 800 } });
  page = await context.newPage();
  page.on('console', (msg) => { if (msg.type() === 'error') problems.push(`console: ${msg.text()}`); });
  page.on('pageerror', (err) => problems.push(`page error: ${err.message}`));
  page.on('request', (r) => {
    if (r.method() === 'POST') posts.push([new URL(r.url()).pathname, r.postDataJSON()]);
  });
  await page.goto(stack.url);
  await page.getByLabel('Username').fill(stack.username);
  await page.getByLabel('Password').fill(stack.password);
  await page.getByRole('button', { name: 'Sign in' }).click();
  await page.getByRole('heading', { name: 'Dashboard', level: 1 }).waitFor();
  await userSends(stack, ADA.phone, ADA.name, 'support');
  await eventually(async () => (await conversation()).is_chat_support, { what: 'Ada in chat support' });
});

after(async () => {
  await browser?.close();
  await stack?.stop();
});

async function apiGet(path) {
  const { token } = JSON.parse(await page.evaluate(() => sessionStorage.getItem('edubot.session')));
  return (await fetch(`${stack.url}${path}`, { headers: { authorization: `Bearer ${token}` } })).json();
}
const history = () => apiGet(`/api/admin/conversations/${ADA.phone}/messages?limit=200`);
const conversation = async () => (await history()).conversation || {};
const messageWith = async (body) => eventually(async () => (await history()).messages.find((m) => m.text === body), { what: `the message “${body}”` });

const path = (what) => `/api/admin/conversations/${ADA.phone}/${what}`;
const postsTo = (what) => posts.filter(([p]) => p === path(what));
const log = () => page.getByRole('log', { name: 'Messages' });
const bubble = (body) => log().locator('li.msg', { has: page.locator('.bubble > .text', { hasText: body }) });
const box = () => page.getByRole('textbox', { name: 'Message' });

async function open() {
  await page.evaluate((phone) => { location.hash = `#/conversations/${phone}`; }, ADA.phone);
  await page.getByRole('heading', { name: ADA.name, level: 1 }).waitFor();
  await box().and(page.locator(':enabled')).waitFor();
}

test('opening a conversation with unread messages marks them read, once; a new message is marked again, in a visible tab only', async () => {
  await userSends(stack, ADA.phone, ADA.name, 'When are the fees due?');
  // Counted unread by the bot (its preview and count change together), not only stored.
  await eventually(async () => {
    const c = await conversation();
    return c.unread_count >= 1 && c.last_message_preview === 'When are the fees due?';
  }, { what: 'an unread message' });
  await open();
  await bubble('When are the fees due?').waitFor();
  await eventually(() => postsTo('read').length === 1, { what: 'POST …/read' });
  await eventually(async () => (await conversation()).unread_count === 0, { what: 'the unread count back to 0' });
  await page.waitForTimeout(6_000); // a while: nothing new, nothing marked again
  assert.equal(postsTo('read').length, 1, 'no read mark without a newer user message');

  await userSends(stack, ADA.phone, ADA.name, 'And the exam dates?');
  await bubble('And the exam dates?').waitFor();
  await eventually(() => postsTo('read').length === 2, { what: 'a second read mark for the new message' });
  await eventually(async () => (await conversation()).unread_count === 0, { what: 'the unread count back to 0 again' });

  // A hidden tab marks nothing; the mark comes when the tab is shown again.
  const show = (state) => page.evaluate((s) => {
    Object.defineProperty(document, 'visibilityState', { value: s, configurable: true });
    Object.defineProperty(document, 'hidden', { value: s === 'hidden', configurable: true });
    document.dispatchEvent(new Event('visibilitychange'));
  }, state);
  await show('hidden');
  await userSends(stack, ADA.phone, ADA.name, 'Sorry, one more thing');
  await bubble('Sorry, one more thing').waitFor({ timeout: 15_000 });
  await page.waitForTimeout(500);
  assert.equal(postsTo('read').length, 2, 'not marked while the tab is hidden');
  assert.equal((await conversation()).unread_count, 1);
  await show('visible');
  await eventually(() => postsTo('read').length === 3, { what: 'the read mark when the tab is shown' });
  await eventually(async () => (await conversation()).unread_count === 0, { what: 'the unread count back to 0 once shown' });

  await page.evaluate(() => { location.hash = '#/conversations'; });
  const row = page.locator('li.conversation', { hasText: ADA.name });
  await row.waitFor();
  assert.equal(await row.locator('.unread').count(), 0, 'no unread badge in the list');
});

test('typing in the composer tells the user, at most once in 20 s', async () => {
  await open();
  const before = postsTo('typing').length;
  try {
    await box().pressSequentially('By Fri', { delay: 50 });
    await eventually(() => postsTo('typing').length === before + 1, { what: 'POST …/typing' });
    await box().pressSequentially('day', { delay: 300 });
    await page.waitForTimeout(500);
    assert.equal(postsTo('typing').length, before + 1, 'throttled on the page');
  } finally {
    await box().fill('');
  }
});

test('Reply quotes the message above the composer; the reply carries reply_to and shows the quote', async () => {
  const question = await messageWith('When are the fees due?');
  const target = bubble('When are the fees due?');
  await target.getByRole('button', { name: 'Reply', exact: true }).click();
  const bar = page.getByRole('group', { name: 'Replying to' });
  await bar.waitFor();
  assert.equal(await bar.locator('.reply-to-text').textContent(), `Replying to: ${ADA.name} “When are the fees due?”`);
  await bar.getByRole('button', { name: 'Cancel the reply' }).click();
  assert.equal(await bar.isVisible(), false);

  await target.getByRole('button', { name: 'Reply', exact: true }).click();
  await bar.waitFor();
  assert.equal(await page.evaluate(() => document.activeElement.id), 'message', 'the composer has the focus');
  await page.keyboard.type('By Friday, 5 pm.');
  await page.keyboard.press('Enter');
  const sent = bubble('By Friday, 5 pm.');
  await sent.waitFor();
  assert.deepEqual(postsTo('chat-support/send').at(-1)[1], { text: 'By Friday, 5 pm.', reply_to: question.id });
  assert.equal(await bar.isVisible(), false, 'the reply context is gone after sending');
  const quote = sent.locator('.quote');
  assert.equal(await quote.locator('.quote-author').textContent(), ADA.name);
  assert.equal(await quote.locator('.quote-text').textContent(), 'When are the fees due?');
  const onPhone = await eventually(async () => (await businessMessages(stack, ADA.phone)).find((m) => m.text?.body === 'By Friday, 5 pm.'), { what: 'the reply on the phone' });
  assert.equal(onPhone.context?.message_id, question.wamid, 'WhatsApp gets the context');
  const stored = await messageWith('By Friday, 5 pm.');
  assert.equal(stored.reply_to, question.id);
});

test('a user\'s reply quotes the admin\'s message', async () => {
  const answer = await eventually(async () => {
    const m = await messageWith('By Friday, 5 pm.');
    return m.wamid && m;
  }, { what: 'the reply\'s wamid' });
  await userWebhook(stack, ADA, text('Friday works, thanks', answer.wamid));
  const reply = bubble('Friday works, thanks');
  await reply.waitFor();
  assert.match(await reply.locator('.quote-author').textContent(), /admin \(you\)/);
  assert.equal(await reply.locator('.quote-text').textContent(), 'By Friday, 5 pm.');
  await page.screenshot({ path: join(artifacts, 'replies.png') });
});

test('a reaction shows on the message it reacts to, never as a bubble, and goes when taken back', async () => {
  const answer = await messageWith('By Friday, 5 pm.');
  const target = bubble('By Friday, 5 pm.');
  const bubbles = await log().locator('li.msg').count();
  await userWebhook(stack, ADA, reaction(answer.wamid, '👍'));
  const chip = target.locator('.reaction');
  await chip.waitFor();
  assert.equal(await chip.textContent(), '👍');
  assert.equal(await chip.getAttribute('title'), ADA.name);
  await eventually(async () => (await history()).messages.some((m) => m.kind === 'reaction'), { what: 'the reaction stored' });
  await page.waitForTimeout(3_000); // whatever else the reaction brings comes meanwhile
  assert.equal(await log().locator('li.msg').count(), bubbles, 'no bubble for the reaction');
  assert.equal(await log().getByText('[reaction]').count(), 0);
  await page.screenshot({ path: join(artifacts, 'reaction.png') });

  // Read afresh, the reaction comes from the server's summary on the target.
  await page.reload();
  await target.locator('.reaction', { hasText: '👍' }).waitFor();
  assert.equal(await log().locator('li.msg').count(), bubbles);

  await userWebhook(stack, ADA, reaction(answer.wamid, ''));
  await eventually(async () => (await target.locator('.reaction').count()) === 0, { what: 'the reaction taken back' });
});

test('a reply whose quoted message is not loaded says so; Reply is offered only on messages with a wamid', async () => {
  const phone = '447700900799';
  const iso = (ago) => new Date(Date.now() - ago).toISOString();
  const message = (n, fields) => ({
    id: `01JCCCCCCCCCCCCCCCCCCCCCC${n}`, direction: 'inbound', author: 'user', admin: null, kind: 'text', text: null,
    status: 'received', error: null, wamid: `wamid.Q${n}`, created_at: iso(60_000 - n), sent_at: iso(60_000 - n), media: null, reply_to: null, reactions: [], ...fields,
  });
  const fixture = {
    conversation: {
      phone, name: 'Quote Fixture', state: 'CHAT_SUPPORT_ACTIVE', is_chat_support: true, support_started_at: iso(120_000), waiting_since: null,
      last_message_at: iso(1_000), last_message_preview: 'About that', unread_count: 0, window_expires_at: iso(-3_600_000), assigned_to: null,
    },
    messages: [
      message(1, { text: 'About that', reply_to: '01JCCCCCCCCCCCCCCCCCCCCCC0', reactions: [{ emoji: '🙏', author: 'admin' }] }),
      message(2, { direction: 'outbound', author: 'system', kind: 'note', text: 'An internal note', wamid: null, status: 'sent' }),
    ],
    next_cursor: null,
  };
  const routes = {
    [`**/api/admin/conversations/${phone}/messages?**`]: (route) => route.fulfill({ json: fixture }),
    [`**/api/admin/conversations/${phone}/read`]: (route) => route.fulfill({ json: { conversation: fixture.conversation } }),
  };
  for (const [url, handler] of Object.entries(routes)) await page.route(url, handler);
  try {
    await page.evaluate((p) => { location.hash = `#/conversations/${p}`; }, phone);
    const quoted = log().locator('li.msg', { hasText: 'About that' });
    await quoted.locator('.quote-text').waitFor();
    assert.equal(await quoted.locator('.quote-text').textContent(), 'a previous message');
    assert.equal(await quoted.locator('.reaction').getAttribute('title'), 'Admin');
    assert.equal(await quoted.getByRole('button', { name: 'Reply', exact: true }).count(), 1);
    assert.equal(await log().locator('li.msg', { hasText: 'An internal note' }).getByRole('button', { name: 'Reply', exact: true }).count(), 0);
  } finally {
    for (const url of Object.keys(routes)) await page.unroute(url);
  }
});

test('no console errors or page errors', () => {
  assert.deepEqual(problems, []);
});
