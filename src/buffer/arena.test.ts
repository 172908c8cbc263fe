// Arena: bump allocation and reset, handles as PacketBuffers with this arena as origin, handle reuse,
// outstanding counting and the reset check.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Arena } from './arena.js';
import { ARENA_BYTES, POISON_BYTE } from './constants.js';
import type { PacketBuffer } from './packet-buffer.js';

test('alloc bumps contiguously, honours alignment, returns -1 when full, reset starts over', () => {
  const a = new Arena({ capacity: 100, debug: false });
  assert.equal(a.bytes.length, 100);
  assert.equal(a.alloc(10), 0);
  assert.equal(a.alloc(5), 10, 'back-to-back allocations are contiguous');
  assert.equal(a.used, 15);
  assert.equal(a.alloc(8, 8), 16, 'aligned to 8');
  assert.equal(a.used, 24);
  assert.equal(a.alloc(77), -1, 'no room: nothing taken');
  assert.equal(a.used, 24);
  assert.equal(a.alloc(76), 24);
  assert.equal(a.available, 0);
  assert.equal(a.alloc(0), 100, 'an empty allocation at the end fits');
  assert.equal(a.alloc(1), -1);
  assert.equal(a.alloc(-1), -1);
  a.reset();
  assert.equal(a.used, 0);
  assert.equal(a.alloc(100), 0);
});

test('default capacity is 256 KiB', () => {
  assert.equal(new Arena().capacity, ARENA_BYTES);
  assert.equal(ARENA_BYTES, 262144);
  assert.throws(() => new Arena({ capacity: 0 }), RangeError);
});

test('take returns a live handle over its own bytes with the arena as origin', () => {
  const a = new Arena({ capacity: 1000, debug: false });
  a.alloc(10);
  const h = a.take(100)!;
  assert.equal(h.live, true);
  assert.equal(h.origin, a);
  assert.equal(h.bytes, a.bytes, 'views the whole arena: no view object per take');
  assert.equal(h.base, 10);
  assert.equal(h.limit, 110);
  assert.equal(h.capacity, 100);
  assert.equal(h.start, 10);
  assert.equal(h.end, 10);
  assert.equal(h.headroom, 0);
  assert.equal(h.tailroom, 100);
  h.bytes[h.end++] = 0x45;
  assert.deepEqual([...h.data()], [0x45]);
  h.reset(16);
  assert.equal(h.start, 26);
  assert.equal(h.headroom, 16);
  const g = a.take(50)!;
  assert.equal(g.base, 110);
  assert.notEqual(g, h);
  assert.equal(a.outstanding, 2);
  assert.equal(a.take(841), null);
  h.release();
  g.release();
  assert.equal(a.outstanding, 0);
  assert.equal(a.used, 160, 'release frees no memory');
  assert.equal(a.reset(), 0);
});

test('handles are reused after reset; the array grows only past its largest batch', () => {
  const a = new Arena({ capacity: 1 << 16, debug: false });
  const first: PacketBuffer[] = [];
  for (let i = 0; i < 4; i++) first.push(a.take(100)!);
  for (let i = 0; i < 4; i++) first[i]!.release();
  a.reset();
  const second: PacketBuffer[] = [];
  for (let i = 0; i < 4; i++) second.push(a.take(200)!);
  for (let i = 0; i < 4; i++) assert.equal(second[i], first[i], `handle ${i} reused`);
  assert.equal(second[1]!.base, 200);
  const fifth = a.take(10)!;
  assert.ok(!first.includes(fifth), 'a fifth handle is new');
  for (let i = 0; i < 4; i++) second[i]!.release();
  fifth.release();
  assert.equal(a.reset(), 0);
});

test('release checks: double release and foreign buffers throw', () => {
  const a = new Arena({ capacity: 1000, debug: false });
  const b = new Arena({ capacity: 1000, debug: false });
  const h = a.take(10)!;
  h.release();
  assert.throws(() => h.release(), /released twice/);
  const g = b.take(10)!;
  assert.throws(() => a.release(g), /another origin/);
  g.release();
  assert.equal(a.outstanding, 0);
  assert.equal(b.outstanding, 0);
});

test('reset with handles out: throws in debug, retires and counts them otherwise', () => {
  const d = new Arena({ capacity: 1000, debug: true });
  const h = d.take(10)!;
  assert.throws(() => d.reset(), /1 handle\(s\) still outstanding/);
  h.release();
  assert.equal(d.reset(), 0);

  const n = new Arena({ capacity: 1000, debug: false });
  const x = n.take(10)!;
  const y = n.take(10)!;
  y.release();
  assert.equal(n.reset(), 1);
  assert.equal(n.leaks, 1);
  assert.equal(n.outstanding, 0);
  assert.equal(x.live, false);
  assert.throws(() => x.release(), /released twice/, 'a late release of a retired handle is caught');
});

test('debug: released regions and reset memory are poisoned', () => {
  const a = new Arena({ capacity: 64, debug: true });
  const h = a.take(8)!;
  h.bytes.fill(1, h.base, h.limit);
  a.alloc(8);
  a.bytes.fill(2, 8, 16);
  h.release();
  for (let i = 0; i < 8; i++) assert.equal(a.bytes[i], POISON_BYTE);
  assert.equal(a.bytes[8], 2);
  a.reset();
  for (let i = 0; i < 16; i++) assert.equal(a.bytes[i], POISON_BYTE);
});
