// IdleMemory: quiet after traffic gives memory back once (free slabs dropped at once, a GC, malloc_trim);
// no traffic, no release; traffic again arms it again. Time is a manual clock, checks are called directly.
import { strict as assert } from 'node:assert';
import { test } from 'node:test';
import { TieredPool } from '../buffer/tiered-pool.js';
import { IdleMemory, QUIET_MS } from './idle-memory.js';

test('after traffic and QUIET_MS of quiet: free slabs go, then a GC and malloc_trim, once per quiet spell', () => {
  const clock = { now: 1000 };
  const pool = new TieredPool({ debug: false, tiers: [2048], slabBytes: 4 * 2048, clock: () => clock.now });
  let gcs = 0;
  let trims = 0;
  const idle = new IdleMemory({ pool, gc: () => gcs++, mallocTrim: () => trims++, clock: () => clock.now });
  idle.check();
  clock.now += QUIET_MS * 10;
  idle.check();
  assert.equal(idle.releases, 0, 'never busy: nothing to give back');

  const held = pool.get(100)!; // keeps its slab
  const bufs = [];
  for (let i = 0; i < 8; i++) bufs.push(pool.get(100)!);
  for (const b of bufs) b.release();
  assert.equal(pool.stats().slabs, 3);
  idle.check(); // traffic seen
  clock.now += QUIET_MS - 1;
  idle.check();
  assert.equal(idle.releases, 0, 'not quiet long enough');
  clock.now += 1;
  idle.check();
  assert.equal(idle.releases, 1);
  assert.deepEqual([gcs, trims], [1, 1]);
  assert.equal(pool.stats().slabs, 1, 'the wholly free slabs went at once; the one with a buffer out stays');
  clock.now += QUIET_MS * 10;
  idle.check();
  assert.equal(idle.releases, 1, 'once per quiet spell');

  pool.get(100)!.release(); // traffic again
  idle.check();
  clock.now += QUIET_MS;
  idle.check();
  assert.equal(idle.releases, 2);
  held.release();
  pool.close();
});

test('with the defaults, a release runs a real full GC (V8 gc exposed at run time) and the shim trim', async () => {
  const clock = { now: 0 };
  const pool = new TieredPool({ debug: false, tiers: [2048], clock: () => clock.now });
  const idle = new IdleMemory({ pool, clock: () => clock.now });
  const ref = ((): WeakRef<object> => new WeakRef({ big: new Array(1000).fill(1) }))();
  await new Promise<void>((r) => setImmediate(r)); // past the job that made the WeakRef
  pool.get(100)!.release();
  idle.check();
  clock.now += QUIET_MS;
  idle.check();
  assert.equal(idle.releases, 1);
  assert.equal(ref.deref(), undefined, 'the unreachable object was collected');
  pool.close();
});

test('start() twice makes one timer, stop() ends it (the process can exit either way: unref)', () => {
  const pool = new TieredPool({ debug: false, tiers: [2048] });
  const idle = new IdleMemory({ pool, gc: () => undefined, mallocTrim: () => undefined });
  idle.start();
  const timer = (idle as unknown as { timer: NodeJS.Timeout }).timer;
  idle.start();
  assert.equal((idle as unknown as { timer: NodeJS.Timeout }).timer, timer);
  assert.equal(timer.hasRef(), false);
  idle.stop();
  assert.equal((idle as unknown as { timer: NodeJS.Timeout | null }).timer, null);
  pool.close();
});
