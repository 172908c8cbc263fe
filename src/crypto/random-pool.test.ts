// The pooled random values: 32-bit unsigned, spread over their range, and randomBelow stays below n.
import { strict as assert } from 'node:assert';
import { test } from 'node:test';
import { randomBelow, randomU32 } from './random-pool.js';

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
