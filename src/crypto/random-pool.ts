/**
 * Random 32-bit values for the data path, drawn from a pool that one randomFillSync refills 64 at a
 * time: receiver indices (paper 5.4.2) and timer jitter (6.4) without a crypto call (and its garbage)
 * each time. crypto.randomInt costs ~1 us and allocates per call; a timer re-armed once per batch
 * made it a steady source of garbage on a busy tunnel.
 */
import { randomFillSync } from 'node:crypto';

const pool = new Uint32Array(64);
let at = pool.length;

/** A uniformly random 32-bit unsigned integer. */
export function randomU32(): number {
  if (at === pool.length) {
    randomFillSync(pool);
    at = 0;
  }
  return pool[at++]!;
}

/**
 * A random integer in [0, n), n <= 2^16: randomU32() mod n, whose bias (below n / 2^32) does not
 * matter for jitter.
 */
export function randomBelow(n: number): number {
  return randomU32() % n;
}
