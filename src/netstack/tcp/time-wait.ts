/**
 * TIME-WAIT as a compact record (RFC 9293 §3.3.2, §3.10.7.4). Once its user has let go, a connection
 * in TIME-WAIT only answers: it re-ACKs a retransmitted FIN (restarting the 2 MSL wait), ACKs
 * out-of-window segments, takes an RST at RCV.NXT as its end, and makes way for a new incarnation
 * (RFC 6191). That needs its 4-tuple, SND.NXT, RCV.NXT, the window it last advertised and its
 * timestamps, about 120 bytes with the table's links; the whole connection (sender, receiver,
 * scoreboard, congestion control, timers) is ~7 KiB of objects. The stack folds such a connection
 * into a row here and drops the object, as Linux replaces a socket by an inet_timewait_sock: 1,000
 * closed connections then cost ~120 KiB for their 60 s instead of ~7 MiB.
 *
 * Rows live in typed arrays (no object per record), chained into hash buckets by the same tuple hash
 * as the connection table, and on a list ordered by deadline: every wait is TIME_WAIT_MS long and a
 * restart moves its row to the tail, so the head is always the next to expire and one wheel timer
 * serves the table. The table is bounded (`max`, Linux's tcp_max_tw_buckets): past it the oldest row
 * goes early. Its arrays grow by doubling and are given back when it empties.
 */
import type { IpFamily, IpOutput } from '../transport.js';
import { WheelTimer, type TimerWheel } from '../timer-wheel.js';
import { ACK, FIN, OOW_ACK_INTERVAL_MS, RST, SYN, TIME_WAIT_MS } from './constants.js';
import { tupleHash } from './conn-table.js';
import type { Connection } from './connection.js';
import type { Segment } from './header.js';
import { sendSegment, type SegmentSource } from './output.js';
import { segmentAcceptable, seqGe, seqGt, seqLe, seqLt } from './seq.js';

const INITIAL_ROWS = 16;
const NONE = -1;
const ADDR = 16;

/** What the table needs from its stack. */
export interface TimeWaitHost {
  readonly ip: IpOutput;
  readonly wheel: TimerWheel;
  /** RFC 5961 §7: may one more challenge ACK go out now (stack-wide budget)? */
  challengeAllowed(now: number): boolean;
}

/**
 * RFC 6191 §2: a SYN to a tuple in TIME-WAIT opens a new incarnation when it is above the old one:
 * with timestamps a newer TSval than TS.Recent, without a sequence number above RCV.NXT. For a row
 * here and for a connection still in TIME-WAIT alike.
 */
export function newIncarnation(tsOk: boolean, tsRecent: number, rcvNxt: number, seg: Segment): boolean {
  if (tsOk && seg.hasTimestamp) return seqGt(seg.tsVal, tsRecent);
  return seqGt(seg.seq, rcvNxt);
}

/** An outgoing connection may take a tuple in TIME-WAIT once PAWS protects it (Linux's tcp_tw_reuse). */
export function reusableByConnect(tsOk: boolean, enteredAt: number, now: number): boolean {
  return tsOk && now - enteredAt >= 1000;
}

