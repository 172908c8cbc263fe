// The C AEAD batch against its TypeScript reference (aead-reference.ts) on random batches whose
// sizes straddle the edges (0, 1, 15, 16, 17, the MTU 1420, 2000) at batch sizes 1, 15, 16, 17 and
// 128, with shared and distinct keys, empty slots, windows without room for the tag, forged tags,
// and slabs given as ArrayBuffers and as offset Uint8Array views. Then the AeadBatch adapter against
// the portable sealBatch/openBatch (Node's crypto), including a batch larger than one native call.
import { strict as assert } from 'node:assert';
import { randomBytes } from 'node:crypto';
import { test } from 'node:test';
import { AeadBatch, aeadKey, destroyAeadKey, openBatchPortable, sealBatchPortable, type AeadKey } from './aead.js';
import { native, nativeError } from '../native/load.js';
import { openBatchNative, sealBatchNative } from './aead-native.js';
import { referenceOpen, referenceSeal } from './aead-reference.js';
import type { SlabMemory } from '../native/binding.js';

const skip = native === null && process.env['CI'] !== 'true' ? `native shim not loaded: ${nativeError}` : false;

const SIZES = [0, 1, 15, 16, 17, 1420, 2000];
const BATCHES = [1, 15, 16, 17, 128];
const REGION = 2100;

// A small deterministic generator, so a failure replays (the seed is in the test name).
function rng(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (Math.imul(s ^ (s >>> 15), 0x2c1b3c6d) + 0x9e3779b9) >>> 0;
    return s / 0x1_0000_0000;
  };
}

interface Case {
  keys: Uint8Array;
  keyIndex: Int32Array;
  counters: Float64Array;
  slabIndex: Int32Array;
  offsets: Int32Array;
  lengths: Int32Array;
  /** Two identical copies of the slab memory: one for the C, one for the reference. */
  slabsA: SlabMemory[];
  slabsB: SlabMemory[];
}

function makeCase(n: number, rand: () => number): Case {
  const keyCount = 1 + Math.floor(rand() * 3);
  const keys = new Uint8Array(randomBytes(keyCount * 32));
  const keyIndex = new Int32Array(n);
  const counters = new Float64Array(n);
  const slabIndex = new Int32Array(n);
  const offsets = new Int32Array(n);
  const lengths = new Int32Array(n);
  // Two slabs, each holding half the packets: one a plain ArrayBuffer, one a view at an offset.
  const perSlab = Math.ceil(n / 2);
  const bytes = perSlab * REGION;
  const rawA = [new Uint8Array(randomBytes(bytes)), new Uint8Array(randomBytes(bytes + 64))];
  const rawB = rawA.map((r) => r.slice());
  const slabsA: SlabMemory[] = [rawA[0]!.buffer as ArrayBuffer, rawA[1]!.subarray(64)];
  const slabsB: SlabMemory[] = [rawB[0]!.buffer as ArrayBuffer, rawB[1]!.subarray(64)];
  for (let i = 0; i < n; i++) {
    const r = rand();
    keyIndex[i] = r < 0.05 ? -1 : Math.floor(rand() * keyCount);
    // Counters near the edges of each 32-bit half, and up to 2^53 - 1.
    const c = [0, 1, 0xffffffff, 0x100000000, 2 ** 53 - 1][Math.floor(rand() * 5)]!;
    counters[i] = c;
    slabIndex[i] = rand() < 0.05 ? -1 : i % 2;
    const slot = Math.floor(i / 2);
    offsets[i] = slot * REGION + Math.floor(rand() * 17);
    lengths[i] = SIZES[Math.floor(rand() * SIZES.length)]!;
  }
  // The last window of the first slab sits at its very end: no room for the tag, both say -1.
  if (n > 2) {
    const last = n % 2 === 0 ? n - 2 : n - 1;
    offsets[last] = bytes - lengths[last]! - 8;
  }
  return { keys, keyIndex, counters, slabIndex, offsets, lengths, slabsA, slabsB };
}

function bytesOf(s: SlabMemory): Uint8Array {
  return s instanceof Uint8Array ? s : new Uint8Array(s);
}

function assertSameMemory(c: Case, what: string): void {
  for (let s = 0; s < c.slabsA.length; s++) {
    assert.ok(Buffer.from(bytesOf(c.slabsA[s]!)).equals(Buffer.from(bytesOf(c.slabsB[s]!))), `${what}: slab ${s} differs`);
  }
}

