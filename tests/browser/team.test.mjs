// The Team and Activity views (DESIGN §15) in headless Chromium against the real local
// stack, on a desktop and on a phone: the stack's admin is a supervisor; admins are added,
// disabled, enabled and given new passwords from the page, with the API's refusals shown in
// its words; an admin (not a supervisor) sees neither view and is refused (403) if they go
// there; the activity log shows what was done, newest first, by admin and by conversation.
import { test, before, after, describe } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { userSends, eventually, artifacts } from './stack.mjs';
import { DESKTOP, PHONE, deskSuite, call, login, watch, signIn, go, checkLayout } from './desk.mjs';

const suite = deskSuite();
const { problems, expected } = suite;

/** Clicks `button` and answers the API's answer to the request it makes: `{status, error}`. */
async function answerTo(p, button, path) {
  const [response] = await Promise.all([
    p.waitForResponse((r) => new URL(r.url()).pathname === path && r.request().method() !== 'GET'),
    button.click(),
  ]);
  const body = await response.json().catch(() => null);
  return { status: response.status(), error: body?.error?.message };
}

const admins = async () => (await call(suite.stack, suite.boss, 'GET', '/api/admin/admins')).data.admins;

for (const [label, device, tag] of [['desktop', DESKTOP, 'd'], ['phone', PHONE, 'm']]) {
  describe(`Team and Activity on a ${label}`, () => {
    let context;
    let page;
    const bea = { username: `bea-${tag}`, password: 'bea-first-password', next: 'bea-second-password' };
    const sam = { username: `sam.${tag}`, password: 'sam-first-password' };
    const user = { phone: tag === 'd' ? '447700900301' : '447700900302', name: `Audit ${label}` };
    const nav = () => page.getByRole('navigation', { name: 'Main' });
    const row = (username) => page.getByRole('list', { name: 'Admins' }).getByRole('listitem')
      .filter({ has: page.getByRole('heading', { name: new RegExp(`^${username.replace('.', '\\.')}( \\(you\\))?$`) }) });

    before(async () => {
      context = await suite.browser.newContext(device);
      page = await context.newPage();
      watch(page, label, problems, expected);
      await signIn(page, suite.stack, suite.stack.username, suite.stack.password);
    });
    after(() => context?.close());

    test('a supervisor sees Team and Activity; the session keeps the username and role', async () => {
      await nav().getByRole('link', { name: 'Team' }).waitFor();
      await nav().getByRole('link', { name: 'Activity' }).waitFor();
      const session = await page.evaluate(() => JSON.parse(sessionStorage.getItem('edubot.session')));
      assert.equal(session.username, suite.stack.username);
      assert.equal(session.role, 'supervisor');
      if (label === 'desktop') assert.equal(await page.locator('#whoami').textContent(), `${suite.stack.username} · supervisor`);
      // The header's every link and button, each shown in full, in at most two rows: at
      // this device's width, and on a phone, a small phone and tablets.
      // (Live: "Connecting…" and "Reconnecting…" take a row of their own from 601 to 800 px.)
      const widths = label === 'desktop' ? [device.viewport.width] : [320, 375, 601, 768, 1023];
      await page.locator('#live', { hasText: /^Live$/ }).waitFor();
      for (const width of widths) {
        await page.setViewportSize({ width, height: device.viewport.height });
        const { header, controls } = await page.locator('.site-header').evaluate((el) => {
          const box = (e) => { const r = e.getBoundingClientRect(); return { top: r.top, bottom: r.bottom, height: r.height }; };
          return { header: box(el), controls: [...el.querySelectorAll('a, button')].filter((c) => c.checkVisibility()).map(box) };
        });
        const row = Math.max(...controls.map((c) => c.height));
        assert.equal(controls.length, 8, 'the brand, six links and Sign out');
        assert.ok(controls.every((c) => c.top >= header.top && c.bottom <= header.bottom), 'every control within the header');
        assert.ok(header.height <= 2 * row, `at ${width} px the header is ${header.height} px high: more than two rows of ${row} px`);
      }
      await page.setViewportSize(device.viewport);
      await checkLayout(page, `${label} dashboard with Team and Activity`);
    });

    test('the Team view lists the admins and adds one, showing the API’s refusals in its words', async () => {
      await nav().getByRole('link', { name: 'Team' }).click();
      await page.getByRole('heading', { name: 'Team', level: 1 }).waitFor();
      await row(suite.stack.username).waitFor();
      assert.match(await row(suite.stack.username).textContent(), /Supervisor · Enabled · added/);
      const form = page.getByRole('form', { name: 'Add an admin' });
      const add = form.getByRole('button', { name: 'Add admin' });

      // Refusals: the server's words, and nobody added.
      await form.getByLabel('Username').fill(bea.username);
      await form.getByLabel('Password', { exact: true }).fill('too short');
      expected.add(400);
      let answer = await answerTo(page, add, '/api/admin/admins');
      assert.equal(answer.status, 400);
      assert.equal(await form.getByRole('alert').textContent(), answer.error);
      await form.getByLabel('Username').fill('No Spaces Allowed');
      await form.getByLabel('Password', { exact: true }).fill(bea.password);
      answer = await answerTo(page, add, '/api/admin/admins');
      assert.equal(answer.status, 400);
      assert.equal(await form.getByRole('alert').textContent(), answer.error);
      assert.ok(!(await admins()).some((a) => a.username === bea.username || a.username === 'no spaces allowed'));

      await form.getByLabel('Username').fill(bea.username);
      answer = await answerTo(page, add, '/api/admin/admins');
      assert.equal(answer.status, 201);
      await form.getByRole('status').getByText(`${bea.username} is added as an admin.`).waitFor();
      await row(bea.username).waitFor();
      assert.match(await row(bea.username).textContent(), /Admin · Enabled · added/);
      assert.equal(await form.getByLabel('Username').inputValue(), '', 'the form is cleared');
      assert.ok(await login(suite.stack, bea.username, bea.password), 'the new admin signs in');

      // The same username again: 409, in the server's words.
      await form.getByLabel('Username').fill(bea.username);
      await form.getByLabel('Password', { exact: true }).fill(bea.password);
      expected.add(409);
      answer = await answerTo(page, add, '/api/admin/admins');
      assert.equal(answer.status, 409);
      assert.equal(await form.getByRole('alert').textContent(), answer.error);

      // A supervisor.
      await form.getByLabel('Username').fill(sam.username);
      await form.getByLabel('Password', { exact: true }).fill(sam.password);
      await form.getByLabel('Role').selectOption('supervisor');
      answer = await answerTo(page, add, '/api/admin/admins');
      assert.equal(answer.status, 201);
      await row(sam.username).waitFor();
      assert.match(await row(sam.username).textContent(), /Supervisor · Enabled/);
      const names = await page.getByRole('list', { name: 'Admins' }).getByRole('heading').allTextContents();
      assert.deepEqual(names, [...names].sort(), 'by username');
      await page.screenshot({ path: join(artifacts, `team-${label}.png`), fullPage: true });
      await checkLayout(page, `${label} Team`);
    });

    test('Disable, Enable and Set password take effect, each saying so', async () => {
      const r = row(bea.username);
      await r.getByRole('button', { name: `Disable ${bea.username}` }).click();
      await r.getByText(/Disabled ·/).waitFor();
      await r.getByRole('status').getByText(`${bea.username} is disabled`, { exact: false }).waitFor();
      assert.equal(await login(suite.stack, bea.username, bea.password), null, 'a disabled admin cannot sign in');
      assert.ok((await admins()).find((a) => a.username === bea.username).disabled);

      await r.getByRole('button', { name: `Enable ${bea.username}` }).click();
      await r.getByText(/Enabled ·/).waitFor();
      assert.ok(await login(suite.stack, bea.username, bea.password), 'enabled again, they sign in');

      await r.getByRole('button', { name: `Set password for ${bea.username}` }).click();
      const box = r.getByLabel(`New password for ${bea.username}`);
      assert.equal(await page.evaluate(() => document.activeElement.id), `password-${bea.username}`, 'the focus goes to the new password');
      await box.fill('short');
      expected.add(400);
      const refused = await answerTo(page, r.getByRole('button', { name: 'Save password' }), `/api/admin/admins/${bea.username}/password`);
      assert.equal(refused.status, 400);
      assert.equal(await r.getByRole('alert').textContent(), refused.error);
      await box.fill(bea.next);
      await r.getByRole('button', { name: 'Save password' }).click();
      await r.getByRole('status').getByText(`${bea.username}’s password is changed`, { exact: false }).waitFor();
      assert.equal(await box.isVisible(), false, 'the form closes');
      assert.equal(await login(suite.stack, bea.username, bea.password), null, 'the old password no longer works');
      assert.ok(await login(suite.stack, bea.username, bea.next), 'the new one does');
    });

    test('the last enabled supervisor cannot be disabled: the API’s 409 is shown', async () => {
      // Sam first (another supervisor remains), then the stack's admin, the last one.
      await row(sam.username).getByRole('button', { name: `Disable ${sam.username}` }).click();
      await row(sam.username).getByText(/Disabled ·/).waitFor();
      const mine = row(suite.stack.username);
      expected.add(409);
      const answer = await answerTo(page, mine.getByRole('button', { name: `Disable ${suite.stack.username}` }), `/api/admin/admins/${suite.stack.username}/disable`);
      assert.equal(answer.status, 409);
      assert.equal(await mine.getByRole('alert').textContent(), answer.error);
      assert.match(await mine.textContent(), /Enabled ·/);
      assert.ok(await login(suite.stack, suite.stack.username, suite.stack.password), 'still a supervisor who can sign in');
    });

    test('an admin sees neither Team nor Activity, and is refused (403) if they go there', async () => {
      const theirs = await suite.browser.newContext(device);
      const p = await theirs.newPage();
      watch(p, `${label} ${bea.username}`, problems, expected);
      expected.add(403);
      try {
        await signIn(p, suite.stack, bea.username, bea.next);
        const links = p.getByRole('navigation', { name: 'Main' }).getByRole('link');
        await links.filter({ hasText: 'Canned replies' }).waitFor();
        assert.deepEqual(await links.allTextContents(), ['Dashboard', 'Conversations', 'Canned replies', 'Reports'], 'no Team, no Activity');
        assert.deepEqual(await p.evaluate(() => JSON.parse(sessionStorage.getItem('edubot.session')).role), 'admin');
        const status = (path) => p.waitForResponse((r) => new URL(r.url()).pathname === path).then((r) => r.status());
        let refused = status('/api/admin/admins');
        await go(p, '#/team');
        await p.getByRole('heading', { name: 'Team', level: 1 }).waitFor();
        assert.equal(await refused, 403);
        await p.getByRole('alert').waitFor();
        assert.equal(await p.getByRole('form', { name: 'Add an admin' }).isVisible(), false);
        refused = status('/api/admin/audit');
        await go(p, '#/activity');
        await p.getByRole('heading', { name: 'Activity', level: 1 }).waitFor();
        assert.equal(await refused, 403);
        await p.getByRole('alert').waitFor();
        assert.equal(await p.getByRole('heading', { name: 'Sign in' }).count(), 0, 'a 403 is not a sign-out');
        await checkLayout(p, `${label} Team refused`);
      } finally {
        await theirs.close();
      }
    });

    test('Activity shows what was done, newest first, by admin and by conversation, a page at a time', async () => {
      // Something on a conversation: the user asks for chat support, the supervisor assigns it.
      await userSends(suite.stack, user.phone, user.name, 'support');
      await eventually(async () => (await call(suite.stack, suite.boss, 'GET', `/api/admin/conversations/${user.phone}/messages?limit=1`)).data?.conversation?.is_chat_support, { what: 'in chat support' });
      const assigned = await call(suite.stack, suite.boss, 'POST', `/api/admin/conversations/${user.phone}/assign`, { admin: bea.username });
      assert.equal(assigned.status, 200);

      await nav().getByRole('link', { name: 'Activity' }).click();
      await page.getByRole('heading', { name: 'Activity', level: 1 }).waitFor();
      const list = page.getByRole('list', { name: 'Activity, newest first' });
      const entries = list.getByRole('listitem');
      await entries.first().waitFor();
      assert.match(await entries.first().textContent(), new RegExp(`${suite.stack.username} Assigned a chat · \\+${user.phone}`));
      const times = async () => list.locator('time').evaluateAll((els) => els.map((e) => e.getAttribute('datetime')));
      const all = await times();
      assert.deepEqual(all, [...all].sort().reverse(), 'newest first');
      await list.getByRole('listitem').filter({ hasText: `${suite.stack.username} Added an admin` }).first().waitFor();

      // By admin: only Bea's (her sign-ins, and the one refused with her old password).
      const filters = page.getByRole('form', { name: 'Filter the activity' });
      await filters.getByLabel('Admin').fill(bea.username);
      await filters.getByRole('button', { name: 'Show' }).click();
      await page.getByText(new RegExp(`entr(y|ies) by ${bea.username}`)).waitFor();
      const who = await list.locator('strong').allTextContents();
      assert.ok(who.length >= 2, 'her sign-ins');
      assert.ok(who.every((w) => w === bea.username), `only ${bea.username}: ${who}`);
      assert.ok(await list.getByText('Failed to sign in').count() >= 1, 'the refused sign-in is there');

      // By conversation.
      await filters.getByLabel('Admin').fill('');
      await filters.getByLabel('Conversation (phone number)').fill(`+${user.phone}`);
      await filters.getByRole('button', { name: 'Show' }).click();
      await page.getByText(new RegExp(`entr(y|ies) on \\+${user.phone}`)).waitFor();
      const links = await list.getByRole('link').allTextContents();
      assert.ok(links.length >= 1);
      assert.ok(links.every((l) => l === `+${user.phone}`), `only +${user.phone}: ${links}`);
      await list.getByText('Assigned a chat').waitFor();
      await page.screenshot({ path: join(artifacts, `activity-${label}.png`), fullPage: true });
      await checkLayout(page, `${label} Activity`);

      // A page at a time: two entries a page here, so "Load more" is needed.
      await page.route('**/api/admin/audit?**', (route) => {
        const url = new URL(route.request().url());
        url.searchParams.set('limit', '2');
        return route.continue({ url: url.toString() });
      });
      try {
        await filters.getByRole('button', { name: 'Clear' }).click();
        await eventually(async () => (await entries.count()) === 2, { what: 'the first page of two' });
        await page.getByRole('button', { name: 'Load more' }).click();
        await eventually(async () => (await entries.count()) === 4, { what: 'two pages' });
        const paged = await times();
        assert.deepEqual(paged, [...paged].sort().reverse(), 'newest first across pages');
      } finally {
        await page.unroute('**/api/admin/audit?**');
      }
    });
  });
}

test('no console errors, page errors or dialogs', () => {
  assert.deepEqual(problems, []);
});
