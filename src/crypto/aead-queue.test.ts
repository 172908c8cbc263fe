// AeadQueue: batches of mixed sizes through 0, 1 and 2 crypto threads come back in submission order
// with the bytes and results of the portable seal and open; a full queue makes take() wait for the
// oldest; drain() delivers everything; keys destroyed before submission fail their slots.
import { strict as assert } from 'node:assert';
import { randomBytes } from 'node:crypto';
import { test } from 'node:test';
import { AeadBatch, aeadKey, destroyAeadKey, openBatchPortable, sealBatchPortable, type AeadKey } from './aead.js';
import { AeadQueue, INLINE_MAX_PACKETS, defaultCryptoThreads, type AeadEntry } from './aead-queue.js';
import { native, nativeError } from '../native/load.js';

const skip = native === null && process.env['CI'] !== 'true' ? `native shim not loaded: ${nativeError}` : false;

const REGION = 2048;
const SIZES = [0, 1, 15, 16, 17, 100, 1420];

interface Sent {
  /** Which submission this was, and the bytes the reference made of the same input. */
  seq: number;
  expect: Uint8Array;
  results: Int32Array;
  view: Uint8Array;
}

/** Fills e's batch with `count` packets in a fresh slab; returns what the portable path makes of them. */
function fill(e: AeadEntry<Sent>, count: number, keys: (AeadKey | null)[], open: boolean, seq: number): void {
  const slab = new Uint8Array(count * REGION);
  slab.set(randomBytes(slab.length));
  const b = e.batch;
  const ref = new AeadBatch(count);
  const refSlab = slab.slice();
  for (let i = 0; i < count; i++) {
    const key = keys[(seq + i) % keys.length]!;
    const len = SIZES[(seq * 7 + i) % SIZES.length]!;
    b.keys[i] = ref.keys[i] = key;
    b.counters[i] = ref.counters[i] = seq * 1000 + i;
    b.bufs[i] = slab.subarray(i * REGION, (i + 1) * REGION);
    ref.bufs[i] = refSlab.subarray(i * REGION, (i + 1) * REGION);
    b.starts[i] = ref.starts[i] = 16;
    b.lengths[i] = ref.lengths[i] = open ? len + 16 : len;
  }
  b.count = ref.count = count;
  if (open) {
    // Seal both copies first (same bytes), so the open has something to authenticate.
    const pre = new AeadBatch(count);
    for (const [batch, s] of [[pre, slab], [pre, refSlab]] as const) {
      for (let i = 0; i < count; i++) {
        batch.keys[i] = b.keys[i]!;
        batch.counters[i] = b.counters[i]!;
        batch.bufs[i] = s.subarray(i * REGION, (i + 1) * REGION);
        batch.starts[i] = 16;
        batch.lengths[i] = b.lengths[i]! - 16;
      }
      batch.count = count;
      sealBatchPortable(batch);
    }
    if (count > 2) slab[2 * REGION + 16 + (b.lengths[2]! >> 1)]! ^= 1; // one forgery
    if (count > 2) refSlab[2 * REGION + 16 + (b.lengths[2]! >> 1)]! ^= 1;
    openBatchPortable(ref);
  } else {
    sealBatchPortable(ref);
  }
  e.context.seq = seq;
  e.context.expect = refSlab;
  e.context.results = ref.results.slice(0, count);
  e.context.view = slab;
}

function context(): Sent {
  return { seq: -1, expect: new Uint8Array(0), results: new Int32Array(0), view: new Uint8Array(0) };
}

for (const threads of [0, 1, 2]) {
  for (const open of [false, true]) {
    test(`${threads} crypto threads, ${open ? 'open' : 'seal'}: batches come back in order with the portable path's bytes`, { skip: threads > 0 ? skip : false }, async () => {
      const keys = [aeadKey(randomBytes(32)), aeadKey(randomBytes(32)), null];
      const order: number[] = [];
      const q = new AeadQueue<Sent>(open, threads, 128, context, (e) => {
        const c = e.context;
        order.push(c.seq);
        assert.deepEqual(e.batch.results.subarray(0, e.batch.count), c.results, `results of batch ${c.seq}`);
        // A failed open leaves the window unspecified: compare the rest.
        for (let i = 0; i < e.batch.count; i++) {
          if (c.results[i]! < 0) continue;
          const at = i * REGION;
          assert.deepEqual(c.view.subarray(at, at + REGION), c.expect.subarray(at, at + REGION), `batch ${c.seq} packet ${i}`);
        }
      });
      assert.equal(q.threads > 0, threads > 0 && native !== null);
      const counts = [128, 1, 64, INLINE_MAX_PACKETS, INLINE_MAX_PACKETS + 1, 128, 3, 128, 128, 128, 128, 128, 2, 100];
      for (let seq = 0; seq < counts.length; seq++) {
        const e = q.take();
        fill(e, counts[seq]!, keys, open, seq);
        q.submit(e);
        if (seq % 5 === 4) await new Promise((r) => setImmediate(r)); // let some finish on their own
      }
      q.drain();
      assert.equal(q.pending, 0);
      assert.deepEqual(order, counts.map((_, i) => i));
      if (threads > 0) assert.ok(q.threaded > 0 && q.inline > 0, `threaded ${q.threaded}, inline ${q.inline}`);
      q.close();
      for (const k of keys) if (k !== null) destroyAeadKey(k);
    });
  }
}

