// The shim's keyed BLAKE2s (native/src/mac.c) against its TypeScript twins (blake2s-reference.ts), on
// random keys and data whose sizes straddle the edges: data 0, 1, 15, 16, 17, 63, 64, 65 (the block
// size), 116 and 132 (what mac1 and mac2 cover), the MTU 1420 and 2000; keys of 1, 16, 31 and 32
// bytes; outputs of 1, 16 and 32 bytes. Then the batch: sizes 0, 1, 15, 16, 17 and 128 (the largest),
// with empty slots, windows past their slab's end, and slabs given as ArrayBuffers and offset views.
import { strict as assert } from 'node:assert';
import { randomBytes } from 'node:crypto';
import { test } from 'node:test';
import { native, nativeError } from '../native/load.js';
import type { SlabMemory } from '../native/binding.js';
import { referenceBlake2sMac, referenceBlake2sMacBatch } from './blake2s-reference.js';

const skip = native === null && process.env['CI'] !== 'true' ? `native shim not loaded: ${nativeError}` : false;

const DATA = [0, 1, 15, 16, 17, 63, 64, 65, 116, 132, 1420, 2000];
const KEYS = [1, 16, 31, 32];
const OUTS = [1, 16, 32];
const BATCHES = [0, 1, 15, 16, 17, 128];
const REGION = 2100;

const rand = (n: number): Uint8Array => new Uint8Array(randomBytes(n));

test('blake2sMac matches the reference at edge sizes of data, key and output', { skip }, () => {
  const n = native!;
  for (const d of DATA) {
    for (const k of KEYS) {
      for (const o of OUTS) {
        const key = rand(k);
        // An odd offset into a bigger buffer: the C reads a view's own window.
        const data = rand(d + 3).subarray(3);
        const a = new Uint8Array(o + 1).subarray(1);
        const b = new Uint8Array(o);
        assert.equal(n.blake2sMac(key, data, a), o);
        assert.equal(referenceBlake2sMac(key, data, b), o);
        assert.deepEqual(a, b, `data ${d}, key ${k}, out ${o}`);
      }
    }
  }
});

test('blake2sMacBatch matches the reference on random batches', { skip }, () => {
  const n = native!;
  let macs = 0;
  let failed = 0;
  for (const size of BATCHES) {
    for (const outLen of [16, 32]) {
      const key = rand(32);
      const perSlab = Math.max(1, Math.ceil(size / 2));
      const raw = [rand(perSlab * REGION), rand(perSlab * REGION + 64)];
      const slabs: SlabMemory[] = [raw[0]!.buffer as ArrayBuffer, raw[1]!.subarray(64)];
      const slabIndex = new Int32Array(size);
      const offsets = new Int32Array(size);
      const lengths = new Int32Array(size);
      for (let i = 0; i < size; i++) {
        slabIndex[i] = Math.random() < 0.1 ? -1 : i % 2;
        offsets[i] = Math.floor(i / 2) * REGION + Math.floor(Math.random() * 17);
        lengths[i] = DATA[Math.floor(Math.random() * DATA.length)]!;
      }
      // One window that runs past its slab's end: both sides refuse it.
      if (size > 2) offsets[0] = perSlab * REGION - 10;
      const outA = rand(size * outLen);
      const outB = rand(size * outLen);
      const resA = new Int32Array(size);
      const resB = new Int32Array(size);
      assert.equal(n.blake2sMacBatch(key, slabs, slabIndex, offsets, lengths, outA, outLen, resA, size), size);
      assert.equal(referenceBlake2sMacBatch(key, slabs, slabIndex, offsets, lengths, outB, outLen, resB, size), size);
      assert.deepEqual(resA, resB, `batch ${size}, out ${outLen}: results`);
      assert.deepEqual(outA, outB, `batch ${size}, out ${outLen}: macs`);
      for (let i = 0; i < size; i++) {
        if (resA[i]! < 0) failed++;
        else macs++;
      }
    }
  }
  assert.ok(macs > 200 && failed > 5, `macs ${macs}, refused ${failed}`);
});

test('each batch slot equals a single blake2sMac of its window', { skip }, () => {
  const n = native!;
  const key = rand(32);
  const slab = rand(128 * 148);
  const offsets = Int32Array.from({ length: 128 }, (_, i) => i * 148);
  const lengths = new Int32Array(128).fill(116);
  const out = new Uint8Array(128 * 16);
  const res = new Int32Array(128);
  n.blake2sMacBatch(key, [slab.buffer as ArrayBuffer], new Int32Array(128), offsets, lengths, out, 16, res, 128);
  for (let i = 0; i < 128; i++) {
    const one = new Uint8Array(16);
    n.blake2sMac(key, slab.subarray(i * 148, i * 148 + 116), one);
    assert.deepEqual(out.subarray(i * 16, i * 16 + 16), one, `slot ${i}`);
  }
});
