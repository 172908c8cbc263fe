/**
 * One TCP connection: the TCB (RFC 9293 §3.3.1's variables, held by the sender and receiver halves,
 * sender.ts and receiver.ts), the options agreed in the handshake, and RFC 9293's event processing
 * split as the RFC writes it: the user calls (§3.10.1-5: OPEN, SEND, RECEIVE, CLOSE, ABORT) and the
 * endings here, SEGMENT ARRIVES (§3.10.7) in segment-arrives.ts, the timeouts (§3.10.8) on the
 * timers of conn-timers.ts. The connection tells its handler (the Node socket) what happened only at
 * the end-of-batch flush, never from inside segment processing, so a handler may call back into it.
 * Everything it needs from the stack comes through ConnectionHost.
 */
import { IPPROTO_TCP, type IpFamily, type IpOutput } from '../transport.js';
import type { TimerWheel } from '../timer-wheel.js';
import type { CongestionControl } from './congestion.js';
import {
  ACK,
  DATA_RETRIES,
  DEFAULT_MSS_V4,
  DEFAULT_MSS_V6,
  FIN,
  FIN_WAIT_2_TIMEOUT_MS,
  ORPHAN_RETRIES,
  PSH,
  RST,
  SYN,
  SYN_RETRIES,
  SYNACK_RETRIES,
  TCP_HEADER_BYTES,
  TIMESTAMP_OPTION_BYTES,
  TIME_WAIT_MS,
} from './constants.js';
import { ConnTimers, WaitKind, type TimerOwner } from './conn-timers.js';
import type { TcpErrorCode } from './errors.js';
import { finishChecksum, pseudoHeaderBase, writeHeader } from './header.js';
import { optionBytes, sendSegment, type SegmentSource, maxSackBlocks } from './output.js';
import { Receiver } from './receiver.js';
import { RtxKind, Sender, type SenderHost } from './sender.js';
import { FIN_FLAG, SYN_FLAG } from './sent-records.js';
import { seqGe, seqLe } from './seq.js';
import { canSend, isSynchronized, State, type ConnectionHandler } from './state.js';

export { State, STATE_NAMES, isSynchronized, type ConnectionHandler } from './state.js';
export type { TcpErrorCode };

/** What a connection needs from its stack (tcp.ts implements it). */
export interface ConnectionHost {
  readonly ip: IpOutput;
  readonly wheel: TimerWheel;
  /** Flush this connection (output, ACKs, events) at the end of the current batch. */
  markDirty(c: Connection): void;
  /** The connection reached CLOSED: drop it from the tables. */
  remove(c: Connection): void;
  /** The connection entered TIME-WAIT: track it in the bounded TIME-WAIT list. */
  enteredTimeWait(c: Connection): void;
  /** A TIME-WAIT connection nobody holds: keep a compact record of it (time-wait.ts) and close it. */
  compactTimeWait(c: Connection, now: number): void;
  /** A passive connection reached ESTABLISHED: hand it to its listener. */
  passiveEstablished(c: Connection): void;
  /** RFC 5961 §7: may one more challenge ACK go out now (stack-wide budget)? */
  challengeAllowed(now: number): boolean;
  /** Around work that may send (timers): segments that come back meanwhile wait until leave(). */
  enter(): void;
  leave(): void;
}

export class Connection implements SenderHost, SegmentSource, TimerOwner {
  readonly host: ConnectionHost;
  readonly family: IpFamily;
  readonly local: Uint8Array;
  readonly remote: Uint8Array;
  readonly localPort: number;
  readonly remotePort: number;
  readonly pseudoBase: number;
  state: State;
  /** Opened by connect() (true) or by a listener (false). */
  readonly active: boolean;
  readonly snd: Sender;
  readonly rcv: Receiver;
  // Options: offered (before the handshake completes) or agreed.
  tsOk: boolean;
  wsOk: boolean;
  rcvWscale: number;
  advMss: number;
  /** The peer's MSS (RFC 9293 §3.7.1), and the payload a segment with only timestamps carries. */
  peerMss: number;
  private sndMss: number;
  /** RFC 7323: our TSval offset, TS.Recent and when it was set. */
  readonly tsOffset: number;
  tsRecent: number;
  tsRecentAt: number;
  /** The window value of the segment being built (scaled back to bytes), for ackSent(). */
  private lastWnd: number;
  readonly timers: ConnTimers;
  // Tables (owned by the stack).
  hashNext: Connection | null;
  twPrev: Connection | null;
  twNext: Connection | null;
  dirtyNext: Connection | null;
  dirty: boolean;
  handler: ConnectionHandler | null;
  /** The user released the connection (close/destroy): it finishes on its own, then goes. */
  orphan: boolean;
  /** Events for the handler, delivered at the flush (segment-arrives.ts sets the last two). */
  private connectPending: boolean;
  readablePending: boolean;
  writablePending: boolean;
  lastRecvTime: number;
  /** An ICMP error seen on an established connection (reported if it later times out, as Linux does). */
  softError: TcpErrorCode | '';
  /** When the last out-of-window or challenge ACK went (their rate limit). */
  lastOowAck: number;
  enteredTimeWaitAt: number;
  // Counters.
  segmentsIn: number;
  segmentsOut: number;
  challengeAcks: number;

