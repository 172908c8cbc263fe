/**
 * The TypeScript reference for the shim's aeadSeal/aeadOpen, with the same signature (binding.ts),
 * built on src/crypto/aead.ts's sealInPlace/openInPlace: the specification the C is tested against
 * (aead-native.test.ts), as bufferutil's fallback.js is for its C. Not for the data path: it makes a
 * key handle per distinct key per call.
 */
import { aeadKey, destroyAeadKey, openInPlace, sealInPlace, type AeadKey } from './aead.js';
import type { SlabMemory } from '../native/binding.js';

const KEY_BYTES = 32;

function view(slab: SlabMemory): Uint8Array {
  return slab instanceof Uint8Array ? slab : new Uint8Array(slab);
}

function run(
  open: boolean,
  keys: Uint8Array,
  keyIndex: Int32Array,
  counters: Float64Array,
  slabs: SlabMemory[],
  slabIndex: Int32Array,
  offsets: Int32Array,
  lengths: Int32Array,
  results: Int32Array,
  count: number,
): number {
  const handles = new Map<number, AeadKey>();
  try {
    for (let i = 0; i < count; i++) {
      const k = keyIndex[i]!;
      const s = slabIndex[i]!;
      if (k < 0 || s < 0) {
        results[i] = -1;
        continue;
      }
      let key = handles.get(k);
      if (key === undefined) {
        key = aeadKey(keys.subarray(k * KEY_BYTES, (k + 1) * KEY_BYTES));
        handles.set(k, key);
      }
      const bytes = view(slabs[s]!);
      results[i] = open
        ? openInPlace(key, counters[i]!, bytes, offsets[i]!, lengths[i]!, null)
        : sealInPlace(key, counters[i]!, bytes, offsets[i]!, lengths[i]!, null);
    }
  } finally {
    for (const key of handles.values()) destroyAeadKey(key);
  }
  return count;
}

/** NativeBinding.aeadSeal in TypeScript. */
export function referenceSeal(
  keys: Uint8Array,
  keyIndex: Int32Array,
  counters: Float64Array,
  slabs: SlabMemory[],
  slabIndex: Int32Array,
  offsets: Int32Array,
  lengths: Int32Array,
  results: Int32Array,
  count: number,
): number {
  return run(false, keys, keyIndex, counters, slabs, slabIndex, offsets, lengths, results, count);
}

/** NativeBinding.aeadOpen in TypeScript. */
export function referenceOpen(
  keys: Uint8Array,
  keyIndex: Int32Array,
  counters: Float64Array,
  slabs: SlabMemory[],
  slabIndex: Int32Array,
  offsets: Int32Array,
  lengths: Int32Array,
  results: Int32Array,
  count: number,
): number {
  return run(true, keys, keyIndex, counters, slabs, slabIndex, offsets, lengths, results, count);
}
