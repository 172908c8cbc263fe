// The staging ring: first in, first out across its growth, oldest dropped past MAX_STAGED_PACKETS,
// and no more slots than the packets it has held asked for.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { TieredPool } from '../buffer/tiered-pool.js';
import type { PacketBuffer } from '../buffer/packet-buffer.js';
import { MAX_STAGED_PACKETS } from './constants.js';
import { StagedPackets } from './staged.js';

test('the ring starts with no slots, grows as packets come, and keeps their order across growth', () => {
  const pool = new TieredPool();
  const q = new StagedPackets();
  assert.equal(q.capacity, 0, 'nothing until a packet comes');
  const bufs: PacketBuffer[] = [];
  for (let i = 0; i < 3; i++) bufs.push(pool.get(64)!);
  for (const b of bufs) assert.equal(q.push(b), null);
  assert.equal(q.capacity, 4, 'a few slots for a few packets');
  // Wrap the head, then grow past it: order must hold.
  assert.equal(q.shift(), bufs[0]);
  assert.equal(q.shift(), bufs[1]);
  const more: PacketBuffer[] = [];
  for (let i = 0; i < 6; i++) {
    const b = pool.get(64)!;
    more.push(b);
    q.push(b);
  }
  assert.equal(q.capacity, 8);
  assert.equal(q.length, 7);
  for (const want of [bufs[2], ...more]) assert.equal(q.shift(), want);
  assert.equal(q.shift(), null);
  for (const b of [bufs[0]!, bufs[1]!, bufs[2]!, ...more]) b.release();
  assert.equal(pool.outstanding, 0);
});

test('past MAX_STAGED_PACKETS the oldest packet is handed back for release', () => {
  const pool = new TieredPool();
  const q = new StagedPackets();
  const first = pool.get(64)!;
  q.push(first);
  for (let i = 1; i < MAX_STAGED_PACKETS; i++) assert.equal(q.push(pool.get(64)!), null);
  assert.equal(q.capacity, MAX_STAGED_PACKETS);
  const extra = pool.get(64)!;
  assert.equal(q.push(extra), first, 'the oldest goes');
  first.release();
  assert.equal(q.length, MAX_STAGED_PACKETS);
  assert.equal(q.capacity, MAX_STAGED_PACKETS, 'never more slots than the bound');
  q.releaseAll();
  assert.equal(q.length, 0);
  assert.equal(pool.outstanding, 0);
});