test('aeadSeal/aeadOpen match the TypeScript reference on random batches', { skip }, () => {
  const n = native!;
  let opened = 0;
  let rejected = 0;
  for (const size of BATCHES) {
    for (let seed = 1; seed <= 4; seed++) {
      const rand = rng(size * 1000 + seed);
      const c = makeCase(size, rand);
      const label = `batch ${size}, seed ${seed}`;
      const resA = new Int32Array(size);
      const resB = new Int32Array(size);
      assert.equal(n.aeadSeal(c.keys, c.keyIndex, c.counters, c.slabsA, c.slabIndex, c.offsets, c.lengths, resA, size), size);
      referenceSeal(c.keys, c.keyIndex, c.counters, c.slabsB, c.slabIndex, c.offsets, c.lengths, resB, size);
      assert.deepEqual(resA, resB, `${label}: seal results`);
      assertSameMemory(c, `${label}: after seal`);

      // Open what was sealed (failed seals keep their length: those opens fail on both sides), with
      // a few tags or ciphertexts forged identically on both copies.
      const sealed = new Int32Array(size);
      for (let i = 0; i < size; i++) sealed[i] = resA[i]! >= 0 ? resA[i]! : c.lengths[i]!;
      for (let i = 0; i < size; i++) {
        if (resA[i]! < 0 || rand() > 0.15) continue;
        const at = c.offsets[i]! + Math.floor(rand() * sealed[i]!);
        bytesOf(c.slabsA[c.slabIndex[i]!]!)[at]! ^= 0x40;
        bytesOf(c.slabsB[c.slabIndex[i]!]!)[at]! ^= 0x40;
      }
      n.aeadOpen(c.keys, c.keyIndex, c.counters, c.slabsA, c.slabIndex, c.offsets, sealed, resA, size);
      referenceOpen(c.keys, c.keyIndex, c.counters, c.slabsB, c.slabIndex, c.offsets, sealed, resB, size);
      assert.deepEqual(resA, resB, `${label}: open results`);
      for (let i = 0; i < size; i++) {
        if (resA[i]! >= 0) opened++;
        else rejected++;
      }
      // Where an open failed the C zeroed the window's plaintext and the reference did not: make
      // those windows equal, then everything else must match byte for byte.
      for (let i = 0; i < size; i++) {
        if (resA[i]! >= 0 || c.slabIndex[i]! < 0 || sealed[i]! < 16) continue;
        const a = bytesOf(c.slabsA[c.slabIndex[i]!]!);
        const b = bytesOf(c.slabsB[c.slabIndex[i]!]!);
        const end = c.offsets[i]! + sealed[i]! - 16;
        if (end + 16 > a.length) continue; // outside the slab: neither side touched it
        b.set(a.subarray(c.offsets[i]!, end), c.offsets[i]!);
      }
      assertSameMemory(c, `${label}: after open`);
    }
  }
  // The random cases must have exercised both outcomes.
  assert.ok(opened > 100 && rejected > 10, `opened ${opened}, rejected ${rejected}`);
});

test('a failed native open zeroes the window plaintext and reports -1', { skip }, () => {
  const n = native!;
  const keys = new Uint8Array(randomBytes(32));
  const slab = new Uint8Array(256);
  slab.fill(7, 16, 16 + 100);
  const res = new Int32Array(1);
  const slabs: SlabMemory[] = [slab.buffer as ArrayBuffer];
  const args = [new Int32Array([0]), new Float64Array([9]), slabs, new Int32Array([0]), new Int32Array([16])] as const;
  n.aeadSeal(keys, ...args, new Int32Array([100]), res, 1);
  assert.equal(res[0], 116);
  slab[16 + 115]! ^= 1; // the tag's last byte
  n.aeadOpen(keys, ...args, new Int32Array([116]), res, 1);
  assert.equal(res[0], -1);
  assert.ok(slab.subarray(16, 116).every((b) => b === 0));
});

function fillBatch(b: AeadBatch, keys: (AeadKey | null)[], rand: () => number): Uint8Array[] {
  const bufs: Uint8Array[] = [];
  const slab = new ArrayBuffer(b.capacity * REGION);
  for (let i = 0; i < b.capacity; i++) {
    const view = new Uint8Array(slab, i * REGION, REGION);
    view.set(randomBytes(REGION));
    bufs.push(view);
    b.keys[i] = rand() < 0.05 ? null : keys[Math.floor(rand() * keys.length)]!;
    b.counters[i] = Math.floor(rand() * 2 ** 40);
    b.bufs[i] = rand() < 0.03 ? null : view;
    b.starts[i] = 16;
    b.lengths[i] = SIZES[Math.floor(rand() * SIZES.length)]!;
  }
  b.count = b.capacity;
  return bufs;
}

test('sealBatchNative/openBatchNative match crypto sealBatch/openBatch on AeadBatch', { skip }, () => {
  for (const capacity of [1, 17, 128, 200]) {
    const rand = rng(capacity);
    const live = [aeadKey(randomBytes(32)), aeadKey(randomBytes(32))];
    const dead = aeadKey(randomBytes(32));
    destroyAeadKey(dead);
    const keys = [...live, dead];
    const a = new AeadBatch(capacity);
    const b = new AeadBatch(capacity);
    const bufsA = fillBatch(a, keys, rand);
    const bufsB = bufsA.map((v) => v.slice());
    b.keys = a.keys.slice();
    b.counters.set(a.counters);
    b.bufs = a.bufs.map((v) => (v === null ? null : bufsB[bufsA.indexOf(v)]!));
    b.starts.set(a.starts);
    b.lengths.set(a.lengths);
    b.count = a.count;
    sealBatchNative(a);
    sealBatchPortable(b);
    assert.deepEqual(a.results, b.results, `capacity ${capacity}: seal results`);
    for (let i = 0; i < capacity; i++) assert.ok(Buffer.from(bufsA[i]!).equals(Buffer.from(bufsB[i]!)), `capacity ${capacity}: buffer ${i}`);
    for (let i = 0; i < capacity; i++) {
      if (a.results[i]! >= 0) a.lengths[i] = b.lengths[i] = a.results[i]!;
    }
    openBatchNative(a);
    openBatchPortable(b);
    assert.deepEqual(a.results, b.results, `capacity ${capacity}: open results`);
    for (let i = 0; i < capacity; i++) {
      if (a.results[i]! >= 0) assert.ok(Buffer.from(bufsA[i]!).equals(Buffer.from(bufsB[i]!)), `capacity ${capacity}: opened ${i}`);
    }
    for (const k of live) destroyAeadKey(k);
  }
});
