// The paperclip in the admin page's composer, in headless Chromium against the real local
// stack: a file is declared to the API, uploaded straight to the local S3 server (with its
// progress shown), and sent with the composer's text as its caption to the Graph stand-in,
// which the simulated phone shows. Refusals — the server's (a GIF; an upload bigger than it
// was declared) and the page's quick size check (a PNG over 5 MB) — are shown in the
// composer and keep the file and caption; a failed upload offers to try again; a voice
// note is declared as OGG Opus and goes without a caption.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { startStack, launchBrowser, userSends, eventually, artifacts } from './stack.mjs';
import { png } from './files.mjs';

const TOMI = { phone: '447700900444', name: 'Tomi Student' };
const HOSTILE = '<img src=x onerror=alert(1)>.png';
// A 16×12 PNG in the page's green and yellow stripes.
const TIMETABLE = png(16, 12, (x) => (x % 4 < 2 ? [11, 110, 79] : [255, 243, 191]));
// A 1×1 GIF: a type WhatsApp does not take.
const GIF = Buffer.from('R0lGODlhAQABAIAAAP///wAAACH5BAEAAAAALAAAAAABAAEAAAICRAEAOw==', 'base64');
const MB = 1024 * 1024;

let stack;
let browser;
let context;
let page;
const problems = []; // console errors, page errors and dialogs, from every page
const provoked = new Set(); // console errors a test provokes on purpose, while it does
const requests = []; // every request the desktop page made: [method, url]

