// Tests for the replay window: the kernel's selftest/counter.c cases, numbered as there (and as in
// wireguard-go's replay_test.go, which ports them unchanged), then a differential run against a naive
// twin that remembers every counter in a Set.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { REJECT_AFTER_MESSAGES } from './constants.js';
import { ReplayFilter, REPLAY_WINDOW_SIZE } from './replay.js';

// The kernel's REJECT_AFTER_MESSAGES is 2^64 - 2^13 - 1 (wireguard-go's port uses 2^64 - 2^4 - 1).
// wgts counters are JS numbers below 2^53, where neither is exact; constants.ts moves the limit below
// 2^53 by the same offset, so cases 25-34 keep their offsets from it and every value is exact.

test('the limit is an exact integer below 2^53, the paper\'s offset from its own', () => {
  assert.ok(Number.isSafeInteger(REJECT_AFTER_MESSAGES));
  assert.equal(2 ** 53 - REJECT_AFTER_MESSAGES, 2 ** 13 + 1);
});

function runner(filter: ReplayFilter, label: string): (n: number, expected: boolean) => void {
  let testNumber = 0;
  return (n, expected) => {
    testNumber++;
    assert.equal(filter.validate(n, REJECT_AFTER_MESSAGES), expected, `${label} case ${testNumber}: counter ${n}`);
  };
}

test('kernel counter.c numbered cases', () => {
  const filter = new ReplayFilter();
  const T = runner(filter, 'numbered');
  const T_LIM = REPLAY_WINDOW_SIZE + 1;
  T(0, true); /*  1 */
  T(1, true); /*  2 */
  T(1, false); /*  3 */
  T(9, true); /*  4 */
  T(8, true); /*  5 */
  T(7, true); /*  6 */
  T(7, false); /*  7 */
  T(T_LIM, true); /*  8 */
  T(T_LIM - 1, true); /*  9 */
  T(T_LIM - 1, false); /* 10 */
  T(T_LIM - 2, true); /* 11 */
  T(2, true); /* 12 */
  T(2, false); /* 13 */
  T(T_LIM + 16, true); /* 14 */
  T(3, false); /* 15 */
  T(T_LIM + 16, false); /* 16 */
  T(T_LIM * 4, true); /* 17 */
  T(T_LIM * 4 - (T_LIM - 1), true); /* 18 */
  T(10, false); /* 19 */
  T(T_LIM * 4 - T_LIM, false); /* 20 */
  T(T_LIM * 4 - (T_LIM + 1), false); /* 21 */
  T(T_LIM * 4 - (T_LIM - 2), true); /* 22 */
  T(T_LIM * 4 + 1 - T_LIM, false); /* 23 */
  T(0, false); /* 24 */
  T(REJECT_AFTER_MESSAGES, false); /* 25 */
  T(REJECT_AFTER_MESSAGES - 1, true); /* 26 */
  T(REJECT_AFTER_MESSAGES, false); /* 27 */
  T(REJECT_AFTER_MESSAGES - 1, false); /* 28 */
  T(REJECT_AFTER_MESSAGES - 2, true); /* 29 */
  T(REJECT_AFTER_MESSAGES + 1, false); /* 30 */
  T(REJECT_AFTER_MESSAGES + 2, false); /* 31 */
  T(REJECT_AFTER_MESSAGES - 2, false); /* 32 */
  T(REJECT_AFTER_MESSAGES - 3, true); /* 33 */
  T(0, false); /* 34 */
});

test('kernel counter.c bulk tests 1-6', () => {
  const W = REPLAY_WINDOW_SIZE;
  const filter = new ReplayFilter();

  filter.reset();
  let T = runner(filter, 'bulk 1');
  for (let i = 1; i <= W; i++) T(i, true);
  T(0, true);
  T(0, false);

  filter.reset();
  T = runner(filter, 'bulk 2');
  for (let i = 2; i <= W + 1; i++) T(i, true);
  T(1, true);
  T(0, false);

  filter.reset();
  T = runner(filter, 'bulk 3');
  for (let i = W + 1; i > 0; i--) T(i, true);

  filter.reset();
  T = runner(filter, 'bulk 4');
  for (let i = W + 2; i > 1; i--) T(i, true);
  T(0, false);

  filter.reset();
  T = runner(filter, 'bulk 5');
  for (let i = W; i > 0; i--) T(i, true);
  T(W + 1, true);
  T(0, false);

  filter.reset();
  T = runner(filter, 'bulk 6');
  for (let i = W; i > 0; i--) T(i, true);
  T(0, true);
  T(W + 1, true);
});

/** The obvious version: every counter ever accepted, and the highest one. */
class NaiveFilter {
  private seen = new Set<number>();
  private last = 0;
  validate(counter: number, limit: number): boolean {
    if (counter >= limit) return false;
    if (counter + REPLAY_WINDOW_SIZE < this.last) return false;
    if (this.seen.has(counter)) return false;
    this.seen.add(counter);
    if (counter > this.last) this.last = counter;
    return true;
  }
}

/** Small deterministic PRNG (xorshift32) so a failure reproduces. */
function rng(seed: number): () => number {
  let s = seed >>> 0 || 1;
  return () => {
    s ^= s << 13;
    s >>>= 0;
    s ^= s >>> 17;
    s ^= s << 5;
    s >>>= 0;
    return s / 2 ** 32;
  };
}

test('random differential against a Set-based twin', () => {
  for (const [seed, base] of [
    [1, 0],
    [2, 2 ** 32 - 5000], // straddles the 2^32 word boundary of `>>> 0`
    [3, 2 ** 52 + 12345],
  ] as const) {
    const rand = rng(seed);
    const fast = new ReplayFilter();
    const slow = new NaiveFilter();
    let top = base;
    for (let i = 0; i < 200_000; i++) {
      const r = rand();
      let c: number;
      if (r < 0.4) c = top + Math.floor(rand() * 40); // mostly in order
      else if (r < 0.8) c = top - Math.floor(rand() * (REPLAY_WINDOW_SIZE + 200)); // around the window's tail
      else if (r < 0.98) c = top - Math.floor(rand() * 64); // recent duplicates
      else c = top + Math.floor(rand() * 3 * 8192); // big jumps, past the whole ring
      if (c < base) c = base;
      if (c > top) top = c;
      assert.equal(fast.validate(c, Number.MAX_SAFE_INTEGER), slow.validate(c, Number.MAX_SAFE_INTEGER), `seed ${seed} step ${i} counter ${c}`);
    }
  }
});

test('limit is exclusive and reset forgets', () => {
  const f = new ReplayFilter();
  assert.equal(f.validate(10, 10), false);
  assert.equal(f.validate(9, 10), true);
  assert.equal(f.validate(9, 10), false);
  f.reset();
  assert.equal(f.validate(9, 10), true);
  assert.equal(f.validate(0, 10), true);
});
