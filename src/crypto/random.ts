// Random values that need no secrecy, drawn from a pool that one randomFillSync refills: the 24-byte
// nonce of a cookie reply (paper 5.4.7 Under Load: Cookie Reply Message), receiver indices (5.4.2) and
// timer jitter (6.4). Each randomFillSync costs ~2,000-2,500 ns whether it fills 24 bytes or 4,096
// (median of 3 x 100,000, this machine), so a responder that seals a cookie reply per refused
// initiation spent more on its nonces than on the sealing; crypto.randomInt costs ~1 us and allocates
// per call, and a timer re-armed once per batch made it a steady source of garbage on a busy tunnel.
// From a 4 KiB pool a value costs a copy. Bytes are zeroed in the pool as they are handed out. Not for
// secrets: keys come from randomFillSync directly (x25519.ts).
import { randomFillSync } from 'node:crypto';

/** Bytes drawn per refill. */
const POOL_BYTES = 4096;

const pool = new Uint8Array(POOL_BYTES);
let used = POOL_BYTES;

/** Makes `len` unused bytes available at pool[used]. */
function reserve(len: number): void {
  if (used + len > POOL_BYTES) {
    randomFillSync(pool);
    used = 0;
  }
}

/** Fill out[at, at + len) with random bytes (len <= 4096). */
export function randomPublicBytes(out: Uint8Array, at: number, len: number): void {
  if (!(len >= 0 && len <= POOL_BYTES)) throw new RangeError(`len: expected 0..${POOL_BYTES}, got ${len}`);
  reserve(len);
  out.set(pool.subarray(used, used + len), at);
  pool.fill(0, used, used + len);
  used += len;
}

/** A uniformly random 32-bit unsigned integer (no view or number object made per call). */
export function randomU32(): number {
  reserve(4);
  const i = used;
  const v = ((pool[i]! << 24) | (pool[i + 1]! << 16) | (pool[i + 2]! << 8) | pool[i + 3]!) >>> 0;
  pool[i] = 0;
  pool[i + 1] = 0;
  pool[i + 2] = 0;
  pool[i + 3] = 0;
  used = i + 4;
  return v;
}

/**
 * A random integer in [0, n), n <= 2^16: randomU32() mod n, whose bias (below n / 2^32) does not
 * matter for jitter.
 */
export function randomBelow(n: number): number {
  return randomU32() % n;
}
