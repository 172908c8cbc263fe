/**
 * One timer wheel for the whole netstack (DESIGN.md "The netstack": timers are one wheel, not one Node
 * timer per connection). Every TCP connection's retransmission, delayed-ACK and keepalive timers, the
 * TIME-WAIT and SYN-RECEIVED timeouts and the IP layer's reassembly timeouts are entries here; the
 * wheel keeps exactly one task scheduled on the injected Clock, for the earliest occupied bucket, so a
 * FakeClock steps it in tests.
 *
 * Shape: a hierarchical wheel without cascading, as Linux's kernel/time/timer.c (2016 rework) lays it
 * out. LEVELS levels of SLOTS slots; level l buckets 8^l ticks together. An entry goes to the finest
 * level whose 64 buckets reach its deadline, rounded UP to that level's granularity, so it never fires
 * early and fires at most 1/8 of its delay late (a 200 ms RTO lands in 8 ms buckets, a 2 h keepalive
 * in 4.4 min ones). Entries never move between levels: a bucket's entries all fire when the wheel
 * reaches it.
 *
 * Hot-path costs: arm() to a LATER deadline than the bucket an entry sits in only writes the deadline
 * (the bucket fires, sees the later deadline and files the entry again), which makes the per-ACK
 * restart of a retransmission timer one store. arm() to an earlier deadline is an O(1) unlink and
 * link; it touches the Clock only when the new bucket is earlier than the scheduled wake-up. cancel()
 * is an O(1) unlink and never touches the Clock (a wake-up that finds nothing due costs one scan of the
 * occupancy bitmaps). Entries are intrusive (WheelTimer holds its own links): nothing is allocated per
 * arm or per expiry.
 *
 * Not for concurrent use: one event loop owns a wheel.
 */
import type { Clock } from '../base/clock.js';

/** 1 ms: the finest granularity. Node's own timers resolve 1 ms; TCP's finest timer (RACK's reorder
 * window on a sub-millisecond path) rounds up to it, which RFC 8985 §6.2 allows (timer granularity). */
export const WHEEL_TICK_MS = 1;
/** 64 slots a level: two 32-bit occupancy words. */
const SLOT_BITS = 6;
const SLOTS = 1 << SLOT_BITS;
/** Each level is 8x coarser than the one below it (Linux's LVL_CLK_SHIFT); shifts stay under 31, so `1 << shift` is exact. */
const LEVEL_SHIFT = 3;
/** 8 levels reach 64 * 8^7 ms = 37 hours; a later deadline is filed at the top and re-filed when reached. */
const LEVELS = 8;
const MAX_DELTA_TICKS = SLOTS * 8 ** (LEVELS - 1) - 1;

/** An entry of the wheel: created once per timer (per connection), armed and cancelled many times. */
export class WheelTimer {
  /** Absolute deadline in Clock milliseconds; meaningful while armed. */
  deadline: number;
  /** True between arm() and expiry or cancel(). */
  armed: boolean;
  /** The wheel's bookkeeping: the bucket (absolute tick) and slot this entry is linked into, or -1. */
  bucketTick: number;
  slot: number;
  prev: WheelTimer | null;
  next: WheelTimer | null;
  readonly fn: () => void;

  /** `fn` runs when the timer expires (once per arm), on the wheel's Clock callback. */
  constructor(fn: () => void) {
    this.deadline = 0;
    this.armed = false;
    this.bucketTick = 0;
    this.slot = -1;
    this.prev = null;
    this.next = null;
    this.fn = fn;
  }
}

export class TimerWheel {
  private readonly clock: Clock;
  /** Heads of the SLOTS * LEVELS doubly linked bucket lists. */
  private readonly heads: (WheelTimer | null)[];
  /** Occupancy: two 32-bit words per level. */
  private readonly occupied: Uint32Array;
  /** Every bucket up to and including this tick has been collected. */
  private clk: number;
  private handle: unknown;
  /** Absolute tick the Clock task is set for; Infinity when none is scheduled. */
  private wakeTick: number;
  private count: number;
  private running: boolean;
  private readonly wakeFn: () => void;
  /** Entries collected from a bucket, fired after the bucket's list is detached (intrusive list). */
  private dueHead: WheelTimer | null;