  /** SACK (RFC 2018), offered or agreed: kept by the receiver, whose ACK policy reads it too. */
  get sackOk(): boolean {
    return this.rcv.sackOk;
  }

  set sackOk(on: boolean) {
    this.rcv.sackOk = on;
  }

  constructor(
    host: ConnectionHost,
    family: IpFamily,
    local: Uint8Array,
    localPort: number,
    remote: Uint8Array,
    remotePort: number,
    active: boolean,
    cc: CongestionControl,
    options: { sendBufferInitial: number; sendBufferMax: number; recvBufferMax: number; tsOffset: number; rcvWscale: number },
  ) {
    this.host = host;
    this.family = family;
    this.local = local.slice();
    this.remote = remote.slice();
    this.localPort = localPort;
    this.remotePort = remotePort;
    this.pseudoBase = pseudoHeaderBase(this.local, this.remote, IPPROTO_TCP);
    this.state = State.CLOSED;
    this.active = active;
    this.snd = new Sender(this, cc, options.sendBufferInitial, options.sendBufferMax);
    this.rcv = new Receiver(options.recvBufferMax);
    this.tsOk = true;
    this.sackOk = true;
    this.wsOk = true;
    this.rcvWscale = options.rcvWscale;
    const ipMax = host.ip.maxTransportBytes(family, this.remote);
    this.advMss = ipMax - TCP_HEADER_BYTES;
    this.peerMss = family === 4 ? DEFAULT_MSS_V4 : DEFAULT_MSS_V6;
    this.sndMss = Math.min(this.peerMss, this.advMss);
    this.tsOffset = options.tsOffset;
    this.tsRecent = 0;
    this.tsRecentAt = 0;
    this.lastWnd = 0;
    this.timers = new ConnTimers(host.wheel, this);
    this.hashNext = null;
    this.twPrev = null;
    this.twNext = null;
    this.dirtyNext = null;
    this.dirty = false;
    this.handler = null;
    this.orphan = false;
    this.connectPending = false;
    this.readablePending = false;
    this.writablePending = false;
    this.lastRecvTime = 0;
    this.softError = '';
    this.lastOowAck = -Infinity;
    this.enteredTimeWaitAt = 0;
    this.segmentsIn = 0;
    this.segmentsOut = 0;
    this.challengeAcks = 0;
  }

  // -------------------------------------------------------------------------------------------------
  // Options (the handshake itself is handshake.ts).

  /** RFC 9293 §3.7.1 / RFC 6691: the peer's MSS, capped by the path; the MSS counts no options. */
  setPeerMss(mss: number, fresh: boolean): void {
    this.peerMss = mss;
    const ipMax = this.host.ip.maxTransportBytes(this.family, this.remote) - TCP_HEADER_BYTES;
    this.sndMss = Math.max(Math.min(mss, ipMax), 64);
    this.snd.setMss(this.segmentPayloadBase(), fresh);
  }
  private segmentPayloadBase(): number {
    return this.sndMss - (this.tsOk ? TIMESTAMP_OPTION_BYTES : 0);
  }

  // -------------------------------------------------------------------------------------------------
  // SegmentSource and SenderHost.

  /** State read through a getter, after calls that may have closed the connection. */
  get isClosed(): boolean {
    return this.state === State.CLOSED;
  }

  get handshaking(): boolean {
    return this.state === State.SYN_SENT || this.state === State.SYN_RECEIVED;
  }

  tsVal(now: number): number {
    return (Math.floor(now) + this.tsOffset) | 0;
  }

