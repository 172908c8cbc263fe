/**
 * Budget: a cap on packet bytes outstanding across pools, with backpressure for readers
 * (DESIGN.md, "Packet memory", point 6; wireguard-go's WaitPool had a maximum).
 *
 * What is counted: bytes handed out as buffers and not yet released. A TieredPool reserves the full
 * chunk size of its tier on each get and frees it on release (not slab bytes per slab): backpressure
 * has to follow what readers hold, and a cached free chunk must not block a reader. Reserved memory
 * is then bounded too: a tier carves a new slab only when every chunk it has is out, so its slabs
 * never exceed ceil(peak outstanding chunks / chunks per slab), plus idle slabs until trim().
 *
 * Nothing blocks and there are no timers. A refused reservation pauses the budget; readers check
 * `paused` (or see get() return null), stop reading, and are called back through onResume() once
 * outstanding bytes fall below resumeFraction x limit. The gap between the limit and the resume
 * point is hysteresis: one release does not flip a reader back and forth.
 *
 * Not safe for use from more than one thread; the event loop is the only user.
 */

import { BUDGET_RESUME_FRACTION } from './constants.js';

export interface BudgetOptions {
  /** Resume once outstanding < resumeFraction x limit; in [0, 1], default 0.75. */
  resumeFraction?: number;
}

const NO_LISTENERS: readonly (() => void)[] = Object.freeze([]);

export class Budget {
  private readonly limitBytes: number;
  private readonly resumeBelow: number;
  private used: number;
  private isPaused: boolean;
  private refusedCount: number;
  private resumeCount: number;
  /** Copy-on-write: onResume/offResume replace the array, so firing can walk it safely. */
  private listeners: readonly (() => void)[];

  /**
   * @param limitBytes cap on bytes outstanding: a non-negative integer, or Infinity for no cap.
   * @throws RangeError when limitBytes or resumeFraction is out of range.
   */
  constructor(limitBytes: number, options?: BudgetOptions) {
    if (!(limitBytes >= 0) || (!Number.isInteger(limitBytes) && limitBytes !== Infinity)) {
      throw new RangeError(`Budget: limitBytes must be a non-negative integer or Infinity, got ${limitBytes}`);
    }
    const fraction = options?.resumeFraction ?? BUDGET_RESUME_FRACTION;
    if (!(fraction >= 0 && fraction <= 1)) {
      throw new RangeError(`Budget: resumeFraction must be in [0, 1], got ${fraction}`);
    }
    this.limitBytes = limitBytes;
    this.resumeBelow = limitBytes * fraction;
    this.used = 0;
    this.isPaused = false;
    this.refusedCount = 0;
    this.resumeCount = 0;
    this.listeners = NO_LISTENERS;
  }

  /** The cap, in bytes. */
  get limit(): number {
    return this.limitBytes;
  }

  /** Bytes reserved and not yet freed. */
  get outstanding(): number {
    return this.used;
  }

  /** Bytes that may still be reserved. */
  get available(): number {
    return this.limitBytes - this.used;
  }

  /** True when no byte is left: outstanding has reached the limit. */
  get exhausted(): boolean {
    return this.used >= this.limitBytes;
  }

  /**
   * True from a refused reservation until outstanding falls below the resume point. Readers stop
   * reading while paused. A reservation that fits is still granted while paused.
   */
  get paused(): boolean {
    return this.isPaused;
  }

  /** Reservations refused so far. */
  get refusals(): number {
    return this.refusedCount;
  }

  /** Times the resume listeners have been called. */
  get resumes(): number {
    return this.resumeCount;
  }

  /**
   * Reserve `bytes` (a non-negative integer) if they fit under the limit. A refusal pauses the budget,
   * except for a request larger than the whole limit: it can never fit and nothing would resume it.
   */
  tryReserve(bytes: number): boolean {
    const next = this.used + bytes;
    if (next <= this.limitBytes) {
      this.used = next;
      return true;
    }
    this.refusedCount++;
    if (bytes <= this.limitBytes) this.isPaused = true;
    return false;
  }

  /**
   * Give back `bytes` from an earlier tryReserve. Calls the resume listeners, synchronously and once,
   * when this crosses below the resume point while paused. Listeners may reserve again from inside.
   * @throws RangeError when more is freed than is outstanding (a double free).
   */
  free(bytes: number): void {
    const next = this.used - bytes;
    if (next < 0) {
      throw new RangeError(`Budget: freed ${bytes} bytes with only ${this.used} outstanding`);
    }
    this.used = next;
    if (this.isPaused && next < this.resumeBelow) this.resume();
  }

  /**
   * Call `cb` on each resume, synchronously inside the free() (so inside a buffer's release()) that
   * crossed the resume point. Install once per reader, not per packet. A listener must not throw: the
   * exception would surface from that release() and skip the listeners after it.
   */
  onResume(cb: () => void): void {
    const old = this.listeners;
    const list = new Array<() => void>(old.length + 1);
    for (let i = 0; i < old.length; i++) list[i] = old[i]!;
    list[old.length] = cb;
    this.listeners = list;
  }

  /** Remove a callback installed with onResume; no-op when absent. */
  offResume(cb: () => void): void {
    const old = this.listeners;
    const at = old.indexOf(cb);
    if (at < 0) return;
    const list: (() => void)[] = [];
    for (let i = 0; i < old.length; i++) if (i !== at) list.push(old[i]!);
    this.listeners = list.length === 0 ? NO_LISTENERS : list;
  }

  private resume(): void {
    this.isPaused = false;
    this.resumeCount++;
    const list = this.listeners;
    for (let i = 0; i < list.length; i++) list[i]!();
  }
}