test('a full queue: take() waits for the oldest batch and delivers it first', { skip }, () => {
  const key = aeadKey(randomBytes(32));
  const order: number[] = [];
  const q = new AeadQueue<Sent>(false, 1, 128, context, (e) => order.push(e.context.seq), 2);
  for (let seq = 0; seq < 6; seq++) {
    const e = q.take();
    // With depth 2, the third take() cannot return before batch 0 was delivered.
    if (seq >= 2) assert.ok(order.includes(seq - 2), `batch ${seq - 2} delivered before entry ${seq} is taken`);
    fill(e, 128, [key], false, seq);
    q.submit(e);
  }
  q.close();
  assert.deepEqual(order, [0, 1, 2, 3, 4, 5]);
});

test('with no threads every batch is done before submit() returns', () => {
  const key = aeadKey(randomBytes(32));
  let delivered = 0;
  const q = new AeadQueue<Sent>(false, 0, 128, context, () => delivered++);
  for (let seq = 0; seq < 3; seq++) {
    const e = q.take();
    fill(e, 128, [key], false, seq);
    q.submit(e);
    assert.equal(delivered, seq + 1);
  }
  q.close();
});

test('a key destroyed before submission fails its slots', { skip }, () => {
  const key = aeadKey(randomBytes(32));
  let results: number[] = [];
  const q = new AeadQueue<Sent>(false, 1, 128, context, (e) => (results = [...e.batch.results.subarray(0, e.batch.count)]));
  const e = q.take();
  fill(e, 64, [key], false, 0);
  destroyAeadKey(key);
  q.submit(e);
  q.drain();
  assert.equal(results.length, 64);
  assert.ok(results.every((r) => r === -1));
  q.close();
});

test('defaultCryptoThreads reads WGTS_CRYPTO_THREADS, else leaves one core to the event loop', () => {
  assert.equal(defaultCryptoThreads({ WGTS_CRYPTO_THREADS: '0' }), 0);
  assert.equal(defaultCryptoThreads({ WGTS_CRYPTO_THREADS: '3' }), 3);
  assert.ok(defaultCryptoThreads({}) >= 0);
  assert.throws(() => defaultCryptoThreads({ WGTS_CRYPTO_THREADS: 'two' }), /WGTS_CRYPTO_THREADS/);
  assert.throws(() => defaultCryptoThreads({ WGTS_CRYPTO_THREADS: '65' }), RangeError);
});

for (const threads of [0, 1]) {
  test(`${threads} crypto threads: done() may come back to its own queue; what it submits waits its turn`, { skip: threads > 0 ? skip : false }, () => {
    const key = aeadKey(randomBytes(32));
    const order: number[] = [];
    let next = 100;
    const q: AeadQueue<Sent> = new AeadQueue<Sent>(false, threads, 128, context, (e) => {
      order.push(e.context.seq);
      // Each of the first batches makes another from within done(), as a device's packets that
      // come straight back in one process would: a small one (inline) and a big one.
      if (e.context.seq < 3) {
        for (const count of [2, 128]) {
          const more = q.take();
          fill(more, count, [key], false, next++);
          q.submit(more);
        }
      }
    }, 2);
    for (let seq = 0; seq < 3; seq++) {
      const e = q.take();
      fill(e, 128, [key], false, seq);
      q.submit(e);
    }
    q.close();
    // Everything delivered once; each batch made inside done() after the one that made it, in order.
    assert.equal(order.length, 9);
    assert.deepEqual([...order].sort((x, y) => x - y), [0, 1, 2, 100, 101, 102, 103, 104, 105]);
    for (const [later, earlier] of [[100, 0], [102, 1], [104, 2], [101, 100], [103, 102], [105, 104]] as const) {
      assert.ok(order.indexOf(later) > order.indexOf(earlier), `${later} after ${earlier}: ${order.join(' ')}`);
    }
    destroyAeadKey(key);
  });
}
