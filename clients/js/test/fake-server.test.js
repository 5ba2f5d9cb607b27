// Behaviour the real server cannot be made to show on demand (close codes, silence), against a
// scripted WebSocket server from the `ws` package.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import WebSocket, { WebSocketServer } from 'ws';
import { RealtimeClient } from '../src/index.js';
import { waitFor } from './support/server.js';

/** Each connection is handed to the current `script(socket, request, index)`. */
let wss;
let script;
const connections = [];
before(async () => {
  wss = new WebSocketServer({ host: '127.0.0.1', port: 0, handleProtocols: (protocols) => [...protocols][0] });
  wss.on('connection', (socket, request) => {
    const entry = { socket, url: new URL(request.url, 'http://x'), frames: [], protocol: socket.protocol };
    socket.on('message', (data) => entry.frames.push(JSON.parse(String(data))));
    connections.push(entry);
    script(socket, entry, connections.length - 1);
  });
  await new Promise((r) => wss.on('listening', r));
});
after(() => new Promise((r) => wss.close(r)));

const welcome = (socket, heartbeatSeconds = 30) => socket.send(JSON.stringify({
  type: 'welcome', connection_id: `c${connections.length}`, user_id: 'u', heartbeat_seconds: heartbeatSeconds,
  server_time: Date.now(),
}));

function newClient(options = {}) {
  connections.length = 0;
  let tokenNumber = 0;
  const client = new RealtimeClient({
    url: `ws://127.0.0.1:${wss.address().port}`,
    WebSocket,
    reconnect: { baseMs: 50, maxMs: 200, goingAwayJitterMs: 50 },
    getToken: () => `token-${++tokenNumber}`,
    ...options,
  });
  const states = [];
  const errors = [];
  client.on('state', (s) => states.push(s));
  client.on('error', (e) => errors.push(e));
  return { client, states, errors };
}

for (const code of [1008, 4003]) {
  test(`close ${code}: stop, state disconnected, an error event, no reconnect`, async () => {
    script = (socket) => socket.close(code, 'go away');
    const { client, states, errors } = newClient();
    await assert.rejects(client.connect(), (err) => err.code === 'closed' && err.closeCode === code && err.fatal);
    assert.equal(client.state, 'disconnected');
    assert.deepEqual(states, ['connecting', 'disconnected']);
    assert.equal(errors.length, 1);
    assert.equal(errors[0].closeCode, code);
    await new Promise((r) => setTimeout(r, 400)); // longer than the backoff cap
    assert.equal(connections.length, 1);
  });
}

test('close 4001: reconnects with a new token', async () => {
  script = (socket, entry, index) => {
    welcome(socket);
    if (index === 0) setTimeout(() => socket.close(4001, 'token expired'), 20);
  };
  const { client, states } = newClient();
  try {
    await client.connect();
    await waitFor(() => connections.length === 2 && client.state === 'connected', { what: 'second connection' });
    assert.deepEqual(connections.map((c) => c.url.searchParams.get('token')), ['token-1', 'token-2']);
    assert.deepEqual(states, ['connecting', 'connected', 'reconnecting', 'connected']);
  } finally {
    client.close();
  }
});

test('offers the subprotocol; subscribes, and resubscribes after a reconnect with the status first', async () => {
  script = (socket, entry, index) => {
    welcome(socket);
    socket.on('message', (data) => {
      const frame = JSON.parse(String(data));
      if (frame.type === 'subscribe') socket.send(JSON.stringify({ type: 'subscribed', topic: frame.topic, id: frame.id }));
      if (frame.type === 'presence') socket.send(JSON.stringify({ type: 'ack', id: frame.id }));
      if (index === 0 && frame.type === 'subscribe' && frame.topic === 'b') socket.terminate();
    });
  };
  const { client } = newClient();
  try {
    await client.connect();
    await client.setStatus('away');
    await client.subscribe('a').ready;
    client.subscribe('b');
    await waitFor(() => connections.length === 2 && connections[1].frames.length >= 3, { what: 'resubscribe' });
    assert.equal(connections[0].protocol, 'nself-realtime.v1');
    assert.deepEqual(connections[1].frames.map(({ type, topic, status }) => ({ type, topic, status })), [
      { type: 'presence', topic: undefined, status: 'away' },
      { type: 'subscribe', topic: 'a', status: undefined },
      { type: 'subscribe', topic: 'b', status: undefined },
    ]);
  } finally {
    client.close();
  }
});

