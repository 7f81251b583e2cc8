// The admin page in headless Chromium against the real local stack, used the way an admin
// uses it: by labels, roles and visible text. Users are driven through the WhatsApp
// simulator, so every webhook is signed by the stack itself.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { startStack, launchBrowser, userSends, userReceived, eventually, artifacts, repoRoot, trackSockets, pushEvent } from './stack.mjs';
import { checkLayout } from './desk.mjs';

const ADA = { phone: '447700900123', name: 'Ada Lovelace' };
const GRACE = { phone: '447700900456', name: 'Grace Hopper' };
const HOSTILE = '<img src=x onerror=alert(1)>';

let stack;
let browser;
let page;
const problems = []; // console errors, page errors and unexpected dialogs, from every page
let allow401 = false; // set while a test provokes a 401 on purpose
const provoked = new Set(); // other statuses a test provokes on purpose, while it does

function watch(p, label) {
  p.on('console', (msg) => {
    if (msg.type() !== 'error') return;
    const text = msg.text();
    const url = msg.location()?.url || '';
    // Chromium logs every non-2xx answer; these two are provoked on purpose.
    if (text.includes('status of 401') && (url.endsWith('/api/admin/login') || allow401)) return;
    if ([...provoked].some((status) => text.includes(`status of ${status}`))) return;
    problems.push(`${label} console: ${text} (${url})`);
  });
  p.on('pageerror', (err) => problems.push(`${label} page error: ${err.message}`));
  p.on('dialog', async (dialog) => {
    problems.push(`${label} unexpected ${dialog.type()} dialog: ${dialog.message()}`);
    await dialog.dismiss();
  });
}

async function signIn(p, password = stack.password) {
  await p.getByLabel('Username').fill(stack.username);
  await p.getByLabel('Password').fill(password);
  await p.getByRole('button', { name: 'Sign in' }).click();
}

/** The admin API with the page's own token, to wait for what the stack does in the background. */
async function apiGet(p, path) {
  const { token } = JSON.parse(await p.evaluate(() => sessionStorage.getItem('edubot.session')));
  const response = await fetch(`${stack.url}${path}`, { headers: { authorization: `Bearer ${token}` } });
  return response.json();
}

const conversationRow = (p, who) => p.locator('li.conversation', { hasText: who.name });
const messages = (p) => p.getByRole('log', { name: 'Messages' });

before(async () => {
  mkdirSync(artifacts, { recursive: true });
  stack = await startStack();
  browser = await launchBrowser();
  const context = await browser.newContext({ viewport: { width: 1280, height: 800 } });
  await trackSockets(context); // the fixtures' changes are pushed into the page's socket
  page = await context.newPage();
  watch(page, 'desktop');
});

after(async () => {
  await browser?.close();
  await stack?.stop();
});

/**
 * The page's weight budgets (docs/admin-page.md, "Weight"): what a sign-in loads (the page,
 * its stylesheet and every module the dashboard, the list and a conversation need), and the
 * whole site (with what is loaded only when first needed: Team, Activity, Reports, canned
 * replies, and the template composer).
 */
const SIGN_IN_BUDGET = 139 * 1024;
const SITE_BUDGET = 188 * 1024;
const TEMPLATE_MODULES = ['/js/template-composer.js', '/js/template-text.js'];
const LOADED_LATER = ['/js/team.js', '/js/activity.js', '/js/reports.js', '/js/canned-replies.js', '/js/view-styles.js', '/views.css', ...TEMPLATE_MODULES];

/** Every file of static-site/, by its path on the site, with its size. */
function siteFiles() {
  const site = join(repoRoot, 'static-site');
  const files = new Map();
  const walk = (dir, prefix) => {
    for (const f of readdirSync(dir)) {
      const s = statSync(join(dir, f));
      if (s.isDirectory()) walk(join(dir, f), `${prefix}${f}/`);
      else files.set(`${prefix}${f}`, s.size);
    }
  };
  walk(site, '/');
  return files;
}

test('the page is served with the security headers', async () => {
  const response = await fetch(`${stack.url}/`);
  assert.equal(response.status, 200);
  const csp = response.headers.get('content-security-policy');
  assert.match(csp, /script-src 'self'/);
  assert.doesNotMatch(csp, /unsafe-inline/);
  assert.match(csp, /frame-ancestors 'none'/);
  assert.equal(response.headers.get('x-content-type-options'), 'nosniff');
  assert.ok(response.headers.get('referrer-policy'));
  assert.equal(response.headers.get('x-frame-options'), 'DENY');
});

