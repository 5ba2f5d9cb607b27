// The Socket.IO demo: socket.io-client against this server's gateway, nchat's vocabulary.
// socket.io-client is not shipped with the server: the page loads it from the official CDN, or
// from ?client=<url> (the browser test serves its npm copy there).
const clientUrl = new URLSearchParams(location.search).get('client') ??
  'https://cdn.socket.io/4.8.1/socket.io.esm.min.js';
const { io } = await import(clientUrl);

const $ = (id) => document.getElementById(id);
const typists = new Map(); // user id -> expiry timer
const members = new Map(); // user id -> status
let socket;
let me;
let channelId;
let typingSentAt = 0;
let stopTimer;

function setConnection(state) {
  $('connection').textContent = state;
  $('connection').className = `badge ${state}`;
}

function renderMembers() {
  $('members').replaceChildren(...[...members].map(([user, status]) => {
    const li = document.createElement('li');
    li.dataset.user = user;
    li.dataset.status = status;
    li.textContent = `${user} · ${status}`;
    return li;
  }));
}

function renderTyping() {
  const names = [...typists.keys()];
  $('typing').textContent = names.length === 0 ? ''
    : `${names.join(', ')} ${names.length === 1 ? 'is' : 'are'} typing…`;
}

function addMessage(from, text) {
  const li = document.createElement('li');
  li.dataset.from = from;
  li.textContent = `${from}: ${text}`;
  $('messages').append(li);
}

$('join').addEventListener('submit', async (e) => {
  e.preventDefault();
  me = $('user').value;
  channelId = $('channel').value;
  setConnection('connecting');
  // Dev mode: auth.user names us. With a real Hasura JWT: auth: {token: jwt}. Admin, like the v1
  // page: the built-in rules let only admins publish from a client (a real app's backend
  // publishes messages with POST /api/broadcast or /realtime/publish).
  socket = io({ auth: { user: me, role: 'admin' } });
  socket.on('connect', async () => {
    setConnection('connected');
    $('transport').textContent = `transport: ${socket.io.engine.transport.name}`;
    socket.io.engine.on('upgrade', (t) => { $('transport').textContent = `transport: ${t.name}`; });
    const joined = await socket.emitWithAck('room:join', { roomName: `channel:${channelId}` });
    if (!joined.success) {
      $('join-error').textContent = joined.error.message;
      $('join-error').hidden = false;
      return;
    }
    $('room-title').textContent = `#${channelId} · ${joined.data.memberCount} here`;
    $('join').hidden = true;
    $('room').hidden = false;
    // Who is here already: the presence endpoint (dev mode answers loopback callers; a real app
    // sends the user's JWT as Bearer). From then on, presence:changed events keep it current.
    try {
      const here = await (await fetch(`/realtime/presence/channel:${channelId}`)).json();
      for (const u of here.users ?? []) if (u.status !== 'offline') members.set(u.user_id, u.status);
    } catch {
      // an empty list until the first change
    }
    members.set(me, 'online');
    renderMembers();
    socket.emit('presence:update', { status: $('status').value });
  });
  socket.on('disconnect', () => setConnection('reconnecting'));
  socket.on('connect_error', (err) => {
    setConnection('disconnected');
    $('join-error').textContent = `connect_error: ${err.message}`;
    $('join-error').hidden = false;
  });
  socket.on('chat.message.created', (data) => addMessage(data?.user_id ?? 'backend', data?.text));
  socket.on('typing:start', ({ userId }) => {
    clearTimeout(typists.get(userId));
    // nchat's rule: an entry expires 5 s after the last typing:start.
    typists.set(userId, setTimeout(() => { typists.delete(userId); renderTyping(); }, 5000));
    renderTyping();
  });
  socket.on('typing:stop', ({ userId }) => {
    clearTimeout(typists.get(userId));
    typists.delete(userId);
    renderTyping();
  });
  const applyPresence = ({ userId, status }) => {
    if (status === 'offline') members.delete(userId);
    else members.set(userId, status);
  };
  socket.on('presence:changed', (p) => {
    applyPresence(p);
    renderMembers();
  });
  // A burst of changes (many members joining or leaving at once) comes as one bulk.
  socket.on('presence:bulk', ({ presences }) => {
    presences.forEach(applyPresence);
    renderMembers();
  });
});

$('message').addEventListener('input', () => {
  if (!socket?.connected) return;
  const now = Date.now();
  if (now - typingSentAt > 2000) {
    socket.emit('typing:start', { channelId });
    typingSentAt = now;
  }
  clearTimeout(stopTimer);
  stopTimer = setTimeout(() => {
    socket.emit('typing:stop', { channelId });
    typingSentAt = 0;
  }, 5000);
});

$('composer').addEventListener('submit', async (e) => {
  e.preventDefault();
  const text = $('message').value.trim();
  if (!text) return;
  $('message').value = '';
  clearTimeout(stopTimer);
  socket.emit('typing:stop', { channelId });
  typingSentAt = 0;
  const ack = await socket.emitWithAck('publish',
    { topic: `channel:${channelId}`, event: 'chat.message.created', data: { user_id: me, text } });
  if (!ack.ok) addMessage('server', ack.error.message);
});

$('status').addEventListener('change', () => {
  socket?.emit('presence:update', { status: $('status').value });
  members.set(me, $('status').value === 'busy' ? 'dnd' : $('status').value);
  renderMembers();
});
