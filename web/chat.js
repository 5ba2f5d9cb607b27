// The demo chat room: everything goes through the SDK (served from clients/js/src at /sdk/).
import { RealtimeClient } from '/sdk/index.js';

const $ = (id) => document.getElementById(id);
const MESSAGE_EVENT = 'chat.message.created';
// A typist's client re-sends `start` every ~2 s and the server sends `stop`; this only cleans up
// after a stop that never came (e.g. a server without typing timeouts).
const TYPING_FALLBACK_MS = 15_000;

let client = null;
let subscription = null;
let topic = '';
let me = '';
/** user id → {status, lastSeen (ms or null)} */
const members = new Map();
/** user id → fallback timer */
const typists = new Map();

// ── joining ─────────────────────────────────────────────────────────────────────────────────

const query = new URLSearchParams(location.search);
$('user').value = query.get('user') ?? localStorage.getItem('nself-demo-user') ?? `guest-${Math.floor(Math.random() * 1000)}`;
$('channel').value = query.get('channel') ?? localStorage.getItem('nself-demo-channel') ?? 'general';

/** Dev mode only: POST /realtime/token names the user without credentials. Role admin, because
 * the built-in rules let only admins publish from a client (a real app's backend would publish
 * messages with POST /realtime/publish and mint user-role tokens). */
async function devToken(userId) {
  const response = await fetch('/realtime/token', {
    method: 'POST',
    headers: { 'Content-Type': 'application/json' },
    body: JSON.stringify({ user_id: userId, role: 'admin' }),
  });
  const body = await response.json().catch(() => ({}));
  if (!response.ok) throw new Error(body.message ?? `token: HTTP ${response.status}`);
  return body.token;
}

$('join').addEventListener('submit', async (e) => {
  e.preventDefault();
  const user = $('user').value.trim();
  const channel = $('channel').value.trim();
  $('join-error').hidden = true;
  try {
    await devToken(user); // fail here, on the form, when the name is refused or not in dev mode
  } catch (err) {
    $('join-error').textContent = `Cannot join: ${err.message}`;
    $('join-error').hidden = false;
    return;
  }
  localStorage.setItem('nself-demo-user', user);
  localStorage.setItem('nself-demo-channel', channel);
  join(user, `channel:${channel}`);
});

function join(user, channelTopic) {
  me = user;
  topic = channelTopic;
  members.clear();
  $('messages').replaceChildren();
  $('room-title').textContent = `#${topic.slice('channel:'.length)}`;
  $('join').hidden = true;
  $('room').hidden = false;
  $('status').value = 'online';

  client = new RealtimeClient({ getToken: () => devToken(user), idleSeconds: 120 });
  client.on('state', (state) => {
    const badge = $('connection');
    badge.textContent = state;
    badge.className = `badge ${state}`;
    if (state === 'reconnecting') systemLine('connection lost, reconnecting…');
  });
  client.on('frame', (frame) => {
    // (Re)subscribed: the snapshot fills in who was there before us.
    if (frame.type === 'subscribed' && frame.topic === topic) refreshMembers();
  });
  client.on('error', (err) => systemLine(`error: ${err.message}`));
  subscription = client.subscribe(topic, {
    onEvent: ({ event, data, ts }) => {
      if (event === MESSAGE_EVENT) addMessage(data, ts);
    },
    onPresence: ({ user_id, new_status, ts }) => {
      setMember(user_id, new_status, new_status === 'offline' ? ts : null);
      if (new_status === 'offline') setTyping(user_id, false);
    },
    onTyping: ({ user_id, state }) => setTyping(user_id, state === 'start'),
  });
  client.connect().catch((err) => systemLine(`stopped: ${err.message}`));
  $('message').focus();
}

$('leave').addEventListener('click', () => {
  subscription?.unsubscribe();
  client?.close();
  client = null;
  for (const timer of typists.values()) clearTimeout(timer);
  typists.clear();
  renderTyping();
  $('room').hidden = true;
  $('join').hidden = false;
});

$('status').addEventListener('change', () => {
  client?.setStatus($('status').value).catch((err) => systemLine(`status: ${err.message}`));
});

// ── members ─────────────────────────────────────────────────────────────────────────────────

async function refreshMembers() {
  let snapshot;
  try {
    snapshot = await client.presence(topic);
  } catch (err) {
    systemLine(`presence: ${err.message}`);
    return;
  }
  const listed = new Set();
  for (const user of snapshot.users) {
    listed.add(user.user_id);
    // Servers with last-seen persistence also list users who left, as offline with last_seen.
    setMember(user.user_id, user.status, user.status === 'offline' ? user.last_seen ?? null : null, false);
  }
  for (const [userId, member] of members) {
    if (!listed.has(userId) && member.status !== 'offline') {
      members.set(userId, { status: 'offline', lastSeen: member.lastSeen ?? Date.now() });
    }
  }
  for (const userId of snapshot.typing ?? []) if (userId !== me) setTyping(userId, true);
  renderMembers();
}

