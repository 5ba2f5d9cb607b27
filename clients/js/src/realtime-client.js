import { backoffDelay } from './backoff.js';
import { TypingThrottle } from './typing.js';

export const SUBPROTOCOL = 'nself-realtime.v1';
export const STATES = Object.freeze(['connecting', 'connected', 'reconnecting', 'disconnected']);

const STATUSES = new Set(['online', 'away', 'dnd']);
// The server means these: reconnecting would only be refused again (docs/protocol.md).
const FATAL_CLOSE_CODES = new Set([1008, 4003]);
const GOING_AWAY = 1001;
const UNAUTHORIZED = 4001;
const OPEN = 1; // WebSocket.OPEN, the same in browsers, undici and ws
const ACTIVITY_EVENTS = ['pointerdown', 'pointermove', 'keydown', 'wheel', 'touchstart', 'focus'];

/** An error the server reported, a close that stops the client, or a failed request. */
export class RealtimeError extends Error {
  /**
   * @param {string} code  the protocol's error code (`forbidden`, …), `closed`, `timeout`, `http_<status>`…
   * @param {string} message
   * @param {{closeCode?: number, status?: number, id?: string|number, fatal?: boolean}} [details]
   */
  constructor(code, message, details = {}) {
    super(message);
    this.name = 'RealtimeError';
    this.code = code;
    Object.assign(this, details);
  }
}

/** One `subscribe()` call's handlers; a topic stays subscribed while it has any. */
export class Subscription {
  constructor(client, topic, handlers, ready) {
    this.client = client;
    this.topic = topic;
    this.handlers = handlers;
    /** Resolves when the server confirmed the subscription, rejects when it refused it. */
    this.ready = ready;
    this.active = true;
  }

  /** The topic's position in its history, `{epoch, offset}`, or null (no history, not yet known). */
  get position() {
    return this.client.position(this.topic);
  }

  unsubscribe() {
    if (!this.active) return;
    this.active = false;
    this.client._removeSubscription(this);
  }
}

function deferred() {
  let resolve;
  let reject;
  const promise = new Promise((res, rej) => {
    resolve = res;
    reject = rej;
  });
  promise.catch(() => {}); // a rejection nobody awaits must not crash Node
  return { promise, resolve, reject };
}

function defaultConnectUrl() {
  if (typeof location === 'undefined' || !location.host) return undefined;
  return `${location.protocol === 'https:' ? 'wss' : 'ws'}://${location.host}/realtime/connect`;
}

/** ws://host:port, http://host:port or either with a path → the WebSocket endpoint URL. */
function normaliseConnectUrl(url) {
  const parsed = new URL(url);
  if (parsed.protocol === 'http:') parsed.protocol = 'ws:';
  if (parsed.protocol === 'https:') parsed.protocol = 'wss:';
  if (parsed.pathname === '/' || parsed.pathname === '') parsed.pathname = '/realtime/connect';
  return parsed;
}

