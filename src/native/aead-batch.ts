/**
 * The native AEAD batch on src/crypto's AeadBatch: the same contract as crypto's sealBatch and
 * openBatch (RFC 8439 §2.8 with WireGuard's nonce, paper 5.4.6), one C call per up to MAX_BATCH
 * slots instead of one createCipheriv per packet.
 *
 * Per call, the slots' keys are copied into a key table (consecutive slots with the same key share
 * an entry, so a batch for one peer copies 32 bytes once) that is wiped when the call returns, and
 * the buffers are described by a SlabBatch. Only types come from src/crypto; the key bytes are read
 * through the accessor crypto passes in, so imports keep pointing down (crypto -> native).
 *
 * Difference from the reference, by design: on a failed open the C zeroes the window's plaintext
 * bytes (OpenSSL decrypts before it can verify); the reference leaves them. Results are identical.
 */
import type { AeadBatch, AeadKey } from '../crypto/aead.js';
import { MAX_BATCH } from './binding.js';
import { requireNative } from './load.js';
import { SlabBatch } from './slab-batch.js';

const KEY_BYTES = 32;


// Scratch shared by every call (one event loop; no call re-enters another).
const keyTable = new Uint8Array(MAX_BATCH * KEY_BYTES);
const keyIndex = new Int32Array(MAX_BATCH);
const windows = new SlabBatch(MAX_BATCH);
const chunkCounters = new Float64Array(MAX_BATCH);
const chunkResults = new Int32Array(MAX_BATCH);

/** Fills keyIndex, the key table and the windows for slots base..base+n-1; returns key bytes used. */
/** Reads an AeadKey's bytes (null once destroyed); crypto/aead.ts supplies it. */
export type KeyBytes = (k: AeadKey) => Uint8Array | null;

function describe(b: AeadBatch, base: number, n: number, keyBytes: KeyBytes): number {
  let used = 0;
  let lastKey: AeadKey | null = null;
  let lastIndex = -1;
  for (let i = 0; i < n; i++) {
    const k = b.keys[base + i] ?? null;
    if (k !== null && k !== lastKey) {
      lastKey = k;
      const raw = keyBytes(k);
      if (raw === null) {
        lastIndex = -1; // destroyed: the slot fails with -1, as sealInPlace does
      } else {
        keyTable.set(raw, used);
        lastIndex = used / KEY_BYTES;
        used += KEY_BYTES;
      }
    }
    keyIndex[i] = k === null ? -1 : lastIndex;
    const buf = b.bufs[base + i] ?? null;
    if (buf === null) windows.setEmpty(i);
    else windows.set(i, buf, b.starts[base + i]!, b.lengths[base + i]!);
  }
  return used;
}

function run(b: AeadBatch, open: boolean, keyBytes: KeyBytes): void {
  const n = requireNative('the native AEAD batch');
  const fn = open ? n.aeadOpen : n.aeadSeal;
  const count = b.count;
  for (let base = 0; base < count; base += MAX_BATCH) {
    const m = Math.min(MAX_BATCH, count - base);
    // The common case (a batch of at most MAX_BATCH) passes the batch's own arrays; a larger batch
    // goes through scratch copies, chunk by chunk.
    const direct = base === 0 && count <= MAX_BATCH;
    if (!direct) chunkCounters.set(b.counters.subarray(base, base + m));
    const used = describe(b, base, m, keyBytes);
    const counters = direct ? b.counters : chunkCounters;
    const results = direct ? b.results : chunkResults;
    fn(keyTable, keyIndex, counters, windows.slabs, windows.slabIndex, windows.offsets, windows.sizes, results, m);
    keyTable.fill(0, 0, used);
    windows.clear();
    if (!direct) b.results.set(chunkResults.subarray(0, m), base);
  }
}

/** crypto's sealBatch in C: results[i] = lengths[i] + 16, or -1. @throws Error without the shim. */
export function nativeSealBatch(b: AeadBatch, keyBytes: KeyBytes): void {
  run(b, false, keyBytes);
}

/** crypto's openBatch in C: results[i] = lengths[i] - 16, or -1. @throws Error without the shim. */
export function nativeOpenBatch(b: AeadBatch, keyBytes: KeyBytes): void {
  run(b, true, keyBytes);
}
