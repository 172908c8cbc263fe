// GcMeter: counts collections and their pauses, and logs when each began, up to its capacity.
import { strict as assert } from 'node:assert';
import { test } from 'node:test';
import { setImmediate as turn } from 'node:timers/promises';
import { GcMeter } from './gc-meter.js';

/** Short-lived garbage until the meter has seen `n` collections (the observer reports between turns). */
async function collect(meter: GcMeter, n: number): Promise<void> {
  let keep: number[] = [];
  for (let round = 0; round < 1000 && meter.count < n; round++) {
    for (let i = 0; i < 100_000; i++) keep = [i, i + 1];
    await turn();
  }
  assert.ok(keep.length === 2 && meter.count >= n, `collections seen: ${meter.count}`);
}

test('pauses are counted and summed; a log keeps the first ones with when they began', async () => {
  const from = Date.now();
  const meter = new GcMeter(2);
  await collect(meter, 3);
  const to = Date.now() + 1;
  meter.stop();
  assert.ok(meter.ms > 0);
  assert.equal(meter.logged, 2, 'the log stops at its capacity');
  for (let i = 0; i < 2; i++) {
    assert.ok(meter.starts[i]! >= from - 1 && meter.starts[i]! <= to, `pause ${i} began inside the test`);
    assert.ok(meter.durations[i]! >= 0);
  }
  assert.ok(meter.durations[0]! + meter.durations[1]! <= meter.ms + 1e-9);
  const count = meter.count;
  await collect(new GcMeter(), 1);
  assert.equal(meter.count, count, 'nothing counted after stop()');
});

test('without a log capacity nothing is logged', async () => {
  const meter = new GcMeter();
  await collect(meter, 1);
  meter.stop();
  assert.equal(meter.logged, 0);
  assert.equal(meter.starts.length, 0);
});
