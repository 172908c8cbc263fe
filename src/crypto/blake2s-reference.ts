/**
 * The TypeScript twins of the shim's blake2sMac and blake2sMacBatch (native/src/mac.c), with the same
 * signatures (src/native/binding.ts), on @noble/hashes' BLAKE2s (RFC 7693, keyed mode §2.5). They are
 * the portable path where the shim is not loaded, and the specification the C is tested against
 * (blake2s-native.test.ts).
 */
import { blake2s as nobleBlake2s } from '@noble/hashes/blake2.js';
import type { SlabMemory } from '../native/binding.js';

// digestInto() in @noble/hashes wants a 4-byte-aligned output view; a MAC written straight into a
// packet need not be aligned, so it goes through this (wiped) scratch instead.
const ALIGNED_SCRATCH = new Uint8Array(32);

/**
 * NativeBinding.blake2sMac in TypeScript: keyed BLAKE2s of `data`, out.length bytes; out.length. An
 * empty key means unkeyed (RFC 7693 §3.3: key length 0), which the C does not offer.
 */
export function referenceBlake2sMac(key: Uint8Array, data: Uint8Array, out: Uint8Array): number {
  const h = key.length > 0 ? nobleBlake2s.create({ key, dkLen: out.length }) : nobleBlake2s.create({ dkLen: out.length });
  h.update(data);
  if ((out.byteOffset & 3) === 0) {
    h.digestInto(out);
  } else {
    h.digestInto(ALIGNED_SCRATCH);
    out.set(ALIGNED_SCRATCH.subarray(0, out.length));
    ALIGNED_SCRATCH.fill(0);
  }
  h.destroy(); // clears the padded key block and chaining state
  return out.length;
}

/** NativeBinding.blake2sMacBatch in TypeScript. */
export function referenceBlake2sMacBatch(
  key: Uint8Array,
  slabs: SlabMemory[],
  slabIndex: Int32Array,
  offsets: Int32Array,
  lengths: Int32Array,
  out: Uint8Array,
  outLen: number,
  results: Int32Array,
  count: number,
): number {
  for (let i = 0; i < count; i++) {
    const o = out.subarray(i * outLen, (i + 1) * outLen);
    const s = slabIndex[i]!;
    const slab = s < 0 ? null : slabs[s]!;
    const bytes = slab === null ? null : slab instanceof Uint8Array ? slab : new Uint8Array(slab);
    const at = offsets[i]!;
    const len = lengths[i]!;
    if (bytes === null || at < 0 || len < 0 || at + len > bytes.length) {
      o.fill(0);
      results[i] = -1;
      continue;
    }
    results[i] = referenceBlake2sMac(key, bytes.subarray(at, at + len), o);
  }
  return count;
}
