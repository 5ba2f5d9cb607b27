// permessage-deflate with npm `ws`, whose client offers it by default, against the real server.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import WebSocket from 'ws';
import { httpPublish, startServer } from './support/server.js';

// A chat message well above REALTIME_COMPRESSION_MIN_BYTES (256).
const message = {
  id: 'msg-1',
  channelId: 'general',
  user: { id: 'user-1842', displayName: 'Ada Lovelace', avatarUrl: 'https://cdn.example.com/a/1842.png' },
  text: 'Has anyone looked at the deploy from this morning? The realtime numbers look better.',
  createdAt: '2026-12-02T05:31:07.412Z',
  reactions: [{ emoji: 'thumbsup', count: 3 }, { emoji: 'eyes', count: 1 }],
  mentions: ['user-77', 'user-1003'],
  attachments: [],
};

// Opens a v1 connection subscribed to `topic`; resolves once the subscription is live. Counts
// the bytes that arrive on the socket, so a test sees what compression saved.
function connect(server, user, topic, options = {}) {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(`${server.url}/realtime/connect?user=${user}&topics=${topic}`, options);
    const frames = [];
    let answer = '';
    ws.on('upgrade', (res) => { answer = res.headers['sec-websocket-extensions'] ?? ''; });
    ws.on('message', (data) => {
      const frame = JSON.parse(data.toString());
      frames.push(frame);
      if (frame.type === 'subscribed') resolve({ ws, frames, answer });
    });
    ws.on('error', reject);
  });
}

async function nextEvent(conn, event) {
  const deadline = Date.now() + 10_000;
  for (;;) {
    const found = conn.frames.find((f) => f.type === 'event' && f.event === event);
    if (found) return found;
    if (Date.now() > deadline) throw new Error(`no ${event} event`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

describe('permessage-deflate', () => {
  let server;
  const sockets = [];
  before(async () => {
    server = await startServer();
  });
  after(async () => {
    for (const ws of sockets) ws.terminate();
    await server?.stop();
  });

  test('ws negotiates it by default and a large event arrives intact', async () => {
    const conn = await connect(server, 'deflate-a', 'chat');
    sockets.push(conn.ws);
    assert.equal(conn.ws.extensions, 'permessage-deflate');
    assert.equal(conn.answer,
      'permessage-deflate; server_no_context_takeover; client_no_context_takeover');
    const before = conn.ws._socket.bytesRead;
    await httpPublish(server.http, 'chat', 'message.created', message);
    const got = await nextEvent(conn, 'message.created');
    assert.deepEqual(got.data, message);
    // Compressed on the wire: fewer bytes than the JSON alone.
    assert.ok(conn.ws._socket.bytesRead - before < JSON.stringify(got).length,
      `${conn.ws._socket.bytesRead - before} bytes on the wire`);
    // What the client sends compressed (ws compresses messages over its own threshold) works too.
    const ping = { type: 'ping', id: 'compressed-ping', padding: 'x'.repeat(2000) };
    conn.ws.send(JSON.stringify(ping));
    const deadline = Date.now() + 10_000;
    while (!conn.frames.some((f) => f.type === 'pong' && f.id === ping.id)) {
      assert.ok(Date.now() < deadline, 'no pong for the compressed ping');
      await new Promise((r) => setTimeout(r, 20));
    }
  });

  test('with perMessageDeflate: false the same topic arrives plain', async () => {
    const conn = await connect(server, 'deflate-b', 'chat', { perMessageDeflate: false });
    sockets.push(conn.ws);
    assert.equal(conn.ws.extensions, '');
    assert.equal(conn.answer, '');
    const before = conn.ws._socket.bytesRead;
    await httpPublish(server.http, 'chat', 'message.created', message);
    const got = await nextEvent(conn, 'message.created');
    assert.deepEqual(got.data, message);
    assert.ok(conn.ws._socket.bytesRead - before > JSON.stringify(got).length);
  });
});
