// The pooled random values: randomPublicBytes writes exactly the window asked for, never hands out the
// same bytes twice, and crosses pool refills; randomU32 is 32-bit unsigned and spread over its range,
// and randomBelow stays below n.
import { strict as assert } from 'node:assert';
import { test } from 'node:test';
import { randomBelow, randomPublicBytes, randomU32 } from './random.js';

test('fills only the window, and successive draws differ across many refills', () => {
  const seen = new Set<string>();
  const out = new Uint8Array(24 + 10);
  for (let i = 0; i < 2000; i++) {
    out.fill(0xee);
    randomPublicBytes(out, 5, 24);
    assert.ok(out.subarray(0, 5).every((b) => b === 0xee) && out.subarray(29).every((b) => b === 0xee));
    const hex = Buffer.from(out.subarray(5, 29)).toString('hex');
    assert.ok(!seen.has(hex), `draw ${i} repeated`);
    seen.add(hex);
  }
  // The bytes are not all zero (a pool that was never filled would give zeros).
  let nonzero = 0;
  for (const h of seen) if (/[1-9a-f]/.test(h)) nonzero++;
  assert.equal(nonzero, seen.size);
});

test('lengths 0 and 4096 work; longer is a RangeError', () => {
  const big = new Uint8Array(4096);
  randomPublicBytes(big, 0, 0);
  randomPublicBytes(big, 0, 4096);
  assert.ok(big.some((b) => b !== 0));
  assert.throws(() => randomPublicBytes(new Uint8Array(4097), 0, 4097), RangeError);
});

test('randomU32 gives 32-bit values across refills; randomBelow(n) stays in [0, n) and reaches both ends', () => {
  let high = 0;
  const seen = new Set<number>();
  for (let i = 0; i < 10_000; i++) {
    const v = randomU32();
    assert.ok(Number.isInteger(v) && v >= 0 && v < 2 ** 32);
    if (v >= 2 ** 31) high++;
    const j = randomBelow(334);
    assert.ok(Number.isInteger(j) && j >= 0 && j < 334);
    seen.add(j);
  }
  assert.ok(high > 4000 && high < 6000, `top bit set ${high} times in 10,000`);
  assert.ok(seen.has(0) && seen.has(333) && seen.size > 300);
});
