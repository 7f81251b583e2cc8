// "Send a template" in headless Chromium against the real local stack: a user whose last
// message is 3 days old (a signed webhook with an old timestamp) is outside the 24-hour
// window, so the composer turns into the template picker. The simulator's Graph stand-in
// serves the approved templates (welcome_back, support_followup, feedback_rating) and
// takes the send.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { startStack, launchBrowser, eventually, artifacts } from './stack.mjs';
import { userWebhook, text, businessMessages } from './webhooks.mjs';

const OLU = { phone: '447700900611', name: 'Olu Student' };
const THREE_DAYS = 3 * 24 * 3600;

let stack;
let browser;
let page;
const problems = [];
const provoked = new Set(); // console errors a test provokes on purpose, while it does
const posts = []; // [path, body] of every POST the page made

before(async () => {
  mkdirSync(artifacts, { recursive: true });
  stack = await startStack();
  browser = await launchBrowser();
  const context = await browser.newContext({ viewport: { width: 1280, height: 800 } });
  page = await context.newPage();
  page.on('console', (msg) => {
    if (msg.type() === 'error' && ![...provoked].some((part) => msg.text().includes(part))) problems.push(`console: ${msg.text()}`);
  });
  page.on('pageerror', (err) => problems.push(`page error: ${err.message}`));
  page.on('request', (r) => {
    if (r.method() === 'POST') posts.push([new URL(r.url()).pathname, r.postDataJSON()]);
  });
  await userWebhook(stack, OLU, text('Is my certificate ready?'), { secondsAgo: THREE_DAYS });
  await page.goto(stack.url);
  await page.getByLabel('Username').fill(stack.username);
  await page.getByLabel('Password').fill(stack.password);
  await page.getByRole('button', { name: 'Sign in' }).click();
  await page.getByRole('heading', { name: 'Dashboard', level: 1 }).waitFor();
  await eventually(async () => (await apiGet(`/api/admin/conversations/${OLU.phone}/messages?limit=1`)).conversation, { what: 'Olu\'s conversation' });
});

after(async () => {
  await browser?.close();
  await stack?.stop();
});

async function apiGet(path) {
  const { token } = JSON.parse(await page.evaluate(() => sessionStorage.getItem('edubot.session')));
  return (await fetch(`${stack.url}${path}`, { headers: { authorization: `Bearer ${token}` } })).json();
}

const form = () => page.getByRole('form', { name: 'Send a template' });
const preview = () => page.locator('#template-preview');
const templatePosts = () => posts.filter(([path]) => path === `/api/admin/conversations/${OLU.phone}/template`);

test('with the window closed the composer is the template picker; a filled-in template reaches the user', async () => {
  const { templates } = await apiGet('/api/admin/templates');
  const followup = templates.find((t) => t.name === 'support_followup' && t.language === 'en_US');
  assert.ok(followup, 'the simulator serves support_followup in en_US');
  assert.equal(followup.parameter_count, 2);

  await page.evaluate((phone) => { location.hash = `#/conversations/${phone}`; }, OLU.phone);
  await page.getByRole('heading', { name: OLU.name, level: 1 }).waitFor();
  await form().waitFor();
  assert.equal(await page.getByRole('textbox', { name: 'Message' }).count(), 0, 'no free-form composer');
  await form().getByText('The 24-hour reply window is closed').waitFor();
  const picker = form().getByLabel('Template');
  const offered = await picker.locator('option').allTextContents();
  assert.ok(offered.includes('support_followup (en_US)'), offered.join(', '));
  assert.ok(offered.some((o) => o.startsWith('welcome_back (')), offered.join(', '));

  await picker.selectOption({ label: 'support_followup (en_US)' });
  const first = form().getByLabel('Parameter 1');
  const second = form().getByLabel('Parameter 2');
  await first.waitFor();
  assert.equal(await form().getByLabel('Parameter 3').count(), 0);
  assert.match(await preview().textContent(), /\{\{1\}\}.*\{\{2\}\}|\{\{2\}\}.*\{\{1\}\}/s, 'placeholders show until filled');
  await first.fill('Olu');
  assert.match(await preview().textContent(), /Olu/);
  assert.match(await preview().textContent(), /\{\{2\}\}/);
  await second.fill('your certificate');
  const expected = followup.body.replace(/\{\{\s*1\s*\}\}/g, 'Olu').replace(/\{\{\s*2\s*\}\}/g, 'your certificate');
  assert.equal(await preview().textContent(), expected, 'the preview is the filled-in text');
  await page.screenshot({ path: join(artifacts, 'template-picker.png') });

  await form().getByRole('button', { name: 'Send template' }).click();
  await form().getByText('Template sent. The chat reopens when the user answers.').waitFor();
  assert.deepEqual(templatePosts().map(([, body]) => body), [{ name: 'support_followup', language: 'en_US', parameters: ['Olu', 'your certificate'] }]);
  const log = page.getByRole('log', { name: 'Messages' });
  await log.locator('li.msg.out', { hasText: expected }).waitFor();
  assert.equal(await form().getByLabel('Parameter 1').count(), 0, 'the form is cleared for the next one');

  const sent = await eventually(async () => (await businessMessages(stack, OLU.phone)).find((m) => m.type === 'template'), { what: 'the template on the user\'s phone' });
  assert.equal(sent.template.name, 'support_followup');
  assert.equal(sent.template.language.code, 'en_US');
  assert.deepEqual(sent.template.components[0].parameters.map((p) => p.text), ['Olu', 'your certificate']);
  const { conversation, messages } = await apiGet(`/api/admin/conversations/${OLU.phone}/messages`);
  assert.equal(conversation.is_chat_support, true, 'a template puts the conversation in chat support');
  assert.equal(messages.at(-1).kind, 'template');
  assert.equal(messages.at(-1).text, expected);
});

