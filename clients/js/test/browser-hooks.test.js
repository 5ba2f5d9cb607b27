// The SDK's page hooks (window `online`, idle and hidden → away) with a minimal stand-in for
// window and document, against a scripted server. Own file: node --test runs each file in its
// own process, so these globals touch no other test.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import WebSocket, { WebSocketServer } from 'ws';
import { RealtimeClient } from '../src/index.js';
import { waitFor } from './support/server.js';

globalThis.window = new EventTarget();
globalThis.document = Object.assign(new EventTarget(), { visibilityState: 'visible' });

let wss;
let script;
const connections = [];
before(async () => {
  wss = new WebSocketServer({ host: '127.0.0.1', port: 0 });
  wss.on('connection', (socket) => {
    const entry = { socket, frames: [] };
    socket.on('message', (data) => {
      const frame = JSON.parse(String(data));
      entry.frames.push(frame);
      if (frame.id !== undefined) socket.send(JSON.stringify({ type: 'ack', id: frame.id }));
    });
    connections.push(entry);
    script(socket, connections.length - 1);
  });
  await new Promise((r) => wss.on('listening', r));
});
after(() => new Promise((r) => wss.close(r)));

const welcome = (socket) => socket.send(JSON.stringify({
  type: 'welcome', connection_id: 'c', user_id: 'u', heartbeat_seconds: 30, server_time: Date.now() }));
const statuses = (entry) => entry.frames.filter((f) => f.type === 'presence').map((f) => f.status);

test('the window online event cuts a long backoff short', async () => {
  connections.length = 0;
  script = (socket, index) => (index === 0 ? socket.terminate() : welcome(socket));
  const client = new RealtimeClient({
    url: `ws://127.0.0.1:${wss.address().port}`, WebSocket, autoAway: false,
    reconnect: { baseMs: 60_000, maxMs: 60_000 }, random: () => 0.99, // the retry would wait ~59 s
  });
  const delays = [];
  client.on('disconnect', (info) => delays.push(info.retryInMs));
  try {
    client.connect();
    await waitFor(() => delays.length === 1, { what: 'the first attempt to fail' });
    assert.ok(delays[0] > 50_000);
    window.dispatchEvent(new Event('online'));
    await waitFor(() => client.state === 'connected', { what: 'connected after online', timeoutMs: 5000 });
    assert.equal(connections.length, 2);
  } finally {
    client.close();
  }
});

test('idle → away, input → online; hidden → away, visible → online; dnd is left alone', async () => {
  connections.length = 0;
  script = (socket) => welcome(socket);
  const client = new RealtimeClient({ url: `ws://127.0.0.1:${wss.address().port}`, WebSocket, idleSeconds: 1.5 });
  try {
    await client.connect();
    assert.equal(client.status, 'online');
    await waitFor(() => client.status === 'away', { what: 'idle away' });
    window.dispatchEvent(new Event('keydown'));
    assert.equal(client.status, 'online');

    document.visibilityState = 'hidden';
    document.dispatchEvent(new Event('visibilitychange'));
    assert.equal(client.status, 'away');
    document.visibilityState = 'visible';
    document.dispatchEvent(new Event('visibilitychange'));
    assert.equal(client.status, 'online');

    await client.setStatus('dnd');
    document.visibilityState = 'hidden';
    document.dispatchEvent(new Event('visibilitychange'));
    assert.equal(client.status, 'dnd');
    await waitFor(() => statuses(connections[0]).length >= 5, { what: 'status frames' });
    assert.deepEqual(statuses(connections[0]), ['away', 'online', 'away', 'online', 'dnd']);
  } finally {
    client.close();
    document.visibilityState = 'visible';
  }
});