function setMember(userId, status, lastSeen, render = true) {
  const previous = members.get(userId);
  members.set(userId, { status, lastSeen: lastSeen ?? previous?.lastSeen ?? null });
  if (render) renderMembers();
}

const statusOrder = { online: 0, dnd: 1, away: 2, offline: 3 };
const statusText = { online: 'online', away: 'away', dnd: 'do not disturb', offline: 'offline' };

function renderMembers() {
  const list = $('members');
  list.replaceChildren();
  const sorted = [...members].sort(([a, x], [b, y]) =>
    (statusOrder[x.status] ?? 4) - (statusOrder[y.status] ?? 4) || a.localeCompare(b));
  for (const [userId, { status, lastSeen }] of sorted) {
    const item = document.createElement('li');
    item.className = status;
    item.dataset.user = userId;
    item.dataset.status = status;
    const dot = document.createElement('span');
    dot.className = `dot ${status}`;
    const name = document.createElement('span');
    name.className = 'name';
    name.textContent = userId === me ? `${userId} (you)` : userId;
    const detail = document.createElement('span');
    detail.className = 'status';
    detail.textContent = status === 'offline' && lastSeen
      ? `offline · last seen ${ago(lastSeen)}` : statusText[status] ?? status;
    item.append(dot, name, detail);
    list.append(item);
  }
}

function ago(ms) {
  const seconds = Math.max(0, Math.round((Date.now() - ms) / 1000));
  if (seconds < 45) return 'just now';
  if (seconds < 3600) return `${Math.round(seconds / 60)} min ago`;
  if (seconds < 86_400) return `${Math.round(seconds / 3600)} h ago`;
  return new Date(ms).toLocaleString();
}
setInterval(() => client && renderMembers(), 30_000); // keep "last seen" current

// ── typing ──────────────────────────────────────────────────────────────────────────────────

function setTyping(userId, isTyping) {
  if (userId === me) return; // another tab of ours
  clearTimeout(typists.get(userId));
  typists.delete(userId);
  if (isTyping) typists.set(userId, setTimeout(() => setTyping(userId, false), TYPING_FALLBACK_MS));
  renderTyping();
}

function renderTyping() {
  const names = [...typists.keys()].sort();
  let text = '';
  if (names.length === 1) text = `${names[0]} is typing…`;
  else if (names.length === 2) text = `${names[0]} and ${names[1]} are typing…`;
  else if (names.length > 2) text = 'Several people are typing…';
  $('typing').textContent = text;
}

$('message').addEventListener('input', () => {
  if (client) client.typing(topic, $('message').value.length > 0);
});

// ── messages ────────────────────────────────────────────────────────────────────────────────

$('composer').addEventListener('submit', async (e) => {
  e.preventDefault();
  const input = $('message');
  const text = input.value.trim();
  if (!text || !client) return;
  client.typing(topic, false);
  input.value = '';
  try {
    // Delivered back to us as an event like everyone else's: one rendering path.
    await client.publish(topic, MESSAGE_EVENT, { text, user_id: me });
  } catch (err) {
    systemLine(`not sent (${err.code ?? 'error'}): ${text}`);
    input.value = text;
  }
});

function addMessage(data, ts) {
  const item = document.createElement('li');
  const author = document.createElement('span');
  author.className = 'author';
  // Backend-published messages (POST /realtime/publish) may carry no user.
  author.textContent = data?.user_id ?? data?.user ?? 'server';
  const text = document.createElement('span');
  text.className = 'text';
  text.textContent = typeof data?.text === 'string' ? data.text : JSON.stringify(data);
  const time = document.createElement('time');
  time.dateTime = new Date(ts ?? Date.now()).toISOString();
  time.textContent = new Date(ts ?? Date.now()).toLocaleTimeString([], { hour: '2-digit', minute: '2-digit' });
  item.append(author, text, time);
  appendLine(item);
}

function systemLine(text) {
  const item = document.createElement('li');
  item.className = 'system';
  item.textContent = text;
  appendLine(item);
}

function appendLine(item) {
  const list = $('messages');
  const atBottom = list.scrollHeight - list.scrollTop - list.clientHeight < 40;
  list.append(item);
  if (atBottom) list.scrollTop = list.scrollHeight;
}
