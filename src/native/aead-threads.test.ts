// The shim's AEAD back ends and crypto threads against each other: OpenSSL's primitives and its EVP
// interface seal and open random batches to the same bytes and results; a job run on a crypto
// thread makes what the event loop's aeadSeal / aeadOpen makes; wait() reports exactly the job
// waited for; job slots are handed out once and come back on close.
import { strict as assert } from 'node:assert';
import { randomBytes, randomInt } from 'node:crypto';
import { test } from 'node:test';
import { AEAD_JOBS_MAX, MAX_BATCH } from './binding.js';
import { AeadThreads, type AeadJobSink } from './aead-threads.js';
import { native, nativeError } from './load.js';
import { SlabBatch } from './slab-batch.js';

const skip = native === null && process.env['CI'] !== 'true' ? `native shim not loaded: ${nativeError}` : false;

const SIZES = [0, 1, 15, 16, 17, 63, 64, 65, 1420, 2000];
const REGION = 2100;

interface Batch {
  keys: Uint8Array;
  keyIndex: Int32Array;
  counters: Float64Array;
  windows: SlabBatch;
  slab: Uint8Array;
  results: Int32Array;
  count: number;
}

function randomBatch(count: number): Batch {
  const keys = new Uint8Array(randomBytes(3 * 32));
  const keyIndex = new Int32Array(MAX_BATCH);
  const counters = new Float64Array(MAX_BATCH);
  const slab = new Uint8Array(new ArrayBuffer(count * REGION + 64));
  slab.set(randomBytes(slab.length));
  const windows = new SlabBatch(MAX_BATCH);
  for (let i = 0; i < count; i++) {
    keyIndex[i] = randomInt(0, 20) === 0 ? -1 : randomInt(0, 3);
    counters[i] = [0, 1, 0xffffffff, 2 ** 32, 2 ** 53 - 1, randomInt(0, 2 ** 40)][randomInt(0, 6)]!;
    if (randomInt(0, 30) === 0) windows.setEmpty(i);
    else windows.set(i, slab, i * REGION + randomInt(0, 9), SIZES[randomInt(0, SIZES.length)]!);
  }
  return { keys, keyIndex, counters, windows, slab, results: new Int32Array(MAX_BATCH), count };
}

function copyOf(b: Batch): Batch {
  const slab = b.slab.slice();
  const windows = new SlabBatch(MAX_BATCH);
  for (let i = 0; i < b.count; i++) {
    if (b.windows.slabIndex[i]! < 0) windows.setEmpty(i);
    else windows.set(i, slab, b.windows.offsets[i]!, b.windows.sizes[i]!);
  }
  return { ...b, slab, windows, results: new Int32Array(MAX_BATCH) };
}

function syncRun(b: Batch, open: boolean): void {
  const f = open ? native!.aeadOpen : native!.aeadSeal;
  f(b.keys, b.keyIndex, b.counters, b.windows.slabs, b.windows.slabIndex, b.windows.offsets, b.windows.sizes, b.results, b.count);
}

/** Turns a sealed batch into one to open: each window grows by its tag; one tag in ten is forged. */
function toOpen(b: Batch, sealed: Int32Array): void {
  for (let i = 0; i < b.count; i++) {
    if (sealed[i]! < 0) continue;
    b.windows.sizes[i] = sealed[i]!;
    if (i % 10 === 3) b.slab[b.windows.offsets[i]! + sealed[i]! - 1]! ^= 1;
  }
}

test('primitives and EVP: the same ciphertext, tags and results, and the same plaintext back', { skip }, () => {
  const n = native!;
  assert.equal(n.aeadBackend(null), 1, 'the primitives are found in this node binary');
  try {
    for (let round = 0; round < 20; round++) {
      const a = randomBatch([1, 15, 16, 17, MAX_BATCH][round % 5]!);
      const b = copyOf(a);
      n.aeadBackend(false);
      syncRun(a, false);
      n.aeadBackend(true);
      syncRun(b, false);
      assert.deepEqual(a.results, b.results);
      assert.deepEqual(a.slab, b.slab);
      toOpen(a, a.results.slice());
      toOpen(b, b.results.slice());
      n.aeadBackend(false);
      syncRun(a, true);
      n.aeadBackend(true);
      syncRun(b, true);
      assert.deepEqual(a.results, b.results);
      for (let i = 0; i < a.count; i++) {
        if (a.results[i]! < 0) continue;
        const at = a.windows.offsets[i]!;
        assert.deepEqual(a.slab.subarray(at, at + a.results[i]!), b.slab.subarray(at, at + a.results[i]!));
      }
    }
  } finally {
    n.aeadBackend(false);
  }
});