export class TimeWaitTable implements SegmentSource {
  /** Rows in use. */
  count: number;
  /** Rows closed early because the table was full. */
  evicted: number;
  private readonly host: TimeWaitHost;
  private readonly max: number;
  private readonly timer: WheelTimer;
  // Rows: struct of arrays, `cap` long.
  private cap: number;
  private fam!: Uint8Array;
  /** Local then remote address, ADDR bytes each (IPv4 in the first 4). */
  private addrs!: Uint8Array;
  private lport!: Uint16Array;
  private rport!: Uint16Array;
  private sndNxt!: Int32Array;
  private rcvNxt!: Int32Array;
  /** The window last advertised, in bytes (acceptability), and as the scaled header field. */
  private wnd!: Int32Array;
  private wndField!: Uint16Array;
  /** RFC 5961 §5.2: the largest window the peer offered (an ACK older than SND.UNA minus it is blind). */
  private maxWnd!: Int32Array;
  private tsOn!: Uint8Array;
  private tsOff!: Int32Array;
  private tsRecent!: Int32Array;
  private pseudo!: Float64Array;
  private entered!: Float64Array;
  private deadline!: Float64Array;
  private lastOow!: Float64Array;
  /** The tuple's hash (conn-table.ts's tupleHash), for its bucket at any table size. */
  private hash!: Uint32Array;
  // Links: hash chains, the deadline list, the free list (through hnext).
  private hnext!: Int32Array;
  private prev!: Int32Array;
  private next!: Int32Array;
  private buckets!: Int32Array;
  private head: number;
  private tail: number;
  private free: number;
  // The row a segment is being built for (SegmentSource), and views of its addresses.
  private cur: number;
  private readonly local4 = new Uint8Array(4);
  private readonly remote4 = new Uint8Array(4);
  private readonly local6 = new Uint8Array(ADDR);
  private readonly remote6 = new Uint8Array(ADDR);

  constructor(host: TimeWaitHost, max: number) {
    this.host = host;
    this.max = max;
    this.timer = new WheelTimer(() => this.expire());
    this.count = 0;
    this.evicted = 0;
    this.cap = 0;
    this.head = this.tail = this.free = NONE;
    this.cur = 0;
    this.reset(INITIAL_ROWS);
  }

  /**
   * Take over `c`, which is in TIME-WAIT with no user: its row starts a full 2 MSL (the connection's
   * own wait restarts with every retransmitted FIN, so it is at most that). The caller then closes `c`.
   */
  add(c: Connection, now: number): void {
    if (this.max <= 0) return;
    if (this.count >= this.max) {
      this.evicted++;
      this.remove(this.head);
    }
    if (this.free === NONE) this.grow();
    const i = this.free;
    this.free = this.hnext[i]!;
    this.fam[i] = c.family;
    this.addrs.fill(0, i * 2 * ADDR, (i + 1) * 2 * ADDR);
    this.addrs.set(c.local, i * 2 * ADDR);
    this.addrs.set(c.remote, i * 2 * ADDR + ADDR);
    this.lport[i] = c.localPort;
    this.rport[i] = c.remotePort;
    this.sndNxt[i] = c.snd.nxt;
    this.rcvNxt[i] = c.rcv.nxt;
    const wnd = (c.rcv.advRight - c.rcv.nxt) | 0;
    this.wnd[i] = wnd > 0 ? wnd : 0;
    this.wndField[i] = Math.min(0xffff, Math.floor(this.wnd[i]! / (1 << c.rcv.wscale)));
    this.maxWnd[i] = c.snd.maxWnd;
    this.tsOn[i] = c.tsOk ? 1 : 0;
    this.tsOff[i] = c.tsOffset;
    this.tsRecent[i] = c.tsRecent;
    this.pseudo[i] = c.pseudoBase;
    this.entered[i] = c.enteredTimeWaitAt;
    this.lastOow[i] = c.lastOowAck;
    this.hash[i] = tupleHash(c.local, c.localPort, c.remote, c.remotePort);
    this.link(i);
    this.count++;
    this.deadline[i] = now + TIME_WAIT_MS;
    this.append(i);
    if (this.head === i) this.host.wheel.armAt(this.timer, this.deadline[i]!);
  }

  /** The row of this 4-tuple, or -1. */
  find(family: IpFamily, local: Uint8Array, localPort: number, remote: Uint8Array, remotePort: number): number {
    if (this.count === 0) return NONE;
    for (let i = this.buckets[tupleHash(local, localPort, remote, remotePort) & (this.buckets.length - 1)]!; i !== NONE; i = this.hnext[i]!) {
      if (this.lport[i] === localPort && this.rport[i] === remotePort && this.fam[i] === family && this.sameAddr(i, 0, local) && this.sameAddr(i, ADDR, remote)) return i;
    }
    return NONE;
  }

