// TieredPool: tier choice, window reset, budget exhaustion, release checks, debug poison, exact
// stats, and trim() under an injected clock (no sleeping).

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { TieredPool } from './tiered-pool.js';
import { Budget } from './budget.js';
import { Arena } from './arena.js';
import { PacketBuffer } from './packet-buffer.js';
import {
  HEADROOM_BYTES,
  LARGE_CHUNK_BYTES,
  MEDIUM_CHUNK_BYTES,
  SLAB_BYTES,
  SMALL_CHUNK_BYTES,
  POISON_BYTE,
} from './constants.js';

/** A clock the test moves by hand. */
function manualClock(): { now: number; read: () => number } {
  const c = { now: 1000, read: () => c.now };
  return c;
}

test('default tiers are 2048, 10240, 69632 and get picks the smallest that fits', () => {
  const pool = new TieredPool({ debug: false });
  assert.deepEqual(pool.tiers, [SMALL_CHUNK_BYTES, MEDIUM_CHUNK_BYTES, LARGE_CHUNK_BYTES]);
  assert.equal(LARGE_CHUNK_BYTES, 69632);
  const cases: [number, number][] = [
    [0, 2048],
    [1, 2048],
    [1420, 2048],
    [2048, 2048],
    [2049, 10240],
    [9048, 10240],
    [10240, 10240],
    [10241, 69632],
    [65535 + 48, 69632],
    [69632, 69632],
  ];
  for (let i = 0; i < cases.length; i++) {
    const [size, cap] = cases[i]!;
    const b = pool.get(size);
    assert.ok(b !== null, `get(${size})`);
    assert.equal(b.capacity, cap, `get(${size}) capacity`);
    assert.equal(b.bytes.length, cap);
    b.release();
  }
  assert.equal(pool.get(69633), null);
  assert.equal(pool.stats().oversize, 1);
  assert.equal(pool.outstanding, 0);
  assert.equal(pool.close(), 0);
});

test('get returns a live buffer with the window reset to empty at HEADROOM_BYTES', () => {
  const pool = new TieredPool({ debug: false });
  const a = pool.get(1420)!;
  assert.equal(a.live, true);
  assert.equal(a.origin, pool);
  assert.equal(a.start, HEADROOM_BYTES);
  assert.equal(a.end, HEADROOM_BYTES);
  assert.equal(a.headroom, 16);
  assert.equal(a.length, 0);
  assert.equal(a.tailroom, 2048 - 16);
  assert.equal(a.next, null);
  a.start = 3;
  a.end = 1500;
  a.release();
  assert.equal(a.live, false);
  const b = pool.get(100)!;
  assert.equal(b, a, 'LIFO: the chunk just released is served next, same handle');
  assert.equal(b.start, 16);
  assert.equal(b.end, 16);
  b.release();
});

test('chunks of one slab are distinct, non-overlapping views of one ArrayBuffer', () => {
  const pool = new TieredPool({ debug: false, tiers: [2048], slabBytes: 8192 });
  const bufs: PacketBuffer[] = [];
  for (let i = 0; i < 4; i++) bufs.push(pool.get(2048)!);
  const memory = pool.slabMemory(0)!;
  assert.equal(memory.byteLength, 8192);
  for (let i = 0; i < 4; i++) {
    assert.equal(bufs[i]!.bytes.buffer, memory);
    assert.equal(bufs[i]!.bytes.byteOffset, i * 2048, 'fresh slab fills front to back');
    assert.equal(bufs[i]!.slab, 0);
  }
  assert.equal(pool.stats().slabs, 1);
  const fifth = pool.get(10)!;
  assert.equal(fifth.slab, 1, 'a full slab makes the tier carve another');
  for (let i = 0; i < 4; i++) bufs[i]!.release();
  fifth.release();
  assert.equal(pool.outstanding, 0);
});

