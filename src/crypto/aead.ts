// ChaCha20-Poly1305 (RFC 8439 §2.8) with WireGuard's nonce: 32 zero bits then the 64-bit counter,
// little-endian (paper 5.4 Messages, the definition of AEAD; used with counter 0 by the handshake,
// 5.4.2 and 5.4.3, and with the sending counter by 5.4.6 Subsequent Messages: Transport Data
// Messages, whose authenticated data is empty, hence no `ad` in the batch). Per packet through Node's
// OpenSSL, one createCipheriv each; per batch (sealBatch, openBatch) through the shim's AEAD batch
// (aead-native.ts) where it is loaded, else the same per-packet calls in a loop.
import { createCipheriv, createDecipheriv } from 'node:crypto';
import { abytes, aroom } from './_assert.js';
import { KEY_LEN } from './keys.js';
import { native } from '../native/load.js';
import type { AeadBatch } from './aead-batch.js';
import { aeadKeyBytes, type AeadKey } from './aead-key.js';
import { openBatchNative, sealBatchNative } from './aead-native.js';

export { AeadBatch } from './aead-batch.js';
export { aeadKey, aeadKeyBytes, destroyAeadKey, type AeadKey } from './aead-key.js';

/** Poly1305 tag length; every sealed message is its plaintext plus this. */
export const TAG_LEN = 16;
/** RFC 8439 §2.8 nonce length. */
export const NONCE_LEN = 12;

const ALGORITHM = 'chacha20-poly1305';
const TAG_OPTIONS = { authTagLength: TAG_LEN } as const;
const TWO_POW_32 = 0x1_0000_0000;

// The nonce is not secret and createCipheriv copies it, so one scratch serves every call.
// Bytes 0..3 stay zero for ever (5.4).
const NONCE = Buffer.alloc(NONCE_LEN);

// A counter is a JS number below 2^53 (the caller's invariant: a keypair is retired long before, see
// 6.2 Transport Message Limits), so its high half fits 21 bits and both halves are exact.
function writeCounter(counter: number): void {
  const lo = counter >>> 0;
  const hi = (counter / TWO_POW_32) >>> 0;
  NONCE[4] = lo;
  NONCE[5] = lo >>> 8;
  NONCE[6] = lo >>> 16;
  NONCE[7] = lo >>> 24;
  NONCE[8] = hi;
  NONCE[9] = hi >>> 8;
  NONCE[10] = hi >>> 16;
  NONCE[11] = hi >>> 24;
}

/**
 * Encrypts bytes[start, start+length) in place and writes the 16-byte tag right after it.
 * Returns length + 16, or -1 (nothing written) if the key was destroyed or the buffer has no room
 * for the tag. Never throws.
 */
export function sealInPlace(
  key: AeadKey,
  counter: number,
  bytes: Uint8Array,
  start: number,
  length: number,
  ad: Uint8Array | null,
): number {
  const raw = aeadKeyBytes(key);
  if (raw === null || !(start >= 0 && length >= 0 && start + length + TAG_LEN <= bytes.length)) return -1;
  writeCounter(counter);
  const c = createCipheriv(ALGORITHM, raw, NONCE, TAG_OPTIONS);
  // setAAD's `plaintextLength` is required by @types/node's ChaCha20-Poly1305 overload but read by
  // Node only for CCM and OCB; it is passed here and below for the types' sake.
  if (ad !== null) c.setAAD(ad, { plaintextLength: length });
  const ct = c.update(bytes.subarray(start, start + length));
  c.final();
  bytes.set(ct, start);
  bytes.set(c.getAuthTag(), start + length);
  return length + TAG_LEN;
}

/**
 * Authenticates and decrypts bytes[start, start+length), where length includes the 16-byte tag, in
 * place. Returns the plaintext length, or -1 if length < 16, the tag does not verify, or the key was
 * destroyed. The buffer is written only after the tag has verified. Never throws.
 */
export function openInPlace(
  key: AeadKey,
  counter: number,
  bytes: Uint8Array,
  start: number,
  length: number,
  ad: Uint8Array | null,
): number {
  const raw = aeadKeyBytes(key);
  if (raw === null || !(start >= 0 && length >= TAG_LEN && start + length <= bytes.length)) return -1;
  const ptLen = length - TAG_LEN;
  writeCounter(counter);
  const d = createDecipheriv(ALGORITHM, raw, NONCE, TAG_OPTIONS);
  d.setAuthTag(bytes.subarray(start + ptLen, start + length));
  if (ad !== null) d.setAAD(ad, { plaintextLength: ptLen });
  const pt = d.update(bytes.subarray(start, start + ptLen));
  // Node reports a bad tag only by throwing from final(). This try is the one per packet that the
  // style guide's no-try-in-loops rule has to give way to, on the portable path only: the native
  // batch returns a status.
  // Forged packets are what an attacker can send at line rate, and most of a rejection's cost is
  // the Error's stack trace, so capture none: openInPlace of 1420 B with a bad tag, ~11,900 -> ~9,500
  // ns (median of 7 x 20,000; a good tag costs ~6,600). final() runs no JS, so the global is
  // restored before anything else can see it.
  const traceLimit = Error.stackTraceLimit;
  Error.stackTraceLimit = 0;
  try {
    d.final();
  } catch {
    pt.fill(0);
    return -1;
  } finally {
    Error.stackTraceLimit = traceLimit;
  }
  bytes.set(pt, start);
  pt.fill(0);
  return ptLen;
}