  /** May a SYN open a new incarnation of row i's tuple (newIncarnation)? */
  reusableBySyn(i: number, seg: Segment): boolean {
    return newIncarnation(this.tsOn[i] !== 0, this.tsRecent[i]!, this.rcvNxt[i]!, seg);
  }

  /** May an outgoing connection take row i's tuple (reusableByConnect)? */
  reusableByConnect(i: number, now: number): boolean {
    return reusableByConnect(this.tsOn[i] !== 0, this.entered[i]!, now);
  }

  /** RFC 9293 §3.10.7.4 for a segment to a row, checked in the order the connection would check it. */
  arrives(i: number, seg: Segment, now: number): void {
    const flags = seg.flags;
    const rcvNxt = this.rcvNxt[i]!;
    const tsOn = this.tsOn[i] !== 0;
    // RFC 7323 §5.3 PAWS (TS.Recent cannot be stale within 2 MSL).
    if (tsOn && seg.hasTimestamp && (flags & RST) === 0 && seqLt(seg.tsVal, this.tsRecent[i]!)) {
      this.dupAck(i, seg, now);
      return;
    }
    const len = seg.seqLength;
    const seq = seg.seq;
    if (!segmentAcceptable(seq, len, rcvNxt, this.wnd[i]!)) {
      if (flags & RST) return;
      // The peer's FIN again (below RCV.NXT): our last ACK was lost. ACK it, restart the 2 MSL.
      if (flags & FIN) this.restart(i, now);
      if (flags & SYN) this.challengeAck(i, now);
      else this.dupAck(i, seg, now);
      return;
    }
    // RFC 5961 §3.2: an RST exactly at RCV.NXT ends the wait; elsewhere in the window, a challenge.
    if (flags & RST) {
      if (seq === rcvNxt) this.remove(i);
      else this.challengeAck(i, now);
      return;
    }
    if (flags & SYN) {
      this.challengeAck(i, now);
      return;
    }
    if ((flags & ACK) === 0) return;
    const sndNxt = this.sndNxt[i]!;
    if (seqGt(seg.ack, sndNxt)) {
      this.dupAck(i, seg, now);
      return;
    }
    if (seqLt(seg.ack, (sndNxt - this.maxWnd[i]!) | 0)) {
      this.challengeAck(i, now);
      return;
    }
    // RFC 7323 §4.3: TS.Recent from a segment covering the last ACK sent (RCV.NXT here).
    if (tsOn && seg.hasTimestamp && seqLe(seq, rcvNxt) && seqGe(seg.tsVal, this.tsRecent[i]!)) this.tsRecent[i] = seg.tsVal;
    if (len > 0) {
      this.restart(i, now);
      this.sendAck(i, now);
    }
  }

  /** Drop the row (a new incarnation takes the tuple). */
  remove(i: number): void {
    const b = this.hash[i]! & (this.buckets.length - 1);
    if (this.buckets[b] === i) {
      this.buckets[b] = this.hnext[i]!;
    } else {
      let p = this.buckets[b]!;
      while (this.hnext[p] !== i) p = this.hnext[p]!;
      this.hnext[p] = this.hnext[i]!;
    }
    const wasHead = this.head === i;
    this.unlink(i);
    this.hnext[i] = this.free;
    this.free = i;
    this.count--;
    if (this.count === 0) {
      this.host.wheel.cancel(this.timer);
      if (this.cap > INITIAL_ROWS) this.reset(INITIAL_ROWS);
    } else if (wasHead) {
      this.host.wheel.armAt(this.timer, this.deadline[this.head]!);
    }
  }

  /** Every row goes (the stack closes). */
  clear(): void {
    this.host.wheel.cancel(this.timer);
    this.count = 0;
    this.reset(INITIAL_ROWS);
  }