test('a blank parameter, or one with more than 4 spaces in a row, is refused on the page and nothing is sent', async () => {
  const before = templatePosts().length;
  await form().getByLabel('Template').selectOption({ label: 'support_followup (en_US)' });
  await form().getByLabel('Parameter 1').fill('Olu');
  await form().getByLabel('Parameter 2').fill('   ');
  await form().getByRole('button', { name: 'Send template' }).click();
  await form().getByRole('alert').getByText('Parameter 2 is blank').waitFor();
  assert.equal(await form().getByLabel('Parameter 2').getAttribute('aria-invalid'), 'true');
  assert.equal(await page.evaluate(() => document.activeElement.id), 'template-parameter-2', 'the field to fix has the focus');

  await form().getByLabel('Parameter 2').fill('a     b');
  await form().getByLabel('Parameter 2').press('Enter');
  await form().getByRole('alert').getByText('Parameter 2 holds more than 4 spaces in a row').waitFor();
  await page.waitForTimeout(300);
  assert.equal(templatePosts().length, before, 'nothing was sent');
});

test('the server\'s refusal is shown in its own words, and the parameters stay', async () => {
  const url = `**/api/admin/conversations/${OLU.phone}/template`;
  await page.route(url, (route) => route.fulfill({ status: 400, json: { error: { code: 'invalid_request', message: 'The template support_followup is not approved in en_US.' } } }));
  provoked.add('status of 400');
  try {
    await form().getByLabel('Parameter 2').fill('your marks');
    await form().getByRole('button', { name: 'Send template' }).click();
    await form().getByRole('alert').getByText('The template support_followup is not approved in en_US.').waitFor();
    assert.equal(await form().getByLabel('Parameter 2').inputValue(), 'your marks');
  } finally {
    await page.unroute(url);
    provoked.clear();
  }
});

test('the template composer fits a phone (375 px): no sideways scrolling, 44 px targets', async () => {
  const context = await browser.newContext({ viewport: { width: 375, height: 667 }, isMobile: true, hasTouch: true, deviceScaleFactor: 2 });
  const phone = await context.newPage();
  phone.on('pageerror', (err) => problems.push(`phone page error: ${err.message}`));
  try {
    await phone.goto(stack.url);
    await phone.getByLabel('Username').fill(stack.username);
    await phone.getByLabel('Password').fill(stack.password);
    await phone.getByRole('button', { name: 'Sign in' }).click();
    await phone.getByRole('heading', { name: 'Dashboard', level: 1 }).waitFor();
    await phone.evaluate((p) => { location.hash = `#/conversations/${p}`; }, OLU.phone);
    const templates = phone.getByRole('form', { name: 'Send a template' });
    await templates.getByLabel('Template').selectOption({ label: 'support_followup (en_US)' });
    await templates.getByLabel('Parameter 2').fill('a rather long subject that has to wrap on a phone');
    const layout = await phone.evaluate(() => {
      const small = [...document.querySelectorAll('.template-composer :is(button, input, select)')]
        .map((el) => el.getBoundingClientRect())
        .filter((r) => r.width < 43.5 || r.height < 43.5).length;
      return { small, scrollWidth: document.scrollingElement.scrollWidth, innerWidth: window.innerWidth, history: document.querySelector('.history').clientHeight };
    });
    assert.ok(layout.scrollWidth <= layout.innerWidth, `the page is ${layout.scrollWidth} px wide in ${layout.innerWidth}`);
    assert.equal(layout.small, 0, 'targets under 44 px');
    assert.ok(layout.history >= 100, `the history keeps room (${layout.history} px)`);
    await phone.screenshot({ path: join(artifacts, 'template-phone.png') });
  } finally {
    await context.close();
  }
});

test('when the user answers, the window opens and the composer is back', async () => {
  await userWebhook(stack, OLU, text('Yes please, thank you'));
  await page.getByRole('textbox', { name: 'Message' }).waitFor({ timeout: 10_000 });
  assert.equal(await form().isVisible(), false);
  await page.getByRole('log', { name: 'Messages' }).getByText('Yes please, thank you').waitFor();
  assert.equal(await page.getByRole('textbox', { name: 'Message' }).isEnabled(), true, 'in chat support since the template');
});

test('no typing indicator was asked for while the window was closed; no console errors', () => {
  assert.equal(posts.filter(([path]) => path.endsWith('/typing')).length, 0);
  assert.deepEqual(problems, []);
});
