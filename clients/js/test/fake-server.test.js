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

test('a presence diff reaches onPresence as its changes, or onPresenceDiff whole', async () => {
  const diff = {
    topic: 'channel:9',
    joins: [{ user_id: 'a', status: 'online', old_status: 'offline' }, { user_id: 'b', status: 'dnd', old_status: 'away' }],
    leaves: [{ user_id: 'c', old_status: 'online' }],
  };
  script = (socket) => {
    welcome(socket);
    socket.on('message', (data) => {
      const frame = JSON.parse(String(data));
      if (frame.type !== 'subscribe') return;
      send(socket, { type: 'subscribed', topic: frame.topic, id: frame.id });
      send(socket, { type: 'event', topic: frame.topic, event: 'realtime.presence.diff', data: diff, ts: 5 });
      send(socket, {
        type: 'event', topic: frame.topic, event: 'realtime.presence.changed', ts: 6,
        data: { user_id: 'd', old_status: 'offline', new_status: 'online', topic: frame.topic },
      });
    });
  };
  const { client } = newClient();
  const oneByOne = [];
  const whole = [];
  const singles = [];
  client.subscribe('channel:9', { onPresence: (c) => oneByOne.push(c) });
  client.subscribe('channel:9', { onPresenceDiff: (d) => whole.push(d), onPresence: (c) => singles.push(c) });
  try {
    await client.connect();
    await waitFor(() => oneByOne.length === 4 && singles.length === 1, { what: 'the presence events' });
    assert.deepEqual(oneByOne, [
      { user_id: 'a', old_status: 'offline', new_status: 'online', topic: 'channel:9', ts: 5 },
      { user_id: 'b', old_status: 'away', new_status: 'dnd', topic: 'channel:9', ts: 5 },
      { user_id: 'c', old_status: 'online', new_status: 'offline', topic: 'channel:9', ts: 5 },
      { user_id: 'd', old_status: 'offline', new_status: 'online', topic: 'channel:9', ts: 6 },
    ]);
    assert.deepEqual(whole, [{ ...diff, ts: 5 }]);
    assert.deepEqual(singles.map((c) => c.user_id), ['d']);
  } finally {
    client.close();
  }
});

// ── history and recovery (the server's side: docs/protocol.md) ──────────────────────────────

const send = (socket, frame) => socket.send(JSON.stringify(frame));
const stored = (topic, offset, n = offset) => ({ type: 'event', topic, event: 'm', data: { n }, ts: 1, offset });

/** Answers each subscribe with `answer(socket, frame, index)`; presence frames with an ack. */
function historyScript(answer) {
  return (socket, entry, index) => {
    welcome(socket);
    socket.on('message', (data) => {
      const frame = JSON.parse(String(data));
      if (frame.type === 'subscribe') answer(socket, frame, index);
    });
  };
}

test('history: the first subscribe has no since; a resubscribe resumes from the last offset, every missed event once, then onRecovered', async () => {
  script = historyScript((socket, frame, index) => {
    if (index === 0) {
      send(socket, { type: 'subscribed', topic: frame.topic, id: frame.id, epoch: 'e1', offset: 2 });
      for (const offset of [3, 4, 5]) send(socket, stored(frame.topic, offset));
      // Not stored: no offset, no bookkeeping.
      send(socket, { type: 'event', topic: frame.topic, event: 'realtime.typing', data: { user_id: 'b', state: 'start' }, ts: 1 });
      setTimeout(() => socket.terminate(), 30);
      return;
    }
    // One write burst: replay (starting at an event the client already has), the reply, a live event.
    for (const offset of [4, 5, 6, 7]) send(socket, stored(frame.topic, offset));
    send(socket, { type: 'subscribed', topic: frame.topic, id: frame.id, epoch: 'e1', offset: 7, recovered: true });
    send(socket, stored(frame.topic, 8));
  });
  const { client } = newClient();
  const log = [];
  const recoveredEvents = [];
  client.on('recovered', (info) => recoveredEvents.push(info));
  try {
    await client.connect();
    const sub = client.subscribe('channel:h', {
      onEvent: (e) => log.push(e.offset),
      onTyping: () => log.push('typing'),
      onRecovered: (info) => log.push(info),
      onResync: (info) => log.push({ resync: info }),
    });
    await sub.ready;
    await waitFor(() => connections.length === 2 && log.includes(8), { what: 'the live event after the recovery' });
    const subscribes = connections.map((c) => c.frames.find((f) => f.type === 'subscribe'));
    assert.equal('since' in subscribes[0], false);
    assert.deepEqual(subscribes[1].since, { offset: 5, epoch: 'e1' });
    const info = { topic: 'channel:h', epoch: 'e1', offset: 7, replayed: 2 };
    assert.deepEqual(log, [3, 4, 5, 'typing', 6, 7, info, 8]);
    assert.deepEqual(recoveredEvents, [info]);
    assert.deepEqual(client.position('channel:h'), { epoch: 'e1', offset: 8 });
    assert.deepEqual(sub.position, { epoch: 'e1', offset: 8 });
  } finally {
    client.close();
  }
});