/** A conversation the API answers with fixed data (on page `p`): a user who wrote 3 days ago. */
async function closedWindow(p, phone) {
  const iso = (ms) => new Date(ms).toISOString();
  const wrote = Date.now() - 3 * 24 * 3_600_000;
  const conversation = {
    phone, name: 'Late User', state: 'MAIN_MENU', is_chat_support: false,
    support_started_at: null, waiting_since: null, last_message_at: iso(wrote),
    last_message_preview: 'Hello?', unread_count: 0, window_expires_at: iso(wrote + 24 * 3_600_000), last_rating: null,
  };
  const messages = [{ id: '01JCCCCCCCCCCCCCCCCCCCCCC1', direction: 'inbound', author: 'user', admin: null, kind: 'text', text: 'Hello?', status: 'received', error: null, wamid: 'wamid.D', created_at: iso(wrote), sent_at: iso(wrote) }];
  await p.route(`**/api/admin/conversations/${phone}/messages?**`, (route) => route.fulfill({ json: { conversation, messages, next_cursor: null } }));
  await p.route(`**/api/admin/conversations/${phone}/read`, (route) => route.fulfill({ json: { conversation } }));
}

test('a sign-in loads what the desk needs within its budget; Team, Activity and the template composer load when needed', async () => {
  const files = siteFiles();
  const whole = [...files.values()].reduce((a, b) => a + b, 0);
  assert.ok(whole < SITE_BUDGET, `static-site/ is ${whole} bytes, over ${SITE_BUDGET}`);
  for (const later of LOADED_LATER) assert.ok(files.has(later), `${later} exists`);
  const context = await browser.newContext();
  const p = await context.newPage();
  const loaded = new Set();
  p.on('requestfinished', (r) => {
    const url = new URL(r.url());
    if (url.origin === stack.url && !url.pathname.startsWith('/api/')) loaded.add(url.pathname === '/' ? '/index.html' : url.pathname);
  });
  try {
    await p.goto(stack.url);
    await signIn(p);
    await p.getByRole('heading', { name: 'Dashboard', level: 1 }).waitFor();
    await p.waitForLoadState('networkidle');
    for (const path of loaded) assert.ok(files.has(path), `${path} is a file of the site`);
    const atSignIn = [...loaded].reduce((n, path) => n + files.get(path), 0);
    console.log(`sign-in loads ${atSignIn} bytes in ${loaded.size} files; the whole site is ${whole} bytes`);
    assert.ok(atSignIn < SIGN_IN_BUDGET, `a sign-in loads ${atSignIn} bytes, over ${SIGN_IN_BUDGET}`);
    assert.ok(loaded.has('/js/composer.js') && loaded.has('/js/canned-picker.js'), 'the conversation page is ready');
    assert.deepEqual(LOADED_LATER.filter((path) => loaded.has(path)), [], 'what is loaded when first needed is not loaded at sign-in');
    // Opening Team loads its module and the views' stylesheet, once.
    await p.getByRole('link', { name: 'Team' }).click();
    await p.getByRole('heading', { name: 'Team', level: 1 }).waitFor();
    assert.ok(loaded.has('/js/team.js') && loaded.has('/views.css'));
    assert.deepEqual(['/js/activity.js', ...TEMPLATE_MODULES].filter((path) => loaded.has(path)), []);
    // A conversation whose window has closed loads the template composer.
    await closedWindow(p, '447700900996');
    await p.evaluate(() => { location.hash = '#/conversations/447700900996'; });
    await p.getByRole('form', { name: 'Send a template' }).getByText('The 24-hour reply window is closed').waitFor();
    assert.deepEqual(TEMPLATE_MODULES.filter((path) => !loaded.has(path)), []);
  } finally {
    await context.close();
  }
});

