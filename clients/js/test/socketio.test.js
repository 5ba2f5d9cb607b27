// The Socket.IO gateway against the real binary, driven by the real socket.io-client 4.8 (what
// nself-chat uses): both transports and the upgrade, acks, auth, rules, one order with protocol
// v1, restarts, two nodes on Redis, /api/broadcast, and nchat's own events.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { createHmac } from 'node:crypto';
import { io } from 'socket.io-client';
import WebSocket from 'ws';
import { Inbox, canConnect, freePort, httpPublish, nextEvent, redisCli, startServer, waitFor } from './support/server.js';

const HASURA_SECRET = 'socketio-tests-hs256-secret-0123456789-abcdef';
const API_KEY = 'socketio-tests-api-key';

/** Connects and resolves once connected; rejects on connect_error (reconnection off by default). */
function connect(url, options = {}) {
  const socket = io(url, { reconnection: false, timeout: 5000, ...options });
  return new Promise((resolve, reject) => {
    socket.once('connect', () => resolve(socket));
    socket.once('connect_error', (err) => {
      socket.close();
      reject(err);
    });
  });
}

function base64url(value) {
  return Buffer.from(typeof value === 'string' ? value : JSON.stringify(value)).toString('base64url');
}

/** A Hasura JWT as nchat's auth (Nhost) would mint it. */
function hasuraJwt(userId, expiresInSeconds = 3600) {
  const now = Math.floor(Date.now() / 1000);
  const head = base64url({ alg: 'HS256', typ: 'JWT' });
  const body = base64url({
    sub: userId, iat: now - 5, exp: now + expiresInSeconds,
    'https://hasura.io/jwt/claims': {
      'x-hasura-user-id': userId, 'x-hasura-default-role': 'user', 'x-hasura-allowed-roles': ['user'],
    },
  });
  const signature = createHmac('sha256', HASURA_SECRET).update(`${head}.${body}`).digest('base64url');
  return `${head}.${body}.${signature}`;
}

/** A protocol v1 client (raw WebSocket) subscribed to `topic`, collecting its event frames. */
async function v1Subscriber(server, user, topic) {
  const ws = new WebSocket(`${server.url}/realtime/connect?user=${user}&topics=${topic}`);
  const events = new Inbox();
  let subscribed = false;
  ws.on('message', (raw) => {
    const frame = JSON.parse(String(raw));
    if (frame.type === 'subscribed') subscribed = true;
    if (frame.type === 'event' && !frame.event.startsWith('realtime.')) events.push(frame);
  });
  await waitFor(() => subscribed, { what: `${user} subscribed to ${topic} over v1` });
  return { ws, events };
}

