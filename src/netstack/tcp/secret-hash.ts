/**
 * HalfSipHash-2-4 with a 32-bit output (Aumasson and Bernstein's SipHash family, the 32-bit-word
 * variant Linux uses as hsiphash): a keyed PRF small enough to run per SYN. TCP needs one for three
 * secrets, as Linux's secure_seq.c does: the initial sequence number (RFC 6528 §3: ISN = M + F(4-tuple,
 * secret)), the per-connection timestamp offset (RFC 7323 §5.4), and SYN cookies (RFC 4987 §3.6).
 *
 * Why not the project's BLAKE2s MAC: ~7 us a call in JS (crypto/blake2s.ts measures it), against well
 * under 1 us for this on 40 bytes; a SYN flood is exactly when the cost counts. 32-bit words keep every
 * step in int32 arithmetic, which is what JS does fast.
 */

/** The state v0..v3, one per stack; the PRF runs to completion on it, never re-entered. */
const v = new Int32Array(4);

function rotl(x: number, b: number): number {
  return (x << b) | (x >>> (32 - b));
}

/** `n` SipRounds on the 32-bit state (the HalfSipHash round: rotations 5, 16, 8, 7, 13, 16). */
function rounds(n: number): void {
  let v0 = v[0]!;
  let v1 = v[1]!;
  let v2 = v[2]!;
  let v3 = v[3]!;
  for (let r = 0; r < n; r++) {
    v0 = (v0 + v1) | 0; v1 = rotl(v1, 5); v1 ^= v0; v0 = rotl(v0, 16);
    v2 = (v2 + v3) | 0; v3 = rotl(v3, 8); v3 ^= v2;
    v0 = (v0 + v3) | 0; v3 = rotl(v3, 7); v3 ^= v0;
    v2 = (v2 + v1) | 0; v1 = rotl(v1, 13); v1 ^= v2; v2 = rotl(v2, 16);
  }
  v[0] = v0;
  v[1] = v1;
  v[2] = v2;
  v[3] = v3;
}

/** The 32-bit HalfSipHash-2-4 of data[0, len) under the 64-bit key (k0, k1), as an unsigned number. */
export function halfSipHash(k0: number, k1: number, data: Uint8Array, len: number): number {
  v[0] = k0;
  v[1] = k1;
  v[2] = 0x6c796765 ^ k0;
  v[3] = 0x74656462 ^ k1;
  const whole = len & ~3;
  for (let i = 0; i < whole; i += 4) {
    const m = data[i]! | (data[i + 1]! << 8) | (data[i + 2]! << 16) | (data[i + 3]! << 24);
    v[3] ^= m;
    rounds(2);
    v[0] ^= m;
  }
  let b = len << 24;
  for (let j = len - whole - 1; j >= 0; j--) b |= data[whole + j]! << (8 * j);
  v[3] ^= b;
  rounds(2);
  v[0] ^= b;
  v[2] ^= 0xff;
  rounds(4);
  return (v[1]! ^ v[3]!) >>> 0;
}