  // -------------------------------------------------------------------------------------------------
  // SegmentSource, for the row `cur`: an ACK with timestamps, no SACK (nothing is held out of order).

  get family(): IpFamily {
    return this.fam[this.cur] as IpFamily;
  }

  get local(): Uint8Array {
    return this.copyAddr(this.fam[this.cur] === 4 ? this.local4 : this.local6, 0);
  }

  get remote(): Uint8Array {
    return this.copyAddr(this.fam[this.cur] === 4 ? this.remote4 : this.remote6, ADDR);
  }

  get localPort(): number {
    return this.lport[this.cur]!;
  }

  get remotePort(): number {
    return this.rport[this.cur]!;
  }

  get pseudoBase(): number {
    return this.pseudo[this.cur]!;
  }

  get tsOk(): boolean {
    return this.tsOn[this.cur] !== 0;
  }

  readonly sackOk = false;
  readonly wsOk = false;
  readonly rcvWscale = 0;
  readonly advMss = 0;

  tsVal(now: number): number {
    return (Math.floor(now) + this.tsOff[this.cur]!) | 0;
  }

  get tsEcr(): number {
    return this.tsRecent[this.cur]!;
  }

  sackBlocks(_out: Int32Array, _max: number): number {
    return 0;
  }

  get ackNumber(): number {
    return this.rcvNxt[this.cur]!;
  }

  windowField(_syn: boolean): number {
    return this.wndField[this.cur]!;
  }

  ackSent(_now: number): void {}

  // -------------------------------------------------------------------------------------------------
  // Internals.

  private sendAck(i: number, now: number): void {
    this.cur = i;
    sendSegment(this.host.ip, this, this.sndNxt[i]!, ACK, 0, null, 0, now);
  }

  /** An ACK for an unacceptable segment, at most one per OOW_ACK_INTERVAL_MS for bare ACKs. */
  private dupAck(i: number, seg: Segment, now: number): void {
    if (seg.dataLength === 0 && (seg.flags & (SYN | FIN)) === 0) {
      if (now - this.lastOow[i]! < OOW_ACK_INTERVAL_MS) return;
      this.lastOow[i] = now;
    }
    this.sendAck(i, now);
  }

  /** RFC 5961 §7: rate-limited per row and stack-wide. */
  private challengeAck(i: number, now: number): void {
    if (now - this.lastOow[i]! < OOW_ACK_INTERVAL_MS || !this.host.challengeAllowed(now)) return;
    this.lastOow[i] = now;
    this.sendAck(i, now);
  }

  private restart(i: number, now: number): void {
    const wasHead = this.head === i;
    this.deadline[i] = now + TIME_WAIT_MS;
    if (this.tail !== i) {
      this.unlink(i);
      this.append(i);
    }
    if (wasHead) this.host.wheel.armAt(this.timer, this.deadline[this.head]!);
  }

  private expire(): void {
    const now = this.host.wheel.now();
    while (this.count > 0 && this.deadline[this.head]! <= now) this.remove(this.head);
    // remove() re-arms for each new head; this keeps the timer armed even if nothing was due.
    if (this.count > 0) this.host.wheel.armAt(this.timer, this.deadline[this.head]!);
  }

  private append(i: number): void {
    this.prev[i] = this.tail;
    this.next[i] = NONE;
    if (this.tail !== NONE) this.next[this.tail] = i;
    else this.head = i;
    this.tail = i;
  }

  private unlink(i: number): void {
    const p = this.prev[i]!;
    const n = this.next[i]!;
    if (p !== NONE) this.next[p] = n;
    else this.head = n;
    if (n !== NONE) this.prev[n] = p;
    else this.tail = p;
  }

  /** Into the bucket of its hash. */
  private link(i: number): void {
    const b = this.hash[i]! & (this.buckets.length - 1);
    this.hnext[i] = this.buckets[b]!;
    this.buckets[b] = i;
  }