function watch(p, label) {
  p.on('console', (msg) => {
    if (msg.type() !== 'error') return;
    const text = msg.text();
    if ([...provoked].some((part) => text.includes(part))) return;
    problems.push(`${label} console: ${text} (${msg.location()?.url || ''})`);
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

async function openConversation(p, who) {
  await p.evaluate((phone) => { location.hash = `#/conversations/${phone}`; }, who.phone);
  await p.getByRole('heading', { name: who.name, level: 1 }).waitFor();
  await p.getByRole('textbox', { name: 'Message' }).and(p.locator(':enabled')).waitFor();
}

/** Chooses a file through the paperclip and the browser's file chooser. */
async function attach(p, name, mimeType, buffer) {
  const [chooser] = await Promise.all([
    p.waitForEvent('filechooser'),
    p.getByRole('button', { name: 'Attach a file' }).click(),
  ]);
  assert.equal(chooser.isMultiple(), false);
  await chooser.setFiles({ name, mimeType, buffer });
}

/** The admin API with the page's own token. */
async function apiGet(path) {
  const { token } = JSON.parse(await page.evaluate(() => sessionStorage.getItem('edubot.session')));
  const response = await fetch(`${stack.url}${path}`, { headers: { authorization: `Bearer ${token}` } });
  return response.json();
}

/** The files the user's phone received (simulator): `{file, message}` of each business message with one. */
async function filesReceived(who) {
  const { messages } = await (await fetch(`${stack.url}/simulator/api/messages?phone=${who.phone}`)).json();
  return messages.filter((m) => m.from === 'business' && m.file);
}

const chip = () => page.getByRole('group', { name: 'Attached file' });
const composer = () => page.getByRole('form', { name: 'Reply' });
const box = () => page.getByRole('textbox', { name: 'Message' });
const sendButton = () => page.getByRole('button', { name: 'Send', exact: true });
const count = (method, part) => requests.filter(([m, url]) => m === method && url.includes(part)).length;

before(async () => {
  mkdirSync(artifacts, { recursive: true });
  stack = await startStack();
  browser = await launchBrowser();
  context = await browser.newContext({ viewport: { width: 1280, height: 800 } });
  page = await context.newPage();
  watch(page, 'desktop');
  page.on('request', (r) => requests.push([r.method(), r.url()]));
  await userSends(stack, TOMI.phone, TOMI.name, 'support');
  await signIn(page);
  await eventually(async () => (await apiGet(`/api/admin/conversations/${TOMI.phone}/messages?limit=1`)).conversation?.is_chat_support, { what: 'Tomi in chat support' });
  await openConversation(page, TOMI);
});

after(async () => {
  await browser?.close();
  await stack?.stop();
});

test('a PNG attached with a caption reaches the user byte for byte, with the upload\'s progress shown', async () => {
  const paperclip = page.getByRole('button', { name: 'Attach a file' });
  assert.match(await page.locator('input[type=file]').getAttribute('accept'), /image\/png/);
  assert.equal(await box().getAttribute('placeholder'), 'Write a reply…');
  await attach(page, 'timetable.png', 'image/png', TIMETABLE);
  await chip().getByText('timetable.png').waitFor();
  assert.match(await chip().textContent(), /timetable\.png · \d+ B/);
  assert.match(await box().getAttribute('placeholder'), /caption/i, 'the placeholder says the text is the caption');
  assert.equal(await sendButton().isEnabled(), true, 'a file may go without a caption');
  await box().fill('Your timetable for term 2');
  assert.equal(await page.locator('#composer-counter').textContent(), 'Caption: 25 / 1024');
  await page.screenshot({ path: join(artifacts, 'attach-chosen.png') });

  // Every value the progress bar takes, and whether it was on screen then.
  await page.evaluate(() => {
    window.progressSeen = [];
    new MutationObserver((records) => {
      for (const r of records) {
        if (r.target.getAttribute('role') === 'progressbar' || r.target.tagName === 'PROGRESS') {
          window.progressSeen.push({ value: Number(r.target.getAttribute('aria-valuenow')), visible: r.target.checkVisibility() });
        }
      }
    }).observe(document.body, { subtree: true, attributes: true, attributeFilter: ['aria-valuenow', 'hidden'] });
  });
  await sendButton().click();

  const log = page.getByRole('log', { name: 'Messages' });
  const photo = log.getByRole('img', { name: 'Your timetable for term 2' });
  await photo.waitFor();
  await eventually(() => photo.evaluate((el) => el.complete && el.naturalWidth === 16), { what: 'the sent photo in the history' });
  await log.locator('.caption', { hasText: 'Your timetable for term 2' }).waitFor();
  assert.equal(await chip().isVisible(), false, 'the chip is gone once sent');
  assert.equal(await box().inputValue(), '');
  assert.equal(await box().getAttribute('placeholder'), 'Write a reply…');
  assert.equal(await paperclip.isEnabled(), true);

  const seen = await page.evaluate(() => window.progressSeen);
  assert.ok(seen.some((s) => s.value === 100 && s.visible), `the progress bar reached 100 on screen: ${JSON.stringify(seen)}`);
  assert.equal(await page.getByRole('progressbar').count(), 0, 'no progress bar once sent');

  // The phone got the image by link, with its caption, byte for byte.
  const [received] = await eventually(async () => {
    const files = await filesReceived(TOMI);
    return files.length ? files : null;
  }, { what: 'the file on the user\'s phone' });
  assert.equal(received.message.type, 'image');
  assert.equal(received.message.image.caption, 'Your timetable for term 2');
  assert.equal(received.file.mime_type, 'image/png');
  assert.equal(received.file.size, TIMETABLE.length);
  const bytes = Buffer.from(await (await fetch(`${stack.url}${received.file.url}`)).arrayBuffer());
  assert.deepEqual(bytes, TIMETABLE);
  assert.equal(count('POST', '/attachments'), 1, 'declared once');
  assert.equal(count('PUT', '/attachments/'), 1, 'uploaded once');
  await page.screenshot({ path: join(artifacts, 'attach-sent.png') });
});

test('a GIF is refused with the server\'s reason, keeping the file and the caption; nothing is uploaded or sent', async () => {
  provoked.add('status of 400');
  try {
    const before = { declared: count('POST', '/attachments'), put: count('PUT', '/attachments/'), sent: count('POST', '/chat-support/send') };
    await attach(page, 'party.gif', 'image/gif', GIF);
    await chip().getByText('party.gif').waitFor();
    await box().fill('Look at this');
    await sendButton().click();
    const alert = composer().getByRole('alert');
    await alert.getByText('WhatsApp does not take files of this type', { exact: false }).waitFor();
    assert.match(await alert.textContent(), /send JPEG or PNG images/, 'the server\'s own words');
    assert.equal(await composer().locator('.send-error').textContent(), await alert.textContent(), 'the reason and nothing else');
    assert.equal(await chip().getByText('party.gif').isVisible(), true, 'the file stays attached');
    assert.equal(await box().inputValue(), 'Look at this', 'the caption stays');
    assert.equal(count('POST', '/attachments'), before.declared + 1, 'declared');
    assert.equal(count('PUT', '/attachments/'), before.put, 'nothing uploaded');
    assert.equal(count('POST', '/chat-support/send'), before.sent, 'nothing sent');
    assert.equal((await filesReceived(TOMI)).length, 1, 'the phone got nothing more');
    await page.screenshot({ path: join(artifacts, 'attach-refused.png') });
    await chip().getByRole('button', { name: 'Remove party.gif' }).click();
    assert.equal(await chip().isVisible(), false);
    assert.equal(await box().inputValue(), 'Look at this', 'removing the file keeps the text');
    assert.equal(await page.evaluate(() => document.activeElement.getAttribute('aria-label')), 'Attach a file');
  } finally {
    provoked.clear();
  }
});

test('a PNG over 5 MB is refused at once, before anything is declared', async () => {
  const declared = count('POST', '/attachments');
  const big = Buffer.concat([TIMETABLE, Buffer.alloc(6 * MB - TIMETABLE.length)]);
  await attach(page, 'scan.png', 'image/png', big);
  await composer().getByRole('alert').getByText('scan.png (6 MB): Images can be at most 5 MB.').waitFor();
  assert.equal(await chip().isVisible(), false, 'a file WhatsApp would refuse is not kept');
  assert.equal(count('POST', '/attachments'), declared, 'nothing declared');
  assert.equal(await box().inputValue(), 'Look at this');
  await box().fill('');
});

test('the server checks the upload again: a file bigger than declared is refused at send, keeping file and caption', async () => {
  provoked.add('status of 400');
  // The upload link cannot cap the size: the bytes put are swapped for 6 MB on the way.
  const swap = '**/attachments/**';
  await page.route(swap, (route) => (route.request().method() === 'PUT'
    ? route.continue({ postData: Buffer.concat([TIMETABLE, Buffer.alloc(6 * MB)]) })
    : route.continue()));
  try {
    await attach(page, 'small.png', 'image/png', TIMETABLE);
    await box().fill('Small, they said');
    await sendButton().click();
    await composer().getByRole('alert').getByText('Images can be at most 5 MB.').waitFor();
    assert.equal(await chip().getByText('small.png').isVisible(), true);
    assert.equal(await box().inputValue(), 'Small, they said');
    assert.equal((await filesReceived(TOMI)).length, 1, 'nothing reached the phone');
  } finally {
    await page.unroute(swap);
    provoked.clear();
  }
  // Sent again as it is, it goes (declared again).
  await sendButton().click();
  await page.getByRole('log', { name: 'Messages' }).getByRole('img', { name: 'Small, they said' }).waitFor();
  await eventually(async () => (await filesReceived(TOMI)).length === 2, { what: 'the second file on the phone' });
});

test('a failed upload says so and offers to try again, which declares again; an upload can be cancelled', async () => {
  const declared = count('POST', '/attachments');
  let release;
  let attempt = 0;
  const held = new Promise((r) => { release = r; });
  const route = '**/attachments/**';
  await page.route(route, async (r) => {
    if (r.request().method() !== 'PUT') return r.continue();
    attempt += 1;
    if (attempt === 1) {
      await held; // held until the page has been seen uploading
      return r.abort('internetdisconnected');
    }
    if (attempt === 2) {
      return r.fulfill({
        status: 403,
        headers: { 'access-control-allow-origin': stack.url, 'content-type': 'application/xml' },
        body: '<?xml version="1.0"?><Error><Code>AccessDenied</Code><Message>Request has expired</Message></Error>',
      });
    }
    if (attempt === 3) return; // never answered: cancelled by the admin
    return r.continue();
  });
  provoked.add('ERR_INTERNET_DISCONNECTED');
  provoked.add('status of 403');
  provoked.add('ERR_FAILED');
  try {
    await attach(page, 'report.pdf', 'application/pdf', Buffer.from('%PDF-1.4\n%%EOF\n'));
    await box().fill('Your report');
    await sendButton().click();
    const bar = chip().getByRole('progressbar', { name: 'Upload progress' });
    await bar.waitFor();
    assert.match(await bar.getAttribute('aria-valuenow'), /^\d+$/);
    assert.equal(await page.getByRole('button', { name: 'Uploading…' }).isDisabled(), true);
    assert.equal(await page.getByRole('button', { name: 'Attach a file' }).isDisabled(), true, 'one file at a time');
    await page.screenshot({ path: join(artifacts, 'attach-uploading.png') });
    release();
    const alert = composer().getByRole('alert');
    await alert.getByText('The upload failed: the file store could not be reached.', { exact: false }).waitFor();
    assert.equal(await chip().getByText('report.pdf').isVisible(), true);
    assert.equal(await box().inputValue(), 'Your report');

    await composer().getByRole('button', { name: 'Try again' }).click();
    await alert.getByText('The upload was refused: its link has expired', { exact: false }).waitFor();
    await page.screenshot({ path: join(artifacts, 'attach-upload-failed.png') });

    await composer().getByRole('button', { name: 'Try again' }).click();
    await chip().getByRole('button', { name: 'Cancel the upload' }).click();
    await composer().getByText('The upload was cancelled. The file is still attached.').waitFor();
    assert.equal(await chip().getByText('report.pdf').isVisible(), true);

    await sendButton().click();
    const log = page.getByRole('log', { name: 'Messages' });
    await log.getByRole('link', { name: /^Download report\.pdf · 15 B/ }).waitFor();
    assert.equal(count('POST', '/attachments'), declared + 4, 'each try declared afresh');
    const files = await eventually(async () => {
      const all = await filesReceived(TOMI);
      return all.length === 3 ? all : null;
    }, { what: 'the PDF on the phone' });
    assert.equal(files[2].message.type, 'document');
    assert.equal(files[2].message.document.caption, 'Your report');
    assert.equal(files[2].message.document.filename, 'report.pdf');
  } finally {
    await page.unroute(route);
    provoked.clear();
  }
});

test('a file\'s name is text, and the chip fits a phone (375 px) with 44 px targets', async () => {
  const phoneContext = await browser.newContext({ viewport: { width: 375, height: 667 }, isMobile: true, hasTouch: true, deviceScaleFactor: 2 });
  const phone = await phoneContext.newPage();
  watch(phone, 'phone');
  try {
    await signIn(phone);
    await openConversation(phone, TOMI);
    const long = `${HOSTILE} ${'very-long-name-'.repeat(8)}.png`;
    await attach(phone, long, 'image/png', TIMETABLE);
    const shown = phone.getByRole('group', { name: 'Attached file' });
    await shown.getByText(long, { exact: true }).waitFor();
    assert.equal(await phone.locator('img[src="x"]').count(), 0, 'a name is text, never HTML');
    assert.equal(await phone.getByRole('textbox', { name: 'Message' }).getAttribute('placeholder'), 'Write a caption for the file (optional)…');
    const layout = await phone.evaluate(() => {
      const small = [];
      for (const el of document.querySelectorAll('.composer button, .composer textarea')) {
        if (el.closest('[hidden]')) continue;
        const r = el.getBoundingClientRect();
        if (r.width < 43.5 || r.height < 43.5) small.push(`${el.tagName.toLowerCase()} "${(el.getAttribute('aria-label') || el.textContent).trim().slice(0, 30)}" ${Math.round(r.width)}×${Math.round(r.height)}`);
      }
      const chipBox = document.querySelector('.attachment-chip').getBoundingClientRect();
      return { scrollWidth: document.scrollingElement.scrollWidth, innerWidth: window.innerWidth, small, chipRight: chipBox.right };
    });
    assert.ok(layout.scrollWidth <= layout.innerWidth, `the page is ${layout.scrollWidth} px wide in ${layout.innerWidth}`);
    assert.ok(layout.chipRight <= layout.innerWidth, 'the chip fits');
    assert.deepEqual(layout.small, [], 'targets under 44 px');
    await phone.screenshot({ path: join(artifacts, 'attach-phone.png') });
  } finally {
    await phoneContext.close();
  }
});

test('a voice note: OGG declared with the Opus codec its header names, and sent without a caption', async () => {
  // The first page of an Ogg Opus stream: the Ogg header, one segment, the OpusHead packet.
  const head = Buffer.alloc(19);
  head.write('OpusHead', 0, 'latin1');
  head[8] = 1; // version
  head[9] = 1; // mono
  head.writeUInt32LE(48_000, 12);
  const page0 = Buffer.concat([Buffer.from('OggS\0\x02', 'latin1'), Buffer.alloc(20), Buffer.from([1, head.length]), head]);
  const declared = [];
  const watchDeclare = (r) => { if (r.method() === 'POST' && r.url().endsWith('/attachments')) declared.push(r.postDataJSON()); };
  page.on('request', watchDeclare);
  try {
    await attach(page, 'voice-note.ogg', 'audio/ogg', page0);
    await chip().getByText('voice-note.ogg').waitFor();
    assert.equal(await box().getAttribute('placeholder'), 'Audio is sent without a caption');
    await box().fill('hello');
    assert.match(await page.locator('#composer-counter').textContent(), /Audio takes no caption/);
    assert.equal(await sendButton().isDisabled(), true);
    await box().fill('');
    await sendButton().click();
    await eventually(async () => (await filesReceived(TOMI)).length === 4, { what: 'the voice note on the phone' });
    assert.deepEqual(declared, [{ filename: 'voice-note.ogg', mime_type: 'audio/ogg; codecs=opus', size: page0.length }]);
    const files = await filesReceived(TOMI);
    assert.equal(files[3].message.type, 'audio');
    assert.equal(files[3].message.audio.caption, undefined);
    assert.equal(files[3].file.size, page0.length);
  } finally {
    page.off('request', watchDeclare);
  }
});

test('the paperclip is closed with the composer: an ended chat takes no file', async () => {
  await page.getByRole('button', { name: 'End Chat Support' }).click();
  await page.getByRole('dialog').getByRole('button', { name: 'End chat' }).click();
  await page.getByText('The chat has ended').first().waitFor();
  assert.equal(await box().isDisabled(), true);
  assert.equal(await page.getByRole('button', { name: 'Attach a file' }).isDisabled(), true);
});

test('no console errors, page errors or dialogs', () => {
  assert.deepEqual(problems, []);
});
