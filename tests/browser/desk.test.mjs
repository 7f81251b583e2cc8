// A desk of several admins (DESIGN §15) in headless Chromium against the real local stack, on
// a desktop and on a phone: assignment (to me, to a colleague, unassigned; a colleague's send
// refused with who holds the chat, and "Take over"; two admins at once), internal notes (in
// the history, marked, never sent to WhatsApp), canned replies (managed in the page, "/" in
// the composer) and search across every conversation (debounced, stale requests cancelled,
// a page at a time).
import { test, before, after, describe } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { userSends, userReceived, eventually, artifacts } from './stack.mjs';
import { DESKTOP, PHONE, deskSuite, call, login, createAdmin, watch, signIn, go, checkLayout } from './desk.mjs';

const suite = deskSuite();
const { problems, expected } = suite;

const conversation = async (phone) => (await call(suite.stack, suite.boss, 'GET', `/api/admin/conversations/${phone}/messages?limit=200`)).data;
async function inSupport(who) {
  await userSends(suite.stack, who.phone, who.name, 'support');
  await eventually(async () => (await conversation(who.phone))?.conversation?.is_chat_support, { what: `${who.name} in chat support` });
}

/** A page signed in as `username`, its POSTs noted in `page.posts` ([path, body]). */
async function desk(device, label, username, password) {
  const context = await suite.browser.newContext(device);
  const p = await context.newPage();
  watch(p, label, problems, expected);
  p.posts = [];
  p.on('request', (r) => {
    if (r.method() === 'POST') p.posts.push([new URL(r.url()).pathname, r.postDataJSON()]);
  });
  await signIn(p, suite.stack, username, password);
  return { context, page: p };
}

const log = (p) => p.getByRole('log', { name: 'Messages' });
const box = (p) => p.getByRole('textbox', { name: 'Message' });
const assignee = (p) => p.locator('.conv-sub .badge-assignee, .conv-sub .badge-muted');
async function open(p, who) {
  await go(p, `#/conversations/${who.phone}`);
  await p.getByRole('heading', { name: who.name, level: 1 }).waitFor();
  await log(p).locator('li.msg').first().waitFor();
}