test('slab sizing: floor(slabBytes / chunk) chunks per slab, at least one', () => {
  const pool = new TieredPool({ debug: false });
  const s = pool.stats();
  assert.deepEqual(
    s.tiers.map((t) => [t.chunkBytes, t.chunksPerSlab, t.slabBytes]),
    [
      [2048, 512, 512 * 2048],
      [10240, 102, 102 * 10240],
      [69632, 15, 15 * 69632],
    ],
  );
  assert.equal(512 * 2048, SLAB_BYTES);
  const big = new TieredPool({ debug: false, tiers: [4096, 65536], slabBytes: 16384 });
  assert.deepEqual(
    big.stats().tiers.map((t) => t.chunksPerSlab),
    [4, 1],
  );
});

test('budget: get returns null at the budget and works again after a release', () => {
  const budget = new Budget(3 * 2048);
  const pool = new TieredPool({ debug: false, budget });
  const a = pool.get(1420)!;
  const b = pool.get(1420)!;
  const c = pool.get(1)!;
  assert.ok(a && b && c);
  assert.equal(budget.outstanding, 3 * 2048, 'charged the chunk size, not the requested size');
  assert.equal(pool.get(1420), null);
  assert.equal(pool.get(5000), null, 'a larger tier is refused too');
  assert.equal(budget.paused, true);
  const s = pool.stats();
  assert.equal(s.refused, 2);
  assert.equal(s.tiers[0]!.refused, 1);
  assert.equal(s.tiers[1]!.refused, 1);
  assert.equal(s.outstanding, 3);
  b.release();
  assert.equal(budget.outstanding, 2 * 2048);
  const d = pool.get(1420);
  assert.ok(d !== null);
  a.release();
  c.release();
  d.release();
  assert.equal(budget.outstanding, 0);
  assert.equal(pool.outstanding, 0);
});

test('budget shared by two pools caps their sum', () => {
  const budget = new Budget(4096);
  const p1 = new TieredPool({ debug: false, budget });
  const p2 = new TieredPool({ debug: false, budget });
  const a = p1.get(100)!;
  const b = p2.get(100)!;
  assert.equal(p1.get(100), null);
  assert.equal(p2.get(100), null);
  a.release();
  const c = p2.get(100)!;
  b.release();
  c.release();
  assert.equal(budget.outstanding, 0);
});

test('release throws on double release and on a buffer of another origin', () => {
  const pool = new TieredPool({ debug: false });
  const other = new TieredPool({ debug: false });
  const a = pool.get(100)!;
  a.release();
  assert.throws(() => a.release(), /released twice/);
  assert.throws(() => pool.release(a), /released twice/);
  const b = other.get(100)!;
  assert.throws(() => pool.release(b), /another origin/);
  const arena = new Arena({ capacity: 1024 });
  const h = arena.take(64)!;
  assert.throws(() => pool.release(h), /another origin/);
  assert.equal(pool.outstanding, 0, 'a refused release changes nothing');
  assert.equal(other.outstanding, 1);
  b.release();
  h.release();
  const stray = new PacketBuffer(new Uint8Array(64), pool, 0);
  assert.throws(() => pool.release(stray), /released twice/, 'a handle the pool never made is not live');
});

test('assertLive throws after release', () => {
  const pool = new TieredPool({ debug: false });
  const a = pool.get(100)!;
  pool.assertLive(a);
  a.release();
  assert.throws(() => pool.assertLive(a), /used after release/);
});

