/**
 * Turns keystroke-level "is typing" calls into few frames: one `start` per `throttleMs` while
 * keys keep coming (so the server's own timeout never fires mid-sentence), a `stop` after
 * `idleMs` without keys, and an immediate `stop` when told.
 */
export class TypingThrottle {
  /**
   * @param {(state: 'start'|'stop') => void} send
   * @param {{throttleMs?: number, idleMs?: number, now?: () => number}} [options]
   */
  constructor(send, { throttleMs = 2000, idleMs = 5000, now = Date.now } = {}) {
    this.send = send;
    this.throttleMs = throttleMs;
    this.idleMs = idleMs;
    this.now = now;
    this.active = false;
    this.lastStartAt = 0;
    this.idleTimer = null;
  }

  /** @param {boolean} isTyping */
  update(isTyping) {
    if (!isTyping) {
      this.stop();
      return;
    }
    const now = this.now();
    if (!this.active || now - this.lastStartAt >= this.throttleMs) {
      this.active = true;
      this.lastStartAt = now;
      this.send('start');
    }
    clearTimeout(this.idleTimer);
    this.idleTimer = setTimeout(() => this.stop(), this.idleMs);
  }

  stop() {
    clearTimeout(this.idleTimer);
    this.idleTimer = null;
    if (!this.active) return;
    this.active = false;
    this.send('stop');
  }

  /** Forget the state without sending (the connection is gone; the server stops it itself). */
  reset() {
    clearTimeout(this.idleTimer);
    this.idleTimer = null;
    this.active = false;
  }
}
