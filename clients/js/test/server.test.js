// The SDK against the real nself-realtime binary (dev mode, port 0).
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import WebSocket from 'ws';
import { RealtimeClient } from '../src/index.js';
import {
  Inbox, httpPublish, mintDevToken, startRedis, startServer, waitFor, waitHealthy,
} from './support/server.js';

const fastReconnect = { baseMs: 100, maxMs: 1000, goingAwayJitterMs: 200 };

function clientFor(server, userId, options = {}) {
  const tokens = [];
  const client = new RealtimeClient({
    url: server.url,
    WebSocket,
    reconnect: fastReconnect,
    getToken: async () => {
      const token = await mintDevToken(server.http, userId, options.role ?? 'admin');
      tokens.push(token);
      return token;
    },
    ...options,
  });
  return { client, tokens };
}

describe('against the server', () => {
  let server;
  const clients = [];
  before(async () => {
    server = await startServer();
  });
  after(async () => {
    for (const c of clients) c.close();
    await server?.stop();
  });
  const open = (userId, options) => {
    const made = clientFor(server, userId, options);
    clients.push(made.client);
    return made;
  };

  test('subscribe, then receive what a backend publishes', async () => {
    const { client } = open('sub-alice');
    await client.connect();
    assert.equal(client.state, 'connected');
    assert.equal(client.userId, 'sub-alice');
    const events = new Inbox();
    const sub = client.subscribe('channel:recv', { onEvent: events.push });
    await sub.ready;
    await httpPublish(server.http, 'channel:recv', 'chat.message.created', { text: 'hi' });
    const got = await events.next('the published event');
    assert.equal(got.event, 'chat.message.created');
    assert.equal(got.topic, 'channel:recv');
    assert.deepEqual(got.data, { text: 'hi' });
    assert.equal(typeof got.ts, 'number');

    sub.unsubscribe();
    // Gone from the topic: at most listed as a user who left (offline).
    await waitFor(async () => (await client.presence('channel:recv')).users.every((u) => u.status === 'offline'),
      { what: 'unsubscribed' });
    await httpPublish(server.http, 'channel:recv', 'chat.message.created', { text: 'not for you' });
    await new Promise((r) => setTimeout(r, 200));
    assert.equal(events.items.length, 1);
  });

  test('publish resolves on ack and the event reaches subscribers, sender included', async () => {
    const a = open('pub-a').client;
    const b = open('pub-b').client;
    await Promise.all([a.connect(), b.connect()]);
    const seenByA = new Inbox();
    const seenByB = new Inbox();
    await a.subscribe('channel:pub', { onEvent: seenByA.push }).ready;
    await b.subscribe('channel:pub', { onEvent: seenByB.push }).ready;
    const ack = await a.publish('channel:pub', 'chat.message.created', { text: 'from a' });
    assert.equal(ack.type, 'ack');
    assert.deepEqual((await seenByB.next('event at b')).data, { text: 'from a' });
    assert.deepEqual((await seenByA.next('event at a')).data, { text: 'from a' });
  });

  test('publish denied by the rules rejects with forbidden; bad topic with bad_request', async () => {
    const { client } = open('pub-user', { role: 'user' });
    await client.connect();
    await client.subscribe('channel:rules').ready; // users may subscribe to channels…
    await assert.rejects(client.publish('channel:rules', 'chat.message.created', { text: 'x' }),
      (err) => err.name === 'RealtimeError' && err.code === 'forbidden'); // …but not publish there
    await assert.rejects(client.publish('bad topic!', 'e', null), { code: 'bad_request' });
    assert.equal(client.state, 'connected'); // errors never close the connection
  });

  test('a refused subscription rejects ready, calls onError and is not kept', async () => {
    const { client } = open('sub-user', { role: 'user' });
    await client.connect();
    const errors = [];
    const sub = client.subscribe('secret:1', { onError: (e) => errors.push(e.code) });
    await assert.rejects(sub.ready, { code: 'forbidden' });
    assert.deepEqual(errors, ['forbidden']);
    assert.deepEqual(client.topics, []);
  });

  test('presence: events for joins and status changes, and the HTTP snapshot', async () => {
    const a = open('pres-a').client;
    const b = open('pres-b').client;
    await Promise.all([a.connect(), b.connect()]);
    const changes = new Inbox();
    await a.subscribe('channel:pres', { onPresence: changes.push }).ready;
    await b.subscribe('channel:pres').ready;
    const join = await changes.find((c) => c.user_id === 'pres-b', 'b joins');
    assert.equal(join.old_status, 'offline');
    assert.equal(join.new_status, 'online');

    await b.setStatus('dnd');
    const dnd = await changes.find((c) => c.user_id === 'pres-b', 'b goes dnd');
    assert.equal(dnd.new_status, 'dnd');
    const snapshot = await a.presence('channel:pres');
    assert.equal(snapshot.topic, 'channel:pres');
    const statuses = Object.fromEntries(snapshot.users.map((u) => [u.user_id, u.status]));
    assert.deepEqual(statuses, { 'pres-a': 'online', 'pres-b': 'dnd' });

    b.close();
    const left = await changes.find((c) => c.user_id === 'pres-b', 'b leaves');
    assert.equal(left.new_status, 'offline');
  });

  test("with the runtime's own WebSocket (Node 22, or Node 20 with --experimental-websocket)", async (t) => {
    if (typeof globalThis.WebSocket !== 'function') {
      t.skip('no global WebSocket in this Node');
      return;
    }
    const client = new RealtimeClient({ url: server.url, getToken: () => mintDevToken(server.http, 'native') });
    clients.push(client);
    await client.connect();
    const events = new Inbox();
    await client.subscribe('channel:native', { onEvent: events.push }).ready;
    await client.publish('channel:native', 'native.event', { ok: true });
    assert.deepEqual((await events.next('own event')).data, { ok: true });
  });

  test('an upgrade refused with 401 is retried with a fresh token', async () => {
    let calls = 0;
    const client = new RealtimeClient({
      url: server.url,
      WebSocket,
      reconnect: fastReconnect,
      getToken: async () => (++calls === 1 ? 'not-a-token' : mintDevToken(server.http, 'retry-401')),
    });
    clients.push(client);
    await client.connect();
    assert.equal(client.userId, 'retry-401');
    assert.equal(calls, 2);
  });

  test('typing: the other subscribers see start and stop, presence lists the typist', async () => {
    const a = open('type-a').client;
    const b = open('type-b').client;
    await Promise.all([a.connect(), b.connect()]);
    const typingAtB = new Inbox();
    const typingAtA = new Inbox();
    await a.subscribe('channel:typing', { onTyping: typingAtA.push }).ready;
    await b.subscribe('channel:typing', { onTyping: typingAtB.push }).ready;
    const errors = [];
    a.on('error', (e) => errors.push(e.code));

    a.typing('channel:typing', true, 'thread-9');
    a.typing('channel:typing', true, 'thread-9'); // throttled: no second start
    const start = await typingAtB.next('typing start at b', 5000).catch((e) => {
      throw new Error(`${e.message}; errors at a: ${errors.join(', ') || 'none'}`);
    });
    assert.equal(start.user_id, 'type-a');
    assert.equal(start.state, 'start');
    assert.equal(start.thread_id, 'thread-9');
    assert.deepEqual((await b.presence('channel:typing')).typing, ['type-a']);
    a.typing('channel:typing', false, 'thread-9');
    const stop = await typingAtB.next('typing stop at b', 5000);
    assert.equal(stop.state, 'stop');
    assert.equal(typingAtB.items.length, 2);
    assert.equal(typingAtA.items.length, 0); // the sender is not told about itself
    assert.deepEqual((await b.presence('channel:typing')).typing, []);
  });
});

