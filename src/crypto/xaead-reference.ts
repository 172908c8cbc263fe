/**
 * The TypeScript twins of the shim's hchacha20, xaeadSeal and xaeadOpen (native/src/xaead.c), with
 * the same signatures (src/native/binding.ts): HChaCha20 as draft-irtf-cfrg-xchacha-03 §2.2 defines
 * it (the 20 rounds of RFC 8439 §2.3 without the final addition; state words 0..3 and 12..15 out),
 * and XChaCha20-Poly1305 (§2.3) as that subkey plus RFC 8439 ChaCha20-Poly1305 from Node's OpenSSL
 * (aead.ts's sealRaw/openRaw). The portable path where the shim is not loaded, and the specification
 * the C is tested against (xaead-native.test.ts).
 */
import { openRaw, sealRaw, NONCE_LEN, TAG_LEN } from './aead.js';

const KEY_BYTES = 32;
const HNONCE_BYTES = 16;

const state = new Uint32Array(16);
const subkey = new Uint8Array(KEY_BYTES);
const iv = new Uint8Array(NONCE_LEN);

function load32(b: Uint8Array, at: number): number {
  return (b[at]! | (b[at + 1]! << 8) | (b[at + 2]! << 16) | (b[at + 3]! << 24)) >>> 0;
}

function store32(b: Uint8Array, at: number, v: number): void {
  b[at] = v;
  b[at + 1] = v >>> 8;
  b[at + 2] = v >>> 16;
  b[at + 3] = v >>> 24;
}

/** RFC 8439 §2.1: the quarter round on state words a, b, c, d. */
function quarterRound(x: Uint32Array, a: number, b: number, c: number, d: number): void {
  let t: number;
  x[a] = x[a]! + x[b]!;
  t = x[d]! ^ x[a]!;
  x[d] = (t << 16) | (t >>> 16);
  x[c] = x[c]! + x[d]!;
  t = x[b]! ^ x[c]!;
  x[b] = (t << 12) | (t >>> 20);
  x[a] = x[a]! + x[b]!;
  t = x[d]! ^ x[a]!;
  x[d] = (t << 8) | (t >>> 24);
  x[c] = x[c]! + x[d]!;
  t = x[b]! ^ x[c]!;
  x[b] = (t << 7) | (t >>> 25);
}

/** NativeBinding.hchacha20 in TypeScript: a 32-byte subkey from a 32-byte key and 16-byte nonce; 32. */
export function referenceHChaCha20(key: Uint8Array, nonce: Uint8Array, out: Uint8Array): number {
  const x = state;
  x[0] = 0x61707865; // "expand 32-byte k" (RFC 8439 §2.3)
  x[1] = 0x3320646e;
  x[2] = 0x79622d32;
  x[3] = 0x6b206574;
  for (let i = 0; i < 8; i++) x[4 + i] = load32(key, 4 * i);
  for (let i = 0; i < 4; i++) x[12 + i] = load32(nonce, 4 * i);
  for (let r = 0; r < 10; r++) {
    quarterRound(x, 0, 4, 8, 12); // column rounds
    quarterRound(x, 1, 5, 9, 13);
    quarterRound(x, 2, 6, 10, 14);
    quarterRound(x, 3, 7, 11, 15);
    quarterRound(x, 0, 5, 10, 15); // diagonal rounds
    quarterRound(x, 1, 6, 11, 12);
    quarterRound(x, 2, 7, 8, 13);
    quarterRound(x, 3, 4, 9, 14);
  }
  for (let i = 0; i < 4; i++) {
    store32(out, 4 * i, x[i]!);
    store32(out, 16 + 4 * i, x[12 + i]!);
  }
  x.fill(0);
  return KEY_BYTES;
}

/** The subkey and the RFC 8439 nonce (0x00000000 || the last 8 nonce bytes) for (key, nonce). */
function derive(key: Uint8Array, nonce: Uint8Array): void {
  referenceHChaCha20(key, nonce.subarray(0, HNONCE_BYTES), subkey);
  iv.set(nonce.subarray(HNONCE_BYTES), 4);
}

/** NativeBinding.xaeadSeal in TypeScript: plaintext.length + 16. */
export function referenceXaeadSeal(
  key: Uint8Array,
  nonce: Uint8Array,
  plaintext: Uint8Array,
  ad: Uint8Array,
  out: Uint8Array,
  outOffset: number,
): number {
  derive(key, nonce);
  try {
    sealRaw(subkey, iv, plaintext, ad, out, outOffset);
  } finally {
    subkey.fill(0);
  }
  return plaintext.length + TAG_LEN;
}

/** NativeBinding.xaeadOpen in TypeScript: sealed.length - 16, or -1 (nothing written). */
export function referenceXaeadOpen(
  key: Uint8Array,
  nonce: Uint8Array,
  sealed: Uint8Array,
  ad: Uint8Array,
  out: Uint8Array,
  outOffset: number,
): number {
  if (sealed.length < TAG_LEN) return -1;
  derive(key, nonce);
  try {
    return openRaw(subkey, iv, sealed, ad, out, outOffset) ? sealed.length - TAG_LEN : -1;
  } finally {
    subkey.fill(0);
  }
}