test('while the template composer loads its place says so, with the templates asked for at once; one that could not be loaded offers Try again', async () => {
  const context = await browser.newContext();
  const p = await context.newPage();
  const errors = [];
  p.on('pageerror', (err) => errors.push(err.message));
  p.on('console', (msg) => {
    if (msg.type() === 'error' && !msg.text().includes('net::ERR_FAILED')) errors.push(msg.text()); // the refused module
  });
  let refuse;
  const refused = new Promise((resolve) => { refuse = resolve; });
  let asked = 0;
  await p.route('**/js/template-composer.js', async (route) => {
    asked += 1;
    await refused;
    await route.abort();
  });
  try {
    await p.goto(stack.url);
    await signIn(p);
    await p.getByRole('heading', { name: 'Dashboard', level: 1 }).waitFor();
    await closedWindow(p, '447700900995');
    const templatesAsked = p.waitForRequest((r) => new URL(r.url()).pathname === '/api/admin/templates', { timeout: 10_000 });
    await p.evaluate(() => { location.hash = '#/conversations/447700900995'; });
    await p.getByRole('heading', { name: 'Late User', level: 1 }).waitFor();
    await p.getByText('Loading…').waitFor();
    await templatesAsked; // while the module is held: both asked at once
    assert.equal(await p.getByRole('textbox', { name: 'Message' }).isVisible(), false, 'no free-form composer meanwhile');
    refuse();
    await p.getByRole('alert').getByText('The template form could not be loaded. Check the connection.').waitFor();
    assert.equal(await p.getByRole('form', { name: 'Send a template' }).count(), 0);
    await p.waitForTimeout(1_500); // the page's clock ticks, and asks for the module no more
    assert.equal(asked, 1);
    await p.unroute('**/js/template-composer.js');
    await p.getByRole('button', { name: 'Try again' }).click();
    const templates = p.getByRole('form', { name: 'Send a template' });
    await templates.getByLabel('Template').locator('option', { hasText: 'support_followup (en_US)' }).waitFor({ state: 'attached' });
    assert.equal(await p.getByRole('alert').count(), 0);
    assert.equal(await p.getByText('Loading…').count(), 0);
    assert.deepEqual(errors, []);
  } finally {
    await context.close();
  }
});

test('a wrong password shows an alert and stays on sign-in', async () => {
  await page.goto(stack.url);
  await signIn(page, 'not the password');
  const alert = page.getByRole('alert');
  await alert.waitFor();
  assert.match(await alert.textContent(), /Wrong username or password/);
  assert.equal(await page.getByRole('heading', { name: 'Sign in' }).count(), 1);
  assert.equal(await page.evaluate(() => sessionStorage.getItem('edubot.session')), null);
});

test('signing in by keyboard opens the dashboard, with no banner while nobody is in chat support', async () => {
  await page.goto(stack.url);
  await page.getByLabel('Username').focus();
  await page.keyboard.type(stack.username);
  await page.keyboard.press('Tab');
  await page.keyboard.type(stack.password);
  await page.keyboard.press('Enter');
  await page.getByRole('heading', { name: 'Dashboard', level: 1 }).waitFor();
  await page.getByText('No users are in chat support right now.').waitFor();
  assert.equal(await page.getByRole('region', { name: 'Support Alert' }).count(), 0);
  assert.ok(await page.evaluate(() => JSON.parse(sessionStorage.getItem('edubot.session')).token));
  assert.equal(await page.getByRole('button', { name: 'Sign out' }).isVisible(), true);
});

test('the yellow Support Alert banner shows users in chat support and links to them', async () => {
  await userSends(stack, GRACE.phone, GRACE.name, 'hi');
  await userSends(stack, ADA.phone, ADA.name, 'hi');
  await userSends(stack, ADA.phone, ADA.name, 'support');
  await eventually(async () => (await apiGet(page, '/api/admin/dashboard')).active_chats === 1, { what: 'Ada in chat support' });
  // The dashboard follows the socket's events.
  const banner = page.getByRole('region', { name: 'Support Alert' });
  await banner.waitFor({ timeout: 15_000 });
  const text = await banner.textContent();
  assert.match(text, /1 user in chat support/);
  assert.match(text, /0 waiting longer than the 5 min target/);
  assert.match(text, /Oldest wait/);
  const background = await banner.evaluate((el) => getComputedStyle(el).backgroundColor);
  assert.equal(background, 'rgb(255, 243, 191)', 'the banner is yellow');
  await page.screenshot({ path: join(artifacts, 'dashboard.png'), fullPage: true });
  await banner.getByRole('link', { name: 'Open chat-support conversations' }).click();
  await page.getByRole('heading', { name: 'Conversations', level: 1 }).waitFor();
  assert.equal(await page.getByLabel('Chat support', { exact: true }).isChecked(), true);
  await conversationRow(page, ADA).waitFor();
  assert.equal(await conversationRow(page, GRACE).count(), 0);
});