  constructor(clock: Clock) {
    this.clock = clock;
    this.heads = new Array<WheelTimer | null>(SLOTS * LEVELS).fill(null);
    this.occupied = new Uint32Array(2 * LEVELS);
    this.clk = Math.floor(clock.now() / WHEEL_TICK_MS);
    this.handle = null;
    this.wakeTick = Infinity;
    this.count = 0;
    this.running = false;
    this.wakeFn = () => {
      this.handle = null;
      this.wakeTick = Infinity;
      this.run();
    };
    this.dueHead = null;
  }

  /** Armed entries (those linked in a bucket plus those collected and about to fire). */
  get pending(): number {
    return this.count;
  }

  /** The Clock this wheel runs on (its users read time from it too). */
  now(): number {
    return this.clock.now();
  }

  /** Arm (or re-arm) `t` to fire `delayMs` from now. */
  arm(t: WheelTimer, delayMs: number): void {
    this.armAt(t, this.clock.now() + (delayMs > 0 ? delayMs : 0));
  }

  /** Arm (or re-arm) `t` to fire at the absolute Clock time `deadline`. */
  armAt(t: WheelTimer, deadline: number): void {
    // Bring clk up to now while nothing is due before now (wakeTick never lies after an occupied
    // bucket), so an idle wheel files new entries relative to the present, not to its last run.
    if (!this.running) {
      const nowTick = Math.floor(this.clock.now() / WHEEL_TICK_MS);
      if (nowTick > this.clk && nowTick < this.wakeTick) this.clk = nowTick;
    }
    if (!t.armed) this.count++;
    t.armed = true;
    t.deadline = deadline;
    // Lazy re-arm: a later deadline than the bucket the entry waits in only moves the deadline.
    if (t.slot >= 0 && t.bucketTick * WHEEL_TICK_MS <= deadline) return;
    if (t.slot >= 0) this.unlink(t);
    // Collected entries (slot -1, in the due list) are filed again by run() when their turn comes.
    if (this.isDue(t)) return;
    this.file(t);
  }

  /** Disarm `t`; harmless if it is not armed. */
  cancel(t: WheelTimer): void {
    if (!t.armed) return;
    t.armed = false;
    this.count--;
    if (t.slot >= 0) this.unlink(t);
  }

  /** Cancel every entry and the Clock task (the stack is closing). */
  close(): void {
    for (let s = 0; s < this.heads.length; s++) {
      let t = this.heads[s]!;
      while (t !== null) {
        const n: WheelTimer | null = t.next;
        t.armed = false;
        t.slot = -1;
        t.prev = t.next = null;
        t = n!;
      }
      this.heads[s] = null;
    }
    this.occupied.fill(0);
    this.count = 0;
    if (this.handle !== null) this.clock.cancel(this.handle);
    this.handle = null;
    this.wakeTick = Infinity;
  }

  /**
   * Collect and fire every entry due by the Clock's now. Runs from the Clock task; a caller may also
   * run it (a FakeClock test that moved time without letting tasks run).
   */
  run(): void {
    if (this.running) return;
    this.running = true;
    const nowMs = this.clock.now();
    const target = Math.floor(nowMs / WHEEL_TICK_MS);
    for (;;) {
      const next = this.nextBucketTick();
      if (next > target) break;
      this.clk = next;
      this.collect(next);
      // Fire what the bucket held. An entry whose deadline moved later (lazy re-arm) is filed again.
      let t = this.dueHead;
      this.dueHead = null;
      while (t !== null) {
        const n: WheelTimer | null = t.next;
        t.next = t.prev = null;
        if (t.armed) {
          if (t.deadline > nowMs) {
            this.file(t);
          } else {
            t.armed = false;
            this.count--;
            t.fn();
          }
        }
        t = n;
      }
    }
    if (target > this.clk) this.clk = target;
    this.running = false;
    this.schedule();
  }

  private isDue(t: WheelTimer): boolean {
    // An entry in the due list being walked by run(): not in a slot but still linked there.
    return this.running && t.slot < 0 && (t.prev !== null || t.next !== null || this.dueHead === t);
  }

