/**
 * The sender's record of every segment in flight (SND.UNA to SND.NXT): its sequence range, when it
 * was last sent, and what the receiver and loss detection said of it. This is the SACK scoreboard
 * of RFC 6675 §3 kept per segment (as Linux tags each skb), so RACK (RFC 8985 §6) has the send time
 * of each segment and RFC 6675's pipe is a sum of counters:
 *
 *   inflight = out - sacked - lost + retransmitted      (RFC 6675 §4 SetPipe; Linux's packets_in_flight)
 *
 * out counts every byte recorded; sacked the SACKed ones; lost the ones marked lost (by RACK, the
 * DupThresh rule, NewReno's dup ACKs or an RTO); retransmitted the lost ones sent again and not yet
 * SACKed, ACKed or marked lost again.
 *
 * Storage: parallel typed arrays in a ring, in sequence order, grown by doubling (bounded by the send
 * buffer over the MSS); no object per segment. A record's boundaries are fixed when it is first sent;
 * SACK blocks that cover part of a record leave it unSACKed (a receiver reports whole segments), and a
 * smaller MSS after a Packet Too Big splits records when they are retransmitted.
 */
import { seqGe, seqGt, seqLe, seqLt } from './seq.js';

/** Record flags. */
export const SACKED = 1;
export const LOST = 2;
/** Retransmitted and counted in `retransmitted` (cleared when SACKed, ACKed or marked lost again). */
export const RETRANS = 4;
/** Ever sent more than once: its ACK is ambiguous for RTT (Karn, RFC 6298 §3). */
export const EVER_RETRANS = 8;
/** The record carries the SYN or the FIN (one sequence number each). */
export const SYN_FLAG = 16;
export const FIN_FLAG = 32;
/** Sent while the sender was application-limited (delivery-rate.ts). */
export const APP_LIMITED = 64;

const INITIAL_CAPACITY = 16;
/** What an idle connection's rings are: nothing (allocated at the first send, given back at idle). */
const NO_I32 = new Int32Array(0);
const NO_F64 = new Float64Array(0);
const NO_U8 = new Uint8Array(0);

/** What a delivered record tells RACK (rack.ts implements it). */
export interface DeliveryObserver {
  /**
   * The record at ring index p of `r` was newly ACKed or SACKed (called before its flags change).
   * Index, not values: a send time passed as an argument would be a boxed double per segment.
   */
  delivered(r: SentRecords, p: number): void;
}

export class SentRecords {
  seq: Int32Array = NO_I32;
  len: Int32Array = NO_I32;
  xmit: Float64Array = NO_F64;
  flags: Uint8Array = NO_U8;
  /** Delivery-rate stamps taken when the record was last sent (delivery-rate.ts). */
  dlv: Float64Array = NO_F64;
  dlvTime: Float64Array = NO_F64;
  firstSent: Float64Array = NO_F64;
  /** Ring position of the first record; `count` records from there. */
  head: number;
  count: number;
  private mask: number;
  /** Counters in sequence-space bytes (see the file comment). */
  out: number;
  sacked: number;
  lost: number;
  retransmitted: number;
  /** SACKed records (RFC 6675's DupThresh counts segments). */
  sackedSegments: number;
  /** Records marked lost and not yet retransmitted: the RFC 6675 NextSeg rule 1 candidates. */
  lostPending: number;
  /** The highest sequence SACKed or ACKed (RACK.fack, RFC 8985 §6.2 step 3). */
  fack: number;

  constructor() {
    this.head = 0;
    this.count = 0;
    this.mask = 0;
    this.out = 0;
    this.sacked = 0;
    this.lost = 0;
    this.retransmitted = 0;
    this.sackedSegments = 0;
    this.lostPending = 0;
    this.fack = 0;
  }

  /** RFC 6675 §4 pipe. */
  get inflight(): number {
    return this.out - this.sacked - this.lost + this.retransmitted;
  }

  /** Ring index of the i-th record (0 = oldest). */
  at(i: number): number {
    return (this.head + i) & this.mask;
  }

  /** End sequence of the record at ring index p. */
  end(p: number): number {
    return (this.seq[p]! + this.len[p]!) | 0;
  }

  /** Record a first transmission of [seq, seq + len) at `now`; returns its ring index. */
  append(seq: number, len: number, now: number, flags: number): number {
    if (this.count === this.seq.length) this.grow();
    const p = (this.head + this.count) & this.mask;
    this.seq[p] = seq;
    this.len[p] = len;
    this.xmit[p] = now;
    this.flags[p] = flags;
    this.count++;
    this.out += len;
    return p;
  }