test('the list marks chat support with 💬, most recent first, with search, filter and the unread count in the title', async () => {
  await page.getByLabel('All', { exact: true }).check();
  await conversationRow(page, GRACE).waitFor();
  const rows = page.locator('li.conversation');
  assert.equal(await rows.count(), 2);
  assert.match(await rows.nth(0).textContent(), new RegExp(ADA.name), 'most recent first');
  const ada = conversationRow(page, ADA);
  const badge = ada.getByRole('img', { name: 'In chat support' });
  assert.equal(await badge.textContent(), '💬');
  assert.match(await ada.textContent(), /Waiting/);
  assert.match(await ada.textContent(), /\+447700900123/);
  assert.equal(await ada.getByLabel('1 unread message').textContent(), '1');
  const grace = conversationRow(page, GRACE);
  assert.equal(await grace.getByRole('img', { name: 'In chat support' }).count(), 0);
  assert.doesNotMatch(await grace.textContent(), /💬|Waiting/);
  await eventually(async () => (await page.title()).startsWith('(1) '), { what: 'the unread count in the title' });

  // Search asks the server (desk.test.mjs searches beyond what the list loaded).
  await page.getByLabel('Search by name or phone').fill('grace');
  await page.getByText('1 conversation matches “grace”.').waitFor();
  assert.equal(await rows.count(), 1);
  await grace.waitFor();
  await page.getByLabel('Search by name or phone').fill('+44 7700 900123');
  await page.getByText('1 conversation matches “+44 7700 900123”.').waitFor();
  assert.equal(await rows.count(), 1);
  await ada.waitFor();
  await page.getByLabel('Search by name or phone').fill('');
  await eventually(async () => (await rows.count()) === 2, { what: 'both rows again' });
});

test('a hostile message is shown as literal text and runs nothing', async () => {
  await userSends(stack, ADA.phone, ADA.name, HOSTILE);
  await conversationRow(page, ADA).getByRole('link').click();
  await page.getByRole('heading', { name: ADA.name, level: 1 }).waitFor();
  const log = messages(page);
  await log.getByText(HOSTILE, { exact: true }).waitFor();
  assert.equal(await log.locator('img').count(), 0);
  assert.equal(await page.evaluate(() => document.querySelectorAll('img').length), 0);
  // The bot's messages and the user's are both there, each with its author.
  await log.getByText('support', { exact: true }).first().waitFor();
  assert.ok(await log.locator('.author', { hasText: 'EduBot' }).count() > 0);
  assert.ok(await log.locator('.author', { hasText: ADA.name }).count() > 0);
  assert.equal(problems.length, 0, problems.join('\n'));
});

test('Send and Enter reach the Graph stand-in; Shift+Enter starts a new line; ticks follow', async () => {
  const box = page.getByRole('textbox', { name: 'Message' });
  assert.equal(await box.isEnabled(), true);
  assert.match(await page.locator('#composer-reason').textContent(), /Reply window closes in 2\d h|Reply window closes in 23 h/);
  await box.click();
  await page.keyboard.type('Hello Ada,');
  await page.keyboard.press('Shift+Enter');
  await page.keyboard.type('how can I help? 👋');
  assert.equal(await box.inputValue(), 'Hello Ada,\nhow can I help? 👋');
  assert.match(await page.locator('#composer-counter').textContent(), /^28 \/ 4096$/, 'code points, as the API counts');
  await page.keyboard.press('Enter');
  const log = messages(page);
  await log.getByText('how can I help? 👋').waitFor();
  assert.equal(await box.inputValue(), '');
  await eventually(async () => (await userReceived(stack, ADA.phone)).includes('Hello Ada,\nhow can I help? 👋'), { what: 'the reply on the user\'s phone' });

  await box.fill('The fees are on our website.');
  await page.getByRole('button', { name: 'Send' }).click();
  await log.getByText('The fees are on our website.').waitFor();
  await eventually(async () => (await userReceived(stack, ADA.phone)).includes('The fees are on our website.'), { what: 'the second reply on the user\'s phone' });
  const bubble = log.locator('li.msg', { hasText: 'how can I help?' });
  assert.match(await bubble.locator('.author').textContent(), /admin \(you\)/);
  // The phone showed both replies, so they are read: the ticks say so without a reload.
  await bubble.getByRole('img', { name: 'Read' }).waitFor({ timeout: 20_000 });
});