for (const [label, device, tag, digit] of [['desktop', DESKTOP, 'd', '1'], ['phone', PHONE, 'm', '2']]) {
  describe(`the desk as a team on a ${label}`, () => {
    const bea = { username: `bea-${tag}`, password: 'bea-desk-password' };
    const ADA = { phone: `4477009004${digit}1`, name: `Ada ${label}` };
    const GRACE = { phone: `4477009004${digit}2`, name: `Grace ${label}` };
    const LINUS = { phone: `4477009004${digit}3`, name: `Linus ${label}` };
    let mine; // the supervisor's desk
    let hers; // Bea's

    before(async () => {
      await createAdmin(suite.stack, suite.boss, bea.username, bea.password);
      mine = await desk(device, `${label} admin`, suite.stack.username, suite.stack.password);
      hers = await desk(device, `${label} ${bea.username}`, bea.username, bea.password);
    });
    after(async () => {
      await mine?.context.close();
      await hers?.context.close();
    });

    test('Assign to me: the assignee in the header and the list, and the mine and unassigned filters', async () => {
      const { page } = mine;
      await inSupport(ADA);
      await open(page, ADA);
      await assignee(page).filter({ hasText: 'Unassigned' }).waitFor();
      await page.getByRole('button', { name: 'Assign to me' }).click();
      await assignee(page).filter({ hasText: 'you' }).waitFor();
      assert.equal(await assignee(page).textContent(), 'Assigned to 👤 you');
      assert.deepEqual(page.posts.findLast(([path]) => path.endsWith(`/${ADA.phone}/assign`))[1], { admin: suite.stack.username, expected_assigned_to: null });
      await page.getByRole('button', { name: 'Assign to me' }).waitFor({ state: 'hidden' });
      await page.getByRole('button', { name: 'Unassign' }).waitFor();
      if (label === 'phone') await checkLayout(page, `${label} conversation with assignment`);
      await page.screenshot({ path: join(artifacts, `assigned-${label}.png`) });

      await go(page, '#/conversations');
      const row = page.locator('li.conversation', { hasText: ADA.name });
      await row.locator('.badge-assignee', { hasText: 'you' }).waitFor();
      await page.getByLabel('Assigned to me').check();
      await row.waitFor();
      assert.match(page.url(), /filter=mine/);
      await page.getByLabel('Unassigned').check();
      await page.locator('li.conversation, li.empty').first().waitFor();
      await eventually(async () => (await row.count()) === 0, { what: 'Ada not among the unassigned' });
      await page.getByLabel('All').check();
      await row.waitFor();
      await checkLayout(page, `${label} list with filters`);
    });

    test('a colleague’s send is refused with who holds the chat; Take over, then the send goes', async () => {
      const { page } = hers;
      await open(page, ADA);
      await assignee(page).filter({ hasText: suite.stack.username }).waitFor();
      const text = `Hello from ${bea.username}`;
      await box(page).fill(text);
      expected.add(409);
      const [response] = await Promise.all([
        page.waitForResponse((r) => r.url().endsWith(`/${ADA.phone}/chat-support/send`)),
        page.getByRole('button', { name: 'Send', exact: true }).click(),
      ]);
      assert.equal(response.status(), 409);
      assert.equal((await response.json()).error.code, 'assigned_to_other');
      const composer = page.getByRole('form', { name: 'Reply' });
      await composer.getByRole('alert').getByText(`${suite.stack.username} is handling this chat`, { exact: false }).waitFor();
      assert.equal(await box(page).inputValue(), text, 'the text stays to send again');
      await page.screenshot({ path: join(artifacts, `take-over-${label}.png`) });

      await composer.getByRole('button', { name: 'Take over' }).click();
      await composer.getByText('The chat is assigned to you now: send your message again.').waitFor();
      await assignee(page).filter({ hasText: 'you' }).waitFor();
      assert.deepEqual(page.posts.findLast(([path]) => path.endsWith(`/${ADA.phone}/assign`))[1], { admin: bea.username, expected_assigned_to: suite.stack.username });
      await page.getByRole('button', { name: 'Send', exact: true }).click();
      await log(page).getByText(text).waitFor();
      await eventually(async () => (await userReceived(suite.stack, ADA.phone)).includes(text), { what: 'the reply on the user’s phone' });
      assert.equal((await userReceived(suite.stack, ADA.phone)).filter((t) => t === text).length, 1, 'sent once: the refused send never went');

      // The supervisor's list follows, as the socket tells it.
      await mine.page.locator('li.conversation', { hasText: ADA.name }).locator('.badge-assignee', { hasText: bea.username }).waitFor({ timeout: 10_000 });
    });

    test('two admins at once: the page sends what it showed, and the one who lost sees who won', async () => {
      const { page } = mine;
      await open(page, ADA);
      await assignee(page).filter({ hasText: bea.username }).waitFor();
      // Bea lets the chat go (the page shows it unassigned), then takes it again just before
      // the supervisor's "Assign to me" lands.
      const beaToken = await login(suite.stack, bea.username, bea.password);
      await call(suite.stack, beaToken, 'POST', `/api/admin/conversations/${ADA.phone}/assign`, { admin: null });
      let raced = false;
      await page.route(`**/api/admin/conversations/${ADA.phone}/assign`, async (route) => {
        if (!raced) {
          raced = true;
          await call(suite.stack, beaToken, 'POST', `/api/admin/conversations/${ADA.phone}/assign`, { admin: bea.username });
        }
        await route.continue();
      });
      expected.add(409);
      try {
        // The page believed "Unassigned" (the socket said so) when it was clicked.
        await assignee(page).filter({ hasText: 'Unassigned' }).waitFor();
        await page.getByRole('button', { name: 'Assign to me' }).click();
        const notice = page.locator('.notice-slot');
        await notice.getByRole('alert').getByText(`${bea.username} is handling this chat`, { exact: false }).waitFor();
        assert.deepEqual(page.posts.findLast(([path]) => path.endsWith('/assign'))[1], { admin: suite.stack.username, expected_assigned_to: null });
        await assignee(page).filter({ hasText: bea.username }).waitFor();
        // Take over from there: assigned to me, with what the page now knows.
        await notice.getByRole('button', { name: 'Take over' }).click();
        await assignee(page).filter({ hasText: 'you' }).waitFor();
        assert.deepEqual(page.posts.findLast(([path]) => path.endsWith('/assign'))[1], { admin: suite.stack.username, expected_assigned_to: bea.username });
      } finally {
        await page.unroute(`**/api/admin/conversations/${ADA.phone}/assign`);
      }
    });

    test('Assign to… a colleague (the usernames offered), an unknown one refused, and Unassign', async () => {
      const { page } = mine;
      await page.getByRole('button', { name: 'Assign to…' }).click();
      const form = page.locator('#assign-form');
      const input = form.getByLabel('Assign to');
      assert.equal(await page.evaluate(() => document.activeElement.id), 'assign-to');
      await eventually(async () => (await page.locator('#assign-names option').evaluateAll((os) => os.map((o) => o.value))).includes(bea.username), { what: 'Bea offered' });
      await input.fill('nobody-here');
      expected.add(400);
      const [refused] = await Promise.all([
        page.waitForResponse((r) => r.url().endsWith('/assign')),
        form.getByRole('button', { name: 'Assign', exact: true }).click(),
      ]);
      assert.equal(refused.status(), 400);
      await page.locator('.notice-slot').getByRole('alert').getByText((await refused.json()).error.message).waitFor();
      await input.fill(bea.username);
      await form.getByRole('button', { name: 'Assign', exact: true }).click();
      await assignee(page).filter({ hasText: bea.username }).waitFor();
      assert.equal(await form.isVisible(), false, 'the form closes');
      assert.deepEqual(page.posts.findLast(([path]) => path.endsWith('/assign'))[1], { admin: bea.username, expected_assigned_to: suite.stack.username });
      await page.getByRole('button', { name: 'Unassign' }).click();
      await assignee(page).filter({ hasText: 'Unassigned' }).waitFor();
      assert.deepEqual(page.posts.findLast(([path]) => path.endsWith('/assign'))[1], { admin: null, expected_assigned_to: bea.username });
    });

    test('an internal note is in the history, marked, without ticks, and never reaches the user', async () => {
      const { page } = mine;
      await open(hers.page, ADA);
      const note = `Called her school: fee waived (${label})`;
      const before = (await userReceived(suite.stack, ADA.phone)).length;
      await page.getByRole('button', { name: 'Internal note' }).click();
      assert.equal(await page.getByRole('button', { name: 'Internal note' }).getAttribute('aria-pressed'), 'true');
      assert.equal(await box(page).getAttribute('placeholder'), 'Write an internal note: only the desk sees it…');
      await box(page).fill(note);
      await page.getByRole('button', { name: 'Add note' }).click();
      const shown = log(page).getByRole('note', { name: `Internal note by ${suite.stack.username} (you)` }).filter({ hasText: note });
      await shown.waitFor();
      assert.match(await shown.textContent(), /^Internal note · /);
      assert.equal(await shown.getByRole('img').count(), 0, 'no delivery ticks');
      assert.equal(await shown.evaluate((el) => getComputedStyle(el).backgroundColor), 'rgb(255, 243, 191)', 'yellow');
      assert.equal(await box(page).inputValue(), '');
      assert.ok(page.posts.some(([path, body]) => path.endsWith(`/${ADA.phone}/notes`) && body.text === note));
      assert.ok(!page.posts.some(([path, body]) => path.endsWith('/chat-support/send') && body.text === note), 'not sent');
      // Bea's page shows it as it happens.
      await log(hers.page).getByRole('note', { name: `Internal note by ${suite.stack.username}` }).filter({ hasText: note }).waitFor({ timeout: 10_000 });
      await page.screenshot({ path: join(artifacts, `note-${label}.png`) });

      // A reply after it reaches the user; the note never did.
      await page.getByRole('group', { name: 'Write' }).getByRole('button', { name: 'Reply' }).click();
      const after = `A reply after the note (${label})`;
      await box(page).fill(after);
      await page.getByRole('button', { name: 'Send', exact: true }).click();
      await eventually(async () => (await userReceived(suite.stack, ADA.phone)).includes(after), { what: 'the reply on the phone' });
      const received = await userReceived(suite.stack, ADA.phone);
      assert.equal(received.length, before + 1, 'only the reply');
      assert.ok(!received.some((t) => t.includes(note)));
      // Read afresh, it is still a note.
      await page.reload();
      await log(page).getByRole('note').filter({ hasText: note }).waitFor();
    });

    test('a note can be written when no reply can (not in chat support)', async () => {
      const { page } = mine;
      await userSends(suite.stack, GRACE.phone, GRACE.name, 'hi');
      await eventually(async () => (await conversation(GRACE.phone))?.conversation, { what: 'Grace’s conversation' });
      await open(page, GRACE);
      assert.equal(await box(page).isDisabled(), true);
      await page.getByRole('button', { name: 'Internal note' }).click();
      assert.equal(await box(page).isEnabled(), true);
      await box(page).fill('Not in support yet: wrote to the school');
      await box(page).press('Enter');
      await log(page).getByRole('note').filter({ hasText: 'Not in support yet' }).waitFor();
      assert.equal(await page.getByRole('button', { name: 'Assign to me' }).isVisible(), false, 'nothing to assign outside chat support');
      await page.getByRole('group', { name: 'Write' }).getByRole('button', { name: 'Reply' }).click();
      assert.equal(await box(page).isDisabled(), true);
    });

    test('canned replies: managed in the page; “/” in the composer offers them, Enter or Tab puts one in to edit', async () => {
      const { page } = mine;
      const fees = { shortcut: `${tag}fees`, text: 'The fees are on our website.' };
      const hours = { shortcut: `${tag}hours`, text: 'We answer from 9 to 5.' };
      await page.getByRole('navigation', { name: 'Main' }).getByRole('link', { name: 'Canned replies' }).click();
      await page.getByRole('heading', { name: 'Canned replies', level: 1 }).waitFor();
      const form = page.getByRole('form', { name: 'Add a canned reply' });
      const add = async (r) => {
        await form.getByLabel('Shortcut').fill(r.shortcut);
        await form.getByLabel('Text', { exact: true }).fill(r.text);
        const [response] = await Promise.all([
          page.waitForResponse((x) => new URL(x.url()).pathname === '/api/admin/canned-replies' && x.request().method() === 'POST'),
          form.getByRole('button', { name: 'Add canned reply' }).click(),
        ]);
        return { status: response.status(), error: (await response.json()).error?.message };
      };
      assert.equal((await add(fees)).status, 201);
      await form.getByRole('status').getByText(`/${fees.shortcut} is added.`).waitFor();
      assert.equal((await add(hours)).status, 201);
      const list = page.getByRole('list', { name: 'Canned replies' });
      await list.getByText(`/${hours.shortcut}`, { exact: true }).waitFor();
      expected.add(400);
      expected.add(409);
      let refused = await add({ shortcut: 'Not A Shortcut', text: 'x' });
      assert.equal(refused.status, 400);
      assert.equal(await form.getByRole('alert').textContent(), refused.error);
      refused = await add(fees);
      assert.equal(refused.status, 409);
      assert.equal(await form.getByRole('alert').textContent(), refused.error);
      if (label === 'phone') await checkLayout(page, `${label} canned replies`);
      await page.screenshot({ path: join(artifacts, `canned-${label}.png`), fullPage: true });

      await inSupport(LINUS);
      await open(page, LINUS);
      const text = box(page);
      await text.click();
      const sends = () => page.posts.filter(([path]) => path.endsWith(`/${LINUS.phone}/chat-support/send`)).length;
      await page.keyboard.type(`/${tag}f`);
      const offered = page.getByRole('listbox', { name: 'Canned replies' });
      await offered.getByRole('option', { name: new RegExp(`/${fees.shortcut}`) }).waitFor();
      assert.equal(await offered.getByRole('option').count(), 1, 'filtered by what follows “/”');
      assert.equal(await text.getAttribute('aria-activedescendant'), 'canned-0');
      await page.screenshot({ path: join(artifacts, `canned-picker-${label}.png`) });
      await page.keyboard.press('Enter');
      assert.equal(await text.inputValue(), fees.text, 'put in, not sent');
      assert.equal(await offered.isVisible(), false);
      assert.equal(sends(), 0);
      await page.keyboard.type(' See you!');
      await page.keyboard.press('Enter');
      await eventually(async () => (await userReceived(suite.stack, LINUS.phone)).includes(`${fees.text} See you!`), { what: 'the edited reply on the phone' });

      // Arrow keys and Tab.
      await page.keyboard.type(`/${tag}`);
      await offered.getByRole('option').nth(1).waitFor();
      await page.keyboard.press('ArrowDown');
      assert.equal(await offered.getByRole('option', { selected: true }).textContent(), `/${hours.shortcut}${hours.text}`);
      await page.keyboard.press('Tab');
      assert.equal(await text.inputValue(), hours.text);
      assert.equal(await page.evaluate(() => document.activeElement.id), 'message', 'Tab stayed in the text');
      await text.fill('');
      // No match, then Escape: closed, and the text is as typed.
      await page.keyboard.type('/nothing-like-this');
      await page.locator('.canned').getByText('No canned reply starts with /nothing-like-this.').waitFor();
      await page.keyboard.press('Escape');
      assert.equal(await page.locator('.canned').isVisible(), false);
      assert.equal(await text.inputValue(), '/nothing-like-this');
      await text.fill('');
      assert.equal(sends(), 1, 'only the edited reply was sent');

      // Deleted, asked twice.
      await go(page, '#/canned-replies');
      const item = page.getByRole('list', { name: 'Canned replies' }).getByRole('listitem').filter({ hasText: `/${hours.shortcut}` });
      await item.getByRole('button', { name: `Delete /${hours.shortcut}` }).click();
      await item.getByRole('button', { name: `Yes, delete /${hours.shortcut}` }).click();
      await page.getByText(`/${hours.shortcut} is deleted.`).waitFor();
      assert.equal(await item.count(), 0);
      const left = (await call(suite.stack, suite.boss, 'GET', '/api/admin/canned-replies')).data.canned_replies.map((r) => r.shortcut);
      assert.ok(left.includes(fees.shortcut) && !left.includes(hours.shortcut));
    });

    test('search finds conversations the list has not loaded, as you type, a page at a time', async () => {
      const { page } = mine;
      const who = tag === 'd' ? { name: 'Zoë Ångström', query: 'zoe ang', also: 'Zoe Baker' } : { name: 'Chloé Müller', query: 'chloe mul', also: 'Chloe Mason' };
      const target = { phone: `4477009005${digit}1`, name: who.name };
      const similar = { phone: `4477009005${digit}2`, name: who.also };
      // Each answered by the bot before the next writes, so the target is the oldest.
      const lastAt = async (phone) => Date.parse((await conversation(phone))?.conversation?.last_message_at || '') || 0;
      let previous = 0;
      for (const [phone, name] of [[target.phone, target.name], [similar.phone, similar.name], ...[3, 4, 5].map((n) => [`4477009005${digit}${n}`, `Later ${label} ${n}`])]) {
        await userSends(suite.stack, phone, name, 'hello');
        await eventually(async () => (await conversation(phone))?.messages?.some((m) => m.author === 'bot'), { what: `the bot’s answer to ${name}` });
        const at = await lastAt(phone);
        assert.ok(at > previous, 'in order');
        previous = at;
      }
      // The list reads two conversations a page here: the target is not among them.
      const searches = [];
      const failed = [];
      page.on('request', (r) => { const u = new URL(r.url()); if (u.pathname === '/api/admin/conversations' && u.searchParams.has('q')) searches.push(u.searchParams.get('q')); });
      page.on('requestfailed', (r) => { const u = new URL(r.url()); if (u.searchParams.has('q')) failed.push([u.searchParams.get('q'), r.failure()?.errorText]); });
      await page.route('**/api/admin/conversations?**', (route) => {
        const url = new URL(route.request().url());
        if (!url.searchParams.has('q')) url.searchParams.set('limit', '2');
        return route.continue({ url: url.toString() });
      });
      try {
        await go(page, '#/conversations');
        const rows = page.locator('li.conversation');
        await eventually(async () => (await rows.count()) === 2, { what: 'two rows' });
        const row = rows.filter({ hasText: target.name });
        assert.equal(await row.count(), 0, 'not loaded');

        const search = page.getByLabel('Search by name or phone');
        await search.click();
        await page.keyboard.type(who.query, { delay: 20 });
        await row.waitFor();
        assert.equal(searches.at(-1), who.query);
        // Typed a key every 20 ms: one search (two if the machine stalled past the pause).
        assert.ok(searches.length <= 2, `debounced: ${searches.join(' | ')}`);
        assert.equal(await rows.count(), 1, 'every word of the query matches a word of the name');
        await page.getByText(`1 conversation matches “${who.query}”.`).waitFor();
        assert.equal(await page.getByLabel('Chat support', { exact: true }).isDisabled(), true, 'no filter while searching');
        assert.match(page.url(), new RegExp(`q=${who.query.replace(' ', '\\+')}`));

        // Typing on cancels a search still on its way; only the newest text's results show.
        await page.route('**/api/admin/conversations?*q=*', async (route) => {
          if (new URL(route.request().url()).searchParams.get('q') === who.query.slice(0, 3)) {
            await new Promise((r) => setTimeout(r, 1_500));
          }
          await route.fallback().catch(() => {});
        });
        await search.fill(who.query.slice(0, 3));
        await eventually(() => searches.at(-1) === who.query.slice(0, 3), { what: 'the slow search sent' });
        await search.fill(who.query);
        await eventually(() => failed.some(([q]) => q === who.query.slice(0, 3)), { what: 'the stale search cancelled' });
        await page.getByText(`1 conversation matches “${who.query}”.`).waitFor();
        await page.unroute('**/api/admin/conversations?*q=*');

        // A page at a time: one result a page here.
        await page.route('**/api/admin/conversations?*q=*', (route) => {
          const url = new URL(route.request().url());
          url.searchParams.set('limit', '1');
          return route.fallback({ url: url.toString() });
        });
        await search.fill(who.query.split(' ')[0]);
        await page.getByText(new RegExp(`1 conversation matches “${who.query.split(' ')[0]}” so far`)).waitFor();
        await page.getByRole('button', { name: 'Load more conversations' }).click();
        await rows.filter({ hasText: target.name }).waitFor();
        await rows.filter({ hasText: similar.name }).waitFor();
        await page.unroute('**/api/admin/conversations?*q=*');

        // Digits: the start of the number; a full number not found can still be opened.
        await search.fill(`+44 7700 9005${digit}1`);
        await row.waitFor();
        assert.equal(await rows.count(), 1);
        await search.fill(`4477009005${digit}9`);
        await page.getByRole('link', { name: `Open the conversation with +4477009005${digit}9` }).waitFor();
        assert.equal(await rows.count(), 0);
        await search.fill(`${who.query} nobody`);
        await page.getByText('No conversation matches the search.').waitFor();
        if (label === 'phone') await checkLayout(page, `${label} search`);

        // Cleared: the list as it was.
        await search.fill('');
        await eventually(async () => (await rows.count()) === 2, { what: 'the list back' });
        assert.equal(await row.count(), 0);
        assert.equal(await page.getByLabel('Chat support', { exact: true }).isDisabled(), false);
        assert.equal(await page.locator('.summary').textContent(), '');
      } finally {
        await page.unrouteAll({ behavior: 'ignoreErrors' });
      }
    });
  });
}

test('no console errors, page errors or dialogs', () => {
  assert.deepEqual(problems, []);
});