  /** Index (0 = oldest) of the record holding `seq`, or -1. */
  find(seq: number): number {
    let lo = 0;
    let hi = this.count - 1;
    while (lo <= hi) {
      const mid = (lo + hi) >>> 1;
      const p = this.at(mid);
      if (seqLt(seq, this.seq[p]!)) hi = mid - 1;
      else if (seqGe(seq, this.end(p))) lo = mid + 1;
      else return mid;
    }
    return -1;
  }

  /**
   * Remove what `ack` acknowledges cumulatively, telling `obs` of each record newly delivered (not
   * SACKed before). A record the ACK covers only in part is trimmed (its flags kept). Returns the
   * sequence-space bytes removed.
   */
  ackUpTo(ack: number, obs: DeliveryObserver): number {
    let removed = 0;
    while (this.count > 0) {
      const p = this.head;
      const s = this.seq[p]!;
      const e = this.end(p);
      if (seqLe(ack, s)) break;
      const f = this.flags[p]!;
      if (seqLt(ack, e)) {
        // Partial: trim the front; it stays in flight.
        const cut = (ack - s) >>> 0;
        this.seq[p] = ack;
        this.len[p] = this.len[p]! - cut;
        this.out -= cut;
        if (f & SACKED) this.sacked -= cut;
        if (f & LOST) this.lost -= cut;
        if (f & RETRANS) this.retransmitted -= cut;
        removed += cut;
        break;
      }
      const len = this.len[p]!;
      if ((f & SACKED) === 0) obs.delivered(this, p);
      this.drop(p, f, len);
      this.head = (this.head + 1) & this.mask;
      this.count--;
      removed += len;
    }
    if (seqGt(ack, this.fack)) this.fack = ack;
    return removed;
  }

  /**
   * Mark the records wholly inside the SACK block [left, right) as SACKed (RFC 2018 §4, RFC 6675
   * §4 Update()), telling `obs` of each. Returns the bytes newly SACKed.
   */
  sack(left: number, right: number, obs: DeliveryObserver): number {
    let i = this.count > 0 && seqLe(left, this.seq[this.head]!) ? 0 : this.find(left);
    if (i < 0) return 0;
    let newly = 0;
    for (; i < this.count; i++) {
      const p = this.at(i);
      const s = this.seq[p]!;
      const e = this.end(p);
      if (seqGe(s, right)) break;
      if (seqLt(s, left) || seqGt(e, right)) continue;
      const f = this.flags[p]!;
      if (f & SACKED) continue;
      obs.delivered(this, p);
      const len = this.len[p]!;
      if (f & LOST) {
        this.lost -= len;
        if ((f & RETRANS) === 0) this.lostPending--;
      }
      if (f & RETRANS) this.retransmitted -= len;
      this.flags[p] = (f | SACKED) & ~(LOST | RETRANS);
      this.sacked += len;
      this.sackedSegments++;
      newly += len;
      if (seqGt(e, this.fack)) this.fack = e;
    }
    return newly;
  }

  /** Mark the record at ring index p lost (RFC 6675 IsLost / RFC 8985 §6.2 RACK_mark_loss). */
  markLost(p: number): void {
    const f = this.flags[p]!;
    if (f & SACKED) return;
    if (f & LOST) {
      // A retransmission lost again: it goes back to waiting for its next retransmission.
      if (f & RETRANS) {
        this.retransmitted -= this.len[p]!;
        this.flags[p] = f & ~RETRANS;
        this.lostPending++;
      }
      return;
    }
    this.flags[p] = f | LOST;
    this.lost += this.len[p]!;
    this.lostPending++;
  }

  /** The record at ring index p was sent again at `now`. */
  onRetransmit(p: number, now: number): void {
    const f = this.flags[p]!;
    if ((f & LOST) !== 0 && (f & RETRANS) === 0) {
      this.retransmitted += this.len[p]!;
      this.lostPending--;
      this.flags[p] = f | RETRANS | EVER_RETRANS;
    } else {
      // A probe (TLP) resending a record not marked lost: it stays counted once in `out`.
      this.flags[p] = f | EVER_RETRANS;
    }
    this.xmit[p] = now;
  }

  /**
   * RFC 6298 §5 / RFC 6675 §5.1 after an RTO: every record not SACKed is lost, retransmissions
   * included. When `reneged` the receiver dropped data it had SACKed (RFC 2018 §8): forget SACKs too.
   */
  markAllLost(reneged: boolean): void {
    for (let i = 0; i < this.count; i++) {
      const p = this.at(i);
      let f = this.flags[p]!;
      if (reneged && (f & SACKED)) {
        f &= ~SACKED;
        this.sacked -= this.len[p]!;
        this.sackedSegments--;
      }
      if (f & SACKED) continue;
      if (f & RETRANS) {
        f &= ~RETRANS;
        this.retransmitted -= this.len[p]!;
        this.lostPending++;
      } else if ((f & LOST) === 0) {
        f |= LOST;
        this.lost += this.len[p]!;
        this.lostPending++;
      }
      this.flags[p] = f;
    }
  }