  tsNow(now: number): number {
    return this.tsVal(now);
  }

  idle(): void {
    this.rcv.trimIdle();
  }

  get tsEcr(): number {
    return this.tsRecent;
  }

  get ackNumber(): number {
    return this.rcv.nxt;
  }

  sackBlocks(out: Int32Array, max: number): number {
    return this.rcv.sackBlocks(out, max);
  }

  windowField(syn: boolean): number {
    const w = this.rcv.window(this.handler !== null ? this.handler.heldBytes() : 0);
    if (syn) {
      const v = w < 0xffff ? w : 0xffff;
      this.lastWnd = v;
      return v;
    }
    const unit = 1 << this.rcv.wscale; // <= 2^14 (RFC 7323 §2.3); a shift, not pow()
    let v = Math.floor(w / unit);
    if (v > 0xffff) v = 0xffff;
    this.lastWnd = v * unit;
    return v;
  }

  ackSent(_now: number): void {
    this.rcv.ackSent(this.lastWnd);
    this.segmentsOut++;
    this.timers.cancelDelack();
  }

  segmentPayload(): number {
    if (!this.sackOk) return this.segmentPayloadBase();
    const blocks = this.rcv.sackBlockCount(maxSackBlocks(this));
    return this.sndMss - optionBytes(this, blocks);
  }

  emit(seq: number, len: number, recordFlags: number, push: boolean, now: number): boolean {
    const syn = (recordFlags & SYN_FLAG) !== 0;
    const fin = (recordFlags & FIN_FLAG) !== 0;
    const dataLen = len - (syn ? 1 : 0) - (fin ? 1 : 0);
    let flags = this.state === State.SYN_SENT ? 0 : ACK;
    if (syn) flags |= SYN;
    if (fin) flags |= FIN;
    if (push && dataLen > 0) flags |= PSH;
    if ((flags & ACK) === 0) this.segmentsOut++; // a SYN; ackSent() counts the rest
    return sendSegment(this.host.ip, this, seq, flags, dataLen, this.snd.buf, syn ? (seq + 1) | 0 : seq, now);
  }

  emitProbe(now: number): void {
    sendSegment(this.host.ip, this, (this.snd.una - 1) | 0, ACK, 0, null, 0, now);
  }

  armRtx(_kind: RtxKind, deadline: number): void {
    this.timers.armRtx(deadline);
  }

  cancelRtx(): void {
    this.timers.cancelRtx();
  }

  writable(): void {
    if (this.handler !== null && !this.writablePending) {
      this.writablePending = true;
      this.host.markDirty(this);
    }
  }

  timedOut(): void {
    if (this.state === State.SYN_RECEIVED && !this.active) {
      this.drop();
      return;
    }
    this.fail(this.softError !== '' ? this.softError : 'ETIMEDOUT');
  }

  maxRetries(): number {
    if (this.state === State.SYN_SENT) return SYN_RETRIES;
    if (this.state === State.SYN_RECEIVED) return SYNACK_RETRIES;
    return this.orphan ? ORPHAN_RETRIES : DATA_RETRIES;
  }

  // TimerOwner.

  onRtx(): void {
    if (this.state === State.CLOSED || this.state === State.TIME_WAIT) return;
    const now = this.host.wheel.now();
    this.snd.onRtxTimer(now);
    if (!this.isClosed) this.host.markDirty(this);
  }

  onDelack(): void {
    if (this.state === State.CLOSED || this.rcv.unacked === 0) return;
    this.rcv.ackNow = true;
    this.host.markDirty(this);
  }

  onLongWait(kind: WaitKind): void {
    const now = this.host.wheel.now();
    switch (kind) {
      case WaitKind.TIME_WAIT:
        this.close();
        return;
      case WaitKind.FIN_WAIT_2:
        if (this.state === State.FIN_WAIT_2) this.close();
        return;
      case WaitKind.KEEPALIVE: {
        if (!this.timers.keepAlive || !isSynchronized(this.state) || this.state === State.TIME_WAIT) return;
        const busy = this.snd.records.count > 0 || this.snd.unsent > 0;
        const due = this.timers.keepaliveDue(now, this.lastRecvTime, busy);
        if (due === 'probe') this.emitProbe(now);
        else if (due === 'fail') this.fail(this.softError !== '' ? this.softError : 'ETIMEDOUT');
        return;
      }
      default:
        return;
    }
  }

