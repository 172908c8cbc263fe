// Budget: reserve/free accounting, pause on refusal, and the resume callback firing once per
// crossing below resumeFraction x limit (hysteresis).

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Budget } from './budget.js';

test('reserve and free track outstanding bytes against the limit', () => {
  const b = new Budget(1000);
  assert.equal(b.limit, 1000);
  assert.equal(b.outstanding, 0);
  assert.equal(b.tryReserve(600), true);
  assert.equal(b.tryReserve(400), true);
  assert.equal(b.outstanding, 1000);
  assert.equal(b.available, 0);
  assert.equal(b.exhausted, true);
  assert.equal(b.tryReserve(1), false);
  assert.equal(b.outstanding, 1000, 'a refusal reserves nothing');
  b.free(400);
  assert.equal(b.exhausted, false);
  assert.equal(b.outstanding, 600);
  b.free(600);
  assert.equal(b.outstanding, 0);
  assert.equal(b.refusals, 1);
});

test('freeing more than outstanding throws', () => {
  const b = new Budget(100);
  b.tryReserve(10);
  assert.throws(() => b.free(11), RangeError);
  assert.equal(b.outstanding, 10);
});

test('resume fires once on crossing below 0.75 x limit after a refusal', () => {
  const b = new Budget(1000);
  let calls = 0;
  const cb = (): void => {
    calls++;
  };
  b.onResume(cb);
  assert.equal(b.tryReserve(900), true);
  b.free(500); // never refused: no resume, not paused
  assert.equal(calls, 0);
  assert.equal(b.tryReserve(500), true); // 900
  assert.equal(b.tryReserve(200), false);
  assert.equal(b.paused, true);
  b.free(100); // 800: above 750, still paused
  assert.equal(calls, 0);
  assert.equal(b.paused, true);
  b.free(50); // 750: not below 750
  assert.equal(calls, 0);
  b.free(1); // 749: crossed
  assert.equal(calls, 1);
  assert.equal(b.paused, false);
  b.free(700); // further frees do not fire again
  b.free(49);
  assert.equal(calls, 1);
  assert.equal(b.resumes, 1);
  // A second refusal arms it again.
  assert.equal(b.tryReserve(1000), true);
  assert.equal(b.tryReserve(1), false);
  b.free(1000);
  assert.equal(calls, 2);
});

test('a reservation that fits is granted while paused; the pause holds until the resume point', () => {
  const b = new Budget(1000);
  b.tryReserve(900);
  assert.equal(b.tryReserve(200), false);
  assert.equal(b.tryReserve(100), true);
  assert.equal(b.paused, true);
});

test('resumeFraction option sets the resume point', () => {
  const b = new Budget(1000, { resumeFraction: 0.5 });
  let calls = 0;
  b.onResume(() => {
    calls++;
  });
  b.tryReserve(1000);
  b.tryReserve(1);
  b.free(499); // 501
  assert.equal(calls, 0);
  b.free(2); // 499
  assert.equal(calls, 1);
});

test('a request larger than the whole limit is refused without pausing', () => {
  const b = new Budget(1000);
  let calls = 0;
  b.onResume(() => {
    calls++;
  });
  assert.equal(b.tryReserve(1001), false);
  assert.equal(b.paused, false);
  assert.equal(b.refusals, 1);
  assert.equal(calls, 0);
});

test('every listener is called in order; offResume removes one; a listener may reserve again', () => {
  const b = new Budget(100);
  const order: string[] = [];
  const first = (): void => {
    order.push('first');
    assert.equal(b.tryReserve(10), true);
  };
  const second = (): void => {
    order.push('second');
  };
  b.onResume(first);
  b.onResume(second);
  b.tryReserve(100);
  b.tryReserve(1);
  b.free(100);
  assert.deepEqual(order, ['first', 'second']);
  assert.equal(b.outstanding, 10);
  b.offResume(first);
  b.offResume(first); // absent: no-op
  b.tryReserve(90);
  b.tryReserve(1);
  b.free(100);
  assert.deepEqual(order, ['first', 'second', 'second']);
});

test('a listener removed during firing does not disturb the walk', () => {
  const b = new Budget(10);
  let a = 0;
  let c = 0;
  const second = (): void => {
    c++;
  };
  b.onResume(() => {
    a++;
    b.offResume(second);
  });
  b.onResume(second);
  b.tryReserve(10);
  b.tryReserve(1);
  b.free(10);
  assert.equal(a, 1);
  assert.equal(c, 1, 'the snapshot being walked still holds it');
  b.tryReserve(10);
  b.tryReserve(1);
  b.free(10);
  assert.equal(a, 2);
  assert.equal(c, 1);
});

test('Infinity is no cap; bad arguments throw RangeError', () => {
  const b = new Budget(Infinity);
  assert.equal(b.tryReserve(Number.MAX_SAFE_INTEGER), true);
  assert.throws(() => new Budget(-1), RangeError);
  assert.throws(() => new Budget(NaN), RangeError);
  assert.throws(() => new Budget(1.5), RangeError);
  assert.throws(() => new Budget(10, { resumeFraction: 1.5 }), RangeError);
});
