// Pure parts of the SDK: backoff and the typing throttle.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { backoffDelay, TypingThrottle } from '../src/index.js';

test('backoff: the window doubles per attempt and is capped', () => {
  const top = () => 1 - Number.EPSILON; // the largest value Math.random can return
  const options = { baseMs: 100, maxMs: 5000, random: top };
  assert.deepEqual([0, 1, 2, 3, 4, 5, 6, 7, 20, 1000].map((n) => backoffDelay(n, options)),
    [99, 199, 399, 799, 1599, 3199, 4999, 4999, 4999, 4999]);
  assert.equal(backoffDelay(3, { ...options, random: () => 0 }), 0);
  assert.equal(backoffDelay(-1, options), 99);
});

test('backoff: full jitter spreads delays over the whole window', () => {
  const options = { baseMs: 500, maxMs: 30_000 };
  const delays = Array.from({ length: 2000 }, () => backoffDelay(10, options)); // window = the cap
  assert.ok(delays.every((d) => Number.isInteger(d) && d >= 0 && d < 30_000));
  // Spread, not synchronised: each tenth of the window gets a share (expected 200 each).
  const buckets = new Array(10).fill(0);
  for (const d of delays) buckets[Math.floor(d / 3000)]++;
  assert.ok(buckets.every((n) => n > 100), `buckets ${buckets}`);
  assert.ok(new Set(delays).size > 1000);
});

test('backoff: defaults are 500 ms base, 30 s cap', () => {
  assert.equal(backoffDelay(0, { random: () => 0.5 }), 250);
  assert.equal(backoffDelay(50, { random: () => 0.5 }), 15_000);
});

test('typing throttle: one start per throttle window while keys keep coming', () => {
  let now = 0;
  const sent = [];
  const throttle = new TypingThrottle((s) => sent.push(s), { throttleMs: 2000, idleMs: 60_000, now: () => now });
  for (now = 0; now < 5000; now += 100) throttle.update(true);
  assert.deepEqual(sent, ['start', 'start', 'start']); // at 0, 2000, 4000
  throttle.update(false);
  assert.deepEqual(sent, ['start', 'start', 'start', 'stop']);
  throttle.update(false);
  assert.equal(sent.length, 4); // no stop without a start
});

test('typing throttle: stops by itself after the idle time', async () => {
  const sent = [];
  const throttle = new TypingThrottle((s) => sent.push(s), { throttleMs: 2000, idleMs: 150 });
  throttle.update(true);
  await new Promise((r) => setTimeout(r, 100));
  throttle.update(true); // a key within the idle time postpones the stop
  await new Promise((r) => setTimeout(r, 100));
  assert.deepEqual(sent, ['start']);
  await new Promise((r) => setTimeout(r, 150));
  assert.deepEqual(sent, ['start', 'stop']);
  throttle.update(true);
  assert.deepEqual(sent, ['start', 'stop', 'start']); // a new burst starts at once
  throttle.reset();
  await new Promise((r) => setTimeout(r, 200));
  assert.deepEqual(sent, ['start', 'stop', 'start']); // reset forgets without sending
});
