/**
 * The AEAD batch in the C's own terms (native/src/aead.c; binding.ts aeadSeal/aeadOpen):
 * ChaCha20-Poly1305 with WireGuard's nonce (RFC 8439 §2.8, paper 5.4.6) over up to MAX_BATCH windows
 * in one call. A window is a SlabBatch slot; its key is keyIndex[i] (32 bytes at keys[32 * keyIndex[i]],
 * -1: none, the window fails) and its counter counters[i]; results[i] receives length + 16 (seal),
 * length - 16 (open) or -1.
 *
 * Knows nothing of key handles or of how a caller keeps its batch: crypto/aead-native.ts fills these
 * arrays from an AeadBatch. On a failed open the C zeroes the window's plaintext bytes (OpenSSL
 * decrypts before it can verify).
 */
import { MAX_BATCH } from './binding.js';
import { requireNative } from './load.js';
import type { SlabBatch } from './slab-batch.js';

/** Bytes per key-table entry. */
export const AEAD_KEY_BYTES = 32;

function check(keys: Uint8Array, keyIndex: Int32Array, counters: Float64Array, windows: SlabBatch, results: Int32Array, count: number): void {
  if (!Number.isInteger(count) || count < 0 || count > MAX_BATCH || count > windows.capacity) {
    throw new RangeError(`AEAD batch count must be 0..${Math.min(MAX_BATCH, windows.capacity)}, got ${count}`);
  }
  if (keyIndex.length < count || counters.length < count || results.length < count) {
    throw new RangeError(`AEAD batch arrays must hold ${count} entries (keyIndex ${keyIndex.length}, counters ${counters.length}, results ${results.length})`);
  }
  if (keys.length % AEAD_KEY_BYTES !== 0) throw new RangeError(`AEAD key table must be a multiple of ${AEAD_KEY_BYTES} bytes, got ${keys.length}`);
}

/**
 * Seals windows 0..count-1 in place, each tag right after its window.
 * @throws RangeError for arrays shorter than count; Error without the shim.
 */
export function aeadSealWindows(keys: Uint8Array, keyIndex: Int32Array, counters: Float64Array, windows: SlabBatch, results: Int32Array, count: number): void {
  check(keys, keyIndex, counters, windows, results, count);
  requireNative('the native AEAD batch').aeadSeal(keys, keyIndex, counters, windows.slabs, windows.slabIndex, windows.offsets, windows.sizes, results, count);
}

/**
 * Opens windows 0..count-1 in place (each window includes its tag).
 * @throws RangeError for arrays shorter than count; Error without the shim.
 */
export function aeadOpenWindows(keys: Uint8Array, keyIndex: Int32Array, counters: Float64Array, windows: SlabBatch, results: Int32Array, count: number): void {
  check(keys, keyIndex, counters, windows, results, count);
  requireNative('the native AEAD batch').aeadOpen(keys, keyIndex, counters, windows.slabs, windows.slabIndex, windows.offsets, windows.sizes, results, count);
}