/**
 * RFC 8439 §2.8 AEAD with an arbitrary 12-byte nonce: writes ciphertext || tag
 * (plaintext.length + 16 bytes) at out[outOffset]. For the RFC's own vectors, whose nonces are not
 * WireGuard-shaped; the protocol uses seal() and sealInPlace().
 * @throws on a wrong key or nonce length, or no room in `out` (caller bugs).
 */
export function sealRaw(
  key: Uint8Array,
  nonce: Uint8Array,
  plaintext: Uint8Array,
  ad: Uint8Array,
  out: Uint8Array,
  outOffset: number,
): void {
  abytes('key', key, KEY_LEN);
  abytes('nonce', nonce, NONCE_LEN);
  aroom('out', out, outOffset, plaintext.length + TAG_LEN);
  const c = createCipheriv(ALGORITHM, key, nonce, TAG_OPTIONS);
  c.setAAD(ad, { plaintextLength: plaintext.length });
  const ct = c.update(plaintext);
  c.final();
  out.set(ct, outOffset);
  out.set(c.getAuthTag(), outOffset + plaintext.length);
}

/**
 * The inverse of sealRaw: writes the plaintext (sealed.length - 16 bytes) at out[outOffset] and
 * returns true, or returns false, writing nothing, if `sealed` is shorter than a tag or does not
 * authenticate.
 * @throws on a wrong key or nonce length, or no room in `out` (caller bugs).
 */
export function openRaw(
  key: Uint8Array,
  nonce: Uint8Array,
  sealed: Uint8Array,
  ad: Uint8Array,
  out: Uint8Array,
  outOffset: number,
): boolean {
  abytes('key', key, KEY_LEN);
  abytes('nonce', nonce, NONCE_LEN);
  if (sealed.length < TAG_LEN) return false;
  const ptLen = sealed.length - TAG_LEN;
  aroom('out', out, outOffset, ptLen);
  const d = createDecipheriv(ALGORITHM, key, nonce, TAG_OPTIONS);
  d.setAuthTag(sealed.subarray(ptLen));
  d.setAAD(ad, { plaintextLength: ptLen });
  const pt = d.update(sealed.subarray(0, ptLen));
  try {
    d.final();
  } catch {
    pt.fill(0);
    return false;
  }
  out.set(pt, outOffset);
  pt.fill(0);
  return true;
}

/**
 * AEAD(key, counter, plaintext, ad) for the handshake (5.4.2, 5.4.3: counter 0 with a fresh key):
 * writes ciphertext || tag (plaintext.length + 16 bytes) at out[outOffset]. `out` may be where
 * `plaintext` is.
 * @throws on a wrong key length or no room in `out` (caller bugs).
 */
export function seal(
  key: Uint8Array,
  counter: number,
  plaintext: Uint8Array,
  ad: Uint8Array,
  out: Uint8Array,
  outOffset: number,
): void {
  writeCounter(counter);
  sealRaw(key, NONCE, plaintext, ad, out, outOffset);
}

/**
 * Opens what seal() made: writes sealed.length - 16 bytes of plaintext at out[outOffset] and
 * returns true, or returns false and writes nothing.
 * @throws on a wrong key length or no room in `out` (caller bugs).
 */
export function open(
  key: Uint8Array,
  counter: number,
  sealed: Uint8Array,
  ad: Uint8Array,
  out: Uint8Array,
  outOffset: number,
): boolean {
  writeCounter(counter);
  return openRaw(key, NONCE, sealed, ad, out, outOffset);
}

/**
 * Seals slots 0..count-1; results[i] = length + 16, or -1 (missing key or buffer, no room). One C call
 * for the whole batch where the native shim is loaded (~1.2-1.8 us per 1420-byte packet against
 * ~7-13 us through createCipheriv, measured by `npm run bench:aead`), else the loop below.
 */
export function sealBatch(b: AeadBatch): void {
  if (native !== null) sealBatchNative(b);
  else sealBatchPortable(b);
}

/**
 * Opens slots 0..count-1; results[i] = plaintext length, or -1 (bad tag, too short, ...). The window
 * of a failed slot is left unspecified (the native batch zeroes what it decrypted before the tag check).
 */
export function openBatch(b: AeadBatch): void {
  if (native !== null) openBatchNative(b);
  else openBatchPortable(b);
}

/** sealBatch through Node's crypto, one packet at a time: the portable path and the reference. */
export function sealBatchPortable(b: AeadBatch): void {
  const n = b.count;
  for (let i = 0; i < n; i++) {
    const key = b.keys[i];
    const buf = b.bufs[i];
    b.results[i] =
      key === null || buf === null
        ? -1
        : sealInPlace(key, b.counters[i], buf, b.starts[i], b.lengths[i], null);
  }
}

/** openBatch through Node's crypto, one packet at a time. */
export function openBatchPortable(b: AeadBatch): void {
  const n = b.count;
  for (let i = 0; i < n; i++) {
    const key = b.keys[i];
    const buf = b.bufs[i];
    b.results[i] =
      key === null || buf === null
        ? -1
        : openInPlace(key, b.counters[i], buf, b.starts[i], b.lengths[i], null);
  }
}
