// The Socket.IO demo page (web/socketio.html) in headless Chromium, driven by the real
// socket.io-client: two users in one channel, typing and a message; and a v1 page in the same
// channel sees the Socket.IO user's message.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromium } from 'playwright-core';
import { artifactDir, startServer } from '../support/server.js';

const here = path.dirname(fileURLToPath(import.meta.url));
const webDir = path.resolve(here, '../../../../web');
const clientBundle = path.resolve(here, '../../node_modules/socket.io-client/dist/socket.io.esm.min.js');
const chromiumPath = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
// The page loads socket.io-client from this URL; the test answers it with the npm copy (the
// machine has no internet, and the server does not ship the client).
const clientUrl = 'http://socket-io-client.test/socket.io.esm.min.js';

function artifact(name) {
  mkdirSync(artifactDir(), { recursive: true });
  return path.join(artifactDir(), name);
}

describe('Socket.IO demo page', () => {
  let server;
  let browser;
  const pageErrors = [];

  async function open(user, pagePath = '/socketio.html') {
    const context = await browser.newContext();
    const page = await context.newPage();
    page.on('pageerror', (err) => pageErrors.push(`${user}: ${err.message}`));
    await page.route(clientUrl, (route) => route.fulfill({
      status: 200, contentType: 'text/javascript', body: readFileSync(clientBundle),
    }));
    await page.goto(`${server.http}${pagePath}?client=${encodeURIComponent(clientUrl)}`);
    await page.fill('#user', user);
    await page.fill('#channel', 'sio-lobby');
    await page.click('#join button[type=submit]');
    await page.waitForSelector('#connection.connected', { timeout: 15_000 });
    await page.waitForSelector('#room:not([hidden])', { timeout: 15_000 });
    return page;
  }

  before(async () => {
    server = await startServer({ args: ['--static-dir', webDir] });
    browser = await chromium.launch({
      executablePath: chromiumPath,
      headless: true,
      args: ['--no-sandbox', '--disable-gpu', '--disable-background-networking',
        '--disable-component-update', '--disable-sync'],
    });
  });

  after(async () => {
    await browser?.close();
    await server?.stop();
  });

  test('two Socket.IO users: presence, typing, messages; a v1 page sees them too', async () => {
    const alice = await open('alice');
    const bob = await open('bob');
    await bob.waitForSelector('#members li[data-user="alice"]', { timeout: 10_000 });
    await alice.waitForSelector('#members li[data-user="bob"]', { timeout: 10_000 });
    // The upgrade from polling to WebSocket happened by itself.
    await bob.waitForFunction(() => document.getElementById('transport').textContent.includes('websocket'),
      null, { timeout: 10_000 });

    await alice.type('#message', 'hel');
    await bob.waitForFunction(() => document.getElementById('typing').textContent.includes('alice is typing'),
      null, { timeout: 5_000 });
    await bob.screenshot({ path: artifact('socketio-page-bob-typing.png') });
    await alice.type('#message', 'lo bob');
    await alice.click('#composer button[type=submit]');
    await bob.waitForSelector('#messages li[data-from="alice"]', { timeout: 5_000 });
    assert.equal(await bob.textContent('#messages li[data-from="alice"]'), 'alice: hello bob');
    await bob.waitForFunction(() => document.getElementById('typing').textContent === '', null, { timeout: 5_000 });

    await alice.selectOption('#status', 'busy');
    await bob.waitForSelector('#members li[data-user="alice"][data-status="dnd"]', { timeout: 5_000 });

    // The protocol v1 demo page, same channel: it gets the Socket.IO user's next message.
    const v1 = await browser.newPage();
    v1.on('pageerror', (err) => pageErrors.push(`v1: ${err.message}`));
    await v1.goto(`${server.http}/`);
    await v1.fill('#user', 'carol');
    await v1.fill('#channel', 'sio-lobby');
    await v1.click('#join button[type=submit]');
    await v1.waitForSelector('#connection.connected', { timeout: 15_000 });
    await alice.fill('#message', 'hi carol');
    await alice.click('#composer button[type=submit]');
    await v1.waitForFunction(() => document.getElementById('messages').textContent.includes('hi carol'),
      null, { timeout: 5_000 });
    await bob.screenshot({ path: artifact('socketio-page-bob.png') });
    assert.deepEqual(pageErrors, []);
  });
});
