// TimerWheel: never early, late by at most a level's granularity (1/8 of the delay), lazy and eager
// re-arm, cancel, re-arm from inside a callback, one Clock task at a time, deadlines past the top
// level, and a random schedule checked against the simple rule, all on a FakeClock.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { FakeClock } from '../base/clock.js';
import { TimerWheel, WheelTimer } from './timer-wheel.js';

function setup(): { clock: FakeClock; wheel: TimerWheel; fired: number[]; timer: (id: number) => WheelTimer } {
  const clock = new FakeClock(0);
  const wheel = new TimerWheel(clock);
  const fired: number[] = [];
  const timer = (id: number): WheelTimer => new WheelTimer(() => fired.push(id));
  return { clock, wheel, fired, timer };
}

/** The latest a timer armed `delay` ms ahead may fire: one tick, or 1/8 of the delay past it. */
function latest(armedAt: number, delay: number): number {
  return armedAt + delay + Math.max(1, Math.ceil(delay / 8)) + 1;
}

test('a timer fires at its deadline, not before', () => {
  const { clock, wheel, fired, timer } = setup();
  const t = timer(1);
  wheel.arm(t, 40);
  assert.equal(wheel.pending, 1);
  clock.advance(39);
  assert.deepEqual(fired, []);
  clock.advance(1);
  assert.deepEqual(fired, [1]);
  assert.equal(t.armed, false);
  assert.equal(wheel.pending, 0);
});

test('coarse levels fire late by at most 1/8 of the delay, never early', () => {
  const delays = [1, 2, 63, 64, 65, 200, 511, 513, 1000, 3000, 60_000, 7_200_000, 40 * 3600_000];
  for (const d of delays) {
    const { clock, wheel, timer } = setup();
    clock.advance(12_345); // an arbitrary phase
    let at = -1;
    const t = new WheelTimer(() => (at = clock.now()));
    void timer;
    const armedAt = clock.now();
    wheel.arm(t, d);
    clock.advance(d - 1);
    assert.equal(at, -1, `delay ${d} fired early`);
    clock.advance(latest(armedAt, d) - clock.now());
    assert.ok(at >= armedAt + d && at <= latest(armedAt, d), `delay ${d} fired at +${at - armedAt}`);
  }
});

test('re-arming later only moves the deadline; the entry is filed again when its bucket comes', () => {
  const { clock, wheel, fired, timer } = setup();
  const t = timer(1);
  wheel.arm(t, 100);
  const slot = t.slot;
  wheel.arm(t, 300);
  assert.equal(t.slot, slot, 'a later deadline keeps the entry where it is');
  clock.advance(250);
  assert.deepEqual(fired, []);
  clock.advance(latest(0, 300) - 250);
  assert.deepEqual(fired, [1]);
});

test('re-arming earlier moves the entry and the Clock task', () => {
  const { clock, wheel, fired, timer } = setup();
  const t = timer(1);
  wheel.arm(t, 5000);
  wheel.arm(t, 10);
  clock.advance(10);
  assert.deepEqual(fired, [1]);
  clock.advance(10_000);
  assert.deepEqual(fired, [1], 'fires once per arm');
});

test('cancel disarms; a cancelled wake-up leaves no work behind', () => {
  const { clock, wheel, fired, timer } = setup();
  const a = timer(1);
  const b = timer(2);
  wheel.arm(a, 10);
  wheel.arm(b, 20);
  wheel.cancel(a);
  wheel.cancel(a);
  assert.equal(wheel.pending, 1);
  clock.advance(100);
  assert.deepEqual(fired, [2]);
  assert.equal(wheel.pending, 0);
  assert.equal(clock.pending, 0, 'no Clock task once the wheel is empty');
});

test('a callback may re-arm its own timer and arm or cancel others due in the same bucket', () => {
  const clock = new FakeClock(0);
  const wheel = new TimerWheel(clock);
  const log: string[] = [];
  let n = 0;
  const c = new WheelTimer(() => log.push(`c@${clock.now()}`));
  const a: WheelTimer = new WheelTimer(() => {
    log.push(`a@${clock.now()}`);
    if (++n < 3) wheel.arm(a, 5);
    wheel.cancel(c);
  });
  wheel.arm(a, 5);
  wheel.arm(c, 5);
  clock.advance(100);
  // c shares a's first bucket: whichever runs first, a cancels c, or c fired before a.
  const aRuns = log.filter((x) => x.startsWith('a@'));
  assert.deepEqual(aRuns, ['a@5', 'a@10', 'a@15']);
  assert.ok(log.length <= 4);
  assert.equal(wheel.pending, 0);
});

test('one Clock task at a time, however many timers are armed', () => {
  const { clock, wheel, timer } = setup();
  for (let i = 0; i < 1000; i++) wheel.arm(timer(i), 1 + ((i * 7919) % 100_000));
  assert.equal(clock.pending, 1);
  assert.equal(wheel.pending, 1000);
  clock.advance(200_000);
  assert.equal(wheel.pending, 0);
  assert.equal(clock.pending, 0);
});

test('a random schedule: every timer fires within its window, and every due one fires', () => {
  const clock = new FakeClock(0);
  const wheel = new TimerWheel(clock);
  let seed = 12345;
  const rnd = (n: number): number => {
    seed = (Math.imul(seed, 1103515245) + 12345) >>> 0;
    return seed % n;
  };
  const armedAt: number[] = [];
  const delay: number[] = [];
  const firedAt: number[] = [];
  const timers: WheelTimer[] = [];
  for (let i = 0; i < 500; i++) {
    const id = i;
    timers.push(new WheelTimer(() => (firedAt[id] = clock.now())));
    firedAt.push(-1);
    armedAt.push(0);
    delay.push(-1);
  }
  for (let step = 0; step < 3000; step++) {
    const i = rnd(500);
    const op = rnd(10);
    if (op < 7) {
      const d = rnd(op < 5 ? 300 : 100_000);
      armedAt[i] = clock.now();
      delay[i] = d;
      firedAt[i] = -1;
      wheel.arm(timers[i]!, d);
    } else if (op < 8) {
      wheel.cancel(timers[i]!);
      delay[i] = -1;
    }
    clock.advance(rnd(20));
    for (let j = 0; j < 500; j++) {
      if (firedAt[j]! >= 0 && delay[j]! >= 0) {
        assert.ok(firedAt[j]! >= armedAt[j]! + delay[j]!, `timer ${j} early`);
        assert.ok(firedAt[j]! <= latest(armedAt[j]!, delay[j]!), `timer ${j} late: ${firedAt[j]! - armedAt[j]!} for ${delay[j]}`);
      }
    }
  }
  clock.advance(200_000);
  for (let j = 0; j < 500; j++) {
    if (delay[j]! >= 0 && armedAt[j]! + delay[j]! <= clock.now()) assert.ok(firedAt[j]! >= 0, `timer ${j} never fired`);
  }
  assert.equal(wheel.pending, 0);
});

test('close cancels everything and the Clock task', () => {
  const { clock, wheel, fired, timer } = setup();
  const t = timer(1);
  wheel.arm(t, 10);
  wheel.arm(timer(2), 1_000_000);
  wheel.close();
  assert.equal(wheel.pending, 0);
  assert.equal(t.armed, false);
  assert.equal(clock.pending, 0);
  clock.advance(2_000_000);
  assert.deepEqual(fired, []);
  wheel.arm(t, 5);
  clock.advance(5);
  assert.deepEqual(fired, [1], 'usable after close');
});