test('a reply from the user appears without reloading', async () => {
  await page.evaluate(() => { window.notReloaded = true; });
  await userSends(stack, ADA.phone, ADA.name, 'Thanks! When are the fees due?');
  const started = Date.now();
  await messages(page).getByText('Thanks! When are the fees due?').waitFor({ timeout: 5_000 });
  assert.ok(Date.now() - started < 5_000);
  assert.equal(await page.evaluate(() => window.notReloaded), true);
  await page.waitForTimeout(300);
  await page.screenshot({ path: join(artifacts, 'conversation.png') });
});

test('ending the chat asks first, then says so, closes the composer and keeps the history', async () => {
  await page.getByRole('button', { name: 'End Chat Support' }).click();
  const dialog = page.getByRole('dialog');
  await dialog.waitFor();
  await dialog.getByRole('button', { name: 'Cancel' }).click();
  assert.equal(await dialog.isVisible(), false);
  assert.equal(await page.getByRole('textbox', { name: 'Message' }).isEnabled(), true);

  await page.getByRole('button', { name: 'End Chat Support' }).click();
  await dialog.getByRole('button', { name: 'End chat' }).click();
  await page.getByText('The chat has ended').first().waitFor();
  const box = page.getByRole('textbox', { name: 'Message' });
  assert.equal(await box.isDisabled(), true);
  assert.equal(await page.getByRole('button', { name: 'Send' }).isDisabled(), true);
  assert.match(await page.locator('#composer-reason').textContent(), /chat has ended/);
  assert.equal(await page.getByRole('button', { name: 'End Chat Support' }).isVisible(), false);
  const log = messages(page);
  await log.getByText(HOSTILE, { exact: true }).waitFor();
  await log.getByText('how can I help? 👋').waitFor();
  const state = await apiGet(page, `/api/admin/conversations/${ADA.phone}/messages?limit=1`);
  assert.equal(state.conversation.is_chat_support, false);
  await page.screenshot({ path: join(artifacts, 'conversation-ended.png') });
});

test('a long history opens at the newest message and loads older ones on scrolling up', async () => {
  const LINUS = { phone: '447700900789', name: 'Linus' };
  await userSends(stack, LINUS.phone, LINUS.name, 'support');
  await eventually(async () => (await apiGet(page, `/api/admin/conversations/${LINUS.phone}/messages?limit=1`)).conversation?.is_chat_support, { what: 'Linus in chat support' });
  for (let i = 1; i <= 60; i += 1) await userSends(stack, LINUS.phone, LINUS.name, `Line ${i}`);
  await page.evaluate((phone) => { location.hash = `#/conversations/${phone}`; }, LINUS.phone);
  const log = messages(page);
  await log.getByText('Line 60', { exact: true }).waitFor();
  assert.equal(await log.getByText('Line 1', { exact: true }).count(), 0, 'only the newest page at first');
  const atBottom = await log.evaluate((el) => el.scrollHeight - el.scrollTop - el.clientHeight < 2);
  assert.ok(atBottom, 'scrolled to the newest');
  await log.evaluate((el) => { el.scrollTop = 0; });
  await log.getByText('Line 1', { exact: true }).waitFor();
  await log.getByText('support', { exact: true }).waitFor();
  const ids = await log.locator('li.msg').evaluateAll((els) => els.map((e) => e.dataset.id));
  assert.deepEqual(ids, [...ids].sort(), 'in history order');
  assert.equal(new Set(ids).size, ids.length, 'no message twice');
});