describe('Socket.IO gateway (dev mode)', () => {
  let server;
  const sockets = [];
  before(async () => {
    server = await startServer();
  });
  after(async () => {
    for (const s of sockets) s.close();
    await server?.stop();
  });
  const open = async (options) => {
    const socket = await connect(server.http, options);
    sockets.push(socket);
    return socket;
  };

  for (const transports of [['websocket'], ['polling'], ['polling', 'websocket']]) {
    test(`transports ${transports.join(' then ')}: connect, subscribe with ack, receive events`, async () => {
      const socket = await open({ transports, auth: { user: 'alice', role: 'user' } });
      assert.equal(typeof socket.id, 'string');
      assert.deepEqual(await socket.timeout(5000).emitWithAck('subscribe', 'channel:t'), { ok: true });
      const got = new Inbox();
      socket.on('chat.message.created', (data, meta) => got.push({ data, meta }));
      await httpPublish(server.http, 'channel:t', 'chat.message.created', { n: 1 });
      const first = await got.next('the event');
      assert.deepEqual(first.data, { n: 1 });
      assert.equal(first.meta.topic, 'channel:t');
      assert.equal(typeof first.meta.ts, 'number');
      if (transports.length === 2) {
        await waitFor(() => socket.io.engine.transport.name === 'websocket', { what: 'the upgrade' });
        await httpPublish(server.http, 'channel:t', 'chat.message.created', { n: 2 });
        assert.deepEqual((await got.next('the event after the upgrade')).data, { n: 2 });
      }
      socket.close();
    });
  }

  test('acks: generic, nchat envelope with memberCount, ping echo, errors in the request style', async () => {
    const socket = await open({ transports: ['websocket'], auth: { user: 'bob', role: 'user' } });
    assert.deepEqual(await socket.emitWithAck('subscribe', { topic: 'channel:a' }), { ok: true });
    assert.deepEqual(await socket.emitWithAck('room:join', { roomName: 'channel:a' }),
      { success: true, data: { roomName: 'channel:a', memberCount: 1 } });
    assert.deepEqual(await socket.emitWithAck('ping', { timestamp: 1234 }), { timestamp: 1234 });
    const bad = await socket.emitWithAck('subscribe', 'bad topic');
    assert.equal(bad.ok, false);
    assert.equal(bad.error.code, 'bad_request');
    const badRoom = await socket.emitWithAck('room:join', { roomName: 'bad topic' });
    assert.equal(badRoom.success, false);
    assert.equal(badRoom.error.code, 'bad_request');
    assert.deepEqual(await socket.emitWithAck('unsubscribe', 'channel:a'), { ok: true });
    socket.close();
  });

  test('history off: a subscribe with since is told recovered false; events carry no offset', async () => {
    const socket = await open({ transports: ['websocket'], auth: { user: 'otto', role: 'user' } });
    const since = { offset: 3, epoch: '0123456789abcdef' };
    assert.deepEqual(await socket.emitWithAck('subscribe', { topic: 'channel:nohist', since }),
      { ok: true, epoch: '', offset: 0, recovered: false });
    assert.deepEqual(await socket.emitWithAck('channel:join', { channelId: 'nohist2', since }),
      { success: true, data: { epoch: '', offset: 0, recovered: false } });
    const got = new Inbox();
    socket.on('tick', (data, meta) => got.push(meta));
    await httpPublish(server.http, 'channel:nohist', 'tick', {});
    assert.equal('offset' in (await got.next('the event')), false);
    socket.close();
  });

  test('a Socket.IO client and a v1 client on one topic see one order', async () => {
    const socket = await open({ transports: ['websocket'], auth: { user: 'carol', role: 'user' } });
    await socket.emitWithAck('subscribe', 'channel:order');
    const v1 = await v1Subscriber(server, 'dave', 'channel:order');
    const sio = [];
    socket.on('tick', (data) => sio.push(data.n));
    const total = 200;
    // Batches of 20 in one request, and requests one after another.
    for (let b = 0; b < total / 20; b++) {
      const messages = Array.from({ length: 20 }, (_, i) => ({ topic: 'channel:order', event: 'tick', data: { n: b * 20 + i } }));
      const r = await fetch(`${server.http}/realtime/publish`, { method: 'POST', body: JSON.stringify({ messages }) });
      assert.equal(r.status, 202);
    }
    await waitFor(() => sio.length === total && v1.events.items.length === total, { what: 'every event on both' });
    assert.deepEqual(sio, v1.events.items.map((f) => f.data.n));
    assert.deepEqual(sio, [...Array(total).keys()]);
    v1.ws.close();
    socket.close();
  });

  test('/api/broadcast reaches both dialects, once per connection across rooms', async () => {
    const socket = await open({ transports: ['websocket'], auth: { user: 'erin', role: 'user' } });
    await socket.emitWithAck('channel:join', { channelId: '7' });
    await socket.emitWithAck('subscribe', 'channel:8');
    const v1 = await v1Subscriber(server, 'frank', 'channel:8');
    const got = [];
    socket.on('message:new', (data) => got.push(data));
    const r = await fetch(`${server.http}/api/broadcast`, {
      method: 'POST',
      body: JSON.stringify({ eventType: 'message:new', rooms: ['channel:7', 'channel:8', 'user:erin'], payload: { id: 'm1' }, eventId: 'e1' }),
    });
    assert.equal(r.status, 200);
    assert.deepEqual(await r.json(), { success: true, recipientCount: 2 });
    const frame = await v1.events.next('the broadcast as a v1 event');
    assert.equal(frame.event, 'message:new');
    assert.deepEqual(frame.data, { id: 'm1' });
    await waitFor(() => got.length === 1, { what: 'the broadcast on Socket.IO' });
    await new Promise((res) => setTimeout(res, 200));
    assert.deepEqual(got, [{ id: 'm1' }]);
    // user:<id> is joined at connect: the backend's notifications go there. Listen before the
    // request: the event may arrive before its HTTP answer is read.
    const note = nextEvent(socket, 'notification');
    const batch = await fetch(`${server.http}/api/broadcast/batch`, {
      method: 'POST',
      body: JSON.stringify({ events: [{ eventType: 'notification', roomNames: ['user:erin'], payload: { type: 'mention' }, timestamp: Date.now() }] }),
    });
    assert.deepEqual(await batch.json(), { success: true, published: 1 });
    assert.deepEqual(await note, { type: 'mention' });
    v1.ws.close();
    socket.close();
  });

  test('user:<id> without a subscription: once per connection whatever the room order, once when also subscribed', async () => {
    // The own topic is a mailbox, not a subscription (docs/socketio.md): a broadcast that names
    // it after or before another room of the connection, or a client that subscribes it too,
    // still gets each event once, and recipientCount counts the connection once.
    const socket = await open({ transports: ['websocket'], auth: { user: 'uma', role: 'user' } });
    const second = await open({ transports: ['websocket'], auth: { user: 'uma', role: 'user' } });
    await socket.emitWithAck('channel:join', { channelId: '9' });
    const got = [];
    const got2 = [];
    socket.on('note', (data) => got.push(data.n));
    second.on('note', (data) => got2.push(data.n));
    const broadcast = async (rooms, n) => {
      const r = await fetch(`${server.http}/api/broadcast`, {
        method: 'POST',
        body: JSON.stringify({ eventType: 'note', rooms, payload: { n }, eventId: `u${n}` }),
      });
      return (await r.json()).recipientCount;
    };
    assert.equal(await broadcast(['user:uma', 'channel:9'], 1), 2);
    assert.equal(await broadcast(['channel:9', 'user:uma'], 2), 2);
    assert.equal(await broadcast(['user:uma'], 3), 2);
    assert.deepEqual(await second.emitWithAck('subscribe', 'user:uma'), { ok: true });
    assert.equal(await broadcast(['user:uma'], 4), 2);
    await httpPublish(server.http, 'user:uma', 'note', { n: 5 });
    await waitFor(() => got.length >= 4 && got2.length >= 4, { what: "uma's notes" });
    await new Promise((res) => setTimeout(res, 200));
    assert.deepEqual(got, [1, 2, 3, 4, 5]);
    assert.deepEqual(got2, [1, 2, 3, 4, 5]);
    socket.close();
    second.close();
  });

  test('nchat: typing relay to the others (never the typer), presence:update and presence:get', async () => {
    const typer = await open({ transports: ['websocket'], auth: { user: 'gina', role: 'user' } });
    const other = await open({ transports: ['websocket'], auth: { user: 'hank', role: 'user' } });
    await typer.emitWithAck('channel:join', { channelId: '42' });
    await other.emitWithAck('channel:join', { channelId: '42' });
    const seen = new Inbox();
    const typerSaw = [];
    other.on('typing:start', (d) => seen.push(['start', d]));
    other.on('typing:stop', (d) => seen.push(['stop', d]));
    typer.on('typing:start', (d) => typerSaw.push(d));
    typer.emit('typing:start', { channelId: '42', threadId: 'th-1' });
    const [kind, start] = await seen.next('typing:start');
    assert.equal(kind, 'start');
    assert.equal(start.userId, 'gina');
    assert.equal(start.channelId, '42');
    assert.equal(start.threadId, 'th-1');
    assert.ok(!Number.isNaN(Date.parse(start.startedAt)));
    // Still typing 1.2 s later (nchat re-sends while the user types): the others get it again.
    await new Promise((res) => setTimeout(res, 1200));
    typer.emit('typing:start', { channelId: '42', threadId: 'th-1' });
    const [again] = await seen.next('the refreshed typing:start');
    assert.equal(again, 'start');
    typer.emit('typing:stop', { channelId: '42' });
    const [stopKind, stop] = await seen.next('typing:stop');
    assert.equal(stopKind, 'stop');
    assert.equal(stop.userId, 'gina');
    assert.ok(!Number.isNaN(Date.parse(stop.stoppedAt)));
    assert.deepEqual(typerSaw, []);

    const changed = new Inbox();
    other.on('presence:changed', (d) => changed.push(d));
    typer.emit('presence:update', { status: 'busy' });
    const change = await changed.find((d) => d.userId === 'gina' && d.status === 'dnd', 'presence:changed dnd');
    assert.equal(change.status, 'dnd');
    const presences = await other.emitWithAck('presence:get', { userIds: ['gina', 'nobody'] });
    assert.equal(presences.success, true);
    assert.deepEqual(presences.data.presences.map((p) => [p.userId, p.status]), [['gina', 'dnd'], ['nobody', 'offline']]);
  });

  test('presence:get folds every connection of a user, v1 ones too, and gives the last-seen of those gone', async () => {
    const asker = await open({ transports: ['websocket'], auth: { user: 'iris', role: 'user' } });
    const statusOf = async (userIds) => {
      const reply = await asker.emitWithAck('presence:get', { userIds });
      assert.equal(reply.success, true);
      return reply.data.presences;
    };
    // Only a protocol v1 connection, in no topic a Socket.IO client shares.
    const vera = await v1Subscriber(server, 'vera', 'channel:vera-only');
    vera.ws.send(JSON.stringify({ type: 'presence', status: 'away' }));
    await waitFor(async () => (await statusOf(['vera']))[0].status === 'away', { what: 'vera away over v1' });
    // A second connection of hers, over Socket.IO and online: the fold says online.
    const veraToo = await open({ transports: ['websocket'], auth: { user: 'vera', role: 'user' } });
    assert.deepEqual((await statusOf(['vera', 'iris'])).map((p) => [p.userId, p.status]), [['vera', 'online'], ['iris', 'online']]);
    veraToo.close();
    await waitFor(async () => (await statusOf(['vera']))[0].status === 'away', { what: 'vera back to away' });
    // Gone: offline, with when she was last seen.
    const leftAt = Date.now();
    vera.ws.close();
    const [gone] = await waitFor(async () => {
      const p = await statusOf(['vera']);
      return p[0].status === 'offline' && p;
    }, { what: 'vera offline' });
    assert.equal(typeof gone.lastSeen, 'string');
    assert.ok(Math.abs(Date.parse(gone.lastSeen) - leftAt) < 10_000, gone.lastSeen);
  });

  test('the server API: disconnect ends the socket for good (io server disconnect)', async () => {
    const socket = await open({ transports: ['websocket'], auth: { user: 'ivan', role: 'user' }, reconnection: true });
    const reason = nextEvent(socket, 'disconnect');
    const r = await fetch(`${server.http}/realtime/disconnect`, { method: 'POST', body: JSON.stringify({ user_id: 'ivan', reason: 'banned' }) });
    assert.deepEqual(await r.json(), { local: 1, broadcast: true });
    assert.equal(await reason, 'io server disconnect');
    await new Promise((res) => setTimeout(res, 1500));
    assert.equal(socket.connected, false);
  });

  test('bad requests: unknown sid (400, sticky routing named), old protocol, binary refused', async () => {
    let r = await fetch(`${server.http}/socket.io/?EIO=4&transport=polling&sid=zzzzzzzz-abc`);
    assert.equal(r.status, 400);
    assert.match((await r.json()).message, /sticky routing/);
    r = await fetch(`${server.http}/socket.io/?EIO=3&transport=polling`);
    assert.equal(r.status, 400);
    assert.equal((await r.json()).code, 5);
    // A session opened on the WebSocket is in no polling table: its sid names nothing here.
    const direct = await open({ transports: ['websocket'], auth: { user: 'kim', role: 'user' } });
    r = await fetch(`${server.http}/socket.io/?EIO=4&transport=polling&sid=${encodeURIComponent(direct.io.engine.id)}`);
    assert.equal(r.status, 400);
    assert.deepEqual(await r.json(), { code: 1, message: 'Session ID unknown' });
    assert.ok(direct.connected);
    const socket = await open({ transports: ['websocket'], auth: { user: 'jill', role: 'user' } });
    const closed = nextEvent(socket, 'disconnect');
    socket.emit('upload', Buffer.from([1, 2, 3]));  // a binary attachment
    assert.equal(await closed, 'transport close');
  });
});