  enter(): void {
    this.host.enter();
  }

  leave(): void {
    this.host.leave();
  }

  // -------------------------------------------------------------------------------------------------
  // Flush (end of a batch) and timers.

  /**
   * Deliver events, send what is due, and the ACK if nothing carried it. Events reach the handler
   * only here, never from inside segment processing, so a handler may call back into the connection.
   */
  flush(now: number): void {
    if (this.connectPending && this.handler !== null) {
      this.connectPending = false;
      this.handler.onConnect();
      if (this.isClosed) return;
    }
    if (this.readablePending && this.handler !== null) {
      this.readablePending = false;
      this.handler.onReadable();
    }
    if (this.state === State.CLOSED) return;
    if (this.writablePending && this.handler !== null) {
      this.writablePending = false;
      this.handler.onWritable();
      if (this.isClosed) return;
    }
    if (this.state !== State.TIME_WAIT) this.snd.output(now);
    const rcv = this.rcv;
    rcv.batchEnded();
    if (rcv.ackNow && this.state !== State.SYN_SENT && !this.isClosed) {
      sendSegment(this.host.ip, this, this.snd.nxt, ACK, 0, null, 0, now);
    }
    if (rcv.unacked > 0 && !rcv.ackNow) this.timers.armDelack();
    // Its last ACK sent and its user gone, TIME-WAIT needs a record, not a connection.
    if (this.state === State.TIME_WAIT && this.handler === null) this.host.compactTimeWait(this, now);
  }

  // -------------------------------------------------------------------------------------------------
  // User calls (RFC 9293 §3.10.2-5).

  /** SEND: copy into the send buffer; returns the bytes taken (0 when full). */
  write(src: Uint8Array, at: number, len: number): number {
    if (this.snd.finQueued || !canSend(this.state)) return 0;
    const n = this.snd.write(src, at, len);
    if (n > 0) this.host.markDirty(this);
    return n;
  }

  /** Room in the send buffer. */
  get writableBytes(): number {
    return this.snd.buf.space;
  }

  /**
   * RECEIVE: a view of the next in-order bytes (at most `max`), or null. The reader owns the view; the
   * window opens as it is taken.
   */
  read(max: number): Buffer | null {
    const rcv = this.rcv;
    const limit = rcv.finReceived ? (rcv.nxt - 1) | 0 : rcv.nxt;
    const v = rcv.buf.pull(limit, max);
    if (v === null) return null;
    const now = this.host.wheel.now();
    if (rcv.onPulled(v.length, this.handler !== null ? this.handler.heldBytes() + v.length : 0, now) && isSynchronized(this.state)) {
      rcv.ackNow = true;
      this.host.markDirty(this);
    }
    return v;
  }

  /** The peer's FIN arrived and every byte before it was read. */
  get eof(): boolean {
    return this.rcv.eof;
  }

  /** The reader consumed what it held: the window may open (Node's _read). */
  readerDrained(): void {
    const now = this.host.wheel.now();
    const held = this.handler !== null ? this.handler.heldBytes() : 0;
    if (this.rcv.onPulled(0, held, now) && isSynchronized(this.state) && this.state !== State.TIME_WAIT) {
      this.rcv.ackNow = true;
      this.host.markDirty(this);
    }
  }

  /** CLOSE of the sending side (RFC 9293 §3.10.4): the FIN follows the queued data. */
  shutdown(): void {
    if (this.snd.finQueued) return;
    switch (this.state) {
      case State.SYN_SENT:
      case State.SYN_RECEIVED:
      case State.ESTABLISHED:
        this.snd.finQueued = true;
        if (this.state === State.ESTABLISHED) this.state = State.FIN_WAIT_1;
        break;
      case State.CLOSE_WAIT:
        this.snd.finQueued = true;
        this.state = State.LAST_ACK;
        break;
      default:
        return;
    }
    this.host.markDirty(this);
  }

