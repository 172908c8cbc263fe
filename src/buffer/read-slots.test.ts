// ReadSlots: refills up to a target that follows the last read, keeps unused slots for the next read,
// gives back slots too small for the size now asked, stops at a dry Source, and releases on close.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Budget } from './budget.js';
import { MIN_READ_SLOTS, ReadSlots } from './read-slots.js';
import { TieredPool } from './tiered-pool.js';

/** What a read into the first n held slots hands on: those buffers, now the caller's. */
function read(r: ReadSlots, n: number): void {
  const got = r.slots.slice(0, n).map((b) => b!);
  r.taken(n);
  for (const b of got) b.release();
}

test('the target starts at the minimum, then follows twice the last read within the capacity', () => {
  const pool = new TieredPool();
  const r = new ReadSlots(128);
  assert.equal(r.fill(pool, 1500), MIN_READ_SLOTS);
  const sizes: number[] = [];
  for (let k = 0; k < 6; k++) {
    read(r, r.held); // every slot filled: the burst grows
    sizes.push(r.fill(pool, 1500));
  }
  assert.deepEqual(sizes, [16, 32, 64, 128, 128, 128]);
  r.release(0);
  assert.equal(pool.outstanding, 0);
});

test('unused slots are kept in order for the next read; a quiet read gives the surplus back at once', () => {
  const pool = new TieredPool();
  const r = new ReadSlots(128);
  r.fill(pool, 1500);
  read(r, 8);
  r.fill(pool, 1500); // 16 held
  const unused = r.slots.slice(5, 13);
  read(r, 5); // target 10: 11 unused, one of them released
  assert.equal(r.held, 10);
  assert.deepEqual(r.slots.slice(0, 8), unused);
  read(r, 1); // target 8 (the minimum): 9 unused, one released
  assert.equal(r.held, MIN_READ_SLOTS);
  for (let i = r.held; i < r.capacity; i++) assert.equal(r.slots[i], null);
  assert.equal(pool.outstanding, MIN_READ_SLOTS);
  r.release(0);
  assert.equal(pool.outstanding, 0);
});

test('held slots smaller than the size now asked go back before the top-up', () => {
  const pool = new TieredPool();
  const r = new ReadSlots(16, 4);
  r.fill(pool, 1500);
  assert.ok(r.slots.slice(0, 4).every((b) => b!.capacity === 2048));
  r.fill(pool, 9000); // a jumbo MTU: every 2 KiB slot is useless now
  assert.equal(r.held, 4);
  assert.ok(r.slots.slice(0, 4).every((b) => b!.capacity >= 9000));
  r.fill(pool, 1500); // smaller again: the big slots still do
  assert.ok(r.slots.slice(0, 4).every((b) => b!.capacity >= 9000));
  r.release(0);
  assert.equal(pool.outstanding, 0);
});

test('a dry Source leaves what is held; with nothing held fill() returns 0', () => {
  const pool = new TieredPool({ budget: new Budget(3 * 2048) });
  const r = new ReadSlots(128);
  assert.equal(r.fill(pool, 1500), 3);
  const read = r.slots.slice(0, 3).map((b) => b!);
  r.taken(3);
  assert.equal(r.fill(pool, 1500), 0, 'starved');
  for (const b of read) b.release();
  assert.equal(r.fill(pool, 1500), 3);
  r.release(0);
  assert.equal(pool.outstanding, 0);
});

test('bad sizes are refused', () => {
  assert.throws(() => new ReadSlots(4, 5), RangeError);
  assert.throws(() => new ReadSlots(4, 0), RangeError);
  assert.equal(new ReadSlots(2).capacity, 2);
});