describe('Socket.IO gateway (production mode)', () => {
  let server;
  before(async () => {
    server = await startServer({
      dev: false,
      env: { HASURA_GRAPHQL_JWT_SECRET: JSON.stringify({ type: 'HS256', key: HASURA_SECRET }), REALTIME_API_KEY: API_KEY, REALTIME_CORS_ORIGIN: '*' },
    });
  });
  after(async () => server?.stop());

  test('a Hasura JWT in auth.token connects as its user; no or a bad token is a connect_error', async () => {
    const socket = await connect(server.http, { transports: ['websocket'], auth: { token: hasuraJwt('kate') } });
    assert.deepEqual(await socket.emitWithAck('subscribe', 'user:kate'), { ok: true });
    // The built-in rules: another user's topic is forbidden, in the ack.
    const refused = await socket.emitWithAck('subscribe', 'user:liam');
    assert.equal(refused.ok, false);
    assert.equal(refused.error.code, 'forbidden');
    socket.close();

    for (const auth of [{}, { token: 'not-a-token' }, { token: hasuraJwt('kate', -60) }]) {
      for (const transports of [['websocket'], ['polling']]) {
        await assert.rejects(connect(server.http, { transports, auth }), (err) => {
          assert.equal(err.message, 'unauthorized');
          assert.equal(typeof err.data.reason, 'string');
          return true;
        });
      }
    }
  });

  test('/api/broadcast needs the server key (X-API-Key)', async () => {
    const body = JSON.stringify({ eventType: 'x', rooms: ['channel:1'], payload: {} });
    let r = await fetch(`${server.http}/api/broadcast`, { method: 'POST', body, headers: { 'X-API-Key': '' } });
    assert.equal(r.status, 401);
    r = await fetch(`${server.http}/api/broadcast`, { method: 'POST', body, headers: { 'X-API-Key': API_KEY } });
    assert.deepEqual(await r.json(), { success: true, recipientCount: 0 });
  });
});

