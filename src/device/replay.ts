/**
 * Sliding-window replay filter for transport-message counters: RFC 6479 ("IPsec Anti-Replay Algorithm
 * without Bit Shifting"), as the WireGuard paper requires in 5.4.6 "Subsequent Messages: Transport Data
 * Messages" and 6.1 "Nonce Reuse and Replay". It is the same ring of bit words the kernel's
 * counter_validate and wireguard-go's replay.Filter use, with 32-bit words because that is the widest
 * integer a JS bit operation works on.
 *
 * Not safe for concurrent use (there is only one thread touching a keypair's filter). A fresh or reset
 * filter accepts counter 0 once.
 */

/** Bits in the ring: the kernel's COUNTER_BITS_TOTAL and wireguard-go's CounterBitsTotal. */
const COUNTER_BITS_TOTAL = 8192;
/** One ring word: a JS bitwise operation works on 32 bits. */
const WORD_BITS = 32;
const WORD_BITS_LOG2 = 5;
/** Words in the ring; a power of two so the ring index is a mask. */
const RING_WORDS = COUNTER_BITS_TOTAL / WORD_BITS;
/**
 * How far behind the highest counter seen a counter may still be accepted. One word of the ring is
 * given up (RFC 6479 §2, the "redundant" bits) so that moving the window forward clears whole words
 * and never shifts: the word holding the newest counter may be partly ahead of it.
 */
export const REPLAY_WINDOW_SIZE = COUNTER_BITS_TOTAL - WORD_BITS;

export class ReplayFilter {
  /** Highest counter accepted so far (0 when nothing has been, which still leaves 0 acceptable). */
  private last: number;
  private readonly ring: Uint32Array;

  constructor() {
    this.last = 0;
    this.ring = new Uint32Array(RING_WORDS);
  }

  /** Forget every counter seen, as for a new keypair. */
  reset(): void {
    this.last = 0;
    this.ring.fill(0);
  }

  /**
   * Accept `counter` once: false if it is at or past `limit` (6.2 "Transport Message Limits",
   * REJECT_AFTER_MESSAGES), already seen, or older than the window; otherwise it is marked as seen.
   *
   * `counter` and `limit` are non-negative integers below 2^53; the caller rejects a wire counter
   * whose high half would take it past that, which no keypair reaches before REJECT_AFTER_TIME.
   */
  validate(counter: number, limit: number): boolean {
    if (counter >= limit) return false;
    const last = this.last;
    if (counter > last) {
      // Move the window forward: clear every word between the old top word and the new one. The word
      // numbers can pass 2^32, so they are divided, not shifted; at most the whole ring is cleared.
      const oldWord = Math.floor(last / WORD_BITS);
      const newWord = Math.floor(counter / WORD_BITS);
      const ring = this.ring;
      let n = newWord - oldWord;
      if (n > RING_WORDS) n = RING_WORDS;
      for (let i = 1; i <= n; i++) ring[(oldWord + i) & (RING_WORDS - 1)] = 0;
      this.last = counter;
    } else if (last - counter > REPLAY_WINDOW_SIZE) {
      return false;
    }
    // `>>> 0` is exact modulo 2^32 for any integer below 2^53, and 2^32 is a multiple of the ring's
    // 8192 bits, so the low word gives the same ring slot and bit as the full counter would.
    const low = counter >>> 0;
    const slot = (low >>> WORD_BITS_LOG2) & (RING_WORDS - 1);
    const bit = 1 << (low & (WORD_BITS - 1));
    const word = this.ring[slot];
    if ((word & bit) !== 0) return false;
    this.ring[slot] = word | bit;
    return true;
  }
}
