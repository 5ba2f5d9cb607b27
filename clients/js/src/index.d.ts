// Type declarations for @nself/realtime-client (hand-written; checked by `npm run typecheck`).

export declare const SUBPROTOCOL: 'nself-realtime.v1';
export type ConnectionState = 'connecting' | 'connected' | 'reconnecting' | 'disconnected';
export declare const STATES: readonly ConnectionState[];
export type Status = 'online' | 'away' | 'dnd';
export type PresenceStatus = Status | 'offline';

/** The WebSocket constructor to use: the browser's, Node 22's global, or `ws`. */
export interface WebSocketLike {
  readonly readyState: number;
  onmessage: ((event: { data: unknown }) => void) | null;
  onclose: ((event: { code: number; reason: string }) => void) | null;
  onerror: ((event: unknown) => void) | null;
  send(data: string): void;
  close(code?: number, reason?: string): void;
}
export type WebSocketConstructor = new (url: string, protocols?: string | string[]) => WebSocketLike;

export interface ReconnectOptions {
  /** First retry waits up to this long (full jitter). Default 500. */
  baseMs?: number;
  /** Retries never wait longer than this. Default 30000. */
  maxMs?: number;
  /** After a 1001 (server going away) the reconnect waits a random 0..this. Default 1000. */
  goingAwayJitterMs?: number;
  /** A connection up at least this long resets the backoff. Default 10000. */
  stableMs?: number;
}

export interface RealtimeClientOptions {
  /** ws(s)://host:port[/realtime/connect]; http(s) works too. Default in a page: this origin. */
  url?: string;
  /** Base of the HTTP API (presence). Default: the origin of `url`. */
  httpUrl?: string;
  /** Called before every (re)connect and presence read: a fresh connection token, or null for none (dev mode). */
  getToken?: () => string | { token: string } | null | undefined | Promise<string | { token: string } | null | undefined>;
  /** Extra query parameters of the connect URL, e.g. `{user: 'alice'}` in dev mode. */
  params?: Record<string, string>;
  /** Where there is no global WebSocket (Node 20): e.g. `WebSocket` from the `ws` package. */
  WebSocket?: WebSocketConstructor;
  fetch?: typeof fetch;
  /** Until the welcome says otherwise. Default 30. */
  heartbeatSeconds?: number;
  reconnect?: ReconnectOptions;
  /** publish/subscribe/status replies. Default 10000. */
  requestTimeoutMs?: number;
  /** From opening the socket to the welcome. Default 10000. */
  connectTimeoutMs?: number;
  /** Browser only: 'away' after this long without input or while hidden. Default 120. */
  idleSeconds?: number;
  /** Default: true in a browser page, false elsewhere. */
  autoAway?: boolean;
  /** One `start` per this while keys keep coming. Default 2000. */
  typingThrottleMs?: number;
  /** `stop` after this long without keys. Default 5000. */
  typingIdleMs?: number;
  /** For tests: the jitter's random source. */
  random?: () => number;
}

export interface RealtimeEvent<T = unknown> {
  topic: string;
  event: string;
  data: T;
  ts: number;
  /** On a topic with history: the event's place in it (1, 2, 3… per topic and epoch). */
  offset?: number;
}

/** A place in a topic's history: the epoch names the history, the offset an event in it. */
export interface StreamPosition {
  epoch: string;
  offset: number;
}

/** A resubscribe got every event missed since `previous`: they were delivered before this. */
export interface RecoveredInfo extends StreamPosition {
  topic: string;
  /** How many missed events were delivered (duplicates of ones already seen are not counted). */
  replayed: number;
}

/**
 * A resubscribe could not get what was missed (the epoch changed: a restart without
 * persistence, a flushed Redis; the position is older than the kept history; the topic keeps
 * no history now): reload the topic's state through the app's own API. `epoch` and `offset` are
 * the topic's position now (`''` and 0 when it keeps no history).
 */
export interface ResyncInfo extends StreamPosition {
  topic: string;
  previous: StreamPosition;
}

export interface PresenceChange {
  user_id: string;
  old_status: PresenceStatus;
  new_status: PresenceStatus;
  topic: string;
  ts: number;
}

/** A user who came online or changed status, in a `realtime.presence.diff`. */
export interface PresenceJoin {
  user_id: string;
  status: Exclude<PresenceStatus, 'offline'>;
  old_status: PresenceStatus;
}

/** A user who went offline, in a `realtime.presence.diff`. */
export interface PresenceLeave {
  user_id: string;
  old_status: Exclude<PresenceStatus, 'offline'>;
}

/**
 * Several presence changes of a topic sent as one event (a burst of joins and leaves, coalesced
 * by the server over a short window): each user once, with their net change.
 */
export interface PresenceDiff {
  topic: string;
  joins: PresenceJoin[];
  leaves: PresenceLeave[];
  ts: number;
}

export interface TypingChange {
  user_id: string;
  state: 'start' | 'stop';
  thread_id?: string | null;
  topic: string;
  ts: number;
}