test('debug: a write into a released chunk is caught on the next get, naming the tier', () => {
  const pool = new TieredPool({ debug: true });
  const a = pool.get(1420)!;
  a.bytes[a.start] = 0x45;
  a.end = a.start + 1;
  a.release();
  for (let i = 0; i < a.bytes.length; i++) assert.equal(a.bytes[i], POISON_BYTE);
  pool.verifyFree();
  a.bytes[100] = 0x01; // use after release
  assert.throws(() => pool.verifyFree(), /written after release \(tier 0: 2048-byte chunks, slab 0, .*byte 100 = 0x1/);
  assert.throws(() => pool.get(1420), /written after release \(tier 0: 2048-byte chunks/);
});

test('debug: a medium chunk written after release is named as the 10240-byte tier', () => {
  const pool = new TieredPool({ debug: true });
  const a = pool.get(5000)!;
  a.release();
  a.bytes[a.bytes.length - 1] = 0;
  assert.throws(() => pool.get(5000), /tier 1: 10240-byte chunks.*byte 10239 = 0x0/);
});

test('debug: fresh chunks arrive poisoned and clean use passes every check', () => {
  const pool = new TieredPool({ debug: true, tiers: [2048], slabBytes: 4096 });
  const a = pool.get(10)!;
  assert.equal(a.bytes[0], POISON_BYTE);
  a.bytes.fill(7, a.start, a.start + 100);
  pool.assertLive(a);
  const b = pool.get(10)!;
  b.release();
  a.release();
  pool.verifyFree();
  assert.equal(pool.close(), 0);
});

test('stats counts are exact', () => {
  const pool = new TieredPool({ debug: false, tiers: [2048, 10240], slabBytes: 4 * 2048 });
  // tier 0: 4 chunks per slab; tier 1: 1 chunk per slab (10240 > 8192).
  const held: PacketBuffer[] = [];
  for (let i = 0; i < 6; i++) held.push(pool.get(1000)!); // 2 misses (slab 1 and 2), 4 hits
  held.push(pool.get(3000)!); // tier 1 miss
  held.push(pool.get(3000)!); // tier 1 miss
  let s = pool.stats();
  const t0 = s.tiers[0]!;
  const t1 = s.tiers[1]!;
  assert.deepEqual(
    [t0.gets, t0.hits, t0.misses, t0.outstanding, t0.peakOutstanding, t0.slabs, t0.reservedBytes],
    [6, 4, 2, 6, 6, 2, 2 * 8192],
  );
  assert.deepEqual(
    [t1.gets, t1.hits, t1.misses, t1.outstanding, t1.peakOutstanding, t1.slabs, t1.reservedBytes],
    [2, 0, 2, 2, 2, 2, 2 * 10240],
  );
  assert.equal(t0.outstandingBytes, 6 * 2048);
  assert.deepEqual(
    [s.gets, s.hits, s.misses, s.outstanding, s.peakOutstanding, s.slabs, s.reservedBytes, s.outstandingBytes],
    [8, 4, 4, 8, 8, 4, 2 * 8192 + 2 * 10240, 6 * 2048 + 2 * 10240],
  );
  for (let i = 0; i < held.length; i++) held[i]!.release();
  const again = pool.get(1000)!; // hit
  again.release();
  s = pool.stats();
  assert.equal(s.outstanding, 0);
  assert.equal(pool.outstanding, 0);
  assert.equal(s.peakOutstanding, 8);
  assert.equal(s.tiers[0]!.gets, 7);
  assert.equal(s.tiers[0]!.hits, 5);
  assert.equal(s.tiers[0]!.misses, 2);
  assert.equal(s.slabs, 4, 'released chunks stay cached until trim');
});

test('steady state: get/release cycles reuse the same handles and carve no slab', () => {
  const pool = new TieredPool({ debug: false });
  const seen = new Set<PacketBuffer>();
  const batch: PacketBuffer[] = [];
  for (let round = 0; round < 50; round++) {
    for (let i = 0; i < 64; i++) batch.push(pool.get(1420)!);
    for (let i = 0; i < batch.length; i++) {
      seen.add(batch[i]!);
      batch[i]!.release();
    }
    batch.length = 0;
  }
  assert.equal(seen.size, 64);
  const s = pool.stats();
  assert.equal(s.misses, 1);
  assert.equal(s.hits, 50 * 64 - 1);
  assert.equal(s.slabs, 1);
  assert.equal(pool.outstanding, 0);
});

test('trim drops a wholly free slab only after idleSlabMs, by the injected clock', () => {
  const clock = manualClock();
  const pool = new TieredPool({ debug: false, tiers: [2048], slabBytes: 2 * 2048, idleSlabMs: 500, clock: clock.read });
  const a = pool.get(10)!;
  const b = pool.get(10)!;
  const c = pool.get(10)!; // second slab
  assert.equal(pool.stats().slabs, 2);
  clock.now = 2000;
  c.release(); // slab 1 wholly free at t=2000
  assert.equal(pool.trim(2499), 0, 'free for 499 ms: kept');
  assert.equal(pool.trim(), 0, 'default now is the clock');
  clock.now = 2500;
  assert.equal(pool.trim(), 1, 'free for 500 ms: dropped');
  let s = pool.stats();
  assert.equal(s.slabs, 1);
  assert.equal(s.trimmedSlabs, 1);
  assert.equal(s.reservedBytes, 2 * 2048);
  assert.equal(pool.slabMemory(1), null);
  // slab 0 still has two chunks out: never dropped, however long.
  assert.equal(pool.trim(1e12), 0);
  a.release();
  assert.equal(pool.trim(1e12), 0, 'one chunk still out');
  clock.now = 10_000;
  b.release(); // slab 0 wholly free at t=10000
  assert.equal(pool.trim(10_499), 0);
  assert.equal(pool.trim(10_500), 1);
  s = pool.stats();
  assert.equal(s.slabs, 0);
  assert.equal(s.reservedBytes, 0);
  assert.equal(pool.outstanding, 0);
});

test('trim with idleMs 0 drops every wholly free slab at once; gets counts the traffic', () => {
  const clock = manualClock();
  const pool = new TieredPool({ debug: false, tiers: [2048], slabBytes: 2 * 2048, idleSlabMs: 30_000, clock: clock.read });
  const bufs = [pool.get(10)!, pool.get(10)!, pool.get(10)!];
  assert.equal(pool.gets, 3);
  bufs[2]!.release();
  assert.equal(pool.trim(), 0, 'free for 0 ms of 30000: kept');
  assert.equal(pool.trim(clock.now, 0), 1, 'the wholly free slab goes; the busy one stays');
  bufs[0]!.release();
  bufs[1]!.release();
  assert.equal(pool.trim(clock.now, 0), 1);
  assert.equal(pool.stats().slabs, 0);
  assert.equal(pool.gets, 3);
});

test('a slab that is used again after going idle restarts its idle time', () => {
  const clock = manualClock();
  const pool = new TieredPool({ debug: false, tiers: [2048], idleSlabMs: 100, clock: clock.read });
  pool.get(10)!.release(); // idle since 1000
  clock.now = 1090;
  const a = pool.get(10)!;
  assert.equal(pool.trim(5000), 0, 'in use');
  clock.now = 1095;
  a.release(); // idle since 1095
  assert.equal(pool.trim(1194), 0);
  assert.equal(pool.trim(1195), 1);
});

test('get after trim still works: new slab, slab index reused, stale handles stay dead', () => {
  const clock = manualClock();
  const pool = new TieredPool({ debug: false, tiers: [2048, 10240], slabBytes: 4096, idleSlabMs: 10, clock: clock.read });
  const old = pool.get(10)!;
  const keep = pool.get(5000)!; // tier 1 slab stays busy
  old.release();
  assert.equal(pool.trim(clock.now + 10), 1);
  assert.throws(() => old.release(), /released twice/, 'a handle of a dropped slab cannot come back');
  const fresh = pool.get(10)!;
  assert.notEqual(fresh, old);
  assert.equal(fresh.slab, old.slab, 'the dropped slab index is reused');
  assert.equal(fresh.start, HEADROOM_BYTES);
  fresh.bytes[fresh.start] = 1;
  const s = pool.stats();
  assert.equal(s.tiers[0]!.misses, 2);
  assert.equal(s.tiers[0]!.slabs, 1);
  fresh.release();
  keep.release();
  assert.equal(pool.outstanding, 0);
});

test('trim keeps the free slabs of other tiers and partial slabs serving traffic', () => {
  const clock = manualClock();
  const pool = new TieredPool({ debug: false, tiers: [2048], slabBytes: 2 * 2048, idleSlabMs: 10, clock: clock.read });
  const bufs: PacketBuffer[] = [];
  for (let i = 0; i < 6; i++) bufs.push(pool.get(10)!); // 3 slabs, all full
  // Release everything except one chunk of slab 2.
  for (let i = 0; i < 5; i++) bufs[i]!.release();
  assert.equal(pool.trim(clock.now + 10), 2);
  assert.equal(pool.stats().slabs, 1);
  // Gets after trim come from the survivor's free chunk, then a new slab.
  const x = pool.get(10)!;
  assert.equal(x.slab, bufs[5]!.slab);
  const y = pool.get(10)!;
  assert.notEqual(y.slab, x.slab);
  x.release();
  y.release();
  bufs[5]!.release();
  assert.equal(pool.outstanding, 0);
});

test('outstanding is zero after releasing everything, across tiers and random order', () => {
  const pool = new TieredPool({ debug: true, slabBytes: 64 * 1024 });
  let seed = 12345;
  const rand = (n: number): number => {
    seed = (Math.imul(seed, 1103515245) + 12345) >>> 0;
    return seed % n;
  };
  const live: PacketBuffer[] = [];
  for (let step = 0; step < 5000; step++) {
    if (live.length > 0 && rand(3) === 0) {
      const i = rand(live.length);
      live[i]!.release();
      live[i] = live[live.length - 1]!;
      live.pop();
    } else {
      const size = rand(10) < 8 ? 1 + rand(2048) : rand(10) < 8 ? 2049 + rand(8000) : 10241 + rand(55000);
      const b = pool.get(size)!;
      assert.ok(b.capacity >= size);
      live.push(b);
    }
    assert.equal(pool.outstanding, live.length);
  }
  for (let i = 0; i < live.length; i++) live[i]!.release();
  assert.equal(pool.outstanding, 0);
  assert.equal(pool.stats().outstanding, 0);
  pool.verifyFree();
});

test('allocation failure returns null and gives the budget bytes back', () => {
  const budget = new Budget(1 << 20);
  let fail = true;
  const pool = new TieredPool({
    debug: false,
    budget,
    allocateSlab: (n) => {
      if (fail) throw new RangeError('Array buffer allocation failed');
      return new ArrayBuffer(n);
    },
  });
  assert.equal(pool.get(100), null);
  assert.equal(pool.stats().failed, 1);
  assert.equal(budget.outstanding, 0);
  fail = false;
  const a = pool.get(100)!;
  a.release();
});

test('close reports outstanding buffers, frees their budget, and later releases are harmless', () => {
  const budget = new Budget(1 << 20);
  const pool = new TieredPool({ debug: false, budget });
  const a = pool.get(100)!;
  const b = pool.get(100)!;
  b.release();
  assert.equal(pool.close(), 1);
  assert.equal(budget.outstanding, 0);
  assert.equal(pool.outstanding, 0);
  assert.equal(pool.get(100), null);
  a.release();
  assert.throws(() => a.release(), /released twice/);
  assert.equal(budget.outstanding, 0);
});

test('constructor rejects bad tiers', () => {
  assert.throws(() => new TieredPool({ tiers: [] }), RangeError);
  assert.throws(() => new TieredPool({ tiers: [4096, 2048] }), /ascending/);
  assert.throws(() => new TieredPool({ tiers: [16] }), RangeError);
  assert.throws(() => new TieredPool({ slabBytes: 0 }), RangeError);
});

test('autoTrim owns an unref\'d timer that close() stops', () => {
  const pool = new TieredPool({ debug: false, autoTrim: true, idleSlabMs: 60_000 });
  pool.get(10)!.release();
  assert.equal(pool.close(), 0);
});

test('WGTS_DEBUG_BUFFERS=1 turns debug on when the option is absent', () => {
  const saved = process.env['WGTS_DEBUG_BUFFERS'];
  try {
    process.env['WGTS_DEBUG_BUFFERS'] = '1';
    assert.equal(new TieredPool().debug, true);
    assert.equal(new TieredPool({ debug: false }).debug, false);
    assert.equal(new Arena({ capacity: 64 }).debug, true);
    delete process.env['WGTS_DEBUG_BUFFERS'];
    assert.equal(new TieredPool().debug, false);
  } finally {
    if (saved === undefined) delete process.env['WGTS_DEBUG_BUFFERS'];
    else process.env['WGTS_DEBUG_BUFFERS'] = saved;
  }
});