export class RealtimeClient {
  /** @param {import('./index.js').RealtimeClientOptions} options */
  constructor(options = {}) {
    const url = options.url ?? defaultConnectUrl();
    if (!url) throw new TypeError('RealtimeClient: options.url is required outside a browser page');
    this._connectUrl = normaliseConnectUrl(url);
    const http = new URL(this._connectUrl);
    http.protocol = http.protocol === 'wss:' ? 'https:' : 'http:';
    this._httpBase = (options.httpUrl ?? http.origin).replace(/\/$/, '');

    this._WebSocket = options.WebSocket ?? globalThis.WebSocket;
    if (typeof this._WebSocket !== 'function') {
      throw new TypeError(
        'RealtimeClient: no global WebSocket here; pass options.WebSocket (e.g. the ws package)');
    }
    this._fetch = options.fetch ?? globalThis.fetch?.bind(globalThis);
    this._getToken = options.getToken ?? null;
    this._params = { ...(options.params ?? {}) };
    this._heartbeatFallback = options.heartbeatSeconds ?? 30;
    this._reconnect = { baseMs: 500, maxMs: 30_000, goingAwayJitterMs: 1000, stableMs: 10_000,
      ...(options.reconnect ?? {}) };
    this._random = options.random ?? Math.random;
    this._requestTimeoutMs = options.requestTimeoutMs ?? 10_000;
    this._connectTimeoutMs = options.connectTimeoutMs ?? 10_000;
    this._typingOptions = { throttleMs: options.typingThrottleMs ?? 2000,
      idleMs: options.typingIdleMs ?? 5000 };
    const inBrowser = typeof window !== 'undefined' && typeof document !== 'undefined';
    this._autoAway = options.autoAway ?? inBrowser;
    this._idleMs = (options.idleSeconds ?? 120) * 1000;

    this.state = 'disconnected';
    /** From the last `welcome`. */
    this.userId = null;
    this.connectionId = null;
    this.heartbeatSeconds = this._heartbeatFallback;
    /** When the server closes this connection (Unix ms) unless it refreshes; null = never. */
    this.expiresAt = null;
    this._refreshTimer = null;

    this._listeners = new Map();
    // topic → {subs: Set<Subscription>, ready: deferred, confirmed, epoch, offset, replayed}:
    // epoch and offset are the topic's history position (null until the server names one).
    this._topics = new Map();
    this._pending = new Map(); // request id → {resolve, reject, timer, topic?}
    this._typing = new Map(); // topic + thread → TypingThrottle
    this._nextId = 1;
    this._ws = null;
    this._generation = 0;
    this._wanted = false;
    this._attempt = 0;
    this._retryTimer = null;
    this._timers = [];
    this._connectedAt = 0;
    this._lastFrameAt = 0;
    this._everConnected = false;
    this._connectWaiter = null;
    this._ready = false; // a welcome arrived on the current connection
    this._chosenStatus = 'online';
    this._idle = false;
    this._sentStatus = 'online';
    this._lastActivityAt = Date.now();
    this._hooks = null;
  }

  // ── events ────────────────────────────────────────────────────────────────────────────────

  /**
   * 'state' (state, {code, reason}?) · 'error' (RealtimeError) · 'welcome' (frame) · 'frame' (every
   * parsed server frame) · 'disconnect' (info) · 'refreshed' ({expiresAt}) · 'subscribed'
   * ({topic, server}: the backend subscribed this connection) · 'unsubscribed' ({topic, reason}:
   * the server ended a subscription) · 'event' (an event of a topic without local handlers) ·
   * 'recovered' / 'resync' (the same info as a subscription's onRecovered / onResync).
   * Returns a function that removes the listener.
   */
  on(name, fn) {
    if (!this._listeners.has(name)) this._listeners.set(name, new Set());
    this._listeners.get(name).add(fn);
    return () => this.off(name, fn);
  }

  off(name, fn) {
    this._listeners.get(name)?.delete(fn);
  }

  _emit(name, ...args) {
    for (const fn of [...(this._listeners.get(name) ?? [])]) {
      try {
        fn(...args);
      } catch (err) {
        if (name !== 'error') this._emit('error', err);
      }
    }
  }

  _setState(state, info) {
    if (this.state === state) return;
    this.state = state;
    this._emit('state', state, info);
  }

  // ── connection lifecycle ─────────────────────────────────────────────────────────────────

  /**
   * Starts connecting and keeps the client connected until `close()`. Resolves at the first
   * `welcome`; rejects when the server stops the client (4003, 1008) or `close()` comes first.
   */
  connect() {
    if (this._wanted) return this._connectWaiter?.promise ?? Promise.resolve();
    this._wanted = true;
    this._attempt = 0;
    this._connectWaiter = deferred();
    this._installBrowserHooks();
    this._open();
    return this._connectWaiter.promise;
  }

  /** Closes for good (code 1000); no reconnect. Subscriptions are kept for a later `connect()`. */
  close() {
    this._wanted = false;
    this._generation++;
    clearTimeout(this._retryTimer);
    this._retryTimer = null;
    this._removeBrowserHooks();
    const ws = this._ws;
    if (ws) {
      this._detach(ws);
      try {
        ws.close(1000);
      } catch {
        // already closing
      }
      this._connectionLost();
    }
    this._connectWaiter?.reject(new RealtimeError('closed', 'close() was called'));
    this._connectWaiter = null;
    this._setState('disconnected', { code: 1000, reason: 'closed by the client' });
  }

