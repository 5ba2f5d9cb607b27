/**
 * Delay before reconnect attempt `attempt` (0 = the first retry): "full jitter" backoff, a
 * uniformly random delay between 0 and min(maxMs, baseMs * 2^attempt). The randomness spreads
 * thousands of clients over the whole window after a server restart instead of letting them
 * return in synchronised waves.
 *
 * @param {number} attempt  failed attempts so far (0, 1, 2, …)
 * @param {{baseMs?: number, maxMs?: number, random?: () => number}} [options]
 * @returns {number} milliseconds, 0 <= delay <= maxMs
 */
export function backoffDelay(attempt, { baseMs = 500, maxMs = 30_000, random = Math.random } = {}) {
  const exponent = Math.min(Math.max(0, attempt), 30); // 2^30 already exceeds any sane cap
  const ceiling = Math.min(maxMs, baseMs * 2 ** exponent);
  return Math.floor(random() * ceiling);
}