describe('Socket.IO gateway: restarts and two nodes', () => {
  test('socket.io-client reconnects by itself after the server restarts on the same port', async () => {
    let server = await startServer();
    const port = server.port;
    const socket = io(server.http, { transports: ['websocket'], auth: { user: 'mona', role: 'user' }, reconnectionDelay: 100, reconnectionDelayMax: 500 });
    try {
      await nextEvent(socket, 'connect');
      await server.stop('SIGKILL');
      await waitFor(() => !socket.connected, { what: 'the drop' });
      server = await startServer({ port });
      await waitFor(() => socket.connected, { what: 'reconnected', timeoutMs: 20_000 });
      assert.deepEqual(await socket.emitWithAck('subscribe', 'channel:back'), { ok: true });
    } finally {
      socket.close();
      await server.stop();
    }
  });

  test('two nodes on one Redis: an event published on one reaches a Socket.IO client on the other', async () => {
    const redisPort = await freePort();
    const redis = spawn('redis-server', ['--port', String(redisPort), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no'], { stdio: 'ignore' });
    try {
      await waitFor(() => canConnect(redisPort), { what: 'redis-server' });
      const env = { REALTIME_REDIS_URL: `redis://127.0.0.1:${redisPort}`, REALTIME_TOKEN_SECRET: 'two-nodes-token-secret-0123456789abcdef' };
      const a = await startServer({ env });
      const b = await startServer({ env });
      try {
        for (const node of [a, b]) {
          await waitFor(async () => (await fetch(`${node.http}/health`)).status === 200, { what: 'redis engine ready' });
        }
        const socket = await connect(b.http, { transports: ['websocket'], auth: { user: 'nina', role: 'user' } });
        assert.deepEqual(await socket.emitWithAck('subscribe', 'channel:x'), { ok: true });
        const got = nextEvent(socket, 'hello');
        await httpPublish(a.http, 'channel:x', 'hello', { from: 'a' });
        assert.deepEqual(await got, { from: 'a' });
        // The backend's notification to user:nina, sent to node A, reaches her on node B through
        // the nodes' one pattern subscription: no Redis channel per user.
        const note = nextEvent(socket, 'notification');
        const sent = await fetch(`${a.http}/api/broadcast`, {
          method: 'POST',
          body: JSON.stringify({ eventType: 'notification', rooms: ['user:nina'], payload: { type: 'mention' }, eventId: 'n1' }),
        });
        assert.equal(sent.status, 200);
        assert.deepEqual(await note, { type: 'mention' });
        // Subscribed to it as well (a channel now), she still gets each notification once.
        assert.deepEqual(await socket.emitWithAck('subscribe', 'user:nina'), { ok: true });
        const notes = [];
        socket.on('note', (data) => notes.push(data.n));
        for (const n of [1, 2, 3]) await httpPublish(a.http, 'user:nina', 'note', { n });
        await waitFor(() => notes.length >= 3, { what: "nina's notes" });
        await new Promise((res) => setTimeout(res, 200));
        assert.deepEqual(notes, [1, 2, 3]);
        assert.deepEqual(await socket.emitWithAck('unsubscribe', 'user:nina'), { ok: true });
        assert.equal(await redisCli(redisPort, ['PUBSUB', 'CHANNELS', '*user:*']), '');
        assert.equal(await redisCli(redisPort, ['PUBSUB', 'NUMPAT']), '1'); // distinct patterns
        // A user command sent to node A reaches the socket on node B.
        const left = nextEvent(socket, 'unsubscribed');
        await fetch(`${a.http}/realtime/unsubscribe`, { method: 'POST', body: JSON.stringify({ user_id: 'nina', topic: 'channel:x' }) });
        assert.deepEqual(await left, { topic: 'channel:x', reason: 'removed' });
        // presence:get on node A sees users whose connections are all on node B, of either dialect.
        const olga = await v1Subscriber(b, 'olga', 'channel:y');
        olga.ws.send(JSON.stringify({ type: 'presence', status: 'dnd' }));
        const asker = await connect(a.http, { transports: ['websocket'], auth: { user: 'omar', role: 'user' } });
        await waitFor(async () => {
          const reply = await asker.emitWithAck('presence:get', { userIds: ['nina', 'olga', 'nobody'] });
          const seen = reply.data.presences.map((p) => `${p.userId}:${p.status}`).join(' ');
          return seen === 'nina:online olga:dnd nobody:offline';
        }, { what: 'nina online and olga dnd, seen from node A' });
        asker.close();
        olga.ws.close();
        socket.close();
      } finally {
        await a.stop();
        await b.stop();
      }
    } finally {
      redis.kill('SIGKILL');
    }
  });
});


test('Redis restarts: the node subscribes the users\' pattern again and notifications keep arriving', async () => {
  const redisPort = await freePort();
  const startRedisOn = () => spawn('redis-server', ['--port', String(redisPort), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no'], { stdio: 'ignore' });
  let redis = startRedisOn();
  try {
    await waitFor(() => canConnect(redisPort), { what: 'redis-server' });
    const server = await startServer({ env: { REALTIME_REDIS_URL: `redis://127.0.0.1:${redisPort}`, REALTIME_TOKEN_SECRET: 'restart-token-secret-0123456789abcdef' } });
    const healthy = () => waitFor(async () => (await fetch(`${server.http}/health`)).status === 200, { what: 'redis engine ready', timeoutMs: 20_000 });
    try {
      await healthy();
      const socket = await connect(server.http, { transports: ['websocket'], auth: { user: 'paul', role: 'user' } });
      const notes = [];
      socket.on('note', (data) => notes.push(data.n));
      await waitFor(async () => (await redisCli(redisPort, ['PUBSUB', 'NUMPAT'])) === '1', { what: 'the pattern subscribed' });
      await httpPublish(server.http, 'user:paul', 'note', { n: 1 });
      await waitFor(() => notes.length === 1, { what: 'the first note' });
      redis.kill('SIGKILL');
      await waitFor(async () => (await fetch(`${server.http}/health`)).status === 503, { what: 'redis seen down' });
      redis = startRedisOn();
      await waitFor(() => canConnect(redisPort), { what: 'redis-server again' });
      await healthy();
      await waitFor(async () => (await redisCli(redisPort, ['PUBSUB', 'NUMPAT'])) === '1', { what: 'the pattern subscribed again' });
      await httpPublish(server.http, 'user:paul', 'note', { n: 2 });
      await waitFor(() => notes.length === 2, { what: 'the note after the restart' });
      assert.deepEqual(notes, [1, 2]);
      socket.close();
    } finally {
      await server.stop();
    }
  } finally {
    redis.kill('SIGKILL');
  }
});

test('a Redis ACL without the users\' pattern: connections subscribe their own topic instead, the node stays up', async () => {
  const redisPort = await freePort();
  const redis = spawn('redis-server', ['--port', String(redisPort), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no'], { stdio: 'ignore' });
  try {
    await waitFor(() => canConnect(redisPort), { what: 'redis-server' });
    // Every channel of ours is allowed, but Redis compares a PSUBSCRIBE pattern literally.
    assert.equal(await redisCli(redisPort, ['ACL', 'SETUSER', 'rt', 'on', '>rt-pass', '~*', '&realtime:*', '+@all']), 'OK');
    const server = await startServer({ env: { REALTIME_REDIS_URL: `redis://rt:rt-pass@127.0.0.1:${redisPort}`, REALTIME_TOKEN_SECRET: 'acl-token-secret-0123456789abcdef' } });
    try {
      await waitFor(async () => (await fetch(`${server.http}/health`)).status === 200, { what: 'redis engine ready' });
      const first = await connect(server.http, { transports: ['websocket'], auth: { user: 'quinn', role: 'user' } });
      // Its mailbox was refused and traded for a subscription of user:quinn.
      await waitFor(async () => (await redisCli(redisPort, ['PUBSUB', 'CHANNELS', '*user:*'])) === 'realtime:topic:user:quinn', { what: "quinn's own topic subscribed" });
      const second = await connect(server.http, { transports: ['websocket'], auth: { user: 'rita', role: 'user' } });
      await waitFor(async () => (await redisCli(redisPort, ['PUBSUB', 'CHANNELS', '*user:rita'])) === 'realtime:topic:user:rita', { what: "rita's own topic subscribed" });
      const notes = [];
      first.on('note', (data) => notes.push(`quinn:${data.n}`));
      second.on('note', (data) => notes.push(`rita:${data.n}`));
      await httpPublish(server.http, 'user:quinn', 'note', { n: 1 });
      await httpPublish(server.http, 'user:rita', 'note', { n: 2 });
      await waitFor(() => notes.length === 2, { what: 'both notes' });
      assert.deepEqual(notes.sort(), ['quinn:1', 'rita:2']);
      assert.equal(await redisCli(redisPort, ['PUBSUB', 'NUMPAT']), '0');
      assert.equal((await fetch(`${server.http}/health`)).status, 200);
      first.close();
      second.close();
    } finally {
      await server.stop();
    }
  } finally {
    redis.kill('SIGKILL');
  }
});

describe('Socket.IO gateway: history and recovery', () => {
  let server;
  const sockets = [];
  before(async () => {
    server = await startServer({ env: { REALTIME_HISTORY_SIZE: '100' } });
  });
  after(async () => {
    for (const s of sockets) s.close();
    await server?.stop();
  });
  /** A connected socket recording every `tick` as [n, meta] (and, at each ack, how many had come). */
  const open = async (user) => {
    const socket = await connect(server.http, { transports: ['websocket'], auth: { user, role: 'user' } });
    sockets.push(socket);
    const ticks = [];
    socket.on('tick', (data, meta) => ticks.push([data.n, meta]));
    return { socket, ticks };
  };
  const publish = async (topic, from, to) => {
    const messages = [];
    for (let n = from; n < to; n++) messages.push({ topic, event: 'tick', data: { n } });
    const r = await fetch(`${server.http}/realtime/publish`, { method: 'POST', body: JSON.stringify({ messages }) });
    assert.equal(r.status, 202);
  };
  const EPOCH = /^[0-9a-f]{16}$/;

  test('subscribe with since: the missed events (meta.offset) come before the ack, which says recovered', async () => {
    const first = await open('rec-a');
    const ack = await first.socket.emitWithAck('subscribe', 'channel:sio-h');
    assert.match(ack.epoch, EPOCH);
    assert.deepEqual(ack, { ok: true, epoch: ack.epoch, offset: 0 }); // a first subscribe: no `recovered`
    await publish('channel:sio-h', 0, 5);
    await waitFor(() => first.ticks.length === 5, { what: 'five events' });
    assert.deepEqual(first.ticks.map(([n, meta]) => [n, meta.offset]), [[0, 1], [1, 2], [2, 3], [3, 4], [4, 5]]);
    const [, meta] = first.ticks[0];
    assert.deepEqual(Object.keys(meta).sort(), ['offset', 'topic', 'ts']);
    assert.equal(meta.topic, 'channel:sio-h');

    // A second socket, as after a reconnect: it had seen up to offset 2.
    const second = await open('rec-b');
    const resumed = await second.socket.emitWithAck('subscribe', { topic: 'channel:sio-h', since: { offset: 2, epoch: ack.epoch } });
    const beforeAck = second.ticks.map(([n, m]) => [n, m.offset]);
    assert.deepEqual(resumed, { ok: true, epoch: ack.epoch, offset: 5, recovered: true });
    assert.deepEqual(beforeAck, [[2, 3], [3, 4], [4, 5]]);
    await publish('channel:sio-h', 5, 6);
    await waitFor(() => second.ticks.length === 4, { what: 'the live event' });
    assert.deepEqual(second.ticks.at(-1)[0], 5);
    assert.equal(second.ticks.at(-1)[1].offset, 6);
  });

  test('channel:join and room:join with since: the envelope carries epoch, offset and recovered', async () => {
    const first = await open('rec-c');
    const joined = await first.socket.emitWithAck('channel:join', { channelId: 'sio-j' });
    assert.equal(joined.success, true);
    const { epoch } = joined.data;
    assert.match(epoch, EPOCH);
    assert.deepEqual(joined.data, { epoch, offset: 0 });
    const room = await first.socket.emitWithAck('room:join', { roomName: 'channel:sio-r' });
    assert.deepEqual(room, { success: true, data: { roomName: 'channel:sio-r', memberCount: 1, epoch: room.data.epoch, offset: 0 } });
    await publish('channel:sio-j', 0, 3);
    await publish('channel:sio-r', 0, 3);
    await waitFor(() => first.ticks.length === 6, { what: 'six events' });

    const second = await open('rec-d');
    const channelAck = await second.socket.emitWithAck('channel:join', { channelId: 'sio-j', since: { offset: 1, epoch } });
    assert.deepEqual(channelAck, { success: true, data: { epoch, offset: 3, recovered: true } });
    assert.deepEqual(second.ticks.map(([n, m]) => [n, m.topic, m.offset]), [[1, 'channel:sio-j', 2], [2, 'channel:sio-j', 3]]);
    const roomAck = await second.socket.emitWithAck('room:join', { roomName: 'channel:sio-r', since: { offset: 0, epoch: room.data.epoch } });
    assert.deepEqual(roomAck, {
      success: true,
      data: { roomName: 'channel:sio-r', memberCount: 2, epoch: room.data.epoch, offset: 3, recovered: true },
    });
    assert.deepEqual(second.ticks.slice(2).map(([n, m]) => [n, m.topic, m.offset]),
      [[0, 'channel:sio-r', 1], [1, 'channel:sio-r', 2], [2, 'channel:sio-r', 3]]);
  });

  test('a stale epoch: recovered false with the current position, nothing replayed', async () => {
    const first = await open('rec-e');
    const { epoch } = await first.socket.emitWithAck('subscribe', 'channel:sio-s');
    await publish('channel:sio-s', 0, 4);
    await waitFor(() => first.ticks.length === 4, { what: 'four events' });

    const second = await open('rec-f');
    const stale = 'ffffffffffffffff';
    assert.notEqual(epoch, stale);
    assert.deepEqual(await second.socket.emitWithAck('subscribe', { topic: 'channel:sio-s', since: { offset: 1, epoch: stale } }),
      { ok: true, epoch, offset: 4, recovered: false });
    const third = await open('rec-g');
    assert.deepEqual(await third.socket.emitWithAck('channel:join', { channelId: 'sio-s', since: { offset: 1, epoch: stale } }),
      { success: true, data: { epoch, offset: 4, recovered: false } });
    const fourth = await open('rec-h');
    assert.deepEqual(await fourth.socket.emitWithAck('room:join', { roomName: 'channel:sio-s', since: { offset: 0, epoch: stale } }),
      { success: true, data: { roomName: 'channel:sio-s', memberCount: 4, epoch, offset: 4, recovered: false } });
    // A bad since is refused in the ack.
    const bad = await fourth.socket.emitWithAck('subscribe', { topic: 'channel:sio-t', since: { offset: -1, epoch } });
    assert.equal(bad.ok, false);
    assert.equal(bad.error.code, 'bad_request');
    await new Promise((r) => setTimeout(r, 200));
    for (const s of [second, third, fourth]) assert.deepEqual(s.ticks, []);
  });
});
