// Starts the real nself-realtime binary for a test and stops it again.
import { execFile, spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const here = path.dirname(fileURLToPath(import.meta.url));
const repoRoot = path.resolve(here, '../../../..');

/** REALTIME_SERVER_BINARY (set by CTest), else the release build of this checkout. */
export function serverBinary() {
  const binary = process.env.REALTIME_SERVER_BINARY ?? path.join(repoRoot, 'build/release/nself-realtime');
  if (!existsSync(binary)) {
    throw new Error(`server binary ${binary} is missing: build it (cmake --build --preset release) or set REALTIME_SERVER_BINARY`);
  }
  return binary;
}

/** Where tests leave artifacts (screenshots): under the build dir, never in the source tree. */
export function artifactDir() {
  return process.env.REALTIME_TEST_ARTIFACTS ?? path.join(repoRoot, 'build/release/test-artifacts');
}

/**
 * Starts `nself-realtime --dev` on 127.0.0.1 (port 0 = any free port) and resolves when it
 * logs "listening on 127.0.0.1:PORT". `dev: false` starts it in production mode (give it the
 * settings that needs).
 * @param {{port?: number, env?: Record<string,string>, args?: string[], dev?: boolean}} [options]
 */
export async function startServer({ port = 0, env = {}, args = [], dev = true } = {}) {
  const child = spawn(serverBinary(),
    [...(dev ? ['--dev'] : []), '--host', '127.0.0.1', '--port', String(port), '--threads', '2', ...args],
    // DATABASE_URL=none: no realtime.db left in the working directory (the source tree).
    { env: { DATABASE_URL: 'none', ...process.env, ...env }, stdio: ['ignore', 'ignore', 'pipe'] });
  let log = '';
  const listening = new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`server did not start within 30 s:\n${log}`)), 30_000);
    child.stderr.setEncoding('utf8');
    child.stderr.on('data', (chunk) => {
      log += chunk;
      const match = /listening on 127\.0\.0\.1:(\d+)/.exec(log);
      if (match) {
        clearTimeout(timer);
        resolve(Number(match[1]));
      }
    });
    child.on('exit', (code, signal) => {
      clearTimeout(timer);
      reject(new Error(`server exited (${code ?? signal}) before listening:\n${log}`));
    });
  });
  const boundPort = await listening;
  const exited = new Promise((resolve) => {
    if (child.exitCode !== null || child.signalCode !== null) resolve();
    else child.on('exit', () => resolve());
  });
  return {
    port: boundPort,
    url: `ws://127.0.0.1:${boundPort}`,
    http: `http://127.0.0.1:${boundPort}`,
    log: () => log,
    /** SIGTERM (graceful: 1001 to every client) or SIGKILL (the link just dies). */
    async stop(signal = 'SIGTERM') {
      if (child.exitCode === null && child.signalCode === null) child.kill(signal);
      const timer = setTimeout(() => child.kill('SIGKILL'), 10_000);
      await exited;
      clearTimeout(timer);
    },
  };
}

/** A dev-mode token from POST /realtime/token (role admin, so client publish is allowed). */
export async function mintDevToken(httpBase, userId, role = 'admin') {
  const response = await fetch(`${httpBase}/realtime/token`, {
    method: 'POST',
    headers: { 'Content-Type': 'application/json' },
    body: JSON.stringify({ user_id: userId, role }),
  });
  if (!response.ok) throw new Error(`token for ${userId}: HTTP ${response.status} ${await response.text()}`);
  return (await response.json()).token;
}

/** Publishes as a backend would (dev mode: loopback is trusted). */
export async function httpPublish(httpBase, topic, event, data) {
  const response = await fetch(`${httpBase}/realtime/publish`, {
    method: 'POST',
    headers: { 'Content-Type': 'application/json' },
    body: JSON.stringify({ topic, event, data }),
  });
  if (response.status !== 202) throw new Error(`publish: HTTP ${response.status} ${await response.text()}`);
}

/** Resolves with the first value `probe` returns that is not undefined, polling every 20 ms. */
export async function waitFor(probe, { timeoutMs = 10_000, what = 'condition' } = {}) {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe();
    if (value !== undefined && value !== false) return value;
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

/**
 * The first `event` from `emitter` (its arguments' first value), or an error after `timeoutMs`.
 * Call it before the action that causes the event: an event that came first is missed.
 */
export function nextEvent(emitter, event, { timeoutMs = 10_000, what = event } = {}) {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      emitter.off(event, onEvent);
      reject(new Error(`timed out after ${timeoutMs} ms waiting for ${what}`));
    }, timeoutMs);
    function onEvent(value) {
      clearTimeout(timer);
      resolve(value);
    }
    emitter.once(event, onEvent);
  });
}

/** Collects values pushed by callbacks; `next()` waits for the next unseen one. */
export class Inbox {
  constructor() {
    this.items = [];
    this.read = 0;
  }

  push = (item) => {
    this.items.push(item);
  };

  async next(what = 'next item', timeoutMs = 10_000) {
    await waitFor(() => this.items.length > this.read, { timeoutMs, what });
    return this.items[this.read++];
  }

  /** The next item for which `match` is true (skipping others). */
  async find(match, what = 'matching item', timeoutMs = 10_000) {
    for (;;) {
      const item = await this.next(what, timeoutMs);
      if (match(item)) return item;
    }
  }
}

/** A free TCP port on 127.0.0.1 (free now; a test binds it soon after). */
export function freePort() {
  return new Promise((resolve, reject) => {
    const srv = net.createServer();
    srv.listen(0, '127.0.0.1', () => {
      const { port } = srv.address();
      srv.close(() => resolve(port));
    });
    srv.on('error', reject);
  });
}

/** Whether something accepts TCP connections on 127.0.0.1:port now. */
export function canConnect(port) {
  return new Promise((resolve) => {
    const s = net.connect(port, '127.0.0.1', () => {
      s.destroy();
      resolve(true);
    });
    s.on('error', () => resolve(false));
  });
}

/**
 * Starts a throwaway `redis-server` (no persistence) on a free port; `stop()` kills it. Resolves
 * null when there is no redis-server on this machine (tests then skip).
 */
export async function startRedis() {
  const port = await freePort();
  const child = spawn('redis-server', ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no'],
    { stdio: 'ignore' });
  const failed = new Promise((resolve) => child.on('error', () => resolve(null)));
  const up = waitFor(() => canConnect(port), { what: 'redis-server' }).then(() => true, () => false);
  if (!(await Promise.race([up, failed]))) {
    child.kill('SIGKILL');
    return null;
  }
  return {
    port,
    url: `redis://127.0.0.1:${port}`,
    stop() {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
    },
  };
}

/** One command to the redis-server on `port` with redis-cli; resolves its reply as text, trimmed. */
export function redisCli(port, args) {
  return new Promise((resolve, reject) => {
    execFile('redis-cli', ['-p', String(port), ...args], (err, stdout) => (err ? reject(err) : resolve(stdout.trim())));
  });
}

/** Waits until GET /health answers 200 (the Redis engine is connected). */
export async function waitHealthy(server) {
  await waitFor(async () => (await fetch(`${server.http}/health`)).status === 200, { what: `${server.http} healthy` });
}