  async _open() {
    const generation = ++this._generation;
    this._setState(this._everConnected || this._attempt > 0 ? 'reconnecting' : 'connecting');
    let token;
    try {
      token = await this._token();
    } catch (err) {
      if (generation !== this._generation) return;
      this._emit('error', new RealtimeError('token', `getToken failed: ${err?.message ?? err}`));
      this._scheduleReconnect(backoffDelay(this._attempt++, this._backoffOptions()));
      return;
    }
    if (generation !== this._generation) return;

    const url = new URL(this._connectUrl);
    for (const [key, value] of Object.entries(this._params)) url.searchParams.set(key, value);
    if (token) url.searchParams.set('token', token);
    let ws;
    try {
      ws = new this._WebSocket(url.toString(), SUBPROTOCOL);
    } catch (err) {
      this._stop(new RealtimeError('bad_url', `cannot open ${this._connectUrl}: ${err.message}`));
      return;
    }
    this._ws = ws;
    this._lastFrameAt = Date.now();
    ws.onmessage = (e) => this._onFrame(ws, e.data);
    ws.onclose = (e) => this._onClose(ws, e.code, e.reason);
    ws.onerror = () => {}; // the close event that always follows says what happened
    // A half-open TCP connection or a proxy that never upgrades: give up and retry.
    this._timers.push(setTimeout(() => this._drop(ws, 'no welcome from the server'),
      this._connectTimeoutMs));
  }

  async _token() {
    if (!this._getToken) return null;
    const value = await this._getToken();
    if (value == null) return null;
    return typeof value === 'string' ? value : value.token;
  }

  _backoffOptions() {
    return { baseMs: this._reconnect.baseMs, maxMs: this._reconnect.maxMs, random: this._random };
  }

  _scheduleReconnect(delayMs) {
    if (!this._wanted) return;
    this._setState('reconnecting');
    clearTimeout(this._retryTimer);
    this._retryTimer = setTimeout(() => {
      this._retryTimer = null;
      this._open();
    }, delayMs);
  }

  /** Gives up on a link that went silent: closing handshakes do not finish on dead links. */
  _drop(ws, reason) {
    if (ws !== this._ws) return;
    this._detach(ws);
    try {
      ws.close();
    } catch {
      // nothing to close
    }
    this._onClose(ws, 1006, reason, true);
  }

  _detach(ws) {
    ws.onmessage = null;
    ws.onclose = null;
    // Not null: the `ws` package emits 'error' when a pending handshake is aborted, and an
    // EventEmitter 'error' without a listener throws.
    ws.onerror = () => {};
  }

  /** Clears what belonged to the connection that just ended. */
  _connectionLost() {
    this._ws = null;
    this._ready = false;
    for (const t of this._timers) {
      clearTimeout(t);
      clearInterval(t);
    }
    this._timers = [];
    const lost = new RealtimeError('disconnected', 'the connection closed before the reply');
    for (const [, request] of this._pending) {
      clearTimeout(request.timer);
      request.reject(lost);
    }
    this._pending.clear();
    clearTimeout(this._refreshTimer);
    this._refreshTimer = null;
    for (const entry of this._topics.values()) entry.confirmed = false;
    // The server sends the others a stop for a closed connection itself.
    for (const throttle of this._typing.values()) throttle.reset();
    this._sentStatus = 'online';
  }