test('pings at half the heartbeat from the welcome', async () => {
  script = (socket) => {
    welcome(socket, 1);
    socket.on('message', (data) => {
      if (JSON.parse(String(data)).type === 'ping') socket.send(JSON.stringify({ type: 'pong', ts: Date.now() }));
    });
  };
  const { client } = newClient({ heartbeatSeconds: 30 });
  try {
    await client.connect();
    assert.equal(client.heartbeatSeconds, 1);
    const started = Date.now();
    await waitFor(() => connections[0].frames.filter((f) => f.type === 'ping').length >= 3, { what: '3 pings' });
    // Three pings at 0.5 s intervals; a loaded machine may be late, never early.
    assert.ok(Date.now() - started >= 1400, `3 pings after ${Date.now() - started} ms`);
    assert.equal(connections.length, 1); // answered pings keep the link
  } finally {
    client.close();
  }
});

test('a silent link (no frame for 2 x heartbeat) is dropped and replaced', async () => {
  script = (socket) => welcome(socket, 1); // then never a frame again, pings unanswered
  const { client, states } = newClient();
  try {
    await client.connect();
    const connectedAt = Date.now();
    await waitFor(() => connections.length >= 2, { what: 'a new connection', timeoutMs: 15_000 });
    assert.ok(Date.now() - connectedAt >= 1900, `dropped after ${Date.now() - connectedAt} ms`);
    assert.ok(states.includes('reconnecting'));
  } finally {
    client.close();
  }
});

test('publish before connecting rejects; pending requests reject when the link drops', async () => {
  script = (socket) => {
    welcome(socket);
    socket.on('message', (data) => {
      if (JSON.parse(String(data)).type === 'publish') socket.terminate(); // never acks
    });
  };
  const { client } = newClient();
  try {
    await assert.rejects(client.publish('t', 'e', 1), { code: 'not_connected' });
    await client.connect();
    await assert.rejects(client.publish('t', 'e', 1), { code: 'disconnected' });
  } finally {
    client.close();
  }
});

test('typing frames: start once per throttle window, stop at once, thread id as a string', async () => {
  script = (socket) => welcome(socket);
  const { client } = newClient();
  try {
    await client.connect();
    for (let i = 0; i < 10; i++) client.typing('channel:1', true, 7);
    client.typing('channel:1', false, 7);
    client.typing('channel:1', false, 7);
    await waitFor(() => connections[0].frames.length >= 2, { what: 'typing frames' });
    await new Promise((r) => setTimeout(r, 100));
    assert.deepEqual(connections[0].frames.filter((f) => f.type === 'typing'), [
      { type: 'typing', topic: 'channel:1', state: 'start', thread_id: '7' },
      { type: 'typing', topic: 'channel:1', state: 'stop', thread_id: '7' },
    ]);
  } finally {
    client.close();
  }
});

test('close() during getToken opens nothing', async () => {
  script = (socket) => welcome(socket);
  let release;
  const { client } = newClient({ getToken: () => new Promise((r) => { release = r; }) });
  const connecting = client.connect();
  await waitFor(() => release !== undefined, { what: 'getToken called' });
  client.close();
  release('late-token');
  await assert.rejects(connecting, { code: 'closed' });
  await new Promise((r) => setTimeout(r, 200));
  assert.equal(connections.length, 0);
  assert.equal(client.state, 'disconnected');
});

test('a server that never answers the upgrade: the attempt is abandoned and retried', async () => {
  const net = await import('node:net');
  const sockets = [];
  const silent = net.createServer((socket) => sockets.push(socket)); // accepts, never replies
  await new Promise((r) => silent.listen(0, '127.0.0.1', r));
  const client = new RealtimeClient({
    url: `ws://127.0.0.1:${silent.address().port}`, WebSocket, connectTimeoutMs: 300,
    reconnect: { baseMs: 50, maxMs: 100 },
  });
  const disconnects = [];
  client.on('disconnect', (info) => disconnects.push(info));
  try {
    client.connect().catch(() => {});
    await waitFor(() => sockets.length >= 2, { what: 'a second attempt' });
    assert.equal(disconnects[0].reason, 'no welcome from the server');
    client.close(); // while the second handshake is still pending
    await new Promise((r) => setTimeout(r, 200));
    assert.equal(client.state, 'disconnected');
  } finally {
    client.close();
    for (const s of sockets) s.destroy();
    await new Promise((r) => silent.close(r));
  }
});

