// Key text encodings and the byte helpers every secret passes through.
//
// Base64 is how wg(8) and wg-quick configuration files spell a 32-byte key; lowercase hex is how the
// cross-platform UAPI description (wireguard.com/xplatform) spells it on the configuration socket.
// Decoding is as strict as wireguard-tools' key_from_base64 / key_from_hex: exactly 44 characters
// ending in '=' (or exactly 64 hex digits), and the two unused low bits of the last base64 digit
// must be zero, so every key has exactly one spelling. Hex digits may be either case, as there.
import { timingSafeEqual } from 'node:crypto';
import { abytes } from './_assert.js';

/** Length in bytes of every WireGuard key: X25519 private and public keys, preshared keys. */
export const KEY_LEN = 32;

/** ceil(32 / 3) * 4: 43 digits carrying 256 bits, then one '=' of padding. */
const KEY_BASE64_LEN = 44;
const KEY_HEX_LEN = KEY_LEN * 2;

const BASE64_DIGIT = /^[A-Za-z0-9+/]$/;
// The 43rd digit carries the key's last 4 bits in its high bits; its low 2 bits are padding and must
// be zero (wireguard-tools rejects them through `val & 0xff` on the final group).
const BASE64_LAST_DIGIT = /^[AEIMQUYcgkosw048]$/;

/**
 * Decodes a key from base64 as written by `wg genkey` / `wg pubkey`.
 * @throws TypeError if `s` is not a string or holds a character outside the base64 alphabet, or a
 *   non-canonical final digit; RangeError if it is not 44 characters long.
 */
export function keyFromBase64(s: string): Uint8Array {
  if (typeof s !== 'string') throw new TypeError(`key: expected a base64 string, got ${typeof s}`);
  if (s.length !== KEY_BASE64_LEN) {
    throw new RangeError(
      `key: expected ${KEY_BASE64_LEN} base64 characters (${KEY_LEN} bytes), got ${s.length}`,
    );
  }
  for (let i = 0; i < KEY_BASE64_LEN - 2; i++) {
    if (!BASE64_DIGIT.test(s[i]!)) {
      throw new TypeError(`key: invalid base64 character ${JSON.stringify(s[i])} at position ${i}`);
    }
  }
  const last = s[KEY_BASE64_LEN - 2]!;
  if (!BASE64_DIGIT.test(last)) {
    throw new TypeError(
      `key: invalid base64 character ${JSON.stringify(last)} at position ${KEY_BASE64_LEN - 2}`,
    );
  }
  if (!BASE64_LAST_DIGIT.test(last)) {
    throw new TypeError(
      `key: non-canonical base64: final digit ${JSON.stringify(last)} sets padding bits`,
    );
  }
  if (s[KEY_BASE64_LEN - 1] !== '=') {
    throw new TypeError(
      `key: expected '=' at position ${KEY_BASE64_LEN - 1}, got ${JSON.stringify(s[KEY_BASE64_LEN - 1])}`,
    );
  }
  // Buffer.from may carve small buffers out of a shared pool; copy the key into memory of its own
  // and clear the pooled bytes.
  const tmp = Buffer.from(s, 'base64');
  const key = new Uint8Array(KEY_LEN);
  key.set(tmp);
  tmp.fill(0);
  return key;
}

/** Encodes a 32-byte key as base64 (44 characters, as `wg` prints it). */
export function keyToBase64(k: Uint8Array): string {
  abytes('key', k, KEY_LEN);
  return Buffer.from(k.buffer, k.byteOffset, KEY_LEN).toString('base64');
}

function hexNibble(c: number): number {
  if (c >= 0x30 && c <= 0x39) return c - 0x30; // 0-9
  c |= 0x20; // fold A-F onto a-f
  if (c >= 0x61 && c <= 0x66) return c - 0x61 + 10;
  return -1;
}

/**
 * Decodes a key from 64 hex digits, as the UAPI `private_key=` / `public_key=` lines carry it.
 * @throws TypeError on a non-string or a non-hex character; RangeError on a length other than 64.
 */
export function keyFromHex(s: string): Uint8Array {
  if (typeof s !== 'string') throw new TypeError(`key: expected a hex string, got ${typeof s}`);
  if (s.length !== KEY_HEX_LEN) {
    throw new RangeError(`key: expected ${KEY_HEX_LEN} hex digits (${KEY_LEN} bytes), got ${s.length}`);
  }
  const key = new Uint8Array(KEY_LEN);
  for (let i = 0; i < KEY_LEN; i++) {
    const hi = hexNibble(s.charCodeAt(2 * i));
    const lo = hexNibble(s.charCodeAt(2 * i + 1));
    if (hi < 0 || lo < 0) {
      const at = hi < 0 ? 2 * i : 2 * i + 1;
      key.fill(0);
      throw new TypeError(`key: invalid hex character ${JSON.stringify(s[at])} at position ${at}`);
    }
    key[i] = (hi << 4) | lo;
  }
  return key;
}

/**
 * Encodes a 32-byte key as 64 lowercase hex digits (the UAPI spelling). Through a Buffer view of the
 * key (no copy): 0.3 us against 1.4 us for a digit-by-digit string (Node 20), and `wg show` of 10,000
 * peers writes 10,000 preshared keys. The result is one flat string: built by concatenation it was a
 * rope of ~50 pieces, ~1.7 KB kept for every peer whose key names it.
 */
export function keyToHex(k: Uint8Array): string {
  abytes('key', k, KEY_LEN);
  return Buffer.from(k.buffer, k.byteOffset, KEY_LEN).toString('hex');
}

/**
 * Compares two byte strings in time that depends only on their length. Lengths are public: arrays of
 * different length compare unequal at once.
 */
export function constantTimeEqual(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  return timingSafeEqual(a, b);
}

/** True when every byte is zero, read in time independent of the contents (5.4 rejects zero keys). */
export function isZero(a: Uint8Array): boolean {
  let acc = 0;
  for (let i = 0; i < a.length; i++) acc |= a[i]!;
  return acc === 0;
}

/** Zeroes a secret in place. */
export function wipe(a: Uint8Array): void {
  a.fill(0);
}
