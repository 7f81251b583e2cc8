// Helpers for the tests of a desk worked by several admins: the suite's set-up (the stack, a
// browser, the supervisor's token), the admin API with a token of one's own, signing a page in
// as someone, and the checks every page must pass (errors, layout at phone width).
import { before, after, afterEach } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync } from 'node:fs';
import { startStack, launchBrowser, artifacts } from './stack.mjs';

export const DESKTOP = { viewport: { width: 1280, height: 800 } };
export const PHONE = { viewport: { width: 375, height: 667 }, isMobile: true, hasTouch: true, deviceScaleFactor: 2 };

/**
 * Sets up the test file calling it: before its tests, starts the stack and a browser and
 * signs the stack's supervisor in through the API; after them, stops both. Returns
 * `{stack, browser, boss}` (boss: the supervisor's token), filled in once started, with
 * `problems` and `expected` for `watch`; `expected` is emptied after each test.
 */
export function deskSuite() {
  const suite = { stack: null, browser: null, boss: null, problems: [], expected: new Set() };
  before(async () => {
    mkdirSync(artifacts, { recursive: true });
    suite.stack = await startStack();
    suite.browser = await launchBrowser();
    suite.boss = await login(suite.stack, suite.stack.username, suite.stack.password);
    assert.ok(suite.boss, 'the stack’s admin signs in');
  });
  after(async () => {
    await suite.browser?.close();
    await suite.stack?.stop();
  });
  afterEach(() => suite.expected.clear());
  return suite;
}

/** `{status, data}` of an admin API call with `token` (null: none). */
export async function call(stack, token, method, path, body) {
  const headers = { accept: 'application/json' };
  if (token) headers.authorization = `Bearer ${token}`;
  if (body !== undefined) headers['content-type'] = 'application/json';
  const response = await fetch(`${stack.url}${path}`, { method, headers, body: body === undefined ? undefined : JSON.stringify(body) });
  return { status: response.status, data: await response.json().catch(() => null) };
}

/** A token for `username`, or null when the sign-in is refused. */
export async function login(stack, username, password) {
  const { status, data } = await call(stack, null, 'POST', '/api/admin/login', { username, password });
  return status === 200 ? data.token : null;
}

/** Creates an account through the API as the stack's supervisor (`token`). */
export async function createAdmin(stack, token, username, password, role = 'admin') {
  const { status, data } = await call(stack, token, 'POST', '/api/admin/admins', { username, password, role });
  assert.equal(status, 201, `creating ${username}: ${JSON.stringify(data)}`);
}

/**
 * Notes console errors, page errors and dialogs of `p` in `problems`. Chromium logs every
 * non-2xx answer as a console error: those with a status in `expected` (a Set a test fills
 * while it provokes them) are not problems.
 */
export function watch(p, label, problems, expected = new Set()) {
  p.on('console', (msg) => {
    if (msg.type() !== 'error') return;
    const text = msg.text();
    if ([...expected].some((status) => text.includes(`status of ${status}`))) return;
    problems.push(`${label} console: ${text} (${msg.location()?.url || ''})`);
  });
  p.on('pageerror', (err) => problems.push(`${label} page error: ${err.message}`));
  p.on('dialog', async (dialog) => {
    problems.push(`${label} unexpected ${dialog.type()} dialog: ${dialog.message()}`);
    await dialog.dismiss();
  });
}

/** Signs `p` in on the sign-in page and waits for the dashboard. */
export async function signIn(p, stack, username, password) {
  await p.goto(stack.url);
  await p.getByLabel('Username').fill(username);
  await p.getByLabel('Password').fill(password);
  await p.getByRole('button', { name: 'Sign in' }).click();
  await p.getByRole('heading', { name: 'Dashboard', level: 1 }).waitFor();
}

/** Goes to `hash` (`#/…`) as a link would. */
export async function go(p, hash) {
  await p.evaluate((h) => { location.hash = h; }, hash);
}

/** No sideways scrolling, every target at least 44 px, and the keyboard's focus visible. */
export async function checkLayout(p, where) {
  const result = await p.evaluate(() => {
    const small = [];
    const selector = 'a[href], button, input, textarea, select, summary, [tabindex]:not([tabindex="-1"])';
    for (const el of document.querySelectorAll(selector)) {
      if (el.closest('[hidden], dialog:not([open])') || el.classList.contains('skip-link')) continue;
      // A checkbox's or radio button's target is its label.
      const target = el.matches('input[type=checkbox], input[type=radio]') ? (el.closest('label') || el) : el;
      const r = target.getBoundingClientRect();
      if (r.width === 0 && r.height === 0) continue;
      if (r.width < 43.5 || r.height < 43.5) small.push(`${el.tagName.toLowerCase()} "${(el.textContent || el.getAttribute('aria-label') || el.id).trim().slice(0, 30)}" ${Math.round(r.width)}×${Math.round(r.height)}`);
    }
    return { scrollWidth: document.scrollingElement.scrollWidth, innerWidth: window.innerWidth, small };
  });
  assert.ok(result.scrollWidth <= result.innerWidth, `${where}: page is ${result.scrollWidth} px wide in ${result.innerWidth}`);
  assert.deepEqual(result.small, [], `${where}: targets under 44 px`);
  // Keyboard focus is visible: the first tab stop in the page's content gets an outline.
  await p.evaluate(() => document.getElementById('main').focus());
  await p.keyboard.press('Tab');
  const outline = await p.evaluate(() => {
    const el = document.activeElement;
    const s = getComputedStyle(el);
    return el === document.body ? 'none' : `${s.outlineStyle} ${s.outlineWidth}`;
  });
  assert.match(outline, /^solid [1-9]/, `${where}: focus is visible`);
}