describe('reconnecting', () => {
  test('after the server is killed and restarted on the same port: fresh token, resubscribed, status kept', async () => {
    let server = await startServer();
    const { port } = server;
    const { client, tokens } = clientFor(server, 'phoenix');
    const states = [];
    client.on('state', (s) => states.push(s));
    const events = new Inbox();
    try {
      await client.connect();
      await client.subscribe('channel:restart', { onEvent: events.push }).ready;
      await client.setStatus('dnd');
      await httpPublish(server.http, 'channel:restart', 'before', 1);
      assert.equal((await events.next('event before the restart')).event, 'before');
      assert.equal(tokens.length, 1);

      await server.stop('SIGKILL'); // no close frame: the link just dies
      await waitFor(() => client.state === 'reconnecting', { what: 'reconnecting' });
      server = await startServer({ port });

      await waitFor(() => client.state === 'connected', { what: 'connected again', timeoutMs: 20_000 });
      // Resubscribed: the topic lists this user again, with the status it had.
      const snapshot = await waitFor(async () => {
        const s = await client.presence('channel:restart');
        return s.count === 1 ? s : undefined;
      }, { what: 'resubscribed' });
      assert.equal(snapshot.users[0].user_id, 'phoenix');
      assert.equal(snapshot.users[0].status, 'dnd');
      await httpPublish(server.http, 'channel:restart', 'after', 2);
      assert.equal((await events.find((e) => e.event === 'after', 'event after the restart')).data, 2);
      // One token per successful connect at least, plus one per failed attempt while down;
      // never one reused (the server would refuse it as replayed).
      assert.ok(tokens.length >= 2, `getToken called ${tokens.length} times`);
      assert.equal(new Set(tokens).size, tokens.length);
      assert.deepEqual(states.slice(0, 3), ['connecting', 'connected', 'reconnecting']);
      assert.equal(states.at(-1), 'connected');
    } finally {
      client.close();
      await server.stop();
    }
  });

  test('a graceful shutdown (1001) reconnects at once, within the short jitter window', async () => {
    let server = await startServer();
    const { port } = server;
    const { client } = clientFor(server, 'deploy', { reconnect: { ...fastReconnect, goingAwayJitterMs: 300 } });
    const closes = [];
    client.on('disconnect', (info) => closes.push(info));
    try {
      await client.connect();
      await server.stop('SIGTERM');
      await waitFor(() => closes.length > 0, { what: 'the 1001 close' });
      assert.equal(closes[0].code, 1001);
      assert.ok(closes[0].retryInMs < 300, `retry in ${closes[0].retryInMs} ms`);
      server = await startServer({ port });
      await waitFor(() => client.state === 'connected', { what: 'connected again', timeoutMs: 20_000 });
    } finally {
      client.close();
      await server.stop();
    }
  });

  test('close() stops for good: no reconnect, state disconnected', async () => {
    const server = await startServer();
    const { client } = clientFor(server, 'leaver');
    try {
      await client.connect();
      client.close();
      assert.equal(client.state, 'disconnected');
      await new Promise((r) => setTimeout(r, 500));
      assert.equal(client.state, 'disconnected');
      const health = await (await fetch(`${server.http}/health`)).json();
      assert.equal(health.connections, 0);
    } finally {
      await server.stop();
    }
  });

  test('a connection that expires refreshes itself: one connection, no gap in the stream', async () => {
    const server = await startServer();
    let minted = 0;
    const client = new RealtimeClient({
      url: server.url,
      WebSocket,
      reconnect: fastReconnect,
      // The first token's connection expires in 6 s; the next ones in an hour.
      getToken: async () => {
        const expiresAt = Date.now() + (minted++ === 0 ? 6_000 : 3_600_000);
        const response = await fetch(`${server.http}/realtime/token`, {
          method: 'POST',
          headers: { 'Content-Type': 'application/json' },
          body: JSON.stringify({ user_id: 'refresher', role: 'admin', expires_at: expiresAt }),
        });
        return (await response.json()).token;
      },
    });
    const disconnects = [];
    const refreshed = [];
    client.on('disconnect', (info) => disconnects.push(info));
    client.on('refreshed', (info) => refreshed.push(info));
    try {
      await client.connect();
      const connectionId = client.connectionId;
      assert.ok(client.expiresAt > Date.now() && client.expiresAt < Date.now() + 7_000);
      const seen = [];
      const sub = client.subscribe('channel:stream', { onEvent: (e) => seen.push(e.data.n) });
      await sub.ready;
      // Publish across the first expiry (6 s) and a server sweep after it (up to 5 s).
      const total = 70;
      for (let n = 0; n < total; n++) {
        await httpPublish(server.http, 'channel:stream', 'tick', { n });
        await new Promise((r) => setTimeout(r, 150));
      }
      await waitFor(() => seen.length === total, { what: 'every event', timeoutMs: 10_000 });
      assert.deepEqual(seen, [...Array(total).keys()]);
      assert.equal(refreshed.length, 1);
      assert.ok(client.expiresAt > Date.now() + 3_000_000);
      assert.equal(client.connectionId, connectionId);
      assert.deepEqual(disconnects, []);
    } finally {
      client.close();
      await server.stop();
    }
  });
});

