// The demo chat page in real headless Chromium (Debian's), two users in one channel.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromium } from 'playwright-core';
import { artifactDir, httpPublish, startServer } from '../support/server.js';

const webDir = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../../../web');
const chromiumPath = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
const HEARTBEAT_SECONDS = 2;
const TYPING_TIMEOUT_SECONDS = 2;

function artifact(name) {
  mkdirSync(artifactDir(), { recursive: true });
  return path.join(artifactDir(), name);
}

describe('demo chat page', () => {
  let server;
  let browser;
  let pageA;
  let pageB;
  const pageErrors = [];

  async function joinAs(user, channel) {
    const context = await browser.newContext();
    const page = await context.newPage();
    page.on('pageerror', (err) => pageErrors.push(`${user}: ${err.message}`));
    await page.goto(`${server.http}/`);
    await page.fill('#user', user);
    await page.fill('#channel', channel);
    await page.click('#join button[type=submit]');
    await page.waitForSelector('#connection.connected', { timeout: 15_000 });
    assert.equal(await page.isVisible('#join'), false);
    return page;
  }

  const member = (user, status) => `#members li[data-user="${user}"][data-status="${status}"]`;

  const serverOptions = {
    env: {
      REALTIME_HEARTBEAT_SECONDS: String(HEARTBEAT_SECONDS),
      REALTIME_TYPING_TIMEOUT_SECONDS: String(TYPING_TIMEOUT_SECONDS),
    },
    args: ['--static-dir', webDir],
  };

  before(async () => {
    server = await startServer(serverOptions);
    browser = await chromium.launch({
      executablePath: chromiumPath,
      headless: true,
      args: ['--no-sandbox', '--disable-gpu', '--disable-background-networking',
        '--disable-component-update', '--disable-sync'],
    });
    pageA = await joinAs('alice', 'lobby');
    pageB = await joinAs('bob', 'lobby');
  });

  after(async () => {
    if (pageB) {
      const file = artifact('chat-page-b.png');
      await pageB.screenshot({ path: file, fullPage: true }).catch(() => {});
      console.log(`screenshot of B's page: ${file}`);
    }
    await browser?.close();
    await server?.stop();
  });

  test('B sees A online, and itself', async () => {
    await pageB.waitForSelector(member('alice', 'online'), { timeout: 10_000 });
    await pageB.waitForSelector(member('bob', 'online'), { timeout: 10_000 });
    // A joined first: B knows of A from the presence snapshot, A of B from the join event.
    await pageA.waitForSelector(member('bob', 'online'), { timeout: 10_000 });
  });

  test('A types: B sees "alice is typing…" within 1 s; it goes after the server timeout', async () => {
    await pageA.focus('#message');
    const typedAt = Date.now();
    await pageA.keyboard.type('hel');
    await pageB.waitForFunction(() => document.getElementById('typing').textContent === 'alice is typing…',
      null, { timeout: 1000, polling: 50 });
    const shownAfter = Date.now() - typedAt;
    await pageB.screenshot({ path: artifact('chat-page-b-typing.png') });
    // A stops typing; the server's typing timeout (2 s here) ends it for B.
    await pageB.waitForFunction(() => document.getElementById('typing').textContent === '',
      null, { timeout: 15_000, polling: 50 });
    const goneAfter = Date.now() - typedAt;
    assert.ok(goneAfter >= TYPING_TIMEOUT_SECONDS * 1000 * 0.75,
      `shown after ${shownAfter} ms, gone after ${goneAfter} ms: too early for a ${TYPING_TIMEOUT_SECONDS} s timeout`);
    console.log(`typing shown at B after ${shownAfter} ms, gone after ${goneAfter} ms`);
    await pageA.fill('#message', '');
  });

  test('A sends a message: B sees it, with A as the author', async () => {
    await pageA.fill('#message', 'hello bob');
    await pageA.press('#message', 'Enter');
    const line = pageB.locator('#messages li', { hasText: 'hello bob' });
    await line.waitFor({ timeout: 10_000 });
    assert.equal(await line.locator('.author').textContent(), 'alice');
    // The sender sees it too, delivered like everyone else's.
    await pageA.locator('#messages li', { hasText: 'hello bob' }).waitFor({ timeout: 10_000 });
  });

  test('A hides the page: B sees A away; A is back online on return', async () => {
    const setVisibility = (state) => pageA.evaluate((value) => {
      Object.defineProperty(document, 'visibilityState', { value, configurable: true });
      document.dispatchEvent(new Event('visibilitychange'));
    }, state);
    await setVisibility('hidden');
    await pageB.waitForSelector(member('alice', 'away'), { timeout: 10_000 });
    await setVisibility('visible');
    await pageB.waitForSelector(member('alice', 'online'), { timeout: 10_000 });
  });

  test('A goes dnd: B sees it', async () => {
    await pageA.selectOption('#status', 'dnd');
    await pageB.waitForSelector(member('alice', 'dnd'), { timeout: 10_000 });
  });

  test('the server restarts: both pages reconnect, A is dnd again at B, messages flow', async () => {
    await server.stop('SIGTERM'); // a deploy: every client gets 1001
    await pageB.waitForSelector('#connection.reconnecting', { timeout: 10_000 });
    server = await startServer({ ...serverOptions, port: server.port });
    await pageB.waitForSelector('#connection.connected', { timeout: 20_000 });
    await pageA.waitForSelector('#connection.connected', { timeout: 20_000 });
    await pageB.waitForSelector(member('alice', 'dnd'), { timeout: 10_000 });
    await pageA.fill('#message', 'still here');
    await pageA.press('#message', 'Enter');
    await pageB.locator('#messages li', { hasText: 'still here' }).waitFor({ timeout: 10_000 });
  });

  test('Chromium negotiates permessage-deflate and a compressed event arrives intact', async () => {
    // A chat message well above REALTIME_COMPRESSION_MIN_BYTES (256): sent compressed.
    const message = {
      id: 'msg-browser',
      user: { id: 'alice', displayName: 'Alice Example', avatarUrl: 'https://cdn.example.com/a/alice.png' },
      text: 'A message long enough to be compressed: '.repeat(8),
      reactions: [{ emoji: 'thumbsup', count: 3 }],
    };
    const url = `${server.url}/realtime/connect?user=deflate-page&topics=compressed`;
    await pageB.evaluate((target) => new Promise((resolve, reject) => {
      const ws = new WebSocket(target);
      window.deflateSocket = ws;
      window.deflateEvents = [];
      ws.onmessage = (e) => {
        const frame = JSON.parse(e.data);
        if (frame.type === 'subscribed') resolve();
        if (frame.type === 'event' && frame.event === 'message.created') window.deflateEvents.push(frame);
      };
      ws.onerror = () => reject(new Error('websocket error'));
    }), url);
    assert.match(await pageB.evaluate(() => window.deflateSocket.extensions), /^permessage-deflate/);
    await httpPublish(server.http, 'compressed', 'message.created', message);
    await pageB.waitForFunction(() => window.deflateEvents.length > 0, null, { timeout: 10_000 });
    const got = await pageB.evaluate(() => {
      window.deflateSocket.close();
      return window.deflateEvents[0];
    });
    assert.equal(got.event, 'message.created');
    assert.deepEqual(got.data, message);
  });

  test('A closes the page: B sees A offline, with last seen, within heartbeat + grace', async () => {
    const closedAt = Date.now();
    await pageA.context().close();
    pageA = null;
    await pageB.waitForSelector(member('alice', 'offline'), { timeout: 2 * HEARTBEAT_SECONDS * 1000 + 3000 });
    const detail = await pageB.locator(`${member('alice', 'offline')} .status`).textContent();
    assert.match(detail, /^offline · last seen just now$/);
    console.log(`alice offline at B after ${Date.now() - closedAt} ms`);
  });

  test('no script errors on either page', () => {
    assert.deepEqual(pageErrors, []);
  });
});