test('history: a resubscribe the server cannot recover calls onResync; the new epoch starts afresh', async () => {
  script = historyScript((socket, frame, index) => {
    if (index === 0) {
      send(socket, { type: 'subscribed', topic: frame.topic, id: frame.id, epoch: 'e1', offset: 0 });
      for (const offset of [1, 2, 3]) send(socket, stored(frame.topic, offset));
      setTimeout(() => socket.close(1001, 'restart'), 30);
      return;
    }
    // A restart without persistence: a new epoch, offsets from 1 again. The live event comes
    // in the same burst as the reply: it must not be taken for a duplicate of the old offset 1.
    send(socket, { type: 'subscribed', topic: frame.topic, id: frame.id, epoch: 'e2', offset: 0, recovered: false });
    send(socket, stored(frame.topic, 1, 'new-1'));
  });
  const { client } = newClient();
  const log = [];
  const resyncEvents = [];
  client.on('resync', (info) => resyncEvents.push(info));
  try {
    await client.connect();
    client.subscribe('channel:r', {
      onEvent: (e) => log.push(e.data.n),
      onRecovered: (info) => log.push({ recovered: info }),
      onResync: (info) => log.push(info),
    });
    await waitFor(() => log.includes('new-1'), { what: 'the first event of the new epoch' });
    assert.deepEqual(connections[1].frames.find((f) => f.type === 'subscribe').since, { offset: 3, epoch: 'e1' });
    const info = { topic: 'channel:r', epoch: 'e2', offset: 0, previous: { epoch: 'e1', offset: 3 } };
    assert.deepEqual(log, [1, 2, 3, info, 'new-1']);
    assert.deepEqual(resyncEvents, [info]);
    assert.deepEqual(client.position('channel:r'), { epoch: 'e2', offset: 1 });
  } finally {
    client.close();
  }
});

test('history: no since for a topic without history; subscribe({since}) resumes a saved position; a topic that lost its history resyncs once', async () => {
  script = historyScript((socket, frame) => {
    const { topic, id, since } = frame;
    if (topic === 'channel:plain') {
      send(socket, { type: 'subscribed', topic, id });
    } else if (topic === 'channel:saved') {
      for (let offset = since.offset + 1; offset <= 42; offset++) send(socket, stored(topic, offset));
      send(socket, { type: 'subscribed', topic, id, epoch: 'e9', offset: 42, recovered: true });
    } else if (since) {
      // channel:gone: the server keeps no history for it (any more).
      send(socket, { type: 'subscribed', topic, id, epoch: '', offset: 0, recovered: false });
    } else {
      send(socket, { type: 'subscribed', topic, id });
    }
    if (connections.length === 1 && topic === 'channel:gone') setTimeout(() => socket.terminate(), 30);
  });
  const { client } = newClient();
  const calls = [];
  const handlers = (name) => ({
    onEvent: (e) => calls.push([name, e.offset]),
    onRecovered: (info) => calls.push([name, 'recovered', info.replayed]),
    onResync: (info) => calls.push([name, 'resync', info.epoch, info.offset]),
  });
  try {
    assert.throws(() => client.subscribe('channel:bad', { since: { offset: -1, epoch: 'e' } }), TypeError);
    assert.throws(() => client.subscribe('channel:bad', { since: { offset: 1 } }), TypeError);
    assert.deepEqual(client.topics, []);
    await client.connect();
    await client.subscribe('channel:plain', handlers('plain')).ready;
    await client.subscribe('channel:saved', { since: { epoch: 'e9', offset: 40 }, ...handlers('saved') }).ready;
    client.subscribe('channel:gone', { since: { epoch: 'old', offset: 5 }, ...handlers('gone') });
    await waitFor(() => connections.length === 2 && client.state === 'connected', { what: 'reconnected' });
    await waitFor(() => connections[1].frames.filter((f) => f.type === 'subscribe').length === 3, { what: 'resubscribes' });
    await new Promise((r) => setTimeout(r, 50));
    const sinceOf = (i) => Object.fromEntries(connections[i].frames.filter((f) => f.type === 'subscribe').map((f) => [f.topic, f.since]));
    assert.deepEqual(sinceOf(0), { 'channel:plain': undefined, 'channel:saved': { offset: 40, epoch: 'e9' }, 'channel:gone': { offset: 5, epoch: 'old' } });
    assert.deepEqual(sinceOf(1), { 'channel:plain': undefined, 'channel:saved': { offset: 42, epoch: 'e9' }, 'channel:gone': undefined });
    assert.deepEqual(calls, [
      ['saved', 41], ['saved', 42], ['saved', 'recovered', 2],
      ['gone', 'resync', '', 0],
      ['saved', 'recovered', 0], // reconnected: nothing missed
    ]);
    assert.equal(client.position('channel:plain'), null);
    assert.equal(client.position('channel:gone'), null);
    assert.deepEqual(client.position('channel:saved'), { epoch: 'e9', offset: 42 });
  } finally {
    client.close();
  }
});