test('failed messages show Meta\'s reason, and the composer says why it is closed', async () => {
  // A conversation the API answers with fixed data, to show each case the stack cannot stage quickly.
  const phone = '447700900999';
  const now = Date.now();
  const iso = (ms) => new Date(ms).toISOString();
  const conversation = {
    phone, name: 'Fixture User', state: 'CHAT_SUPPORT_ACTIVE', is_chat_support: true,
    support_started_at: iso(now - 60_000), waiting_since: null, last_message_at: iso(now - 30_000),
    last_message_preview: 'Hello?', unread_count: 0, window_expires_at: iso(now - 1_000), last_rating: null,
  };
  const fixture = {
    conversation,
    messages: [
      { id: '01JAAAAAAAAAAAAAAAAAAAAAA1', direction: 'inbound', author: 'user', admin: null, kind: 'text', text: 'Hello?', status: 'received', error: null, wamid: 'wamid.A', created_at: iso(now - 90_000), sent_at: iso(now - 90_000) },
      { id: '01JAAAAAAAAAAAAAAAAAAAAAA2', direction: 'outbound', author: 'admin', admin: 'admin', kind: 'text', text: 'Sorry for the wait.', status: 'failed', error: { code: '131047', title: 'Re-engagement message' }, wamid: null, created_at: iso(now - 30_000), sent_at: null },
      { id: '01JAAAAAAAAAAAAAAAAAAAAAA3', direction: 'inbound', author: 'user', admin: null, kind: 'image', text: null, status: 'received', error: null, wamid: 'wamid.B', created_at: iso(now - 20_000), sent_at: iso(now - 20_000) },
    ],
    next_cursor: null,
  };
  const routes = {
    [`**/api/admin/conversations/${phone}/messages?**`]: (route) => route.fulfill({ json: fixture }),
    [`**/api/admin/conversations/${phone}/read`]: (route) => route.fulfill({ json: { conversation } }),
    [`**/api/admin/conversations/${phone}/typing`]: (route) => route.fulfill({ status: 204 }),
    '**/api/admin/templates': (route) => route.fulfill({ json: { templates: [{ name: 'welcome_back', language: 'en_US', category: 'UTILITY', body: 'Welcome back!', parameter_count: 0 }] } }),
  };
  for (const [url, handler] of Object.entries(routes)) await page.route(url, handler);
  const retryRoute = `**/api/admin/conversations/${phone}/messages/${fixture.messages[1].id}/retry`;
  try {
    await page.evaluate((p) => { location.hash = `#/conversations/${p}`; }, phone);
    const log = messages(page);
    await log.getByText('Not delivered: Re-engagement message (code 131047)').waitFor();
    await log.getByText('[image]').waitFor();
    assert.equal(await log.locator('li.msg', { hasText: 'Sorry for the wait.' }).getByRole('img', { name: 'Failed' }).count(), 1);
    const box = page.getByRole('textbox', { name: 'Message' });
    const reason = page.locator('#composer-reason');
    // The window closed: only a template can reach the user (templates.test.mjs sends one).
    const templates = page.getByRole('form', { name: 'Send a template' });
    await templates.getByText('The 24-hour reply window is closed').waitFor();
    await templates.getByLabel('Template').locator('option', { hasText: 'welcome_back (en_US)' }).waitFor({ state: 'attached' });
    assert.equal(await box.isVisible(), false);

    // Each change to the fixture comes as the server would push it.
    const changed = () => pushEvent(page, { type: 'conversation', conversation });
    conversation.state = 'OPTED_OUT';
    conversation.is_chat_support = false;
    await changed();
    await page.getByText('The user opted out').waitFor({ timeout: 5_000 });
    assert.equal(await box.isDisabled(), true);
    assert.equal(await templates.isVisible(), false, 'no template to a user who opted out');

    // Outside chat support, a template reaches the user (and brings the chat to the desk)…
    conversation.state = 'MAIN_MENU';
    await changed();
    await templates.waitFor({ timeout: 5_000 });
    // …while inside the window the composer says why it is closed.
    conversation.window_expires_at = iso(Date.now() + 90 * 60_000);
    await changed();
    await page.getByText('This conversation is not in chat support').waitFor({ timeout: 5_000 });
    assert.equal(await box.isDisabled(), true);
    assert.equal(await templates.isVisible(), false);
    assert.equal(await page.getByRole('button', { name: 'End Chat Support' }).isVisible(), false);
    assert.equal(await log.getByRole('button', { name: 'Reply', exact: true }).count(), 0, 'no Reply while no reply can be sent');

    conversation.state = 'CHAT_SUPPORT_ACTIVE';
    conversation.is_chat_support = true;
    await changed();
    await page.getByText(/Reply window closes in 1 h (29|30) min/).waitFor({ timeout: 5_000 });
    assert.equal(await box.isEnabled(), true);
    assert.equal(await log.getByRole('button', { name: 'Reply', exact: true }).count(), 2, 'Reply on the messages with a wamid');
    assert.match(await reason.getAttribute('id'), /composer-reason/);
    assert.equal(await box.getAttribute('aria-describedby'), 'composer-reason composer-counter');
    await box.fill('x'.repeat(4097));
    assert.match(await page.locator('#composer-counter').textContent(), /4097 \/ 4096: 1 too many/);
    assert.equal(await page.getByRole('button', { name: 'Send' }).isDisabled(), true);
    await box.fill('');

    // A failed reply of an admin offers Retry: a new attempt on the same message.
    const failed = fixture.messages[1];
    let retried = null;
    await page.route(retryRoute, (route) => {
      retried = route.request().method();
      fixture.messages[1] = { ...failed, status: 'sent', error: null, wamid: 'wamid.R' };
      route.fulfill({ status: 201, json: { message: fixture.messages[1] } });
    });
    const bubble = log.locator('li.msg', { hasText: 'Sorry for the wait.' });
    await bubble.getByRole('button', { name: 'Retry delivery of this message' }).click();
    await bubble.getByRole('img', { name: 'Sent' }).waitFor();
    assert.equal(retried, 'POST');
    assert.equal(await bubble.getByRole('button', { name: 'Retry delivery of this message' }).count(), 0);
    assert.equal(await log.locator('li.msg', { hasText: 'Hello?' }).getByRole('button', { name: 'Retry delivery of this message' }).count(), 0, 'only admin replies');
  } finally {
    for (const url of Object.keys(routes)) await page.unroute(url);
    await page.unroute(retryRoute);
  }
});