test('1001 on every connection: the first retry is quick, the next ones back off', async () => {
  script = (socket) => {
    welcome(socket);
    socket.close(1001, 'going away');
  };
  const { client } = newClient({
    reconnect: { baseMs: 400, maxMs: 400, goingAwayJitterMs: 50 }, random: () => 0.99 });
  const delays = [];
  client.on('disconnect', (info) => delays.push(info.retryInMs));
  try {
    await client.connect();
    await waitFor(() => delays.length >= 3, { what: 'three closes' });
    assert.ok(delays[0] < 50, `first retry after ${delays[0]} ms`);
    assert.ok(delays[1] >= 300 && delays[2] >= 300, `later retries after ${delays.slice(1)} ms`);
  } finally {
    client.close();
  }
});

test('refreshes ahead of expires_at with a fresh token and keeps the connection', async () => {
  const refreshes = [];
  script = (socket) => {
    socket.send(JSON.stringify({
      type: 'welcome', connection_id: 'c1', user_id: 'u', heartbeat_seconds: 30,
      server_time: Date.now(), expires_at: Date.now() + 5_200,
    }));
    socket.on('message', (data) => {
      const frame = JSON.parse(String(data));
      if (frame.type !== 'refresh') return;
      refreshes.push({ token: frame.token, at: Date.now() });
      socket.send(JSON.stringify({ type: 'refreshed', id: frame.id, expires_at: Date.now() + 3_600_000 }));
    });
  };
  const { client, errors } = newClient();
  const refreshed = [];
  client.on('refreshed', (info) => refreshed.push(info));
  try {
    await client.connect();
    // The lead is at least 5 s: the refresh goes out at once, well before the expiry.
    await waitFor(() => refreshed.length === 1, { what: 'refreshed' });
    assert.equal(refreshes.length, 1);
    assert.equal(refreshes[0].token, 'token-2'); // getToken() again, not the connect token
    assert.ok(client.expiresAt > Date.now() + 3_500_000);
    assert.equal(connections.length, 1);
    assert.equal(errors.length, 0);
  } finally {
    client.close();
  }
});

test('a subscription the server ends (forbidden, removed) is not subscribed again', async () => {
  script = (socket, entry, index) => {
    welcome(socket);
    socket.on('message', (data) => {
      const frame = JSON.parse(String(data));
      if (frame.type !== 'subscribe') return;
      socket.send(JSON.stringify({ type: 'subscribed', topic: frame.topic, id: frame.id }));
      if (index === 0 && frame.topic === 'channel:1') {
        setTimeout(() => socket.send(JSON.stringify({ type: 'unsubscribed', topic: 'channel:1', reason: 'removed' })), 20);
        setTimeout(() => socket.close(1001, 'restart'), 60);
      }
    });
  };
  const { client } = newClient();
  const ended = [];
  const serverEvents = [];
  client.on('unsubscribed', (info) => serverEvents.push(info));
  try {
    await client.connect();
    client.subscribe('channel:1', { onUnsubscribed: (info) => ended.push(info) });
    client.subscribe('channel:2');
    await waitFor(() => connections.length === 2 && client.state === 'connected', { what: 'reconnected' });
    await waitFor(() => connections[1].frames.some((f) => f.type === 'subscribe'), { what: 'resubscribe' });
    assert.deepEqual(ended, [{ topic: 'channel:1', reason: 'removed' }]);
    assert.deepEqual(serverEvents, [{ topic: 'channel:1', reason: 'removed' }]);
    assert.deepEqual(client.topics, ['channel:2']);
    await new Promise((r) => setTimeout(r, 100));
    assert.deepEqual(connections[1].frames.filter((f) => f.type === 'subscribe').map((f) => f.topic), ['channel:2']);
  } finally {
    client.close();
  }
});

test('a topic the backend subscribed us to: subscribed and its events are emitted', async () => {
  script = (socket) => {
    welcome(socket);
    setTimeout(() => {
      socket.send(JSON.stringify({ type: 'subscribed', topic: 'dm:7', server: true }));
      socket.send(JSON.stringify({ type: 'event', topic: 'dm:7', event: 'dm.started', data: { by: 'b' }, ts: 1 }));
    }, 20);
  };
  const { client } = newClient();
  const subscribed = [];
  const events = [];
  client.on('subscribed', (info) => subscribed.push(info));
  client.on('event', (e) => events.push(e));
  try {
    await client.connect();
    await waitFor(() => events.length === 1, { what: 'the event' });
    assert.deepEqual(subscribed, [{ topic: 'dm:7', server: true }]);
    assert.deepEqual(events, [{ topic: 'dm:7', event: 'dm.started', data: { by: 'b' }, ts: 1 }]);
  } finally {
    client.close();
  }
});
