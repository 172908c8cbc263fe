// XChaCha20-Poly1305 (draft-irtf-cfrg-xchacha-03 §2: HChaCha20 subkey from the first 16 nonce bytes,
// then RFC 8439 ChaCha20-Poly1305 with nonce 0x00000000 || the last 8 nonce bytes). WireGuard uses
// it only to encrypt the cookie in a Cookie Reply, under a random 24-byte nonce (paper 5.4.7 Under
// Load: Cookie Reply Message). OpenSSL has no XChaCha, so @noble/ciphers does it; cookie replies are
// rare and small, so speed does not matter here.
import { xchacha20poly1305 } from '@noble/ciphers/chacha.js';
import { abytes, aroom } from './_assert.js';
import { KEY_LEN } from './keys.js';
import { TAG_LEN } from './aead.js';

/** XChaCha20 nonce length. */
export const XNONCE_LEN = 24;

/**
 * XAEAD(key, nonce, plaintext, ad): writes ciphertext || tag (plaintext.length + 16 bytes) at
 * out[outOffset].
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
  const n = plaintext.length + TAG_LEN;
  aroom('out', out, outOffset, n);
  xchacha20poly1305(key, nonce, ad).encrypt(plaintext, out.subarray(outOffset, outOffset + n));
}

/**
 * Opens what xseal() made: writes sealed.length - 16 bytes at out[outOffset] and returns true, or
 * returns false, writing nothing, when `sealed` is shorter than a tag or does not authenticate
 * (@noble/ciphers checks the tag, in constant time, before it decrypts into `out`).
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
  try {
    xchacha20poly1305(key, nonce, ad).decrypt(sealed, out.subarray(outOffset, outOffset + n));
  } catch {
    return false;
  }
  return true;
}
