// PacketBuffer: window getters over a whole-view chunk and over a [base, limit) chunk, reset, and
// release routing to the origin.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { PacketBuffer, type BufferOrigin } from './packet-buffer.js';

test('a whole-view chunk: capacity, headroom, tailroom, length, data, reset', () => {
  const origin: BufferOrigin = { release: () => {} };
  const b = new PacketBuffer(new Uint8Array(2048), origin, 3);
  assert.equal(b.base, 0);
  assert.equal(b.limit, 2048);
  assert.equal(b.capacity, 2048);
  assert.equal(b.slab, 3);
  assert.equal(b.live, false);
  b.reset(16);
  assert.deepEqual([b.start, b.end, b.headroom, b.tailroom, b.length], [16, 16, 16, 2032, 0]);
  b.bytes.set([1, 2, 3], 16);
  b.end = 19;
  assert.deepEqual([...b.data()], [1, 2, 3]);
  b.reset(0);
  assert.deepEqual([b.start, b.end], [0, 0]);
});

test('a [base, limit) chunk inside a larger view', () => {
  const origin: BufferOrigin = { release: () => {} };
  const b = new PacketBuffer(new Uint8Array(1000), origin, 0, 100, 300);
  assert.equal(b.capacity, 200);
  b.reset(16);
  assert.deepEqual([b.start, b.end, b.headroom, b.tailroom], [116, 116, 16, 184]);
});

test('release() routes to the origin', () => {
  const got: PacketBuffer[] = [];
  const origin: BufferOrigin = {
    release: (buf) => {
      got.push(buf);
    },
  };
  const b = new PacketBuffer(new Uint8Array(16), origin, 0);
  b.release();
  assert.deepEqual(got, [b]);
});