  /** Link `t` into the bucket its deadline maps to, and make sure the Clock wakes for it. */
  private file(t: WheelTimer): void {
    let expiry = Math.ceil(t.deadline / WHEEL_TICK_MS);
    if (expiry <= this.clk) expiry = this.clk + 1;
    if (expiry - this.clk > MAX_DELTA_TICKS) expiry = this.clk + MAX_DELTA_TICKS;
    let level = 0;
    let bucket = expiry;
    for (; level < LEVELS - 1; level++) {
      const shift = LEVEL_SHIFT * level;
      // Round up to the level's granularity; the bucket must lie within the next SLOTS - 1 positions
      // of this level (so it is reached before its slot index comes round again).
      bucket = Math.ceil(expiry / (1 << shift));
      if (bucket - Math.floor(this.clk / (1 << shift)) < SLOTS) break;
    }
    if (level === LEVELS - 1) bucket = Math.ceil(expiry / (1 << (LEVEL_SHIFT * level)));
    const slot = (level << SLOT_BITS) | (bucket & (SLOTS - 1));
    t.bucketTick = bucket * (1 << (LEVEL_SHIFT * level));
    t.slot = slot;
    t.prev = null;
    const head = this.heads[slot]!;
    t.next = head;
    if (head !== null) head.prev = t;
    this.heads[slot] = t;
    this.occupied[slot >>> 5]! |= 1 << (slot & 31);
    if (t.bucketTick < this.wakeTick && !this.running) this.schedule();
  }

  private unlink(t: WheelTimer): void {
    const slot = t.slot;
    if (t.prev !== null) t.prev.next = t.next;
    else this.heads[slot] = t.next;
    if (t.next !== null) t.next.prev = t.prev;
    if (this.heads[slot] === null) this.occupied[slot >>> 5]! &= ~(1 << (slot & 31));
    t.prev = t.next = null;
    t.slot = -1;
  }

  /** Move every bucket that falls due at `tick` to the due list. */
  private collect(tick: number): void {
    for (let level = 0; level < LEVELS; level++) {
      const shift = LEVEL_SHIFT * level;
      const g = 1 << shift;
      if (tick % g !== 0) break;
      const slot = (level << SLOT_BITS) | ((tick / g) & (SLOTS - 1));
      let t = this.heads[slot]!;
      if (t === null) continue;
      this.heads[slot] = null;
      this.occupied[slot >>> 5]! &= ~(1 << (slot & 31));
      while (t !== null) {
        const n: WheelTimer | null = t.next;
        t.slot = -1;
        t.prev = null;
        t.next = this.dueHead;
        if (this.dueHead !== null) this.dueHead.prev = t;
        this.dueHead = t;
        t = n!;
      }
    }
  }

  /** The earliest tick > clk at which some occupied bucket falls due; Infinity when empty. */
  private nextBucketTick(): number {
    let best = Infinity;
    for (let level = 0; level < LEVELS; level++) {
      const lo = this.occupied[2 * level]!;
      const hi = this.occupied[2 * level + 1]!;
      if (lo === 0 && hi === 0) continue;
      const g = 1 << (LEVEL_SHIFT * level);
      const pos = Math.floor(this.clk / g);
      // First occupied slot after pos, in slot order starting at pos + 1, wrapping.
      for (let k = 1; k <= SLOTS; k++) {
        const idx = (pos + k) & (SLOTS - 1);
        const word = idx < 32 ? lo : hi;
        if ((word & (1 << (idx & 31))) !== 0) {
          const tick = (pos + k) * g;
          if (tick < best) best = tick;
          break;
        }
      }
    }
    return best;
  }

  /** Keep exactly one Clock task, set for the earliest occupied bucket. */
  private schedule(): void {
    const next = this.nextBucketTick();
    if (next === this.wakeTick) return;
    if (this.handle !== null) {
      // A later wake-up than the one set is harmless (it finds nothing and re-schedules): keep it.
      if (next > this.wakeTick) return;
      this.clock.cancel(this.handle);
      this.handle = null;
    }
    this.wakeTick = next;
    if (next === Infinity) return;
    this.handle = this.clock.schedule(this.wakeFn, next * WHEEL_TICK_MS - this.clock.now());
  }
}
