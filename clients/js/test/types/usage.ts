// Compiled by `npm run typecheck` only: the declarations describe the API the README shows.
import {
  RealtimeClient, RealtimeError, backoffDelay, type PresenceDiff, type PresenceSnapshot,
  type StreamPosition,
} from '../../src/index.js';

const client = new RealtimeClient({
  url: 'ws://localhost:3109',
  getToken: async () => 'token',
  reconnect: { baseMs: 500, maxMs: 30_000 },
  idleSeconds: 60,
});
const off = client.on('state', (state) => {
  const s: 'connecting' | 'connected' | 'reconnecting' | 'disconnected' = state;
  void s;
});
off();
client.on('error', (err) => {
  if (err instanceof RealtimeError) console.log(err.code, err.closeCode);
});
const sub = client.subscribe('channel:42', {
  onEvent: ({ event, data }) => console.log(event, data),
  onPresence: ({ user_id, new_status }) => console.log(user_id, new_status),
  onTyping: ({ user_id, state }) => console.log(user_id, state === 'start'),
});
await sub.ready;
client.subscribe('channel:43', {
  onPresenceDiff: ({ topic, joins, leaves, ts }: PresenceDiff) => {
    for (const j of joins) console.log(topic, j.user_id, j.status, j.old_status, ts);
    for (const l of leaves) console.log(topic, l.user_id, l.old_status);
  },
});
const saved: StreamPosition | null = client.position('channel:42');
const history = client.subscribe('channel:7', {
  since: saved ?? undefined,
  onEvent: ({ offset }) => console.log(offset ?? 'not stored'),
  onRecovered: ({ topic, replayed, offset }) => console.log(topic, replayed, offset),
  onResync: ({ topic, epoch, previous }) => console.log(topic, epoch === previous.epoch),
});
const here: StreamPosition | null = history.position;
void here;
client.on('resync', ({ topic }) => console.log('reload', topic));
client.on('recovered', ({ replayed }) => console.log(replayed));
await client.connect();
await client.publish('channel:42', 'chat.message.created', { text: 'hi' });
client.typing('channel:42', true);
client.typing('channel:42', false, 'thread-1');
await client.setStatus('dnd');
const snapshot: PresenceSnapshot = await client.presence('channel:42');
for (const user of snapshot.users) console.log(user.user_id, user.status, user.last_seen ?? 'unknown');
const delay: number = backoffDelay(3, { baseMs: 100 });
void delay;
sub.unsubscribe();
client.close();
// @ts-expect-error: not a status
void client.setStatus('busy');
// @ts-expect-error: a position names its epoch
client.subscribe('channel:8', { since: { offset: 3 } });