  _onClose(ws, code, reason, local = false) {
    if (ws !== this._ws) return;
    const wasUpFor = this._connectedAt ? Date.now() - this._connectedAt : 0;
    this._connectedAt = 0;
    this._connectionLost();
    if (!this._wanted) {
      this._setState('disconnected', { code, reason });
      return;
    }
    if (FATAL_CLOSE_CODES.has(code)) {
      this._stop(new RealtimeError('closed', `the server closed the connection: ${code} ${reason ?? ''}`.trim(),
        { closeCode: code, fatal: true }));
      return;
    }
    // Only a connection that stayed up resets the backoff, so a server that accepts and then
    // drops at once is not hammered.
    if (wasUpFor >= this._reconnect.stableMs) this._attempt = 0;
    let delay;
    if (code === GOING_AWAY && !local && this._attempt === 0) {
      // A deploy or restart: come back at once, spread over a short window. Only once in a
      // row: something answering every connection with 1001 gets the backoff.
      delay = Math.floor(this._random() * this._reconnect.goingAwayJitterMs);
      this._attempt++;
    } else {
      // 4001 (token expired) and an upgrade refused with 401 (a 1006 before any frame) need
      // nothing special: every attempt asks getToken() for a fresh token.
      delay = backoffDelay(this._attempt++, this._backoffOptions());
    }
    this._emit('disconnect', { code, reason, retryInMs: delay, unauthorized: code === UNAUTHORIZED });
    this._scheduleReconnect(delay);
  }

  _stop(error) {
    this._wanted = false;
    this._generation++;
    clearTimeout(this._retryTimer);
    this._retryTimer = null;
    this._removeBrowserHooks();
    if (this._ws) {
      this._detach(this._ws);
      this._connectionLost();
    }
    this._setState('disconnected', { code: error.closeCode, reason: error.message });
    this._emit('error', error);
    this._connectWaiter?.reject(error);
    this._connectWaiter = null;
  }

  _onWelcome(ws, frame) {
    for (const t of this._timers) clearTimeout(t);
    this._timers = [];
    this.userId = frame.user_id ?? null;
    this.connectionId = frame.connection_id ?? null;
    const heartbeat = Number(frame.heartbeat_seconds) > 0 ? Number(frame.heartbeat_seconds)
      : this._heartbeatFallback;
    this.heartbeatSeconds = heartbeat;
    const heartbeatMs = heartbeat * 1000;
    // Ping at half the server's heartbeat: one lost or late ping does not cost the connection.
    this._timers.push(setInterval(() => this._send({ type: 'ping' }), heartbeatMs / 2));
    this._timers.push(setInterval(() => {
      if (Date.now() - this._lastFrameAt > 2 * heartbeatMs) {
        this._drop(ws, 'no frame from the server for 2 x heartbeat');
      }
    }, Math.max(100, heartbeatMs / 4)));
    this._connectedAt = Date.now();
    this._everConnected = true;
    this._ready = true;
    this._setExpiry(frame.expires_at);
    // Status before the subscriptions, so the joins already carry it.
    this._sendStatus().catch(() => {});
    for (const topic of this._topics.keys()) this._sendSubscribe(topic);
    this._setState('connected');
    this._emit('welcome', frame);
    this._connectWaiter?.resolve();
    this._connectWaiter = null;
  }

  // ── expiry and refresh ───────────────────────────────────────────────────────────────────

  /**
   * A connection opened with a token from a Hasura JWT ends when the JWT does (4001). Ahead of
   * that the client asks getToken() for a fresh token and sends it in a `refresh` frame: the
   * connection and its subscriptions stay, with no gap in the stream.
   */
  _setExpiry(expiresAt) {
    clearTimeout(this._refreshTimer);
    this._refreshTimer = null;
    this.expiresAt = Number(expiresAt) > 0 ? Number(expiresAt) : null;
    if (this.expiresAt === null || !this._getToken) return;
    const left = this.expiresAt - Date.now();
    // A fifth of what is left, between 5 s and 60 s ahead: time for getToken() and a retry.
    const lead = Math.min(60_000, Math.max(5_000, left / 5));
    this._refreshTimer = setTimeout(() => this._refresh(), Math.max(0, left - lead));
  }

  async _refresh() {
    this._refreshTimer = null;
    const generation = this._generation;
    try {
      const token = await this._token();
      if (generation !== this._generation || !this._ready) return;
      const reply = await this._request({ type: 'refresh', token });
      this._setExpiry(reply.expires_at);
      this._emit('refreshed', { expiresAt: this.expiresAt });
    } catch (err) {
      if (generation !== this._generation || !this._ready) return;
      this._emit('error', err instanceof RealtimeError ? err
        : new RealtimeError('token', `refresh failed: ${err?.message ?? err}`));
      // Once more while there is time; at the expiry the server closes (4001) and the client
      // reconnects with a fresh token anyway.
      if (this.expiresAt !== null && this.expiresAt - Date.now() > 2_000) {
        this._refreshTimer = setTimeout(() => this._refresh(), 1_000);
      }
    }
  }

