/**
 * Out-of-order data held past a hole (RFC 9293 §3.10.7.4 "seventh": segments beyond RCV.NXT are kept
 * for later delivery), as a sorted set of sequence ranges, and the SACK blocks that report them
 * (RFC 2018 §4: the first block holds the most recently received segment, the next ones repeat the
 * most recently reported other ranges).
 *
 * The bytes themselves live in the receive buffer; this only knows which ranges are there. At most
 * MAX_OOO_RANGES ranges: a segment that would need one more is refused (and the peer retransmits it),
 * so a peer that scatters single bytes across the window costs bounded bookkeeping.
 */
import { MAX_OOO_RANGES } from './constants.js';

/** Ranges remembered as recently received, for the SACK block order. */
const RECENT = 4;
/** The tables of a connection with nothing out of order: none (allocated at the first hole). */
const NONE = new Int32Array(0);

export class Reassembly {
  /** Sorted, disjoint, non-adjacent ranges [start, end) (sequence numbers). */
  starts: Int32Array;
  ends: Int32Array;
  count: number;
  /** Sequence numbers of recently received out-of-order segments, most recent first. */
  private recent: Int32Array;
  private recentCount: number;

  constructor() {
    this.starts = NONE;
    this.ends = NONE;
    this.count = 0;
    this.recent = NONE;
    this.recentCount = 0;
  }

  /** Bytes held out of order. */
  get bytes(): number {
    let n = 0;
    for (let i = 0; i < this.count; i++) n += (this.ends[i]! - this.starts[i]!) >>> 0;
    return n;
  }

  /** The highest sequence number held (the end of the last range), or `fallback` when empty. */
  highest(fallback: number): number {
    return this.count === 0 ? fallback : this.ends[this.count - 1]!;
  }

  /**
   * Add [start, end) received past `base` (RCV.NXT); false (and nothing changed) when it would need
   * more ranges than the table holds.
   */
  add(start: number, end: number, base: number): boolean {
    if (this.starts.length === 0) {
      this.starts = new Int32Array(MAX_OOO_RANGES);
      this.ends = new Int32Array(MAX_OOO_RANGES);
      this.recent = new Int32Array(RECENT);
    }
    const segStart = start;
    const s = (start - base) >>> 0;
    const e = (end - base) >>> 0;
    // First range whose end reaches start (touching merges) and last range whose start <= end.
    let i = 0;
    while (i < this.count && ((this.ends[i]! - base) >>> 0) < s) i++;
    let j = i;
    while (j < this.count && ((this.starts[j]! - base) >>> 0) <= e) j++;
    // Ranges i..j-1 overlap or touch [s, e): they merge into one.
    if (i === j) {
      if (this.count === MAX_OOO_RANGES) return false;
      this.starts.copyWithin(i + 1, i, this.count);
      this.ends.copyWithin(i + 1, i, this.count);
      this.starts[i] = start;
      this.ends[i] = end;
      this.count++;
    } else {
      if (((this.starts[i]! - base) >>> 0) < s) start = this.starts[i]!;
      if (((this.ends[j - 1]! - base) >>> 0) > e) end = this.ends[j - 1]!;
      this.starts[i] = start;
      this.ends[i] = end;
      const gone = j - i - 1;
      if (gone > 0) {
        this.starts.copyWithin(i + 1, j, this.count);
        this.ends.copyWithin(i + 1, j, this.count);
        this.count -= gone;
      }
    }
    this.touch(segStart);
    return true;
  }

  /**
   * RCV.NXT reached `base`: if the first range starts at or before it, remove that range and return
   * its end (the new RCV.NXT); otherwise return `base`.
   */
  advance(base: number): number {
    if (this.count === 0 || ((this.starts[0]! - base) | 0) > 0) return base;
    const end = this.ends[0]!;
    this.starts.copyWithin(0, 1, this.count);
    this.ends.copyWithin(0, 1, this.count);
    this.count--;
    return ((end - base) | 0) > 0 ? end : base;
  }

  /** Is [start, end) wholly held already (a duplicate out-of-order segment)? */
  holds(start: number, end: number): boolean {
    for (let i = 0; i < this.count; i++) {
      if (((start - this.starts[i]!) | 0) >= 0 && ((end - this.ends[i]!) | 0) <= 0) return true;
    }
    return false;
  }

  /**
   * Write up to `max` SACK blocks (pairs) into out[at...], RFC 2018 §4 order: the range holding the most
   * recent segment first, then other recently reported ranges, then the rest from the highest down.
   * Returns the number of blocks written.
   */
  sackBlocks(out: Int32Array, at: number, max: number): number {
    let n = 0;
    for (let r = 0; r < this.recentCount && n < max; r++) {
      const i = this.find(this.recent[r]!);
      if (i < 0 || this.written(out, at, n, i)) continue;
      out[at + 2 * n] = this.starts[i]!;
      out[at + 2 * n + 1] = this.ends[i]!;
      n++;
    }
    for (let i = this.count - 1; i >= 0 && n < max; i--) {
      if (this.written(out, at, n, i)) continue;
      out[at + 2 * n] = this.starts[i]!;
      out[at + 2 * n + 1] = this.ends[i]!;
      n++;
    }
    return n;
  }

  /** Forget every range and give the tables back (the connection idled or closed). */
  clear(): void {
    this.count = 0;
    this.recentCount = 0;
    this.starts = this.ends = this.recent = NONE;
  }

  private written(out: Int32Array, at: number, n: number, i: number): boolean {
    for (let k = 0; k < n; k++) if (out[at + 2 * k] === this.starts[i]) return true;
    return false;
  }

  /** Index of the range holding `seq`, or -1. */
  private find(seq: number): number {
    for (let i = 0; i < this.count; i++) {
      if (((seq - this.starts[i]!) | 0) >= 0 && ((seq - this.ends[i]!) | 0) < 0) return i;
    }
    return -1;
  }

  /** Put `seq` first in the recent list, dropping an entry that points into the same range. */
  private touch(seq: number): void {
    const range = this.find(seq);
    let k = 0;
    while (k < this.recentCount && this.find(this.recent[k]!) !== range) k++;
    if (k === this.recentCount) {
      if (this.recentCount < RECENT) this.recentCount++;
      k = this.recentCount - 1;
    }
    this.recent.copyWithin(1, 0, k);
    this.recent[0] = seq;
  }
}
