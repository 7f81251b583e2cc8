// Starts the local stack (target/debug/edubot-local) on a free port with its own data folder,
// and headless Debian Chromium, for the browser tests.
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync, existsSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import { randomBytes } from 'node:crypto';
import { chromium } from 'playwright-core';

const here = dirname(fileURLToPath(import.meta.url));
export const repoRoot = resolve(here, '../..');
// Screenshots go under target/, so a test run leaves the work tree as it found it.
export const artifacts = join(repoRoot, 'target/browser-artifacts');

const BINARY = process.env.EDUBOT_LOCAL_BIN || join(repoRoot, 'target/debug/edubot-local');
const CHROMIUM = process.env.CHROMIUM_PATH || '/usr/bin/chromium';

/** The stack, up and answering. `stop()` ends it (and the DynamoDB Local it started). */
export async function startStack() {
  if (!existsSync(BINARY)) throw new Error(`${BINARY} is missing: build it with cargo build -p edubot-local`);
  const dataDir = mkdtempSync(join(tmpdir(), 'edubot-browser-'));
  const password = `pw-${randomBytes(9).toString('base64url')}`;
  // A clean environment: only what the stack needs, so no outside setting redirects it.
  const env = { PATH: process.env.PATH, HOME: process.env.HOME || dataDir, PORT: '0', LOCAL_DATA_DIR: join(dataDir, 'data'), ADMIN_USERNAME: 'admin', ADMIN_PASSWORD: password, RUST_LOG: 'warn' };
  if (process.env.JAVA_HOME) env.JAVA_HOME = process.env.JAVA_HOME;
  const child = spawn(BINARY, [], { cwd: repoRoot, env, stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  const url = await new Promise((resolveUrl, reject) => {
    const timer = setTimeout(() => reject(new Error(`the local stack did not start in 180 s:\n${output}`)), 180_000);
    const onData = (chunk) => {
      output += chunk;
      const m = output.match(/is up on (http:\/\/[0-9.:]+)/);
      if (m) {
        clearTimeout(timer);
        resolveUrl(m[1]);
      }
    };
    child.stdout.on('data', onData);
    child.stderr.on('data', (chunk) => { output += chunk; });
    child.on('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`the local stack exited (${code}):\n${output}`));
    });
  });
  child.removeAllListeners('exit');
  const exited = new Promise((r) => child.on('exit', r));
  return {
    url,
    username: 'admin',
    password,
    log: () => output,
    async stop() {
      if (child.exitCode === null) {
        child.kill('SIGINT');
        const timeout = new Promise((r) => setTimeout(r, 15_000, 'timeout'));
        if ((await Promise.race([exited, timeout])) === 'timeout') child.kill('SIGKILL');
      }
      rmSync(dataDir, { recursive: true, force: true });
    },
  };
}

export function launchBrowser() {
  return chromium.launch({
    executablePath: CHROMIUM,
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--no-first-run'],
  });
}

/** The WhatsApp user writes, through the simulator: a webhook signed by the stack itself. */
export async function userSends(stack, phone, name, text) {
  const response = await fetch(`${stack.url}/simulator/api/send`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ phone, name, text }),
  });
  if (!response.ok) throw new Error(`simulator send: ${response.status} ${await response.text()}`);
}

/** What the user's phone received (text bodies of business messages). Viewing marks them read. */
export async function userReceived(stack, phone) {
  const response = await fetch(`${stack.url}/simulator/api/messages?phone=${phone}`);
  const { messages } = await response.json();
  return messages.filter((m) => m.from === 'business').map((m) => m.message.text?.body ?? m.message.interactive?.body?.text ?? '');
}

/** Polls `check` until it returns a truthy value. */
export async function eventually(check, { timeout = 15_000, interval = 200, what = 'condition' } = {}) {
  const end = Date.now() + timeout;
  let last;
  for (;;) {
    last = await check();
    if (last) return last;
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, interval));
  }
}

/**
 * A test hook: serves the page's polling.js with both polling intervals (visible and hidden
 * tab, while the socket is down) set to `ms`.
 */
export async function pollEvery(context, ms) {
  const source = readFileSync(join(repoRoot, 'static-site/js/polling.js'), 'utf8');
  let found = 0;
  const body = source.replace(/(export const (?:POLL_MS|POLL_HIDDEN_MS) = )[0-9_]+;/g, (_, head) => { found += 1; return `${head}${ms};`; });
  if (found !== 2) throw new Error('static-site/js/polling.js no longer exports POLL_MS and POLL_HIDDEN_MS');
  await context.route('**/js/polling.js', (route) => route.fulfill({ contentType: 'text/javascript; charset=utf-8', body }));
}

/** Keeps every WebSocket the page opens in `window.openedSockets`, for the two helpers below. */
export async function trackSockets(context) {
  await context.addInitScript(() => {
    const Native = window.WebSocket;
    window.openedSockets = [];
    window.WebSocket = class extends Native {
      constructor(...args) {
        super(...args);
        window.openedSockets.push(this);
      }
    };
  });
}

/** `event` arrives on the page's newest socket, as the server would push it. */
export async function pushEvent(page, event) {
  await page.evaluate((data) => window.openedSockets.at(-1).dispatchEvent(new MessageEvent('message', { data })), JSON.stringify(event));
}

/** The page's newest socket closes, as when API Gateway ends a connection. */
export async function dropSocket(page) {
  await page.evaluate(() => window.openedSockets.at(-1).close());
}