test('errors show where they happen: a missing conversation, a refused send, a chat that had already ended', async () => {
  const missing = '447700900998';
  const phone = '447700900997';
  const now = Date.now();
  const iso = (ms) => new Date(ms).toISOString();
  const fixture = {
    conversation: {
      phone, name: 'Fixture Two', state: 'CHAT_SUPPORT_ACTIVE', is_chat_support: true,
      support_started_at: iso(now - 60_000), waiting_since: null, last_message_at: iso(now - 30_000),
      last_message_preview: 'Hi', unread_count: 0, window_expires_at: iso(now + 3_600_000), last_rating: null,
    },
    messages: [
      { id: '01JBBBBBBBBBBBBBBBBBBBBBB1', direction: 'inbound', author: 'user', admin: null, kind: 'text', text: 'Hi', status: 'received', error: null, wamid: 'wamid.C', created_at: iso(now - 30_000), sent_at: iso(now - 30_000) },
    ],
    next_cursor: null,
  };
  const routes = {
    [`**/api/admin/conversations/${missing}/messages?**`]: (route) => route.fulfill({ status: 404, json: { error: { code: 'not_found', message: 'No such conversation.' } } }),
    [`**/api/admin/conversations/${phone}/messages?**`]: (route) => route.fulfill({ json: fixture }),
  };
  let sendAnswer = null;
  routes[`**/api/admin/conversations/${phone}/chat-support/send`] = (route) => route.fulfill(sendAnswer);
  routes[`**/api/admin/conversations/${phone}/chat-support/end`] = (route) => route.fulfill({ status: 409, json: { error: { code: 'conflict', message: 'Not in chat support.' } } });
  routes[`**/api/admin/conversations/${phone}/read`] = (route) => route.fulfill({ json: { conversation: fixture.conversation } });
  routes[`**/api/admin/conversations/${phone}/typing`] = (route) => route.fulfill({ status: 204 });
  for (const [url, handler] of Object.entries(routes)) await page.route(url, handler);
  for (const status of [404, 409, 429, 500]) provoked.add(status);
  try {
    await page.evaluate((p) => { location.hash = `#/conversations/${p}`; }, missing);
    await page.getByText('There is no conversation with this number yet.').waitFor();
    assert.equal(await page.getByRole('heading', { name: `+${missing}`, level: 1 }).count(), 1);
    assert.equal(await page.getByRole('textbox', { name: 'Message' }).isVisible(), false, 'no composer');

    await page.evaluate((p) => { location.hash = `#/conversations/${p}`; }, phone);
    await page.getByRole('heading', { name: 'Fixture Two', level: 1 }).waitFor();
    const box = page.getByRole('textbox', { name: 'Message' });
    const composer = page.getByRole('form', { name: 'Reply' });
    await box.fill('Are you there?');
    sendAnswer = { status: 429, headers: { 'retry-after': '7' }, json: { error: { code: 'rate_limited', message: 'Slow down.' } } };
    await page.getByRole('button', { name: 'Send' }).click();
    await composer.getByRole('alert').getByText('Too many messages in a minute. Wait 7 s.').waitFor();
    assert.equal(await box.inputValue(), 'Are you there?', 'the text stays to send again');
    sendAnswer = { status: 500, json: { error: { code: 'internal', message: 'Something broke on the server.' } } };
    await page.getByRole('button', { name: 'Send' }).click();
    await composer.getByRole('alert').getByText('Something broke on the server.').waitFor();
    assert.equal(await composer.getByRole('alert').count(), 1, 'one error at a time');

    await page.getByRole('button', { name: 'End Chat Support' }).click();
    await page.getByRole('dialog').getByRole('button', { name: 'End chat' }).click();
    await page.getByText('This chat had already ended.').waitFor();
    assert.equal(await page.getByRole('dialog').isVisible(), false);
    assert.equal(await page.evaluate(() => document.activeElement.tagName), 'H1');

    await page.evaluate(() => { location.hash = '#/conversations'; });
    await page.getByRole('heading', { name: 'Conversations', level: 1 }).waitFor();
    await page.waitForTimeout(500); // a read still on its way ends under the routes
  } finally {
    for (const url of Object.keys(routes)) await page.unroute(url);
    provoked.clear();
  }
});

