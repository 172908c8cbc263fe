// SendBuffer: the limit, wrap-around at the ring's end, growth keeping the bytes in order, copyOut by
// sequence number across the 2^32 wrap, and the ring given back when emptied.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { SendBuffer } from './send-buffer.js';

function bytes(n: number, from: number): Uint8Array {
  const b = new Uint8Array(n);
  for (let i = 0; i < n; i++) b[i] = (from + i) & 0xff;
  return b;
}

test('write takes up to the limit and reports how much', () => {
  const sb = new SendBuffer(10_000);
  sb.reset(100);
  assert.equal(sb.allocatedBytes, 0, 'nothing allocated before the first write');
  assert.equal(sb.write(bytes(6000, 0), 0, 6000), 6000);
  assert.equal(sb.write(bytes(6000, 6000), 0, 6000), 4000);
  assert.equal(sb.space, 0);
  assert.equal(sb.length, 10_000);
  assert.equal(sb.tailSeq, 10_100);
  const out = new Uint8Array(10_000);
  sb.copyOut(100, 10_000, out, 0);
  assert.deepEqual(out, bytes(10_000, 0));
});

test('the ring wraps and grows with the bytes in order, across the 2^32 wrap of sequence numbers', () => {
  const sb = new SendBuffer(1 << 20);
  const start = 2 ** 32 - 3000;
  sb.reset(start);
  let written = 0;
  let acked = 0;
  let seed = 7;
  for (let round = 0; round < 400; round++) {
    seed = (Math.imul(seed, 1103515245) + 12345) >>> 0;
    const n = seed % 5000;
    written += sb.write(bytes(n, written), 0, n);
    seed = (Math.imul(seed, 1103515245) + 12345) >>> 0;
    const a = Math.min(seed % 5000, written - acked);
    // The bytes about to be acknowledged are the ones written, in order, at their sequence numbers.
    if (a > 0) {
      const out = new Uint8Array(a);
      sb.copyOut((start + acked) >>> 0, a, out, 0);
      assert.deepEqual(out, bytes(a, acked));
    }
    sb.consume(a);
    acked += a;
    assert.equal(sb.headSeq >>> 0, (start + acked) >>> 0);
    assert.equal(sb.length, written - acked);
  }
});

test('an emptied ring stays until trim(); the next write then allocates only what it needs', () => {
  const sb = new SendBuffer(1 << 20);
  sb.reset(0);
  sb.write(bytes(100_000, 0), 0, 100_000);
  assert.ok(sb.allocatedBytes >= 100_000);
  sb.consume(100_000);
  assert.ok(sb.allocatedBytes >= 100_000, 'kept while busy');
  sb.write(bytes(10, 0), 0, 10);
  sb.trim();
  assert.ok(sb.allocatedBytes > 0, 'not trimmed while holding bytes');
  sb.consume(10);
  sb.trim();
  assert.equal(sb.allocatedBytes, 0);
  sb.write(bytes(100, 0), 0, 100);
  assert.equal(sb.allocatedBytes, 4096);
});
