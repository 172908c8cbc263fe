/**
 * Per-source token bucket for handshake messages under load: the paper's 5.4.7 "Under Load: Cookie
 * Reply Message" asks that a responder under load also rate-limit handshake work per source address.
 * The numbers and shape follow the kernel's ratelimiter.c and wireguard-go's ratelimiter package:
 * 20 packets per second per source, bursts of 5, IPv4 sources keyed by the whole address and IPv6
 * sources by their /64 (one host usually owns a whole /64, so finer keys would let it rotate addresses
 * around the limit). Entries idle for more than a second are dropped by collectGarbage().
 *
 * Time comes from an injected clock in milliseconds, so tests step it instead of sleeping. Not safe for
 * concurrent use; there are no timers unless startGc() is called.
 */

/** From the kernel and wireguard-go: sustained handshake rate per source. */
export const RATELIMIT_PACKETS_PER_SECOND = 20;
/** From the kernel and wireguard-go: packets a quiet source may send back to back. */
export const RATELIMIT_PACKETS_BURSTABLE = 5;
/** An entry idle longer than this holds a full bucket, so it is the same as no entry and may go. */
export const RATELIMIT_GC_IDLE_MS = 1000;
/**
 * Our choice: the most sources tracked at once. The kernel sizes its table from RAM and caps it at
 * 8192 buckets of 8 entries; this is that cap. A new source past it is refused, as in the kernel: a
 * flood of spoofed sources must not grow memory without bound.
 */
export const RATELIMIT_MAX_ENTRIES = 8192 * 8;

/** Tokens are measured in milliseconds of waiting; one packet costs one period of the rate. */
const PACKET_COST_MS = 1000 / RATELIMIT_PACKETS_PER_SECOND;
const TOKEN_MAX_MS = PACKET_COST_MS * RATELIMIT_PACKETS_BURSTABLE;

class Bucket {
  tokens: number;
  lastTime: number;
  constructor(tokens: number, lastTime: number) {
    this.tokens = tokens;
    this.lastTime = lastTime;
  }
}

function defaultClock(): number {
  return performance.now();
}

export class RateLimiter {
  private readonly clock: () => number;
  private readonly maxEntries: number;
  /** IPv4 sources, keyed by the address as a uint32. */
  private readonly v4: Map<number, Bucket>;
  /**
   * IPv6 sources, keyed by the /64 as two uint32 halves in nested maps. A 64-bit key does not fit a
   * JS number exactly and a string or BigInt key would allocate on every call; the nested maps are
   * exact and allocate only when a source is new.
   */
  private readonly v6: Map<number, Map<number, Bucket>>;
  private count: number;
  private gcTimer: ReturnType<typeof setInterval> | null;

  /**
   * @param clock milliseconds from any fixed origin, never going backwards (default performance.now)
   * @param maxEntries sources tracked at once before new ones are refused
   */
  constructor(clock: () => number = defaultClock, maxEntries: number = RATELIMIT_MAX_ENTRIES) {
    if (!Number.isInteger(maxEntries) || maxEntries < 1) {
      throw new RangeError(`maxEntries must be a positive integer, got ${maxEntries}`);
    }
    this.clock = clock;
    this.maxEntries = maxEntries;
    this.v4 = new Map();
    this.v6 = new Map();
    this.count = 0;
    this.gcTimer = null;
  }

  /** Sources currently tracked. */
  get size(): number {
    return this.count;
  }

  /**
   * Whether one more handshake message from this source may be processed now; spends a token if so.
   * The source address is read from `ip` at `offset` (4 bytes for family 4, the first 8 of 16 for 6),
   * so a caller can pass the packet's own bytes. Allocates only for a source not seen before.
   */
  allow(ip: Uint8Array, offset: number, family: 4 | 6): boolean {
    const now = this.clock();
    const hi = ((ip[offset] << 24) | (ip[offset + 1] << 16) | (ip[offset + 2] << 8) | ip[offset + 3]) >>> 0;
    let bucket: Bucket | undefined;
    let inner: Map<number, Bucket> | undefined;
    let lo = 0;
    if (family === 4) {
      bucket = this.v4.get(hi);
    } else {
      lo = ((ip[offset + 4] << 24) | (ip[offset + 5] << 16) | (ip[offset + 6] << 8) | ip[offset + 7]) >>> 0;
      inner = this.v6.get(hi);
      if (inner !== undefined) bucket = inner.get(lo);
    }

    if (bucket === undefined) {
      if (this.count >= this.maxEntries) return false;
      // A new source starts with a full bucket, less the packet it is sending now.
      bucket = new Bucket(TOKEN_MAX_MS - PACKET_COST_MS, now);
      if (family === 4) {
        this.v4.set(hi, bucket);
      } else {
        if (inner === undefined) {
          inner = new Map();
          this.v6.set(hi, inner);
        }
        inner.set(lo, bucket);
      }
      this.count++;
      return true;
    }

    const elapsed = now - bucket.lastTime;
    let tokens = bucket.tokens + (elapsed > 0 ? elapsed : 0);
    if (tokens > TOKEN_MAX_MS) tokens = TOKEN_MAX_MS;
    bucket.lastTime = now;
    // `>=` as in the kernel: a bucket holding exactly one packet's worth may send it.
    if (tokens >= PACKET_COST_MS) {
      bucket.tokens = tokens - PACKET_COST_MS;
      return true;
    }
    bucket.tokens = tokens;
    return false;
  }

  /** Drop sources idle for more than RATELIMIT_GC_IDLE_MS. The owner calls this about once a second. */
  collectGarbage(): void {
    const now = this.clock();
    // Deleting the entry being visited is allowed during Map iteration.
    for (const [key, bucket] of this.v4) {
      if (now - bucket.lastTime > RATELIMIT_GC_IDLE_MS) {
        this.v4.delete(key);
        this.count--;
      }
    }
    for (const [hi, inner] of this.v6) {
      for (const [lo, bucket] of inner) {
        if (now - bucket.lastTime > RATELIMIT_GC_IDLE_MS) {
          inner.delete(lo);
          this.count--;
        }
      }
      if (inner.size === 0) this.v6.delete(hi);
    }
  }

  /**
   * Run collectGarbage every `intervalMs` on an unref'd timer, so it never keeps the process alive.
   * Replaces a timer started earlier; close() stops it.
   */
  startGc(intervalMs: number = RATELIMIT_GC_IDLE_MS): void {
    if (!(intervalMs > 0)) throw new RangeError(`intervalMs must be positive, got ${intervalMs}`);
    this.stopGc();
    const timer = setInterval(() => this.collectGarbage(), intervalMs);
    timer.unref();
    this.gcTimer = timer;
  }

  /** Stop the timer from startGc() and forget every source. The limiter may be used again after. */
  close(): void {
    this.stopGc();
    this.v4.clear();
    this.v6.clear();
    this.count = 0;
  }

  private stopGc(): void {
    if (this.gcTimer !== null) {
      clearInterval(this.gcTimer);
      this.gcTimer = null;
    }
  }
}
