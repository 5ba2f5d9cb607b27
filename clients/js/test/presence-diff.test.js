// Coalesced presence against the real binary: a burst of joins and leaves reaches the SDK's
// onPresence one change at a time (and onPresenceDiff whole), and nchat's Socket.IO client as
// presence:bulk. The server's window is long (2 s) so that a burst of a few clients certainly
// falls inside one; a lone change still comes at once as realtime.presence.changed.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { io } from 'socket.io-client';
import WebSocket from 'ws';
import { RealtimeClient } from '../src/index.js';
import { Inbox, mintDevToken, startServer, waitFor } from './support/server.js';

const users = (prefix, n) => Array.from({ length: n }, (_, i) => `${prefix}-${i}`);

describe('coalesced presence', () => {
  let server;
  const closers = [];
  before(async () => {
    server = await startServer({ env: { REALTIME_PRESENCE_WINDOW_MS: '2000' } });
  });
  after(async () => {
    for (const close of closers) close();
    await server?.stop();
  });

  function sdkClient(userId) {
    const client = new RealtimeClient({
      url: server.url,
      WebSocket,
      getToken: () => mintDevToken(server.http, userId, 'admin'),
    });
    closers.push(() => client.close());
    return client;
  }

  /** A raw protocol v1 connection subscribed to `topic` at connect; resolves once subscribed. */
  function v1Member(user, topic) {
    const ws = new WebSocket(`${server.url}/realtime/connect?user=${user}&topics=${topic}`);
    closers.push(() => ws.close());
    return new Promise((resolve, reject) => {
      ws.on('error', reject);
      ws.on('message', (raw) => {
        if (JSON.parse(String(raw)).type === 'subscribed') resolve(ws);
      });
    });
  }

  test('SDK: a diff reaches onPresence change by change, and onPresenceDiff whole', async () => {
    const observer = sdkClient('sdk-observer');
    await observer.connect();
    const oneByOne = new Inbox();
    const changes = [];
    const diffs = [];
    await observer.subscribe('channel:sdk-burst', { onPresence: (c) => { changes.push(c); oneByOne.push(c); } }).ready;
    await observer.subscribe('channel:sdk-burst', {
      onPresence: (c) => diffs.push({ single: c }),
      onPresenceDiff: (d) => diffs.push(d),
    }).ready;

    // A lone join: at once, an ordinary change.
    const lone = await v1Member('sdk-lone', 'channel:sdk-burst');
    const loneJoin = await oneByOne.find((c) => c.user_id === 'sdk-lone', 'the lone join');
    assert.deepEqual([loneJoin.old_status, loneJoin.new_status, loneJoin.topic], ['offline', 'online', 'channel:sdk-burst']);
    lone.close();
    await oneByOne.find((c) => c.user_id === 'sdk-lone' && c.new_status === 'offline', 'the lone leave');

    // A burst: six members at once, inside one window.
    const burst = users('sdk-burst', 6);
    await Promise.all(burst.map((u) => v1Member(u, 'channel:sdk-burst')));
    await waitFor(() => burst.every((u) => changes.some((c) => c.user_id === u && c.new_status === 'online')),
      { what: 'every burst join through onPresence', timeoutMs: 10_000 });
    const joined = changes.filter((c) => burst.includes(c.user_id));
    assert.equal(joined.length, 6, 'each join once');
    for (const c of joined) {
      assert.deepEqual([c.old_status, c.new_status, c.topic], ['offline', 'online', 'channel:sdk-burst']);
      assert.equal(typeof c.ts, 'number');
    }
    // The other subscription got (most of) them as diffs, and none twice.
    await waitFor(() => {
      const seen = diffs.flatMap((d) => (d.single ? [d.single.user_id] : d.joins.map((j) => j.user_id)));
      return burst.every((u) => seen.includes(u));
    }, { what: 'every burst join through onPresenceDiff or onPresence', timeoutMs: 10_000 });
    const wholeDiffs = diffs.filter((d) => !d.single);
    assert.ok(wholeDiffs.length >= 1, `at least one diff: ${JSON.stringify(diffs)}`);
    for (const d of wholeDiffs) {
      assert.equal(d.topic, 'channel:sdk-burst');
      assert.deepEqual(d.leaves, []);
      for (const j of d.joins) assert.deepEqual([j.status, j.old_status], ['online', 'offline']);
    }
  });

  test('Socket.IO nchat: a burst of joins and leaves is presence:bulk, a lone change presence:changed', async () => {
    const observer = io(server.http, { transports: ['websocket'], reconnection: false, auth: { user: 'sio-observer', role: 'user' } });
    closers.push(() => observer.close());
    await new Promise((resolve, reject) => {
      observer.once('connect', resolve);
      observer.once('connect_error', reject);
    });
    await observer.emitWithAck('channel:join', { channelId: 'bulk' });
    const bulks = new Inbox();
    const singles = new Inbox();
    const entries = [];
    observer.on('presence:bulk', (d) => { entries.push(...d.presences); bulks.push(d); });
    observer.on('presence:changed', (d) => { entries.push(d); singles.push(d); });

    const lone = await v1Member('sio-lone', 'channel:bulk');
    const single = await singles.find((d) => d.userId === 'sio-lone', 'the lone presence:changed');
    assert.deepEqual(single, { userId: 'sio-lone', status: 'online' });
    lone.close();
    await singles.find((d) => d.userId === 'sio-lone' && d.status === 'offline', 'the lone leave');

    const burst = users('sio-burst', 6);
    const sockets = await Promise.all(burst.map((u) => v1Member(u, 'channel:bulk')));
    await waitFor(() => burst.every((u) => entries.some((e) => e.userId === u && e.status === 'online')),
      { what: 'every burst join', timeoutMs: 10_000 });
    const bulk = await bulks.next('a presence:bulk');
    assert.ok(bulk.presences.length >= 2, JSON.stringify(bulk));
    for (const p of bulk.presences) assert.deepEqual(Object.keys(p).sort(), ['status', 'userId']);

    for (const ws of sockets) ws.close();
    await waitFor(() => burst.every((u) => entries.some((e) => e.userId === u && e.status === 'offline')),
      { what: 'every burst leave', timeoutMs: 10_000 });
    const leaves = entries.filter((e) => burst.includes(e.userId) && e.status === 'offline');
    assert.equal(leaves.length, 6, 'each leave once');
    for (const e of leaves) assert.ok(!Number.isNaN(Date.parse(e.lastSeen)), JSON.stringify(e));
    assert.ok((await bulks.find((d) => d.presences.some((p) => p.status === 'offline'), 'a bulk of leaves'))
      .presences.every((p) => p.status === 'offline'));
  });
});
