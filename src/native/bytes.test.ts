// The shim's byte helpers against their TypeScript twins, on random bytes at the sizes and offsets
// around the C's 8-byte word loop and the pool's tiers (STYLE.md, "The C boundary"), and both
// against the plain definition (checksumReference over each window).
import { strict as assert } from 'node:assert';
import { randomBytes, randomInt } from 'node:crypto';
import { test } from 'node:test';
import { checksumReference } from '../net/checksum.js';
import { MAX_BATCH } from './binding.js';
import { gather, gatherPortable, scatterSum, scatterSumPortable } from './bytes.js';
import { native, nativeError } from './load.js';
import { SlabBatch } from './slab-batch.js';

const skip = native === null && process.env['CI'] !== 'true' ? `native shim not loaded: ${nativeError}` : false;

const EDGE_SIZES = [0, 1, 2, 3, 7, 8, 9, 15, 16, 17, 31, 63, 64, 65, 1367, 1368, 1420, 2047, 2048, 9000];
const SLAB_BYTES = 1 << 20;

/** count windows of the given sizes at random odd and even offsets in two slabs (one shared). */
function windowsOf(sizes: number[]): { batch: SlabBatch; slabs: Uint8Array[] } {
  const slabs = [new Uint8Array(new ArrayBuffer(SLAB_BYTES)), new Uint8Array(new SharedArrayBuffer(SLAB_BYTES))];
  const batch = new SlabBatch(MAX_BATCH);
  const at = [randomInt(0, 16), randomInt(0, 16)];
  for (let i = 0; i < sizes.length; i++) {
    const s = slabs[i & 1]!;
    // A view that starts inside the slab, as a pool chunk's does (at most 64 x 9041 bytes a slab).
    const view = new Uint8Array(s.buffer, at[i & 1]!, sizes[i]! + 16);
    batch.set(i, view, randomInt(0, 9), sizes[i]!);
    at[i & 1]! += sizes[i]! + 16 + randomInt(0, 9);
  }
  return { batch, slabs };
}

function sizesFor(round: number): number[] {
  const count = [0, 1, 2, 45, MAX_BATCH][round % 5]!;
  const sizes: number[] = [];
  for (let i = 0; i < count; i++) sizes.push(round % 3 === 0 ? EDGE_SIZES[randomInt(0, EDGE_SIZES.length)]! : randomInt(0, 1500));
  return sizes;
}

test('scatterSum: the C and the twin cut, copy the header and sum alike; each sum is checksumReference of its payload', { skip }, () => {
  for (let round = 0; round < 60; round++) {
    const headerLen = [0, 1, 20, 52, 60][round % 5]!;
    const sizes = sizesFor(round);
    const payloads = sizes.reduce((a, b) => a + b, 0);
    const from = randomInt(0, 9);
    const headerAt = from + payloads + randomInt(0, 9);
    const src = new Uint8Array(randomBytes(headerAt + headerLen + randomInt(0, 9)));
    const withHeader = sizes.map((n) => n + headerLen);
    const a = windowsOf(withHeader);
    const b = windowsOf(withHeader);
    // Same offsets in both: copy a's layout into b.
    b.batch.slabIndex.set(a.batch.slabIndex);
    b.batch.offsets.set(a.batch.offsets);
    const sumsC = new Int32Array(MAX_BATCH).fill(-1);
    const sumsTs = new Int32Array(MAX_BATCH).fill(-1);
    assert.equal(scatterSum(src, from, headerAt, headerLen, a.batch, sumsC, sizes.length), payloads);
    assert.equal(scatterSumPortable(src, from, headerAt, headerLen, b.batch, sumsTs, sizes.length), payloads);
    assert.deepEqual(a.slabs[0], b.slabs[0]);
    assert.deepEqual(a.slabs[1], b.slabs[1]);
    let at = from;
    for (let i = 0; i < sizes.length; i++) {
      const slab = a.slabs[a.batch.slabIndex[i]!]!;
      const off = a.batch.offsets[i]!;
      assert.deepEqual(slab.subarray(off, off + headerLen), src.subarray(headerAt, headerAt + headerLen), `header of window ${i}`);
      assert.deepEqual(slab.subarray(off + headerLen, off + headerLen + sizes[i]!), src.subarray(at, at + sizes[i]!), `window ${i}`);
      assert.equal(sumsC[i], checksumReference(src, at, at + sizes[i]!, 0), `sum of window ${i} (${sizes[i]} bytes)`);
      at += sizes[i]!;
    }
    assert.deepEqual(sumsC, sumsTs);
  }
});

test('gather: the C and the twin copy windows back to back alike', { skip }, () => {
  for (let round = 0; round < 60; round++) {
    const sizes = sizesFor(round);
    const total = sizes.reduce((a, b) => a + b, 0);
    const { batch, slabs } = windowsOf(sizes);
    for (const s of slabs) s.set(randomBytes(s.length));
    const at = randomInt(0, 9);
    const dstC = new Uint8Array(at + total + 8);
    const dstTs = new Uint8Array(at + total + 8);
    assert.equal(gather(dstC, at, batch, sizes.length), total);
    assert.equal(gatherPortable(dstTs, at, batch, sizes.length), total);
    assert.deepEqual(dstC, dstTs);
    let to = at;
    for (let i = 0; i < sizes.length; i++) {
      const off = batch.offsets[i]!;
      assert.deepEqual(dstC.subarray(to, to + sizes[i]!), slabs[batch.slabIndex[i]!]!.subarray(off, off + sizes[i]!));
      to += sizes[i]!;
    }
  }
});

test('a 64 KiB range scatters into 48 windows with exact sums (the word sums stay exact)', { skip }, () => {
  const src = new Uint8Array(65535).fill(0xff);
  const sizes = new Array<number>(47).fill(1368);
  sizes.push(65535 - 47 * 1368);
  const { batch } = windowsOf(sizes);
  const sums = new Int32Array(MAX_BATCH);
  assert.equal(scatterSum(src, 0, 0, 0, batch, sums, sizes.length), 65535);
  for (let i = 0; i < sizes.length; i++) assert.equal(sums[i], checksumReference(src, 0, sizes[i]!, 0));
});

test('ranges that do not fit are refused before the C sees them', () => {
  const batch = new SlabBatch(4);
  const slab = new Uint8Array(64);
  batch.set(0, slab, 0, 32);
  const sums = new Int32Array(4);
  assert.throws(() => scatterSum(new Uint8Array(31), 0, 0, 0, batch, sums, 1), RangeError);
  assert.throws(() => scatterSum(new Uint8Array(40), 9, 0, 0, batch, sums, 1), RangeError);
  assert.throws(() => scatterSum(new Uint8Array(40), 0, 0, 0, batch, sums, 5), RangeError);
  assert.throws(() => scatterSum(new Uint8Array(40), 0, 30, 20, batch, sums, 1), RangeError, 'header past the end');
  assert.throws(() => scatterSum(new Uint8Array(100), 0, 0, 33, batch, sums, 1), RangeError, 'window shorter than the header');
  assert.throws(() => gather(new Uint8Array(31), 0, batch, 1), RangeError);
  batch.setEmpty(1);
  assert.throws(() => gather(new Uint8Array(100), 0, batch, 2), RangeError);
  assert.equal(gather(new Uint8Array(32), 0, batch, 1), 32);
});
