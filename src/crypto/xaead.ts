// XChaCha20-Poly1305 (draft-irtf-cfrg-xchacha-03 §2: HChaCha20 subkey from the first 16 nonce bytes,
// then RFC 8439 ChaCha20-Poly1305 with nonce 0x00000000 || the last 8 nonce bytes). WireGuard uses
// it only to encrypt the cookie in a Cookie Reply, under a random 24-byte nonce (paper 5.4.7 Under
// Load: Cookie Reply Message), and a responder under a flood of initiations seals one per refused
// initiation. OpenSSL has ChaCha20-Poly1305 but no HChaCha20, so the native shim adds those few
// lines (native/src/xaead.c); without the shim, xaead-reference.ts does the same in TypeScript over
// Node's OpenSSL.
//
// A cookie reply's 16-byte cookie under a 16-byte ad, median of 3 x 100,000 seals: shim ~1,100 ns;
// the reference ~5,000 ns (one createCipheriv); @noble/ciphers, used before, ~11,000-16,000 ns.
import { abytes, aroom } from './_assert.js';
import { KEY_LEN } from './keys.js';
import { TAG_LEN } from './aead.js';
import { native } from '../native/load.js';
import { XAEAD_NATIVE_MAX_OPEN } from '../native/binding.js';
import { referenceXaeadOpen, referenceXaeadSeal } from './xaead-reference.js';

/** XChaCha20 nonce length. */
export const XNONCE_LEN = 24;

/**
 * XAEAD(key, nonce, plaintext, ad): writes ciphertext || tag (plaintext.length + 16 bytes) at
 * out[outOffset]. `out` may be where `plaintext` is.
 * @throws on a wrong key or nonce length, or no room in `out` (caller bugs).
 */
export function xseal(
  key: Uint8Array,
  nonce: Uint8Array,
  plaintext: Uint8Array,
  ad: Uint8Array,
  out: Uint8Array,
  outOffset: number,
): void {
  abytes('key', key, KEY_LEN);
  abytes('nonce', nonce, XNONCE_LEN);
  aroom('out', out, outOffset, plaintext.length + TAG_LEN);
  if (native === null || native.xaeadSeal(key, nonce, plaintext, ad, out, outOffset) < 0) {
    referenceXaeadSeal(key, nonce, plaintext, ad, out, outOffset);
  }
}

/**
 * Opens what xseal() made: writes sealed.length - 16 bytes at out[outOffset] and returns true, or
 * returns false, writing nothing, when `sealed` is shorter than a tag or does not authenticate.
 * @throws on a wrong key or nonce length, or no room in `out` (caller bugs).
 */
export function xopen(
  key: Uint8Array,
  nonce: Uint8Array,
  sealed: Uint8Array,
  ad: Uint8Array,
  out: Uint8Array,
  outOffset: number,
): boolean {
  abytes('key', key, KEY_LEN);
  abytes('nonce', nonce, XNONCE_LEN);
  if (sealed.length < TAG_LEN) return false;
  const n = sealed.length - TAG_LEN;
  aroom('out', out, outOffset, n);
  const opened =
    native !== null && n <= XAEAD_NATIVE_MAX_OPEN
      ? native.xaeadOpen(key, nonce, sealed, ad, out, outOffset)
      : referenceXaeadOpen(key, nonce, sealed, ad, out, outOffset);
  return opened === n;
}