  private sameAddr(i: number, at: number, a: Uint8Array): boolean {
    const o = i * 2 * ADDR + at;
    for (let k = 0; k < a.length; k++) if (this.addrs[o + k] !== a[k]) return false;
    return true;
  }

  private copyAddr(out: Uint8Array, at: number): Uint8Array {
    const o = this.cur * 2 * ADDR + at;
    for (let k = 0; k < out.length; k++) out[k] = this.addrs[o + k]!;
    return out;
  }

  /** Arrays for `cap` rows, none in use: at the start, and to give memory back once empty. */
  private reset(cap: number): void {
    this.cap = cap;
    this.fam = new Uint8Array(cap);
    this.addrs = new Uint8Array(cap * 2 * ADDR);
    this.lport = new Uint16Array(cap);
    this.rport = new Uint16Array(cap);
    this.sndNxt = new Int32Array(cap);
    this.rcvNxt = new Int32Array(cap);
    this.wnd = new Int32Array(cap);
    this.wndField = new Uint16Array(cap);
    this.maxWnd = new Int32Array(cap);
    this.tsOn = new Uint8Array(cap);
    this.tsOff = new Int32Array(cap);
    this.tsRecent = new Int32Array(cap);
    this.pseudo = new Float64Array(cap);
    this.entered = new Float64Array(cap);
    this.deadline = new Float64Array(cap);
    this.lastOow = new Float64Array(cap);
    this.hash = new Uint32Array(cap);
    this.hnext = new Int32Array(cap);
    this.prev = new Int32Array(cap);
    this.next = new Int32Array(cap);
    this.buckets = new Int32Array(cap * 2).fill(NONE);
    this.head = this.tail = NONE;
    this.freeFrom(0);
  }

  /**
   * Twice the rows, every one full: the rows keep their indices (so the deadline list stands), the
   * hash chains are rebuilt for the larger bucket table, and the new rows are free.
   */
  private grow(): void {
    const old = this.cap;
    const cap = old * 2;
    this.cap = cap;
    this.fam = widen(this.fam, cap);
    this.addrs = widen(this.addrs, cap * 2 * ADDR);
    this.lport = widen(this.lport, cap);
    this.rport = widen(this.rport, cap);
    this.sndNxt = widen(this.sndNxt, cap);
    this.rcvNxt = widen(this.rcvNxt, cap);
    this.wnd = widen(this.wnd, cap);
    this.wndField = widen(this.wndField, cap);
    this.maxWnd = widen(this.maxWnd, cap);
    this.tsOn = widen(this.tsOn, cap);
    this.tsOff = widen(this.tsOff, cap);
    this.tsRecent = widen(this.tsRecent, cap);
    this.pseudo = widen(this.pseudo, cap);
    this.entered = widen(this.entered, cap);
    this.deadline = widen(this.deadline, cap);
    this.lastOow = widen(this.lastOow, cap);
    this.hash = widen(this.hash, cap);
    this.hnext = new Int32Array(cap);
    this.prev = widen(this.prev, cap);
    this.next = widen(this.next, cap);
    this.buckets = new Int32Array(cap * 2).fill(NONE);
    for (let i = this.head; i !== NONE; i = this.next[i]!) this.link(i);
    this.freeFrom(old);
  }

  /** Rows from `first` to the end make the free list. */
  private freeFrom(first: number): void {
    this.free = NONE;
    for (let j = this.cap - 1; j >= first; j--) {
      this.hnext[j] = this.free;
      this.free = j;
    }
  }
}

type Column = Uint8Array | Uint16Array | Int32Array | Uint32Array | Float64Array;

/** A copy of `a`, `n` long. */
function widen<T extends Column>(a: T, n: number): T {
  const b = new (a.constructor as new (length: number) => T)(n);
  b.set(a);
  return b;
}
