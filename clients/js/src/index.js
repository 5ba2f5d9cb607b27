// @nself/realtime-client: the browser and Node client of nself-realtime (protocol v1).
export { RealtimeClient, RealtimeError, Subscription, SUBPROTOCOL, STATES } from './realtime-client.js';
export { backoffDelay } from './backoff.js';
export { TypingThrottle } from './typing.js';
