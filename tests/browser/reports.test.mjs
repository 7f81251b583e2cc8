// The Reports view (DESIGN §17; docs/reports.md) in headless Chromium against the real local
// stack, on a desktop and on a phone: a real chat (the user asks for support, the admin
// answers and ends it, the user rates it 5) shows in today's figures, in the totals, the
// charts' summaries and the table of numbers; both roles open it, loaded only then; a range
// over 92 days is refused in the page and the server's refusals are shown in its words; the
// CSV of the days and of the admins downloads with the token in a header, never in an address.
import { test, before, after, describe } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { userSends, userReceived, eventually, artifacts } from './stack.mjs';
import { DESKTOP, PHONE, deskSuite, call, createAdmin, watch, signIn, go, checkLayout } from './desk.mjs';
import { userWebhook, text } from './webhooks.mjs';

const suite = deskSuite();
const { problems, expected } = suite;

const DAY_FIELDS = 'date,chats_started,chats_ended,first_response_p50_s,first_response_p90_s,resolution_p50_s,csat_count,csat_average,messages_in,messages_out';
const ADMIN_FIELDS = 'admin,chats_handled,first_response_p50_s,csat_average';
const DAY_MS = 86_400_000;
const utcDay = (ms = Date.now()) => new Date(ms).toISOString().slice(0, 10);

const conversation = async (phone) => (await call(suite.stack, suite.boss, 'GET', `/api/admin/conversations/${phone}/messages?limit=1`)).data?.conversation;

/** A whole chat: the user asks for support, the supervisor answers and ends it, the user rates it 5. */
async function ratedChat(who) {
  await userSends(suite.stack, who.phone, who.name, 'support');
  await eventually(async () => (await conversation(who.phone))?.is_chat_support, { what: `${who.name} in chat support` });
  const sent = await call(suite.stack, suite.boss, 'POST', `/api/admin/conversations/${who.phone}/chat-support/send`, { text: 'Hello, how can I help?' });
  assert.ok([201, 202].includes(sent.status), `the reply: ${JSON.stringify(sent.data)}`);
  const ended = await call(suite.stack, suite.boss, 'POST', `/api/admin/conversations/${who.phone}/chat-support/end`, {});
  assert.equal(ended.status, 200, `ending the chat: ${JSON.stringify(ended.data)}`);
  await eventually(async () => (await userReceived(suite.stack, who.phone)).includes('How would you rate the help you received?'), { what: 'the rating question' });
  await userWebhook(suite.stack, who, text('5'));
  await eventually(async () => (await conversation(who.phone))?.last_rating === 5, { what: 'the rating stored' });
}

/** Today's figures, once the stream has counted a chat started, ended, answered and rated. */
async function todayCounted() {
  return eventually(async () => {
    const { status, data } = await call(suite.stack, suite.boss, 'GET', `/api/admin/reports?from=${utcDay()}&to=${utcDay()}`);
    const d = status === 200 && data.days[0];
    return d && d.chats_started >= 1 && d.chats_ended >= 1 && d.first_response_p50_s !== null && d.csat_count >= 1 ? d : null;
  }, { timeout: 30_000, interval: 500, what: 'today’s figures counted from the stream' });
}

