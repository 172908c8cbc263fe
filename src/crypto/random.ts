// Random bytes for values that travel in the clear, such as the 24-byte nonce of a cookie reply
// (paper 5.4.7 Under Load: Cookie Reply Message), drawn from a pool that one randomFillSync refills.
// Each randomFillSync costs ~2,000-2,500 ns whether it fills 24 bytes or 4,096 (median of 3 x 100,000,
// this machine), so a responder that seals a cookie reply per refused initiation spent more on its
// nonces than on the sealing; from a 4 KiB pool a nonce costs one copy. Bytes are zeroed in the pool
// as they are handed out. Not for secrets: keys come from randomFillSync directly (x25519.ts).
import { randomFillSync } from 'node:crypto';

/** Bytes drawn per refill. */
const POOL_BYTES = 4096;

const pool = new Uint8Array(POOL_BYTES);
let used = POOL_BYTES;

/** Fill out[at, at + len) with random bytes (len <= 4096). */
export function randomPublicBytes(out: Uint8Array, at: number, len: number): void {
  if (!(len >= 0 && len <= POOL_BYTES)) throw new RangeError(`len: expected 0..${POOL_BYTES}, got ${len}`);
  if (used + len > POOL_BYTES) {
    randomFillSync(pool);
    used = 0;
  }
  out.set(pool.subarray(used, used + len), at);
  pool.fill(0, used, used + len);
  used += len;
}
