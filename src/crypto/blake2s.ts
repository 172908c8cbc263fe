// WireGuard's hash primitives, from the paper's 5.4 Messages (the list of functions):
//   HASH(input)        BLAKE2s(input, 32)                      RFC 7693, 32-byte output
//   MAC(key, input)    keyed BLAKE2s(key, input, 16)           RFC 7693 §2.5 / §3.3 keyed mode
//   HMAC(key, input)   HMAC-BLAKE2s(key, input, 32)            RFC 2104 over BLAKE2s (block 64 bytes)
//   KDFn(key, input)   HKDF (RFC 5869; Krawczyk, "Cryptographic Extraction and Key Derivation")
//                      with HMAC-BLAKE2s, n = 1..3 outputs of 32 bytes
// Every function writes into buffers the caller owns and may alias its inputs.
//
// Engines, measured (Node 20.20, OpenSSL 3.0, 2-core VM; median of 7 x 50,000, 32-byte key, 64-byte
// input):
//   HASH: node:crypto createHash('blake2s256') 1,930 ns; @noble/hashes blake2s 3,100 ns.
//   HMAC: node:crypto createHmac('blake2s256') 3,750 ns; @noble/hashes hmac(blake2s) 11,360 ns.
//   MAC:  Node exposes neither BLAKE2s's key nor its output length, so the keyed MAC comes from the
//         native shim (OpenSSL's EVP_MAC "BLAKE2SMAC" in the node binary, native/src/mac.c) where it is
//         loaded, else from @noble/hashes (blake2s-reference.ts). mac1's 116 bytes, median of 3 x
//         200,000: shim ~510 ns a call (~415 ns a message in a batch of 128, blake2sMacBatch);
//         @noble/hashes ~6,700 ns. A responder checks mac1 of every handshake message it gets (5.4.4),
//         so under a flood of them this is the difference between keeping up and not.
import { createHash, createHmac } from 'node:crypto';
import { abytes } from './_assert.js';
import { native } from '../native/load.js';
import { referenceBlake2sMac } from './blake2s-reference.js';

/** Output length of HASH, HMAC and each KDF output. */
export const HASH_LEN = 32;
/** Output length of MAC (mac1, mac2 and the cookie, 5.4.4 Cookie MACs). */
export const MAC_LEN = 16;

/**
 * HASH(a || b): BLAKE2s-256 of the concatenation, written into `out` (32 bytes). Taking two parts
 * spares the handshake a concatenation for its MixHash steps (h = HASH(h || data)). `out` may alias
 * `a` or `b`.
 */
export function hash(out: Uint8Array, a: Uint8Array, b?: Uint8Array): void {
  abytes('out', out, HASH_LEN);
  const h = createHash('blake2s256');
  h.update(a);
  if (b !== undefined) h.update(b);
  const d = h.digest();
  out.set(d);
  d.fill(0);
}

const NO_KEY = new Uint8Array(0);

/**
 * BLAKE2s with an output of `out.length` bytes (1..32), keyed when `key` is non-empty (RFC 7693 §3.3:
 * key length 0 means unkeyed). The general form behind `mac`, exported so the RFC 7693 Appendix E
 * self-test can drive every output length through the same code.
 */
export function blake2s(out: Uint8Array, data: Uint8Array, key?: Uint8Array | null): void {
  const dkLen = out.length;
  if (!(dkLen >= 1 && dkLen <= HASH_LEN)) {
    throw new RangeError(`out: expected 1..${HASH_LEN} bytes, got ${dkLen}`);
  }
  const keyed = key !== undefined && key !== null && key.length > 0;
  if (keyed && key.length > HASH_LEN) {
    throw new RangeError(`key: expected at most ${HASH_LEN} bytes, got ${key.length}`);
  }
  if (!keyed) referenceBlake2sMac(NO_KEY, data, out);
  else if (native === null || native.blake2sMac(key, data, out) !== dkLen) referenceBlake2sMac(key, data, out);
}

/** MAC(key, data): keyed BLAKE2s with a 16-byte output, into `out` (16 bytes). */
export function mac(out: Uint8Array, key: Uint8Array, data: Uint8Array): void {
  abytes('out', out, MAC_LEN);
  blake2s(out, data, key);
}

/** HMAC(key, data) with BLAKE2s-256 (RFC 2104, B = 64), into `out` (32 bytes). */
export function hmac(out: Uint8Array, key: Uint8Array, data: Uint8Array): void {
  abytes('out', out, HASH_LEN);
  const d = createHmac('blake2s256', key).update(data).digest();
  out.set(d);
  d.fill(0);
}

const ONE = Uint8Array.of(0x1);
const TWO = Uint8Array.of(0x2);
const THREE = Uint8Array.of(0x3);

/**
 * KDF1/KDF2/KDF3 of 5.4 Messages: HKDF with HMAC-BLAKE2s, the chaining key as salt and empty info.
 *   t0 = HMAC(chainingKey, input)        extract
 *   t1 = HMAC(t0, 0x1)                   -> out1
 *   t2 = HMAC(t0, t1 || 0x2)             -> out2, if given
 *   t3 = HMAC(t0, t2 || 0x3)             -> out3, if given
 * `chainingKey` is read before any output is written, so outputs may alias it, as in the
 * handshake's `kdf(ck, dh, ck, key)`. t0..t3 are wiped before returning.
 */
export function kdf(
  chainingKey: Uint8Array,
  input: Uint8Array,
  out1: Uint8Array,
  out2?: Uint8Array | null,
  out3?: Uint8Array | null,
): void {
  abytes('out1', out1, HASH_LEN);
  if (out2 != null) abytes('out2', out2, HASH_LEN);
  if (out3 != null) abytes('out3', out3, HASH_LEN);
  if (out3 != null && out2 == null) throw new TypeError('kdf: out3 given without out2');

  const t0 = createHmac('blake2s256', chainingKey).update(input).digest();
  const t1 = createHmac('blake2s256', t0).update(ONE).digest();
  let t2: Buffer | null = null;
  let t3: Buffer | null = null;
  if (out2 != null) {
    t2 = createHmac('blake2s256', t0).update(t1).update(TWO).digest();
    if (out3 != null) t3 = createHmac('blake2s256', t0).update(t2).update(THREE).digest();
  }
  out1.set(t1);
  if (t2 !== null) out2!.set(t2);
  if (t3 !== null) out3!.set(t3);
  t0.fill(0);
  t1.fill(0);
  if (t2 !== null) t2.fill(0);
  if (t3 !== null) t3.fill(0);
}