for (const [label, device, tag, digit] of [['desktop', DESKTOP, 'd', '1'], ['phone', PHONE, 'm', '2']]) {
  describe(`Reports on a ${label}`, () => {
    let context;
    let page;
    let token;
    const addresses = []; // every address the page asked for
    const who = { phone: `4477009007${digit}1`, name: `Report ${label}` };
    const rita = { username: `rita-${tag}`, password: 'rita-reports-password' };
    const nav = () => page.getByRole('navigation', { name: 'Main' });
    // The table of numbers is in a <details> (closed at first: in the DOM, not shown).
    const numbers = () => page.locator('table', { has: page.locator('caption', { hasText: /^Day by day/ }) });

    before(async () => {
      context = await suite.browser.newContext(device);
      page = await context.newPage();
      watch(page, label, problems, expected);
      page.on('request', (r) => addresses.push(r.url()));
      await signIn(page, suite.stack, suite.stack.username, suite.stack.password);
      token = JSON.parse(await page.evaluate(() => sessionStorage.getItem('edubot.session'))).token;
    });
    after(() => context?.close());

    test('an admin, not only a supervisor, opens Reports; its module loads only then', async () => {
      await createAdmin(suite.stack, suite.boss, rita.username, rita.password);
      const theirs = await suite.browser.newContext(device);
      const p = await theirs.newPage();
      watch(p, `${label} ${rita.username}`, problems, expected);
      const loaded = [];
      p.on('requestfinished', (r) => loaded.push(new URL(r.url()).pathname));
      try {
        await signIn(p, suite.stack, rita.username, rita.password);
        const links = p.getByRole('navigation', { name: 'Main' }).getByRole('link');
        await links.filter({ hasText: 'Reports' }).waitFor();
        assert.deepEqual(await links.allTextContents(), ['Dashboard', 'Conversations', 'Canned replies', 'Reports'], 'Reports, and no Team or Activity');
        await p.waitForLoadState('networkidle');
        assert.equal(loaded.includes('/js/reports.js'), false, 'not loaded at sign-in');
        const answer = p.waitForResponse((r) => new URL(r.url()).pathname === '/api/admin/reports');
        await links.filter({ hasText: 'Reports' }).click();
        await p.getByRole('heading', { name: 'Reports', level: 1 }).waitFor();
        assert.equal((await answer).status(), 200, 'both roles may read reports');
        assert.ok(loaded.includes('/js/reports.js') && loaded.includes('/views.css'), 'loaded when opened');
        await p.getByRole('heading', { name: 'By admin' }).waitFor();
        assert.equal(await p.getByRole('alert').count(), 0);
      } finally {
        await theirs.close();
      }
    });

    test('a real chat shows in today’s figures: the totals, the charts and the table of numbers', async () => {
      await ratedChat(who);
      await todayCounted();

      const [answer] = await Promise.all([
        page.waitForResponse((r) => new URL(r.url()).pathname === '/api/admin/reports'),
        nav().getByRole('link', { name: 'Reports' }).click(),
      ]);
      // The local stack's reply comes well within 10 s (0.3 s when idle): shown in tenths, so
      // a sub-second one does not read "0 s".
      const p50 = (await answer.json()).days.find((d) => d.date === utcDay()).first_response_p50_s;
      assert.ok(p50 < 10, `today's first response p50 is ${p50} s, not under 10 s`);
      const firstResponse = `${p50.toFixed(1)} s`;
      await page.getByRole('heading', { name: 'Reports', level: 1 }).waitFor();
      await numbers().waitFor({ state: 'attached' });
      assert.match(page.url(), /#\/reports\?days=7$/, 'the last 7 days by default, in the address');
      assert.equal(await page.getByRole('button', { name: 'Last 7 days' }).getAttribute('aria-pressed'), 'true');
      assert.equal(await page.getByLabel('To', { exact: true }).inputValue(), utcDay());
      assert.equal(await page.getByLabel('From', { exact: true }).inputValue(), utcDay(Date.now() - 6 * DAY_MS));

      // The totals.
      const total = async (name) => (await page.locator('.report-totals .stat', { hasText: name }).locator('dd').first().textContent()).trim();
      assert.ok(Number(await total('Chats started')) >= 1);
      assert.ok(Number(await total('Chats ended')) >= 1);
      assert.equal(await total('CSAT average'), '5.0 / 5');
      assert.equal(await total('First response'), firstResponse, 'today’s p50, the only day with one');
      await page.getByText('median of the daily p50s').waitFor();

      // The charts: SVG with a title and a summary as their accessible name.
      for (const [title, summary] of [['Chats per day', /^Chats started and ended per day, .*: [1-9]\d* started and [1-9]\d* ended in all/],
        ['First response time', /^First response per day, .*daily p50 from .*5 min target/],
        ['Satisfaction \\(CSAT\\)', /^Satisfaction \(CSAT\) per day, 1 to 5, .*: average 5\.0 from [1-9]\d* ratings?/]]) {
        const figure = page.getByRole('figure', { name: new RegExp(`^${title}$`) });
        const chart = figure.getByRole('img');
        assert.equal(await chart.evaluate((el) => el.namespaceURI), 'http://www.w3.org/2000/svg');
        assert.match(await chart.getAttribute('aria-label'), summary);
        assert.match(await chart.getAttribute('aria-label'), /The numbers are in the table “Day by day”\.$/);
      }
      const target = page.getByRole('figure', { name: 'First response time' }).locator('svg text', { hasText: '5 min target' });
      assert.equal(await target.count(), 1, 'the 5-minute target line is labelled');
      assert.equal(await page.locator('main [style]').count(), 0, 'no style attribute (the CSP allows none)');

      // The same numbers in a table: today's row.
      await page.getByText('Show the numbers').click();
      await page.getByRole('table', { name: /^Day by day/ }).waitFor();
      const heads = await numbers().locator('thead th[scope="col"]').allTextContents();
      assert.deepEqual(heads, ['Day', 'Chats started', 'Chats ended', 'First response p50', 'First response p90', 'Resolution p50', 'CSAT average', 'Ratings', 'Messages in', 'Messages out']);
      assert.equal(await numbers().locator('tbody tr').count(), 7, 'a row per day');
      const today = numbers().locator('tbody tr', { has: page.locator(`th[scope="row"] time[datetime="${utcDay()}"]`) });
      const cells = await today.locator('td').allTextContents();
      assert.ok(Number(cells[0]) >= 1, `chats started: ${cells[0]}`);
      assert.ok(Number(cells[1]) >= 1, `chats ended: ${cells[1]}`);
      assert.equal(cells[2], firstResponse);
      assert.equal(cells[5], '5.0', 'CSAT 5');
      assert.ok(Number(cells[6]) >= 1, 'rated');
      assert.ok(Number(cells[7]) >= 1 && Number(cells[8]) >= 1, 'messages in and out');

      // Each admin's figures: the supervisor handled it.
      const admins = page.getByRole('table', { name: /^Each admin’s chats/ });
      const mine = admins.locator('tbody tr', { has: page.locator('th[scope="row"]', { hasText: new RegExp(`^${suite.stack.username}$`) }) });
      const theirs = await mine.locator('td').allTextContents();
      assert.ok(Number(theirs[0]) >= 1, `chats handled: ${theirs}`);
      assert.equal(theirs[2], '5.0');

      await page.screenshot({ path: join(artifacts, `reports-${label}.png`), fullPage: true });
      assert.equal(await page.evaluate(() => window.innerWidth), device.viewport.width, 'the page fits the screen (no zooming out on a phone)');
      await checkLayout(page, `${label} Reports`);
    });

    test('a range over 92 days is refused in the page; the presets and a deep link set the range', async () => {
      const asked = [];
      const onRequest = (r) => { if (new URL(r.url()).pathname === '/api/admin/reports') asked.push(r.url()); };
      page.on('request', onRequest);
      try {
        const form = page.getByRole('form', { name: 'Report range' });
        await form.getByLabel('From', { exact: true }).fill(utcDay(Date.now() - 100 * DAY_MS));
        await form.getByLabel('To', { exact: true }).fill(utcDay());
        await form.getByRole('button', { name: 'Show' }).click();
        const alert = form.getByRole('alert');
        await alert.waitFor();
        assert.equal(await alert.textContent(), 'A report covers at most 92 days: this range has 101. Choose a shorter range.');
        assert.equal(await form.getByLabel('From', { exact: true }).getAttribute('aria-invalid'), 'true');
        assert.equal(await page.getByRole('heading', { name: 'By admin' }).isVisible(), false, 'no figures for a range not asked for');
        assert.deepEqual(asked, [], 'nothing asked of the server');
        await form.getByLabel('From', { exact: true }).fill(utcDay(Date.now() + DAY_MS));
        await form.getByRole('button', { name: 'Show' }).click();
        await form.getByRole('alert').getByText('The start date is after the end date.').waitFor();
        await page.screenshot({ path: join(artifacts, `reports-refused-${label}.png`) });

        await form.getByRole('button', { name: 'Last 92 days' }).click();
        await eventually(async () => (await numbers().locator('tbody tr').count()) === 92, { what: 'a row for each of 92 days' });
        assert.equal(await form.getByRole('alert').count(), 0);
        assert.match(page.url(), /#\/reports\?days=92$/);
        const q = new URL(asked.at(-1)).searchParams;
        assert.deepEqual([q.get('from'), q.get('to')], [utcDay(Date.now() - 91 * DAY_MS), utcDay()]);
        await checkLayout(page, `${label} Reports, 92 days`);

        // A deep link to a range of its own.
        const from = utcDay(Date.now() - 2 * DAY_MS);
        await go(page, `#/reports?from=${from}&to=${utcDay()}`);
        await eventually(async () => (await numbers().locator('tbody tr').count()) === 3, { what: 'three days' });
        assert.equal(await form.getByLabel('From', { exact: true }).inputValue(), from);
        assert.deepEqual(await form.getByRole('button', { pressed: true }).count(), 0, 'no preset pressed');
      } finally {
        page.off('request', onRequest);
      }
    });

    test('the server’s refusal is shown in its words, with Try again', async () => {
      const message = 'from: not a date (YYYY-MM-DD).';
      await page.route('**/api/admin/reports?**', (route) => route.fulfill({ status: 400, json: { error: { code: 'invalid_request', message } } }));
      expected.add(400);
      try {
        await page.getByRole('button', { name: 'Last 30 days' }).click();
        const alert = page.getByRole('alert');
        await alert.waitFor();
        assert.equal(await alert.textContent(), message);
        assert.equal(await page.getByRole('heading', { name: 'By admin' }).isVisible(), false);
      } finally {
        await page.unroute('**/api/admin/reports?**');
      }
      await page.getByRole('button', { name: 'Try again' }).click();
      await page.getByRole('heading', { name: 'By admin' }).waitFor();
      assert.equal(await page.getByRole('alert').count(), 0);
      assert.match(page.url(), /#\/reports\?days=30$/);
    });

    test('Download CSV: the days and the admins, as files, with the token in a header only', async () => {
      await page.getByRole('button', { name: 'Last 7 days' }).click();
      await eventually(async () => (await numbers().locator('tbody tr').count()) === 7, { what: 'the last 7 days' });
      const from = utcDay(Date.now() - 6 * DAY_MS);
      const to = utcDay();
      for (const [button, table, name, header, rows] of [
        ['Download days as CSV', null, `edubot-report-${from}-${to}.csv`, DAY_FIELDS, 7],
        ['Download admins as CSV', 'admins', `edubot-report-admins-${from}-${to}.csv`, ADMIN_FIELDS, null],
      ]) {
        const [download, request] = await Promise.all([
          page.waitForEvent('download'),
          page.waitForRequest((r) => new URL(r.url()).searchParams.get('format') === 'csv'),
          page.getByRole('button', { name: button }).click(),
        ]);
        assert.equal(download.suggestedFilename(), name);
        const q = new URL(request.url()).searchParams;
        assert.deepEqual([q.get('from'), q.get('to'), q.get('table')], [from, to, table]);
        assert.equal((await request.allHeaders()).authorization, `Bearer ${token}`);
        const lines = readFileSync(await download.path(), 'utf8').trim().split(/\r?\n/);
        assert.equal(lines[0], header);
        if (rows) {
          assert.equal(lines.length, 1 + rows, 'a row per day');
          const today = lines.find((l) => l.startsWith(`${to},`)).split(',');
          assert.ok(Number(today[1]) >= 1 && Number(today[2]) >= 1 && today[3] !== '' && Number(today[7]) === 5, `today: ${today}`);
        } else {
          assert.ok(lines.some((l) => l.startsWith(`${suite.stack.username},`)), `the supervisor's row: ${lines}`);
        }
        await page.getByRole('status').getByText(`Downloaded ${name}.`).waitFor();
      }
      assert.deepEqual(addresses.filter((a) => a.includes(token)), [], 'no token in any address');
      await checkLayout(page, `${label} Reports after the downloads`);
    });
  });
}

test('no console errors, page errors or dialogs', () => {
  assert.deepEqual(problems, []);
});