test('a job on a crypto thread seals and opens as the event loop does', { skip }, () => {
  const finished: number[] = [];
  const sink: AeadJobSink = { aeadJobFinished: (job) => finished.push(job) };
  const t = AeadThreads.open(2, 4, sink)!;
  assert.ok(t !== null);
  try {
    for (let round = 0; round < 12; round++) {
      const open = round % 2 === 1;
      const jobs = t.jobs;
      const batches: Batch[] = [];
      const expected: Batch[] = [];
      for (let k = 0; k < jobs.length; k++) {
        const b = randomBatch([1, 17, 64, MAX_BATCH][k]!);
        if (open) {
          syncRun(b, false);
          toOpen(b, b.results.slice());
          b.results.fill(0);
        }
        const e = copyOf(b);
        syncRun(e, open);
        batches.push(b);
        expected.push(e);
        t.submit(jobs[k]!, open, b.keys, b.keyIndex, b.counters, b.windows, b.results, b.count);
        b.keys.fill(0); // copied at submission: wiping ours changes nothing
      }
      for (let k = jobs.length - 1; k >= 0; k--) t.wait(jobs[k]!);
      for (let k = 0; k < jobs.length; k++) {
        const b = batches[k]!;
        const e = expected[k]!;
        assert.deepEqual(b.results.subarray(0, b.count), e.results.subarray(0, e.count), `round ${round} job ${k} results`);
        for (let i = 0; i < b.count; i++) {
          if (e.results[i]! < 0) continue;
          const at = b.windows.offsets[i]!;
          assert.deepEqual(b.slab.subarray(at, at + Math.abs(b.windows.sizes[i]!) + 16), e.slab.subarray(at, at + Math.abs(e.windows.sizes[i]!) + 16));
        }
      }
    }
    // wait() reported each job exactly once; a second wait() reports nothing.
    assert.equal(finished.length, 12 * 4);
    t.wait(t.jobs[0]!);
    assert.equal(finished.length, 12 * 4);
  } finally {
    t.close();
  }
  assert.equal(AeadThreads.running, 0, 'the last user stopped the threads');
});

test('jobs finished while the event loop runs are reported by the wake-up', { skip }, async () => {
  const finished: number[] = [];
  const t = AeadThreads.open(1, 2, { aeadJobFinished: (job) => finished.push(job) })!;
  const b = randomBatch(MAX_BATCH);
  t.submit(t.jobs[0]!, false, b.keys, b.keyIndex, b.counters, b.windows, b.results, b.count);
  for (let i = 0; i < 500 && finished.length === 0; i++) await new Promise((r) => setTimeout(r, 2));
  assert.deepEqual(finished, [t.jobs[0]]);
  t.close();
});

test('job slots are handed out once, and refused when none are left', { skip }, () => {
  const sink: AeadJobSink = { aeadJobFinished: () => {} };
  const a = AeadThreads.open(1, AEAD_JOBS_MAX - 2, sink)!;
  const b = AeadThreads.open(3, 2, sink)!;
  assert.equal(AeadThreads.running, 1, 'a running pool keeps its number of threads');
  const ids = new Set([...a.jobs, ...b.jobs]);
  assert.equal(ids.size, AEAD_JOBS_MAX);
  assert.equal(AeadThreads.open(1, 1, sink), null);
  b.close();
  const c = AeadThreads.open(1, 1, sink)!;
  assert.ok(c !== null);
  a.close();
  c.close();
  assert.equal(AeadThreads.running, 0);
  assert.throws(() => AeadThreads.open(0, 1, sink), RangeError);
  assert.throws(() => AeadThreads.open(1, AEAD_JOBS_MAX + 1, sink), RangeError);
});

test('a sink told of one job may wait() for another reported in the same wake-up: it counts as finished, told once', { skip }, async () => {
  const told: string[] = [];
  let b: AeadThreads | null = null;
  const a = AeadThreads.open(1, 1, {
    aeadJobFinished: (job) => {
      told.push(`a${job}`);
      b!.wait(b!.jobs[0]!); // already finished and collected: must not block or spin
      told.push('a waited');
    },
  })!;
  b = AeadThreads.open(1, 1, { aeadJobFinished: (job) => told.push(`b${job}`) })!;
  const x = randomBatch(MAX_BATCH);
  const y = randomBatch(MAX_BATCH);
  t0submit(a, x);
  t0submit(b, y);
  // Block the event loop while both finish, so one wake-up reports both.
  Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 200);
  for (let i = 0; i < 500 && told.length < 3; i++) await new Promise((r) => setTimeout(r, 2));
  assert.deepEqual(told, [`a${a.jobs[0]}`, `b${b.jobs[0]}`, 'a waited']);
  a.close();
  b.close();
});

function t0submit(t: AeadThreads, x: Batch): void {
  t.submit(t.jobs[0]!, false, x.keys, x.keyIndex, x.counters, x.windows, x.results, x.count);
}