export interface SubscriptionHandlers {
  onEvent?: (event: RealtimeEvent) => void;
  /** Every presence change, one by one (those of a diff too, unless onPresenceDiff is given). */
  onPresence?: (change: PresenceChange) => void;
  /** A diff whole (joins, then leaves); when given, its changes do not reach onPresence. */
  onPresenceDiff?: (diff: PresenceDiff) => void;
  onTyping?: (change: TypingChange) => void;
  /** The server refused the subscription (e.g. `forbidden`); it is not retried. */
  onError?: (error: RealtimeError) => void;
  /**
   * The server ended the subscription: `forbidden` (its membership check now says no) or
   * `removed` (the backend took access away). It is not subscribed again.
   */
  onUnsubscribed?: (info: { topic: string; reason: 'forbidden' | 'removed' | string }) => void;
  /** After a resubscribe (a reconnect, or a first subscribe with `since`) that missed nothing. */
  onRecovered?: (info: RecoveredInfo) => void;
  /** After a resubscribe that could not replay what was missed: reload through the app's API. */
  onResync?: (info: ResyncInfo) => void;
  /**
   * Start the first subscribe from here (e.g. a position persisted before a page reload): the
   * server replays what came after it. Ignored when the topic is already subscribed here.
   */
  since?: StreamPosition;
}

export interface PresenceUser {
  user_id: string;
  status: PresenceStatus;
  connections?: number;
  /** Unix ms; absent on servers without last-seen persistence. */
  last_seen?: number;
}

export interface PresenceSnapshot {
  topic: string;
  users: PresenceUser[];
  count: number;
  /** User ids typing now, on servers with typing indicators. */
  typing?: string[];
}

export interface Welcome {
  type: 'welcome';
  connection_id: string;
  user_id: string;
  heartbeat_seconds: number;
  server_time: number;
  /** Unix ms when the server closes the connection (4001) unless it refreshes; absent = never. */
  expires_at?: number;
}

export interface DisconnectInfo {
  code: number;
  reason?: string;
  retryInMs: number;
  unauthorized: boolean;
}

export declare class RealtimeError extends Error {
  constructor(code: string, message: string, details?: Record<string, unknown>);
  /** The protocol's error code (`forbidden`, `rate_limited`, …) or `closed`, `timeout`, `not_connected`, `disconnected`, `token`, `http_<status>`. */
  code: string;
  /** For `closed`: the WebSocket close code. */
  closeCode?: number;
  /** For HTTP failures: the status. */
  status?: number;
  /** True when the client stopped and will not reconnect. */
  fatal?: boolean;
}

export declare class Subscription {
  readonly client: RealtimeClient;
  readonly topic: string;
  readonly handlers: SubscriptionHandlers;
  /** Resolves when the server confirmed the topic, rejects when it refused it. */
  readonly ready: Promise<void>;
  active: boolean;
  /** The topic's position: `client.position(topic)`. */
  readonly position: StreamPosition | null;
  unsubscribe(): void;
}

export declare class RealtimeClient {
  constructor(options?: RealtimeClientOptions);
  readonly state: ConnectionState;
  readonly userId: string | null;
  readonly connectionId: string | null;
  readonly heartbeatSeconds: number;
  /** Unix ms when the connection expires (the SDK refreshes it ahead of time); null = never. */
  readonly expiresAt: number | null;
  readonly status: Status;
  readonly topics: string[];

  /** Resolves at the first welcome; the client then stays connected until close(). */
  connect(): Promise<void>;
  close(): void;
  subscribe(topic: string, handlers?: SubscriptionHandlers): Subscription;
  /** Resolves on `ack`; rejects on `error`, when not connected, or on timeout. */
  publish(topic: string, event: string, data?: unknown): Promise<unknown>;
  typing(topic: string, isTyping: boolean, threadId?: string): void;
  setStatus(status: Status): Promise<void>;
  presence(topic: string): Promise<PresenceSnapshot>;
  /**
   * How far this client has seen the topic's history; null for a topic without history or not
   * subscribed here. Reconnects resume from it on their own.
   */
  position(topic: string): StreamPosition | null;

  on(name: 'state', fn: (state: ConnectionState, info?: { code?: number; reason?: string }) => void): () => void;
  on(name: 'error', fn: (error: RealtimeError | Error) => void): () => void;
  on(name: 'welcome', fn: (frame: Welcome) => void): () => void;
  on(name: 'disconnect', fn: (info: DisconnectInfo) => void): () => void;
  on(name: 'frame', fn: (frame: Record<string, unknown>) => void): () => void;
  /** A refresh moved the connection's expiry. */
  on(name: 'refreshed', fn: (info: { expiresAt: number | null }) => void): () => void;
  /** The backend subscribed this connection to a topic (POST /realtime/subscribe). */
  on(name: 'subscribed', fn: (info: { topic: string; server: true }) => void): () => void;
  /** The server ended a subscription (`forbidden`, `removed`). */
  on(name: 'unsubscribed', fn: (info: { topic: string; reason: string }) => void): () => void;
  /** An event of a topic with no local subscription: one the backend subscribed us to. */
  on(name: 'event', fn: (event: RealtimeEvent) => void): () => void;
  /** Any subscription's onRecovered. */
  on(name: 'recovered', fn: (info: RecoveredInfo) => void): () => void;
  /** Any subscription's onResync. */
  on(name: 'resync', fn: (info: ResyncInfo) => void): () => void;
  off(name: string, fn: (...args: any[]) => void): void;
}

/** Full-jitter exponential backoff: a random delay in [0, min(maxMs, baseMs * 2^attempt)). */
export declare function backoffDelay(
  attempt: number,
  options?: { baseMs?: number; maxMs?: number; random?: () => number },
): number;

export declare class TypingThrottle {
  constructor(send: (state: 'start' | 'stop') => void,
              options?: { throttleMs?: number; idleMs?: number; now?: () => number });
  update(isTyping: boolean): void;
  stop(): void;
  reset(): void;
}