  /**
   * The user is done with this connection (socket destroyed). Unread data means an abort (RFC 9293
   * §3.10.4 / RFC 2525 §2.17, as Linux: RST); otherwise the FIN goes out and the connection finishes
   * as an orphan.
   */
  release(): void {
    this.handler = null;
    this.orphan = true;
    if (this.state === State.CLOSED || this.state === State.TIME_WAIT) {
      this.rcv.clear();
      if (this.state === State.TIME_WAIT) this.host.markDirty(this);
      return;
    }
    if (this.state === State.SYN_SENT) {
      this.close();
      return;
    }
    if (this.rcv.unread > 0) {
      this.abort();
      return;
    }
    this.shutdown();
    if (this.state === State.FIN_WAIT_2) this.timers.armWait(WaitKind.FIN_WAIT_2, this.host.wheel.now() + FIN_WAIT_2_TIMEOUT_MS);
  }

  /** ABORT (RFC 9293 §3.10.5): RST in a synchronized state, then gone. */
  abort(): void {
    this.handler = null;
    this.orphan = true;
    if (isSynchronized(this.state) && this.state !== State.TIME_WAIT) this.reset(this.snd.nxt);
    this.close();
  }

  /** Keepalive on or off (socket.setKeepAlive); idleMs 0 keeps the idle time. */
  setKeepAlive(enable: boolean, idleMs: number): void {
    this.timers.setKeepAlive(enable, idleMs, this.lastRecvTime, isSynchronized(this.state));
  }

  /** An ICMP error for this connection (RFC 1122 §4.2.3.9, RFC 5927 §4.1: only if it quotes data in flight). */
  icmpError(code: TcpErrorCode, quotedSeq: number): void {
    if (!(seqGe(quotedSeq, this.snd.una) && seqLe(quotedSeq, this.snd.nxt))) return;
    // Hard in SYN-SENT (as Linux), soft otherwise: kept for the timeout's report.
    if (this.state === State.SYN_SENT) this.fail(code);
    else this.softError = code;
  }

  /** The path MTU toward the peer went down (RFC 8201 / RFC 1191). */
  pathMtuChanged(now: number): void {
    const before = this.sndMss;
    this.setPeerMss(this.peerMss, false);
    if (this.sndMss < before) this.snd.onMssDecrease(this.segmentPayload(), now);
  }

  // -------------------------------------------------------------------------------------------------
  // Endings.

  /** The handshake completed (an active open, or a simultaneous one). */
  connected(now: number): void {
    this.timers.established(now);
    this.connectPending = true;
    // A FIN the user asked for before the handshake completed.
    if (this.snd.finQueued && this.state === State.ESTABLISHED) this.state = State.FIN_WAIT_1;
    this.host.markDirty(this);
  }

  enterTimeWait(now: number): void {
    this.state = State.TIME_WAIT;
    this.enteredTimeWaitAt = now;
    this.timers.stop(false);
    this.snd.clear();
    // Bytes the user has not read yet stay until it reads them or lets go (release()).
    if (this.handler === null) this.rcv.clear();
    this.rcv.ackNow = true;
    this.timers.armWait(WaitKind.TIME_WAIT, now + TIME_WAIT_MS);
    this.host.enteredTimeWait(this);
    this.host.markDirty(this);
  }

  /** Fail with `code`: tell the user, then gone. */
  fail(code: TcpErrorCode): void {
    const h = this.handler;
    this.handler = null;
    this.close();
    if (h !== null) h.onError(code);
  }

  /** A half-open passive connection dies without a word to anyone (RST in SYN-RECEIVED, SYN-ACK timeout). */
  drop(): void {
    this.close();
  }

  /** CLOSED: stop timers, free buffers, leave the tables. */
  close(): void {
    if (this.state === State.CLOSED) return;
    this.state = State.CLOSED;
    this.timers.stop(false);
    this.snd.clear();
    // A connection that ended in order (LAST-ACK, TIME-WAIT) may still hold bytes its user has not
    // read: they stay until the user reads them or lets go (release()).
    if (this.handler === null) this.rcv.clear();
    this.host.remove(this);
  }

  /** RST <SEQ=seq> from this connection's addresses, no options (RFC 9293 §3.10.7, ABORT). */
  reset(seq: number): void {
    const ip = this.host.ip;
    const buf = ip.alloc(this.family, TCP_HEADER_BYTES);
    if (buf === null) return;
    writeHeader(buf.bytes, buf.start, this.localPort, this.remotePort, seq, 0, RST, 0, TCP_HEADER_BYTES);
    buf.end = buf.start + TCP_HEADER_BYTES;
    finishChecksum(buf.bytes, buf.start, buf.end, this.pseudoBase);
    ip.send(buf, this.family, this.local, this.remote, IPPROTO_TCP, 0);
  }
}
