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
import { seqGe, seqGt, seqLe, seqLt } from './seq.js';

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

/** RFC 9293 §3.3.1: seq lies in [start, start + wnd). */
function inWindow(seq: number, start: number, wnd: number): boolean {
  return ((seq - start) >>> 0) < wnd;
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
    this.allocate(INITIAL_ROWS);
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
    if (this.free === NONE) this.allocate(this.cap * 2);
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
    const b = this.bucketOf(c.local, c.localPort, c.remote, c.remotePort);
    this.hnext[i] = this.buckets[b]!;
    this.buckets[b] = i;
    this.count++;
    this.deadline[i] = now + TIME_WAIT_MS;
    this.append(i);
    if (this.head === i) this.host.wheel.armAt(this.timer, this.deadline[i]!);
  }

  /** The row of this 4-tuple, or -1. */
  find(family: IpFamily, local: Uint8Array, localPort: number, remote: Uint8Array, remotePort: number): number {
    if (this.count === 0) return NONE;
    for (let i = this.buckets[this.bucketOf(local, localPort, remote, remotePort)]!; i !== NONE; i = this.hnext[i]!) {
      if (this.lport[i] === localPort && this.rport[i] === remotePort && this.fam[i] === family && this.sameAddr(i, 0, local) && this.sameAddr(i, ADDR, remote)) return i;
    }
    return NONE;
  }

  /** RFC 6191 §2: a SYN may open a new incarnation: with timestamps a newer TSval, else a higher sequence. */
  reusableBySyn(i: number, seg: Segment): boolean {
    if (this.tsOn[i] !== 0 && seg.hasTimestamp) return seqGt(seg.tsVal, this.tsRecent[i]!);
    return seqGt(seg.seq, this.rcvNxt[i]!);
  }

  /** An outgoing connection may take the tuple once PAWS protects it (Linux's tcp_tw_reuse). */
  reusableByConnect(i: number, now: number): boolean {
    return this.tsOn[i] !== 0 && now - this.entered[i]! >= 1000;
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
    const wnd = this.wnd[i]!;
    const seq = seg.seq;
    let acceptable: boolean;
    if (len === 0) acceptable = wnd === 0 ? seq === rcvNxt : inWindow(seq, rcvNxt, wnd);
    else acceptable = wnd > 0 && (inWindow(seq, rcvNxt, wnd) || inWindow((seq + len - 1) | 0, rcvNxt, wnd));
    if (!acceptable) {
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
    const b = this.bucketOf(this.localOf(i), this.lport[i]!, this.remoteOf(i), this.rport[i]!);
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
      if (this.cap > INITIAL_ROWS) this.allocate(INITIAL_ROWS);
    } else if (wasHead) {
      this.host.wheel.armAt(this.timer, this.deadline[this.head]!);
    }
  }

  /** Every row goes (the stack closes). */
  clear(): void {
    this.host.wheel.cancel(this.timer);
    this.count = 0;
    this.allocate(INITIAL_ROWS);
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

  private bucketOf(local: Uint8Array, localPort: number, remote: Uint8Array, remotePort: number): number {
    return tupleHash(local, localPort, remote, remotePort) & (this.buckets.length - 1);
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

  private localOf(i: number): Uint8Array {
    this.cur = i;
    return this.local;
  }

  private remoteOf(i: number): Uint8Array {
    this.cur = i;
    return this.remote;
  }

  /**
   * Arrays for `cap` rows, the rows in use carried over (their order on the deadline list kept) and
   * rehashed. Used to grow, and with INITIAL_ROWS to give memory back (then nothing is in use).
   */
  private allocate(cap: number): void {
    const old = this.cap > 0 && this.count > 0 ? this.snapshotOrder() : null;
    const o = this.cap > 0 ? { fam: this.fam, addrs: this.addrs, lport: this.lport, rport: this.rport, sndNxt: this.sndNxt, rcvNxt: this.rcvNxt, wnd: this.wnd, wndField: this.wndField, maxWnd: this.maxWnd, tsOn: this.tsOn, tsOff: this.tsOff, tsRecent: this.tsRecent, pseudo: this.pseudo, entered: this.entered, deadline: this.deadline, lastOow: this.lastOow } : null;
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
    this.hnext = new Int32Array(cap);
    this.prev = new Int32Array(cap);
    this.next = new Int32Array(cap);
    this.buckets = new Int32Array(cap * 2).fill(NONE);
    this.head = this.tail = NONE;
    const n = old === null ? 0 : old.length;
    if (o !== null && old !== null) {
      // Row j of the new arrays is the j-th oldest of the old ones.
      for (let j = 0; j < n; j++) {
        const i = old[j]!;
        this.fam[j] = o.fam[i]!;
        this.addrs.set(o.addrs.subarray(i * 2 * ADDR, (i + 1) * 2 * ADDR), j * 2 * ADDR);
        this.lport[j] = o.lport[i]!;
        this.rport[j] = o.rport[i]!;
        this.sndNxt[j] = o.sndNxt[i]!;
        this.rcvNxt[j] = o.rcvNxt[i]!;
        this.wnd[j] = o.wnd[i]!;
        this.wndField[j] = o.wndField[i]!;
        this.maxWnd[j] = o.maxWnd[i]!;
        this.tsOn[j] = o.tsOn[i]!;
        this.tsOff[j] = o.tsOff[i]!;
        this.tsRecent[j] = o.tsRecent[i]!;
        this.pseudo[j] = o.pseudo[i]!;
        this.entered[j] = o.entered[i]!;
        this.deadline[j] = o.deadline[i]!;
        this.lastOow[j] = o.lastOow[i]!;
        const b = this.bucketOf(this.localOf(j), this.lport[j]!, this.remoteOf(j), this.rport[j]!);
        this.hnext[j] = this.buckets[b]!;
        this.buckets[b] = j;
        this.append(j);
      }
    }
    // The free list: every row past those carried over.
    this.free = NONE;
    for (let j = cap - 1; j >= n; j--) {
      this.hnext[j] = this.free;
      this.free = j;
    }
  }

  /** The rows in use, oldest deadline first. */
  private snapshotOrder(): Int32Array {
    const out = new Int32Array(this.count);
    let k = 0;
    for (let i = this.head; i !== NONE; i = this.next[i]!) out[k++] = i;
    return out;
  }
}