describe('history and recovery', () => {
  /** Subscribes `topic`, recording the app's view: events {n, offset} and the recovery callbacks. */
  function watch(client, topic) {
    const seen = { events: [], recovered: new Inbox(), resync: new Inbox() };
    const sub = client.subscribe(topic, {
      onEvent: (e) => seen.events.push({ n: e.data.n, offset: e.offset }),
      onRecovered: seen.recovered.push,
      onResync: seen.resync.push,
    });
    return { sub, seen };
  }
  const publishRange = async (http, topic, from, to) => {
    for (let n = from; n < to; n++) await httpPublish(http, topic, 'tick', { n });
  };
  const range = (from, to) => Array.from({ length: to - from }, (_, i) => from + i);

  test('on Redis, over a restart: every event published while away arrives, in order, once; then onRecovered', async (t) => {
    const redis = await startRedis();
    if (!redis) {
      t.skip('no redis-server here');
      return;
    }
    const env = { REALTIME_REDIS_URL: redis.url, REALTIME_HISTORY_SIZE: '100',
      REALTIME_TOKEN_SECRET: 'history-tests-token-secret-0123456789abcdef' };
    let a;
    let b;
    let client;
    try {
      a = await startServer({ env });
      b = await startServer({ env }); // the backend publishes here while `a` is down
      await Promise.all([waitHealthy(a), waitHealthy(b)]);
      const { port } = a;
      ({ client } = clientFor(a, 'recoverer'));
      await client.connect();
      const { sub, seen } = watch(client, 'channel:recover');
      await sub.ready;
      await publishRange(a.http, 'channel:recover', 0, 3);
      await waitFor(() => seen.events.length === 3, { what: 'three events before the restart' });
      const before = client.position('channel:recover');
      assert.deepEqual(before, { epoch: before.epoch, offset: 3 });
      assert.match(before.epoch, /^[0-9a-f]{16}$/);

      await a.stop('SIGKILL');
      await waitFor(() => client.state === 'reconnecting', { what: 'reconnecting' });
      await publishRange(b.http, 'channel:recover', 3, 10);
      a = await startServer({ port, env });
      const info = await seen.recovered.next('onRecovered', 20_000);
      assert.deepEqual(info, { topic: 'channel:recover', epoch: before.epoch, offset: 10, replayed: 7 });
      assert.equal(seen.events.length, 10); // the missed ones came before onRecovered
      await publishRange(b.http, 'channel:recover', 10, 12);
      await waitFor(() => seen.events.length >= 12, { what: 'live events after the recovery' });
      await new Promise((r) => setTimeout(r, 200));
      assert.deepEqual(seen.events, range(0, 12).map((n) => ({ n, offset: n + 1 })));
      assert.equal(seen.resync.items.length, 0);
      assert.deepEqual(client.position('channel:recover'), { epoch: before.epoch, offset: 12 });
    } finally {
      client?.close();
      await a?.stop();
      await b?.stop();
      redis.stop();
    }
  });

  test('memory engine, over a restart: the epoch changed, onResync, and the new epoch counts from 1', async () => {
    const env = { REALTIME_HISTORY_SIZE: '100' };
    let server = await startServer({ env });
    const { port } = server;
    const { client } = clientFor(server, 'resyncer');
    try {
      await client.connect();
      const { sub, seen } = watch(client, 'channel:resync');
      await sub.ready;
      await publishRange(server.http, 'channel:resync', 0, 3);
      await waitFor(() => seen.events.length === 3, { what: 'three events before the restart' });
      const before = client.position('channel:resync');

      await server.stop('SIGKILL');
      await waitFor(() => client.state === 'reconnecting', { what: 'reconnecting' });
      server = await startServer({ port, env });
      const info = await seen.resync.next('onResync', 20_000);
      assert.notEqual(info.epoch, before.epoch);
      assert.match(info.epoch, /^[0-9a-f]{16}$/);
      assert.deepEqual(info, { topic: 'channel:resync', epoch: info.epoch, offset: 0, previous: before });
      // Offset 1 again, in the new epoch: an event, not a duplicate of the old offset 1.
      await httpPublish(server.http, 'channel:resync', 'tick', { n: 100 });
      await waitFor(() => seen.events.length === 4, { what: 'the first event of the new epoch' });
      assert.deepEqual(seen.events.at(-1), { n: 100, offset: 1 });
      assert.equal(seen.recovered.items.length, 0);
      assert.deepEqual(client.position('channel:resync'), { epoch: info.epoch, offset: 1 });
    } finally {
      client.close();
      await server.stop();
    }
  });

  test('close() then connect() on one server resumes; a position older than the kept history resyncs', async () => {
    const server = await startServer({ env: { REALTIME_HISTORY_SIZE: '5' } });
    const { client } = clientFor(server, 'away');
    try {
      await client.connect();
      const { sub, seen } = watch(client, 'channel:away');
      await sub.ready;
      await publishRange(server.http, 'channel:away', 0, 1);
      await waitFor(() => seen.events.length === 1, { what: 'the first event' });
      const { epoch } = client.position('channel:away');

      client.close(); // the subscription and its position stay
      await publishRange(server.http, 'channel:away', 1, 4);
      await client.connect();
      assert.deepEqual(await seen.recovered.next('onRecovered'), { topic: 'channel:away', epoch, offset: 4, replayed: 3 });
      assert.deepEqual(seen.events, range(0, 4).map((n) => ({ n, offset: n + 1 })));

      client.close();
      await publishRange(server.http, 'channel:away', 4, 14); // the topic keeps 10..14 only
      await client.connect();
      const info = await seen.resync.next('onResync');
      assert.deepEqual(info, { topic: 'channel:away', epoch, offset: 14, previous: { epoch, offset: 4 } });
      await new Promise((r) => setTimeout(r, 200));
      assert.equal(seen.events.length, 4); // nothing replayed
      assert.equal(seen.recovered.items.length, 1);
    } finally {
      client.close();
      await server.stop();
    }
  });
});