test('a rejected token returns to sign-in with a message, and signing in again returns there', async () => {
  allow401 = true;
  try {
    await page.evaluate(() => {
      const s = JSON.parse(sessionStorage.getItem('edubot.session'));
      s.token = `${s.token.slice(0, -4)}AAAA`;
      sessionStorage.setItem('edubot.session', JSON.stringify(s));
    });
    await page.evaluate(() => { location.hash = '#/conversations'; });
    await page.getByRole('heading', { name: 'Sign in' }).waitFor();
    await page.getByText('Please sign in again').waitFor();
  } finally {
    allow401 = false;
  }
  await signIn(page);
  await page.getByRole('heading', { name: 'Conversations', level: 1 }).waitFor();
  await page.getByRole('button', { name: 'Sign out' }).click();
  await page.getByRole('heading', { name: 'Sign in' }).waitFor();
  assert.equal(await page.evaluate(() => sessionStorage.getItem('edubot.session')), null);
});

test('an expired session returns to sign-in with a message', async () => {
  await signIn(page);
  await page.getByRole('heading', { name: 'Dashboard', level: 1 }).waitFor();
  await page.evaluate(() => {
    const s = JSON.parse(sessionStorage.getItem('edubot.session'));
    s.expires_at = new Date(Date.now() + 1_500).toISOString();
    sessionStorage.setItem('edubot.session', JSON.stringify(s));
  });
  await page.reload();
  await page.getByRole('heading', { name: 'Dashboard', level: 1 }).waitFor();
  await page.getByText('Your session has expired. Please sign in again.').waitFor({ timeout: 5_000 });
  assert.equal(await page.getByLabel('Password').isVisible(), true);
  assert.equal(await page.getByRole('navigation', { name: 'Main' }).isVisible(), false);
});

for (const [label, viewport] of [['portrait', { width: 375, height: 667 }], ['landscape', { width: 667, height: 375 }]]) {
  test(`on a phone (${label}, ${viewport.width}×${viewport.height}): no sideways scrolling and 44 px targets`, async () => {
    // Someone is in chat support again, so the banner and the composer are on screen.
    await userSends(stack, GRACE.phone, GRACE.name, 'support');
    const context = await browser.newContext({ viewport, isMobile: true, hasTouch: true, deviceScaleFactor: 2 });
    const phone = await context.newPage();
    watch(phone, label);
    try {
      await phone.goto(stack.url);
      await checkLayout(phone, `${label} sign-in`);
      await signIn(phone);
      await phone.getByRole('heading', { name: 'Dashboard', level: 1 }).waitFor();
      await phone.getByRole('region', { name: 'Support Alert' }).waitFor({ timeout: 15_000 });
      await checkLayout(phone, `${label} dashboard`);
      await phone.screenshot({ path: join(artifacts, `phone-${label}-dashboard.png`) });
      await phone.getByRole('link', { name: 'Conversations', exact: true }).click();
      await conversationRow(phone, GRACE).waitFor();
      await checkLayout(phone, `${label} conversations`);
      await phone.screenshot({ path: join(artifacts, `phone-${label}-conversations.png`) });
      await conversationRow(phone, GRACE).getByRole('link').click();
      await phone.getByRole('heading', { name: GRACE.name, level: 1 }).waitFor();
      await messages(phone).getByText('support', { exact: true }).first().waitFor();
      assert.equal(await phone.getByRole('textbox', { name: 'Message' }).isEnabled(), true);
      await checkLayout(phone, `${label} conversation`);
      await phone.screenshot({ path: join(artifacts, `phone-${label}-conversation.png`) });
    } finally {
      await context.close();
    }
  });
}

test('no console errors, page errors or dialogs on any page', () => {
  assert.deepEqual(problems, []);
});