  /**
   * A spurious RTO was undone (recovery.ts): every record marked lost is in flight once again, its
   * retransmission (if any) counted as the one copy in flight.
   */
  unmarkLost(): void {
    for (let i = 0; i < this.count; i++) {
      const p = this.at(i);
      const f = this.flags[p]!;
      if ((f & LOST) === 0) continue;
      const len = this.len[p]!;
      this.lost -= len;
      if (f & RETRANS) this.retransmitted -= len;
      else this.lostPending--;
      this.flags[p] = f & ~(LOST | RETRANS);
    }
  }

  /**
   * Split the record at index i so its first part is `firstLen` long (a smaller MSS after Packet Too
   * Big). Both parts keep the flags (and are counted as before); the FIN/SYN stays with the second.
   */
  split(i: number, firstLen: number): void {
    if (this.count === this.seq.length) this.grow();
    // Shift records i+1.. up by one (rare: only on an MSS decrease).
    for (let k = this.count; k > i + 1; k--) {
      const to = this.at(k);
      const from = this.at(k - 1);
      this.seq[to] = this.seq[from]!;
      this.len[to] = this.len[from]!;
      this.xmit[to] = this.xmit[from]!;
      this.flags[to] = this.flags[from]!;
      this.dlv[to] = this.dlv[from]!;
      this.dlvTime[to] = this.dlvTime[from]!;
      this.firstSent[to] = this.firstSent[from]!;
    }
    const p = this.at(i);
    const q = this.at(i + 1);
    const f = this.flags[p]!;
    this.seq[q] = (this.seq[p]! + firstLen) | 0;
    this.len[q] = this.len[p]! - firstLen;
    this.xmit[q] = this.xmit[p]!;
    this.flags[q] = f;
    this.dlv[q] = this.dlv[p]!;
    this.dlvTime[q] = this.dlvTime[p]!;
    this.firstSent[q] = this.firstSent[p]!;
    this.len[p] = firstLen;
    this.flags[p] = f & ~(SYN_FLAG | FIN_FLAG);
    this.count++;
    if (f & SACKED) this.sackedSegments++;
    if ((f & LOST) !== 0 && (f & RETRANS) === 0) this.lostPending++;
  }

  /** Forget everything (connection closed). */
  clear(): void {
    this.head = 0;
    this.count = 0;
    this.out = this.sacked = this.lost = this.retransmitted = 0;
    this.sackedSegments = 0;
    this.lostPending = 0;
    this.shrink();
  }

  /**
   * Everything was acknowledged: give the ring back, so an idle connection holds no records (seven
   * typed arrays, ~2 KiB with their objects even at 16 records), not the thousands a bulk transfer
   * needed. The next send starts at 16 again.
   */
  shrink(): void {
    if (this.count !== 0 || this.seq.length === 0) return;
    this.seq = NO_I32;
    this.len = NO_I32;
    this.xmit = NO_F64;
    this.flags = NO_U8;
    this.dlv = NO_F64;
    this.dlvTime = NO_F64;
    this.firstSent = NO_F64;
    this.head = 0;
    this.mask = 0;
  }

  private drop(_p: number, f: number, len: number): void {
    this.out -= len;
    if (f & SACKED) {
      this.sacked -= len;
      this.sackedSegments--;
    }
    if (f & LOST) {
      this.lost -= len;
      if ((f & RETRANS) === 0) this.lostPending--;
    }
    if (f & RETRANS) this.retransmitted -= len;
  }

  private grow(): void {
    const cap = Math.max(INITIAL_CAPACITY, this.seq.length * 2);
    const seq = new Int32Array(cap);
    const len = new Int32Array(cap);
    const xmit = new Float64Array(cap);
    const flags = new Uint8Array(cap);
    const dlv = new Float64Array(cap);
    const dlvTime = new Float64Array(cap);
    const firstSent = new Float64Array(cap);
    for (let i = 0; i < this.count; i++) {
      const p = this.at(i);
      seq[i] = this.seq[p]!;
      len[i] = this.len[p]!;
      xmit[i] = this.xmit[p]!;
      flags[i] = this.flags[p]!;
      dlv[i] = this.dlv[p]!;
      dlvTime[i] = this.dlvTime[p]!;
      firstSent[i] = this.firstSent[p]!;
    }
    this.seq = seq;
    this.len = len;
    this.xmit = xmit;
    this.flags = flags;
    this.dlv = dlv;
    this.dlvTime = dlvTime;
    this.firstSent = firstSent;
    this.head = 0;
    this.mask = cap - 1;
  }
}
