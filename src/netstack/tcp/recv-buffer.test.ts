// RecvBuffer: bytes placed in and out of order come out in order as views (no second copy), chunks
// grow from 4 KiB to 64 KiB, a chunk the reader has taken is forgotten, an idle buffer trims to
// nothing, and the 2^32 wrap.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { RecvBuffer } from './recv-buffer.js';

function bytes(n: number, from: number): Uint8Array {
  const b = new Uint8Array(n);
  for (let i = 0; i < n; i++) b[i] = (from + i) & 0xff;
  return b;
}

function drain(rb: RecvBuffer, limit: number, max = Infinity): Buffer {
  const parts: Buffer[] = [];
  for (let v = rb.pull(limit, max); v !== null; v = rb.pull(limit, max)) parts.push(v);
  return Buffer.concat(parts);
}

test('in-order bytes come back as views of the chunk they were copied into', () => {
  const rb = new RecvBuffer();
  rb.reset(1000);
  rb.place(1000, bytes(100, 0), 0, 100);
  const v = rb.pull(1100, Infinity)!;
  assert.equal(v.length, 100);
  assert.deepEqual(new Uint8Array(v), bytes(100, 0));
  assert.equal(v.buffer.byteLength >= 4096, true, 'a view into a chunk, not a copy');
  assert.equal(rb.pull(1100, Infinity), null);
});

test('out-of-order placement, then in-order reads across chunks and the 2^32 wrap', () => {
  const rb = new RecvBuffer();
  const isn = 2 ** 32 - 5000;
  rb.reset(isn);
  const total = 300_000;
  const seg = 1400;
  // Place segments in a scrambled order, reading whatever became contiguous as we go.
  const order: number[] = [];
  for (let off = 0; off < total; off += seg) order.push(off);
  for (let i = order.length - 1; i > 0; i -= 3) [order[i], order[i - 1]] = [order[i - 1]!, order[i]!];
  const have = new Set<number>();
  let contiguous = 0;
  const got: Buffer[] = [];
  for (const off of order) {
    const n = Math.min(seg, total - off);
    rb.place((isn + off) >>> 0, bytes(n, off), 0, n);
    have.add(off);
    while (have.has(contiguous)) contiguous += seg;
    const upTo = Math.min(contiguous, total);
    got.push(drain(rb, (isn + upTo) >>> 0, 5000));
  }
  assert.deepEqual(new Uint8Array(Buffer.concat(got)), bytes(total, 0));
  assert.ok(rb.allocatedBytes <= 65536, `holds ${rb.allocatedBytes} after the reader took everything`);
});

test('chunks grow from 4 KiB to 64 KiB as they fill', () => {
  const rb = new RecvBuffer();
  rb.reset(0);
  const sizes: number[] = [];
  let seq = 0;
  for (let i = 0; i < 200; i++) {
    rb.place(seq, bytes(1000, seq), 0, 1000);
    seq += 1000;
    for (let v = rb.pull(seq, Infinity); v !== null; v = rb.pull(seq, Infinity)) sizes.push(v.buffer.byteLength);
  }
  assert.equal(sizes[0], 4096);
  assert.equal(sizes[sizes.length - 1], 65536);
});

test('pull honours max and the limit', () => {
  const rb = new RecvBuffer();
  rb.reset(0);
  rb.place(0, bytes(3000, 0), 0, 3000);
  assert.equal(rb.pull(2000, 500)!.length, 500);
  assert.equal(rb.pull(2000, 5000)!.length, 1500);
  assert.equal(rb.pull(2000, 5000), null);
  assert.equal(rb.readSeq, 2000);
});

test('trim() after the reader took everything: nothing held; the next bytes start a 4 KiB chunk at readSeq', () => {
  const rb = new RecvBuffer();
  rb.reset(7);
  // Fill past the first chunk so the next would be larger.
  rb.place(7, bytes(6000, 0), 0, 6000);
  assert.deepEqual(new Uint8Array(drain(rb, 7 + 6000)), bytes(6000, 0));
  assert.ok(rb.allocatedBytes > 0, 'the partly filled chunk stays while the connection is busy');
  rb.trim();
  assert.equal(rb.allocatedBytes, 0);
  rb.place(6007, bytes(10, 6000), 0, 10);
  assert.equal(rb.allocatedBytes, 4096);
  assert.deepEqual(new Uint8Array(drain(rb, 6017)), bytes(10, 6000));
});