  // ── frames ───────────────────────────────────────────────────────────────────────────────

  _send(frame) {
    const ws = this._ws;
    if (!ws || ws.readyState !== OPEN) return false;
    ws.send(JSON.stringify(frame));
    return true;
  }

  /** Sends a frame with an id; the promise settles on its reply (or the connection's end). */
  _request(frame, extra = {}) {
    if (!this._ready) {
      return Promise.reject(new RealtimeError('not_connected', `cannot send ${frame.type}: not connected`));
    }
    const id = this._nextId++;
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this._pending.delete(id);
        reject(new RealtimeError('timeout', `no reply to ${frame.type} within ${this._requestTimeoutMs} ms`));
      }, this._requestTimeoutMs);
      this._pending.set(id, { resolve, reject, timer, ...extra });
      this._send({ ...frame, id });
    });
  }

  _settle(frame) {
    const request = this._pending.get(frame.id);
    if (!request) return null;
    this._pending.delete(frame.id);
    clearTimeout(request.timer);
    if (frame.type === 'error') {
      request.reject(new RealtimeError(frame.code ?? 'error', frame.message ?? 'request failed', { id: frame.id }));
    } else {
      request.resolve(frame);
    }
    return request;
  }

  _onFrame(ws, raw) {
    if (ws !== this._ws) return;
    this._lastFrameAt = Date.now();
    let frame;
    try {
      frame = JSON.parse(typeof raw === 'string' ? raw : String(raw));
    } catch {
      return; // the server sends only JSON text; ignore anything else
    }
    this._emit('frame', frame);
    switch (frame.type) {
      case 'welcome':
        this._onWelcome(ws, frame);
        break;
      case 'event':
        this._dispatch(frame);
        break;
      case 'error': {
        const request = frame.id !== undefined ? this._settle(frame) : null;
        if (request?.topic !== undefined) {
          this._refuseTopic(request.topic, frame);
        } else if (!request) {
          // No id: rate_limited, or a frame we sent without one (typing, ping).
          this._emit('error', new RealtimeError(frame.code ?? 'error', frame.message ?? 'server error'));
        }
        break;
      }
      case 'unsubscribed':
        if (frame.id !== undefined) this._settle(frame);
        else if (frame.reason) this._onServerUnsubscribe(frame);
        break;
      case 'subscribed':
        if (frame.id !== undefined) {
          // Here, not in a then(): the position must be in place before the next frame (a
          // live event may share its TCP read) is dispatched.
          const request = this._settle(frame);
          if (request?.topic !== undefined) this._confirmTopic(request, frame);
        } else if (frame.server) {
          this._emit('subscribed', { topic: frame.topic, server: true });
        }
        break;
      default:
        // ack, pong, refreshed
        if (frame.id !== undefined) this._settle(frame);
    }
  }

  /**
   * The server ended a subscription: `forbidden` (its check now says no) or `removed` (the
   * backend took access away). Never subscribed again on its own.
   */
  _onServerUnsubscribe(frame) {
    const { topic, reason } = frame;
    const entry = this._topics.get(topic);
    this._emit('unsubscribed', { topic, reason });
    if (!entry) return;
    this._topics.delete(topic);
    const error = new RealtimeError(reason, `the server ended the subscription to ${topic}: ${reason}`);
    entry.ready.reject(error);
    for (const sub of entry.subs) {
      sub.active = false;
      try {
        sub.handlers.onUnsubscribed?.({ topic, reason });
      } catch (err) {
        this._emit('error', err);
      }
    }
  }

  _dispatch(frame) {
    const { topic, event, data, ts, offset } = frame;
    const entry = this._topics.get(topic);
    const withOffset = typeof offset === 'number';
    // A topic the backend subscribed this connection to (POST /realtime/subscribe).
    if (!entry) {
      return this._emit('event', withOffset ? { topic, event, data, ts, offset } : { topic, event, data, ts });
    }
    if (withOffset) {
      // A stored event: once only. A replay after a reconnect may start at or before what
      // already arrived; the server's offsets only grow within an epoch.
      if (entry.offset !== null && offset <= entry.offset) return undefined;
      entry.offset = offset;
      entry.replayed++;
    }
    for (const sub of [...entry.subs]) {
      const h = sub.handlers;
      try {
        if (event === 'realtime.presence.changed') h.onPresence?.({ ...data, topic, ts });
        else if (event === 'realtime.presence.diff') this._presenceDiff(h, data, topic, ts);
        else if (event === 'realtime.typing') h.onTyping?.({ ...data, topic, ts });
        else h.onEvent?.(withOffset ? { topic, event, data, ts, offset } : { topic, event, data, ts });
      } catch (err) {
        this._emit('error', err);
      }
    }
    return undefined;
  }

  // A handler with onPresenceDiff takes the diff whole; otherwise onPresence gets each change
  // in it, as if they had come one by one (joins, then leaves).
  _presenceDiff(h, data, topic, ts) {
    const joins = Array.isArray(data?.joins) ? data.joins : [];
    const leaves = Array.isArray(data?.leaves) ? data.leaves : [];
    if (h.onPresenceDiff) return h.onPresenceDiff({ topic, joins, leaves, ts });
    if (!h.onPresence) return undefined;
    for (const j of joins) {
      h.onPresence({ user_id: j.user_id, old_status: j.old_status, new_status: j.status, topic, ts });
    }
    for (const l of leaves) {
      h.onPresence({ user_id: l.user_id, old_status: l.old_status, new_status: 'offline', topic, ts });
    }
    return undefined;
  }

  // ── topics ───────────────────────────────────────────────────────────────────────────────

  /**
   * Subscribes to `topic` (once per topic, however many handlers) and keeps it subscribed
   * across reconnects. `onEvent({topic, event, data, ts, offset?})` gets the application's
   * events, `onPresence({user_id, old_status, new_status, topic, ts})` and
   * `onTyping({user_id, state, thread_id, topic, ts})` the server's own. Presence changes that
   * the server sent together (a `realtime.presence.diff`) reach `onPresence` one by one, or,
   * when given, `onPresenceDiff({topic, joins, leaves, ts})` whole (and `onPresence` not). On a topic with
   * history, a resubscribe after a reconnect asks for what was missed: `onRecovered(info)` when
   * every missed event was replayed (before it), `onResync(info)` when the server could not
   * (the app reloads through its own API). `handlers.since` (`{epoch, offset}`, e.g. a
   * persisted `position`) makes the first subscribe a recovery too; it is ignored when the
   * topic is already subscribed here.
   */
  subscribe(topic, handlers = {}) {
    if (typeof topic !== 'string' || topic.length === 0) throw new TypeError('topic must be a non-empty string');
    let entry = this._topics.get(topic);
    if (!entry) {
      entry = { subs: new Set(), ready: deferred(), confirmed: false, epoch: null, offset: null, replayed: 0 };
      const since = handlers.since;
      if (since != null) {
        if (typeof since.epoch !== 'string' || !Number.isSafeInteger(since.offset) || since.offset < 0) {
          throw new TypeError('since must be {epoch: string, offset: a whole number >= 0}');
        }
        if (since.epoch !== '') {
          entry.epoch = since.epoch;
          entry.offset = since.offset;
        }
      }
      this._topics.set(topic, entry);
      if (this._ready) this._sendSubscribe(topic);
    }
    const sub = new Subscription(this, topic, handlers, entry.ready.promise);
    entry.subs.add(sub);
    return sub;
  }

  _sendSubscribe(topic) {
    const entry = this._topics.get(topic);
    const frame = { type: 'subscribe', topic };
    // A position from this topic's history: ask for what came after it. None yet (the first
    // subscribe, or a topic without history): a plain subscribe.
    const since = entry?.epoch ? { offset: entry.offset ?? 0, epoch: entry.epoch } : null;
    if (since) frame.since = since;
    if (entry) entry.replayed = 0;
    // The reply is handled in _confirmTopic, a refusal in _refuseTopic; a lost connection
    // resubscribes later.
    this._request(frame, { topic, since }).catch(() => {});
  }

  /** The server's `subscribed` reply to our subscribe: the topic's position, and the recovery's outcome. */
  _confirmTopic(request, frame) {
    const { topic, since } = request;
    const entry = this._topics.get(topic);
    if (!entry) return;
    const epoch = typeof frame.epoch === 'string' && frame.epoch !== '' ? frame.epoch : null;
    const offset = Number.isSafeInteger(frame.offset) ? frame.offset : 0;
    const replayed = entry.replayed;
    let outcome = null;
    if (since && frame.recovered === true && epoch === since.epoch) {
      // Every event after `since` came before this reply; the live ones follow it.
      entry.offset = Math.max(entry.offset ?? 0, offset);
      outcome = ['recovered', 'onRecovered', { topic, epoch, offset: entry.offset, replayed }];
    } else if (since) {
      // A new epoch (a restart without persistence, a flushed Redis), a position older than
      // the kept history, or a topic without history now: what was missed is not coming.
      entry.epoch = epoch;
      entry.offset = epoch ? offset : null;
      outcome = ['resync', 'onResync',
        { topic, epoch: epoch ?? '', offset: epoch ? offset : 0, previous: { epoch: since.epoch, offset: since.offset } }];
    } else if (epoch) {
      // The first subscribe: from here on.
      entry.epoch = epoch;
      entry.offset = Math.max(entry.offset ?? 0, offset);
    } else {
      entry.epoch = null;
      entry.offset = null;
    }
    entry.confirmed = true;
    entry.ready.resolve();
    if (!outcome) return;
    const [name, handler, info] = outcome;
    for (const sub of [...entry.subs]) {
      try {
        sub.handlers[handler]?.({ ...info });
      } catch (err) {
        this._emit('error', err);
      }
    }
    this._emit(name, { ...info });
  }

  /**
   * The topic's position in its history as far as this client has seen it, `{epoch, offset}`
   * (offset: of the last stored event delivered, or the topic's last one when it was
   * subscribed); null for a topic without history or not subscribed here. Persist it and pass
   * it back as `subscribe(topic, {since})` to resume after a page reload.
   */
  position(topic) {
    const entry = this._topics.get(topic);
    if (!entry?.epoch) return null;
    return { epoch: entry.epoch, offset: entry.offset ?? 0 };
  }

  _refuseTopic(topic, frame) {
    const entry = this._topics.get(topic);
    if (!entry) return;
    // Retrying a refused topic on every reconnect would only be refused again.
    this._topics.delete(topic);
    const error = new RealtimeError(frame.code ?? 'error', `subscribe ${topic}: ${frame.message ?? 'refused'}`);
    entry.ready.reject(error);
    for (const sub of entry.subs) {
      sub.active = false;
      sub.handlers.onError?.(error);
    }
    this._emit('error', error);
  }

  _removeSubscription(sub) {
    const entry = this._topics.get(sub.topic);
    if (!entry || !entry.subs.delete(sub) || entry.subs.size > 0) return;
    this._topics.delete(sub.topic);
    for (const [key, throttle] of this._typing) {
      if (key.startsWith(`${sub.topic}\u0000`)) {
        throttle.stop();
        this._typing.delete(key);
      }
    }
    if (this._ready) this._request({ type: 'unsubscribe', topic: sub.topic }).catch(() => {});
  }

  /** Topics this client keeps subscribed. */
  get topics() {
    return [...this._topics.keys()];
  }

  // ── publish, typing, status ──────────────────────────────────────────────────────────────

  /**
   * Client publish (allowed where the topic's rules say so). Resolves on the server's `ack`,
   * rejects with the `error` (e.g. `forbidden`), when not connected, or on timeout.
   */
  publish(topic, event, data = null) {
    return this._request({ type: 'publish', topic, event, data });
  }

  /**
   * Call with true on each keystroke (sends `start` at most every ~2 s, `stop` after 5 s without
   * keys) and with false when the message is sent or the field cleared (`stop` at once).
   */
  typing(topic, isTyping, threadId) {
    const key = `${topic}\u0000${threadId ?? ''}`;
    let throttle = this._typing.get(key);
    if (!throttle) {
      if (!isTyping) return;
      throttle = new TypingThrottle((state) => {
        const frame = { type: 'typing', topic, state };
        if (threadId !== undefined && threadId !== null) frame.thread_id = String(threadId);
        this._send(frame);
      }, this._typingOptions);
      this._typing.set(key, throttle);
    }
    throttle.update(isTyping);
  }

  /**
   * Sets this user's status here: 'online', 'away' or 'dnd'. Kept across reconnects. While the
   * chosen status is 'online', the browser's idle/hidden detection may show 'away' instead.
   */
  setStatus(status) {
    if (!STATUSES.has(status)) throw new TypeError(`status must be one of ${[...STATUSES].join(', ')}`);
    this._chosenStatus = status;
    return this._sendStatus();
  }

  get status() {
    return this._effectiveStatus();
  }

  _effectiveStatus() {
    return this._chosenStatus === 'online' && this._idle ? 'away' : this._chosenStatus;
  }

  _sendStatus() {
    const status = this._effectiveStatus();
    if (!this._ready || status === this._sentStatus) return Promise.resolve();
    this._sentStatus = status;
    return this._request({ type: 'presence', status }).then(() => {});
  }

  // ── HTTP ─────────────────────────────────────────────────────────────────────────────────

  /**
   * GET /realtime/presence/:topic with a fresh token as Bearer:
   * `{topic, users: [{user_id, status, connections, last_seen}], count, typing?}`.
   */
  async presence(topic) {
    if (!this._fetch) throw new TypeError('RealtimeClient: no fetch here; pass options.fetch');
    const token = await this._token();
    const response = await this._fetch(
      `${this._httpBase}/realtime/presence/${encodeURIComponent(topic)}`,
      { headers: token ? { Authorization: `Bearer ${token}` } : {} });
    const body = await response.json().catch(() => null);
    if (!response.ok) {
      throw new RealtimeError(body?.error ?? `http_${response.status}`,
        body?.message ?? `GET presence answered ${response.status}`, { status: response.status });
    }
    return body;
  }

  // ── browser: network and idle ────────────────────────────────────────────────────────────

  _installBrowserHooks() {
    if (this._hooks || typeof window === 'undefined' || typeof window.addEventListener !== 'function') return;
    const onOnline = () => {
      // The network is back: try now instead of waiting out the backoff.
      if (this._wanted && this._retryTimer) {
        clearTimeout(this._retryTimer);
        this._retryTimer = null;
        this._open();
      }
    };
    const setIdle = (idle) => {
      if (this._idle === idle) return;
      this._idle = idle;
      this._sendStatus().catch(() => {});
    };
    const onActivity = () => {
      this._lastActivityAt = Date.now();
      if (this._idle && document.visibilityState !== 'hidden') setIdle(false);
    };
    const onVisibility = () => {
      if (document.visibilityState === 'hidden') setIdle(true);
      else onActivity();
    };
    window.addEventListener('online', onOnline);
    const hooks = { onOnline, onActivity, onVisibility, idleCheck: null };
    if (this._autoAway && typeof document !== 'undefined') {
      document.addEventListener('visibilitychange', onVisibility);
      for (const name of ACTIVITY_EVENTS) window.addEventListener(name, onActivity, { passive: true, capture: true });
      // A cheap periodic check instead of re-arming a timer on every mouse move.
      hooks.idleCheck = setInterval(() => {
        if (Date.now() - this._lastActivityAt >= this._idleMs) setIdle(true);
      }, Math.min(15_000, Math.max(250, this._idleMs / 4)));
      if (document.visibilityState === 'hidden') setIdle(true);
    }
    this._hooks = hooks;
  }

  _removeBrowserHooks() {
    const hooks = this._hooks;
    if (!hooks) return;
    this._hooks = null;
    window.removeEventListener('online', hooks.onOnline);
    if (hooks.idleCheck !== null) {
      clearInterval(hooks.idleCheck);
      document.removeEventListener('visibilitychange', hooks.onVisibility);
      for (const name of ACTIVITY_EVENTS) window.removeEventListener(name, hooks.onActivity, { capture: true });
    }
  }
}
