/**
 * AeadBatch on the shim's AEAD batch (native/aead-batch.ts): the same results as aead.ts's
 * sealBatchPortable and openBatchPortable, one C call per up to MAX_BATCH slots instead of one
 * createCipheriv per packet.
 *
 * Per call the slots' keys are copied into a key table (consecutive slots with the same key share an
 * entry, so a batch for one peer copies 32 bytes once), wiped when the call returns, and the windows
 * are described by a SlabBatch. A batch of at most MAX_BATCH passes its own counters and results
 * arrays; a larger one goes through scratch copies, chunk by chunk.
 *
 * Difference from the portable path, by design: on a failed open the C zeroes the window's plaintext
 * bytes; the portable path leaves them. Results are identical.
 */
import { AEAD_KEY_BYTES, aeadOpenWindows, aeadSealWindows } from '../native/aead-batch.js';
import { MAX_BATCH } from '../native/binding.js';
import { SlabBatch } from '../native/slab-batch.js';
import type { AeadBatch } from './aead-batch.js';
import { aeadKeyBytes, type AeadKey } from './aead-key.js';

// Scratch shared by every call (one event loop; no call re-enters another).
const keyTable = new Uint8Array(MAX_BATCH * AEAD_KEY_BYTES);
const keyIndex = new Int32Array(MAX_BATCH);
const windows = new SlabBatch(MAX_BATCH);
const chunkCounters = new Float64Array(MAX_BATCH);
const chunkResults = new Int32Array(MAX_BATCH);

/** Fills keyIndex, the key table and the windows for slots base..base+n-1; returns key bytes used. */
function describe(b: AeadBatch, base: number, n: number): number {
  let used = 0;
  let lastKey: AeadKey | null = null;
  let lastIndex = -1;
  for (let i = 0; i < n; i++) {
    const k = b.keys[base + i] ?? null;
    if (k !== null && k !== lastKey) {
      lastKey = k;
      const raw = aeadKeyBytes(k);
      if (raw === null) {
        lastIndex = -1; // destroyed: the slot fails with -1, as sealInPlace does
      } else {
        keyTable.set(raw, used);
        lastIndex = used / AEAD_KEY_BYTES;
        used += AEAD_KEY_BYTES;
      }
    }
    keyIndex[i] = k === null ? -1 : lastIndex;
    const buf = b.bufs[base + i] ?? null;
    if (buf === null) windows.setEmpty(i);
    else windows.set(i, buf, b.starts[base + i]!, b.lengths[base + i]!);
  }
  return used;
}

function run(b: AeadBatch, open: boolean): void {
  const count = b.count;
  for (let base = 0; base < count; base += MAX_BATCH) {
    const m = Math.min(MAX_BATCH, count - base);
    const direct = base === 0 && count <= MAX_BATCH;
    if (!direct) chunkCounters.set(b.counters.subarray(base, base + m));
    const used = describe(b, base, m);
    const counters = direct ? b.counters : chunkCounters;
    const results = direct ? b.results : chunkResults;
    try {
      if (open) aeadOpenWindows(keyTable, keyIndex, counters, windows, results, m);
      else aeadSealWindows(keyTable, keyIndex, counters, windows, results, m);
    } finally {
      keyTable.fill(0, 0, used);
      windows.clear();
    }
    if (!direct) b.results.set(chunkResults.subarray(0, m), base);
  }
}

/** sealBatch in C: results[i] = lengths[i] + 16, or -1. @throws Error without the shim. */
export function sealBatchNative(b: AeadBatch): void {
  run(b, false);
}

/** openBatch in C: results[i] = lengths[i] - 16, or -1. @throws Error without the shim. */
export function openBatchNative(b: AeadBatch): void {
  run(b, true);
}
