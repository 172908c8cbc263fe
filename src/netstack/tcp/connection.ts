/**
 * One TCP connection: the TCB and its state machine, RFC 9293 §3.3.2 (states) and §3.10.7 (SEGMENT
 * ARRIVES), checked step by step:
 *
 *   SYN-SENT (§3.10.7.3): ACK check, RST (acceptable only if it ACKs our SYN), SYN with or without
 *     ACK (the latter is a simultaneous open: SYN-RECEIVED with a SYN-ACK on our own ISS).
 *   Otherwise (§3.10.7.4): PAWS (RFC 7323 §5.3); first, sequence acceptability (the four cases, with
 *     the zero-window allowance for ACKs); second, RST by RFC 5961 §3.2 (exactly RCV.NXT resets,
 *     anywhere else in the window draws a challenge ACK); fourth, SYN by RFC 5961 §4 (challenge ACK;
 *     a retransmitted SYN in SYN-RECEIVED re-sends the SYN-ACK); fifth, ACK by RFC 5961 §5.2 (too new
 *     or older than MAX.SND.WND: challenge ACK, dropped) and the per-state transitions; sixth URG is
 *     ignored (data is delivered inline, RFC 6093 §6); seventh the text and eighth the FIN (receiver.ts)
 *     with their state transitions, including simultaneous close (FIN-WAIT-1 -> CLOSING -> TIME-WAIT).
 *
 * The send and receive halves live in sender.ts and receiver.ts; this file owns the state, the
 * negotiated options, the three timers (retransmission, delayed ACK, keepalive/TIME-WAIT/FIN-WAIT-2)
 * and the user calls (RFC 9293 §3.10.1-5: OPEN, SEND, RECEIVE, CLOSE, ABORT), and tells its handler
 * (the Node socket) what happened. Everything it needs from the stack comes through ConnectionHost.
 */
import { IPPROTO_TCP, type IpFamily, type IpOutput } from '../transport.js';
import type { TimerWheel } from '../timer-wheel.js';
import { WheelTimer } from '../timer-wheel.js';
import type { CongestionControl } from './congestion.js';
import {
  ACK,
  DATA_RETRIES,
  DEFAULT_MSS_V4,
  DEFAULT_MSS_V6,
  DELACK_MS,
  FIN,
  FIN_WAIT_2_TIMEOUT_MS,
  KEEPALIVE_IDLE_MS,
  KEEPALIVE_INTERVAL_MS,
  KEEPALIVE_PROBES,
  OOW_ACK_INTERVAL_MS,
  ORPHAN_RETRIES,
  PAWS_IDLE_MS,
  PSH,
  RST,
  SYN,
  SYN_RETRIES,
  SYNACK_RETRIES,
  TCP_HEADER_BYTES,
  TIMESTAMP_OPTION_BYTES,
  TIME_WAIT_MS,
} from './constants.js';
import type { Segment } from './header.js';
import { finishChecksum, pseudoHeaderBase, writeHeader } from './header.js';
import { optionBytes, sendSegment, type SegmentSource, maxSackBlocks } from './output.js';
import { Receiver } from './receiver.js';
import { RtxKind, Sender, type SenderHost } from './sender.js';
import { FIN_FLAG, SYN_FLAG } from './sent-records.js';
import { seqGe, seqGt, seqLe, seqLt } from './seq.js';

/** RFC 9293 §3.3.2 states (LISTEN is a Listener, not a Connection). */
export const enum State {
  CLOSED = 0,
  SYN_SENT = 1,
  SYN_RECEIVED = 2,
  ESTABLISHED = 3,
  FIN_WAIT_1 = 4,
  FIN_WAIT_2 = 5,
  CLOSE_WAIT = 6,
  CLOSING = 7,
  LAST_ACK = 8,
  TIME_WAIT = 9,
}

export const STATE_NAMES: readonly string[] = [
  'CLOSED', 'SYN-SENT', 'SYN-RECEIVED', 'ESTABLISHED', 'FIN-WAIT-1', 'FIN-WAIT-2', 'CLOSE-WAIT', 'CLOSING', 'LAST-ACK', 'TIME-WAIT',
];

/** Errors a connection ends with, named as Node names the errno values. */
export type TcpErrorCode = 'ECONNREFUSED' | 'ECONNRESET' | 'ETIMEDOUT' | 'EHOSTUNREACH' | 'ENETUNREACH' | 'ECONNABORTED';

/** What a connection tells its user (the Node socket). */
export interface ConnectionHandler {
  /** Active open completed (ESTABLISHED). */
  onConnect(): void;
  /** In-order data or the end of the stream can be pulled. */
  onReadable(): void;
  /** Send-buffer space was freed. */
  onWritable(): void;
  /** The connection failed; no more events follow. */
  onError(code: TcpErrorCode): void;
  /** Bytes the user's stream holds that it has not consumed (they count against the window). */
  heldBytes(): number;
}

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
  /** A passive connection reached ESTABLISHED (hand it to its listener), or died half-open. */
  passiveEstablished(c: Connection): void;
  passiveDropped(c: Connection): void;
  /** RFC 5961 §7: may one more challenge ACK go out now (stack-wide budget)? */
  challengeAllowed(now: number): boolean;
  /** Around work that may send (timers): segments that come back meanwhile wait until leave(). */
  enter(): void;
  leave(): void;
}

const enum KeepKind {
  NONE = 0,
  KEEPALIVE = 1,
  FIN_WAIT_2 = 2,
  TIME_WAIT = 3,
}

export class Connection implements SenderHost, SegmentSource {
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
  sackOk: boolean;
  wsOk: boolean;
  rcvWscale: number;
  advMss: number;
  /** The peer's MSS (RFC 9293 §3.7.1), and the payload a segment with only timestamps carries. */
  peerMss: number;
  private sndMss: number;
  /** RFC 7323: our TSval offset, TS.Recent and when it was set. */
  readonly tsOffset: number;
  tsRecent: number;
  private tsRecentAt: number;
  /** The window value of the segment being built (scaled back to bytes), for ackSent(). */
  private lastWnd: number;
  // Timers.
  private readonly rtxTimer: WheelTimer;
  private readonly delackTimer: WheelTimer;
  private readonly keepTimer: WheelTimer;
  private keepKind: KeepKind;
  // Tables (owned by the stack).
  hashNext: Connection | null;
  twPrev: Connection | null;
  twNext: Connection | null;
  dirtyNext: Connection | null;
  dirty: boolean;
  /** The listener a passive connection belongs to until it is accepted. */
  listener: unknown;
  handler: ConnectionHandler | null;
  /** The user released the connection (close/destroy): it finishes on its own, then goes. */
  orphan: boolean;
  private connectPending: boolean;
  private readablePending: boolean;
  private writablePending: boolean;
  // Keepalive (RFC 9293 §3.8.4, RFC 1122 §4.2.3.6).
  keepAlive: boolean;
  keepIdleMs: number;
  keepIntervalMs: number;
  keepCount: number;
  private keepProbes: number;
  lastRecvTime: number;
  /** An ICMP error seen on an established connection (reported if it later times out, as Linux does). */
  softError: TcpErrorCode | '';
  private lastOowAck: number;
  enteredTimeWaitAt: number;
  // Counters.
  segmentsIn: number;
  segmentsOut: number;
  challengeAcks: number;

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
    this.rtxTimer = new WheelTimer(() => {
      host.enter();
      this.onRtxTimer();
      host.leave();
    });
    this.delackTimer = new WheelTimer(() => this.onDelackTimer());
    this.keepTimer = new WheelTimer(() => {
      host.enter();
      this.onKeepTimer();
      host.leave();
    });
    this.keepKind = KeepKind.NONE;
    this.hashNext = null;
    this.twPrev = null;
    this.twNext = null;
    this.dirtyNext = null;
    this.dirty = false;
    this.listener = null;
    this.handler = null;
    this.orphan = false;
    this.connectPending = false;
    this.readablePending = false;
    this.writablePending = false;
    this.keepAlive = false;
    this.keepIdleMs = KEEPALIVE_IDLE_MS;
    this.keepIntervalMs = KEEPALIVE_INTERVAL_MS;
    this.keepCount = KEEPALIVE_PROBES;
    this.keepProbes = 0;
    this.lastRecvTime = 0;
    this.softError = '';
    this.lastOowAck = -Infinity;
    this.enteredTimeWaitAt = 0;
    this.segmentsIn = 0;
    this.segmentsOut = 0;
    this.challengeAcks = 0;
  }

  // -------------------------------------------------------------------------------------------------
  // Opening.

  /** OPEN, active (RFC 9293 §3.10.1): send the SYN from ISS, offering every option. */
  openActive(iss: number, now: number): void {
    this.state = State.SYN_SENT;
    this.lastRecvTime = now;
    this.snd.init(iss);
    this.snd.sendSyn(now);
    this.host.markDirty(this);
  }

  /**
   * A listener's SYN (RFC 9293 §3.10.7.2): SYN-RECEIVED, options as the SYN offered them, and the
   * SYN-ACK from ISS.
   */
  openPassive(seg: Segment, iss: number, now: number): void {
    this.state = State.SYN_RECEIVED;
    this.lastRecvTime = now;
    this.agreeOptions(seg, now);
    this.rcv.init(seg.seq, now);
    this.snd.init(iss);
    this.snd.initWindow(seg.window, seg.seq, iss, this.snd.wscale);
    this.snd.sendSyn(now);
  }

  /**
   * A SYN cookie's final ACK rebuilt this connection (RFC 4987 §3.6): ESTABLISHED at once, with the
   * MSS and options the cookie carried.
   */
  openFromCookie(seg: Segment, iss: number, mss: number, wscale: number, sackOk: boolean, now: number): void {
    this.lastRecvTime = now;
    this.tsOk = seg.hasTimestamp;
    this.sackOk = sackOk;
    this.wsOk = wscale >= 0;
    if (!this.wsOk) this.rcvWscale = 0;
    this.rcv.wscale = this.rcvWscale;
    this.snd.wscale = this.wsOk ? wscale : 0;
    this.setPeerMss(mss, true);
    if (this.tsOk) this.tsRecent = seg.tsVal;
    this.tsRecentAt = now;
    this.rcv.init((seg.seq - 1) | 0, now);
    // The cookie's SYN-ACK advertised the initial window, unscaled: take it as advertised.
    this.rcv.ackSent(Math.min(this.rcv.window(0), 0xffff));
    this.snd.init(iss);
    this.snd.una = (iss + 1) | 0;
    this.snd.nxt = this.snd.una;
    this.snd.initWindow(seg.window * 2 ** this.snd.wscale, seg.seq, seg.ack, this.snd.wscale);
    this.state = State.ESTABLISHED;
  }

  /** Options from the peer's SYN (RFC 7323 §2.2, §3.2; RFC 2018 §2; RFC 9293 §3.7.1). */
  private agreeOptions(seg: Segment, now: number): void {
    this.wsOk = this.wsOk && seg.wscale >= 0;
    this.snd.wscale = this.wsOk ? seg.wscale : 0;
    if (!this.wsOk) this.rcvWscale = 0;
    this.rcv.wscale = this.rcvWscale;
    this.sackOk = this.sackOk && seg.sackPermitted;
    this.tsOk = this.tsOk && seg.hasTimestamp;
    if (this.tsOk) {
      this.tsRecent = seg.tsVal;
      this.tsRecentAt = now;
    }
    this.setPeerMss(seg.mss > 0 ? seg.mss : this.peerMss, true);
  }

  private setPeerMss(mss: number, fresh: boolean): void {
    this.peerMss = mss;
    const ipMax = this.host.ip.maxTransportBytes(this.family, this.remote) - TCP_HEADER_BYTES;
    // RFC 9293 §3.7.1 / RFC 6691: the MSS counts no options; segments subtract what they carry.
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
    let v = Math.floor(w / 2 ** this.rcv.wscale);
    if (v > 0xffff) v = 0xffff;
    this.lastWnd = v * 2 ** this.rcv.wscale;
    return v;
  }

  ackSent(_now: number): void {
    this.rcv.ackSent(this.lastWnd);
    this.segmentsOut++;
    if (this.delackTimer.armed) this.host.wheel.cancel(this.delackTimer);
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
    this.host.wheel.armAt(this.rtxTimer, deadline);
  }

  cancelRtx(): void {
    this.host.wheel.cancel(this.rtxTimer);
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

  // -------------------------------------------------------------------------------------------------
  // SEGMENT ARRIVES (RFC 9293 §3.10.7).

  /** One segment for this connection; `seg` is valid during the call only. */
  input(seg: Segment, now: number): void {
    this.segmentsIn++;
    this.lastRecvTime = now;
    this.keepProbes = 0;
    if (this.state === State.SYN_SENT) {
      this.inputSynSent(seg, now);
      return;
    }
    if (this.state === State.CLOSED) return;
    const flags = seg.flags;
    const rcv = this.rcv;
    // RFC 7323 §5.3 PAWS: an older TSval than TS.Recent is an old duplicate (unless TS.Recent is stale).
    if (this.tsOk && seg.hasTimestamp && (flags & RST) === 0 && seqLt(seg.tsVal, this.tsRecent)) {
      if (now - this.tsRecentAt <= PAWS_IDLE_MS) {
        this.dupAck(seg, now);
        return;
      }
    }
    // The peer's SYN again in SYN-RECEIVED: our SYN-ACK was lost; send it again (Linux's tcp_check_req).
    if (this.state === State.SYN_RECEIVED && !this.active && (flags & (SYN | ACK | RST)) === SYN && seg.seq === rcv.irs) {
      this.snd.records.markLost(this.snd.records.at(0));
      this.snd.output(now);
      return;
    }
    // First: is the segment acceptable (RFC 9293 §3.10.7.4, the four cases)?
    const len = seg.seqLength;
    let wnd = (rcv.advRight - rcv.nxt) | 0;
    if (wnd < 0) wnd = 0;
    const seq = seg.seq;
    let acceptable: boolean;
    let zeroWindowProbe = false;
    if (len === 0) {
      acceptable = wnd === 0 ? seq === rcv.nxt : inWindow(seq, rcv.nxt, wnd);
    } else if (wnd === 0) {
      acceptable = false;
      // RFC 9293: with a zero window still take valid ACKs and RSTs (a window probe's ACK field).
      zeroWindowProbe = seq === rcv.nxt;
    } else {
      acceptable = inWindow(seq, rcv.nxt, wnd) || inWindow((seq + len - 1) | 0, rcv.nxt, wnd);
    }
    if (!acceptable && !zeroWindowProbe) {
      if (flags & RST) return;
      // In TIME-WAIT a retransmitted FIN is below RCV.NXT: ACK it and restart the 2 MSL wait.
      if (this.state === State.TIME_WAIT && (flags & FIN) !== 0) this.armKeep(KeepKind.TIME_WAIT, now + TIME_WAIT_MS);
      if (flags & SYN) {
        this.challengeAck(now);
        return;
      }
      this.dupAck(seg, now);
      return;
    }
    // Second: RST (RFC 5961 §3.2).
    if (flags & RST) {
      if (seq !== rcv.nxt) {
        this.challengeAck(now);
        return;
      }
      this.onReset();
      return;
    }
    // Fourth: SYN in a synchronized state (RFC 5961 §4).
    if (flags & SYN) {
      this.challengeAck(now);
      return;
    }
    // Fifth: the ACK field.
    if ((flags & ACK) === 0) return;
    const ack = seg.ack;
    const snd = this.snd;
    if (this.state === State.SYN_RECEIVED) {
      if (!(seqLt(snd.una, ack) && seqLe(ack, snd.nxt))) {
        sendResetFrom(this, ack);
        return;
      }
      this.state = State.ESTABLISHED;
      snd.initWindow(seg.window * 2 ** snd.wscale, seq, ack, snd.wscale);
      if (!this.active) this.host.passiveEstablished(this);
      else this.connected();
      if (this.isClosed) return;
    }
    if (seqGt(ack, snd.nxt)) {
      // RFC 9293 / RFC 5961 §5.2: ACKs something not yet sent.
      this.dupAck(seg, now);
      return;
    }
    if (seqLt(ack, (snd.una - snd.maxWnd) | 0)) {
      // RFC 5961 §5.2: older than any window we could have sent: a blind ACK.
      this.challengeAck(now);
      return;
    }
    if (this.tsOk && seg.hasTimestamp) {
      // RFC 7323 §4.3: remember the TSval of a segment that covers Last.ACK.sent.
      if (seqLe(seq, rcv.lastAckSent) && seqGe(seg.tsVal, this.tsRecent)) {
        this.tsRecent = seg.tsVal;
        this.tsRecentAt = now;
      }
      if (seg.tsEcr !== 0) rcv.tsRttSample((this.tsNow(now) - seg.tsEcr) | 0);
    }
    if (seqGe(ack, snd.una)) snd.onAck(seg, now);
    switch (this.state) {
      case State.FIN_WAIT_1:
        if (snd.finAcked) {
          this.state = State.FIN_WAIT_2;
          // An orphan waits for the peer's FIN only so long (Linux's tcp_fin_timeout).
          if (this.orphan) this.armKeep(KeepKind.FIN_WAIT_2, now + FIN_WAIT_2_TIMEOUT_MS);
        }
        break;
      case State.CLOSING:
        if (snd.finAcked) {
          this.enterTimeWait(now);
          return;
        }
        break;
      case State.LAST_ACK:
        if (snd.finAcked) {
          this.close();
          return;
        }
        break;
      default:
        break;
    }
    // Seventh and eighth: text and FIN.
    const textState = this.state === State.ESTABLISHED || this.state === State.FIN_WAIT_1 || this.state === State.FIN_WAIT_2;
    if (textState && !zeroWindowProbe) {
      const hadFin = rcv.finReceived;
      const dataSeq = (seq + (flags & SYN ? 1 : 0)) | 0;
      if (rcv.onSegment(dataSeq, seg.bytes, seg.dataAt, seg.dataLength, (flags & FIN) !== 0, now)) this.readablePending = true;
      if (!hadFin && rcv.finReceived) this.onFin(now);
    } else if (len > 0) {
      // A retransmitted FIN (CLOSE-WAIT, CLOSING, LAST-ACK, TIME-WAIT) or a window probe: ACK it.
      rcv.ackNow = true;
      if (this.state === State.TIME_WAIT) this.armKeep(KeepKind.TIME_WAIT, now + TIME_WAIT_MS);
    }
    this.afterInput(now);
  }

  /** RFC 9293 §3.10.7.3. */
  private inputSynSent(seg: Segment, now: number): void {
    const flags = seg.flags;
    const snd = this.snd;
    let ackOk = false;
    if (flags & ACK) {
      if (seqLe(seg.ack, snd.iss) || seqGt(seg.ack, snd.nxt)) {
        if ((flags & RST) === 0) sendResetFrom(this, seg.ack);
        return;
      }
      ackOk = true;
    }
    if (flags & RST) {
      // RFC 5961 §3.2 for SYN-SENT: only an RST that ACKs our SYN refuses the connection.
      if (ackOk) this.fail('ECONNREFUSED');
      return;
    }
    if ((flags & SYN) === 0) return;
    this.agreeOptions(seg, now);
    this.rcv.init(seg.seq, now);
    if (ackOk) {
      snd.initWindow(seg.window, seg.seq, seg.ack, snd.wscale);
      snd.onAck(seg, now);
      this.state = State.ESTABLISHED;
      this.rcv.ackNow = true;
      this.connected();
      if (this.isClosed) return;
      // Data or a FIN on the SYN-ACK (rare): take it as text.
      if (seg.dataLength > 0 || (flags & FIN) !== 0) {
        if (this.rcv.onSegment((seg.seq + 1) | 0, seg.bytes, seg.dataAt, seg.dataLength, (flags & FIN) !== 0, now)) this.readablePending = true;
        if (this.rcv.finReceived) this.onFin(now);
      }
      this.afterInput(now);
      return;
    }
    // Simultaneous open (RFC 9293 §3.5, figure 8): SYN-RECEIVED, and a SYN-ACK on our own ISS.
    this.state = State.SYN_RECEIVED;
    snd.initWindow(seg.window, seg.seq, snd.iss, snd.wscale);
    snd.records.markLost(snd.records.at(0));
    snd.output(now);
  }

  private afterInput(now: number): void {
    const rcv = this.rcv;
    if (rcv.ackImmediate) sendSegment(this.host.ip, this, this.snd.nxt, ACK, 0, null, 0, now);
    if (rcv.ackNow || this.readablePending) this.host.markDirty(this);
    else if (rcv.unacked > 0 && !this.delackTimer.armed) this.host.wheel.arm(this.delackTimer, DELACK_MS);
    if (this.snd.unsent > 0 || this.snd.records.lostPending > 0 || this.writablePending) this.host.markDirty(this);
    if (this.keepAlive && this.keepKind === KeepKind.KEEPALIVE) this.armKeepAlive(now);
  }

  /** Eighth, the FIN was consumed: RFC 9293 §3.10.7.4's per-state transitions. */
  private onFin(now: number): void {
    this.readablePending = true;
    switch (this.state) {
      case State.SYN_RECEIVED:
      case State.ESTABLISHED:
        this.state = State.CLOSE_WAIT;
        break;
      case State.FIN_WAIT_1:
        // Simultaneous close: our FIN not yet ACKed.
        if (this.snd.finAcked) this.enterTimeWait(now);
        else this.state = State.CLOSING;
        break;
      case State.FIN_WAIT_2:
        this.enterTimeWait(now);
        break;
      default:
        break;
    }
  }

  /** RST accepted (RFC 9293 §3.10.7.4 second, per state). */
  private onReset(): void {
    switch (this.state) {
      case State.SYN_RECEIVED:
        if (!this.active) this.drop();
        else this.fail('ECONNREFUSED');
        return;
      case State.ESTABLISHED:
      case State.FIN_WAIT_1:
      case State.FIN_WAIT_2:
      case State.CLOSE_WAIT:
        this.fail('ECONNRESET');
        return;
      default:
        this.close();
    }
  }

  /** An ACK for an unacceptable segment, at most one per OOW_ACK_INTERVAL_MS for segments without data. */
  private dupAck(seg: Segment, now: number): void {
    if (seg.dataLength === 0 && (seg.flags & (SYN | FIN)) === 0) {
      if (now - this.lastOowAck < OOW_ACK_INTERVAL_MS) return;
      this.lastOowAck = now;
    }
    this.rcv.ackNow = true;
    this.host.markDirty(this);
  }

  /** RFC 5961 §3.2, §4, §5.2: an ACK that tells a genuine peer where we are, rate-limited (§7). */
  private challengeAck(now: number): void {
    if (now - this.lastOowAck < OOW_ACK_INTERVAL_MS || !this.host.challengeAllowed(now)) return;
    this.lastOowAck = now;
    this.challengeAcks++;
    this.rcv.ackNow = true;
    this.host.markDirty(this);
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
    if (rcv.unacked > 0 && !rcv.ackNow && !this.delackTimer.armed) this.host.wheel.arm(this.delackTimer, DELACK_MS);
  }

  private onRtxTimer(): void {
    if (this.state === State.CLOSED || this.state === State.TIME_WAIT) return;
    const now = this.host.wheel.now();
    this.snd.onRtxTimer(now);
    if (!this.isClosed) this.host.markDirty(this);
  }

  private onDelackTimer(): void {
    if (this.state === State.CLOSED || this.rcv.unacked === 0) return;
    this.rcv.ackNow = true;
    this.host.markDirty(this);
  }

  private onKeepTimer(): void {
    const now = this.host.wheel.now();
    const kind = this.keepKind;
    this.keepKind = KeepKind.NONE;
    switch (kind) {
      case KeepKind.TIME_WAIT:
        this.close();
        return;
      case KeepKind.FIN_WAIT_2:
        if (this.state === State.FIN_WAIT_2) this.close();
        return;
      case KeepKind.KEEPALIVE:
        this.keepaliveTimeout(now);
        return;
      default:
        return;
    }
  }

  /** RFC 1122 §4.2.3.6: after keepIdleMs without a segment, probe every keepIntervalMs, keepCount times. */
  private keepaliveTimeout(now: number): void {
    if (!this.keepAlive || !isSynchronized(this.state) || this.state === State.TIME_WAIT) return;
    const idle = now - this.lastRecvTime;
    const due = this.keepProbes === 0 ? this.keepIdleMs : this.keepIntervalMs;
    if (this.snd.records.count > 0 || this.snd.unsent > 0 || idle < due) {
      // Data in flight has its own timer; or something arrived since: wait again.
      this.armKeep(KeepKind.KEEPALIVE, Math.max(now, this.lastRecvTime + this.keepIdleMs) + (idle < due ? 0 : this.keepIntervalMs));
      return;
    }
    if (this.keepProbes >= this.keepCount) {
      this.fail(this.softError !== '' ? this.softError : 'ETIMEDOUT');
      return;
    }
    this.keepProbes++;
    this.emitProbe(now);
    this.armKeep(KeepKind.KEEPALIVE, now + this.keepIntervalMs);
  }

  private armKeep(kind: KeepKind, deadline: number): void {
    this.keepKind = kind;
    this.host.wheel.armAt(this.keepTimer, deadline);
  }

  private armKeepAlive(now: number): void {
    this.armKeep(KeepKind.KEEPALIVE, now + (this.keepProbes === 0 ? this.keepIdleMs : this.keepIntervalMs));
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
    if (this.state === State.FIN_WAIT_2) this.armKeep(KeepKind.FIN_WAIT_2, this.host.wheel.now() + FIN_WAIT_2_TIMEOUT_MS);
  }

  /** ABORT (RFC 9293 §3.10.5): RST in a synchronized state, then gone. */
  abort(): void {
    this.handler = null;
    this.orphan = true;
    if (isSynchronized(this.state) && this.state !== State.TIME_WAIT) sendResetFrom(this, this.snd.nxt);
    this.close();
  }

  /** Keepalive on or off (socket.setKeepAlive). */
  setKeepAlive(enable: boolean, idleMs: number): void {
    this.keepAlive = enable;
    if (idleMs > 0) this.keepIdleMs = idleMs;
    if (!enable) {
      if (this.keepKind === KeepKind.KEEPALIVE) {
        this.keepKind = KeepKind.NONE;
        this.host.wheel.cancel(this.keepTimer);
      }
      return;
    }
    if (this.keepKind === KeepKind.NONE && isSynchronized(this.state)) {
      this.keepProbes = 0;
      this.armKeep(KeepKind.KEEPALIVE, this.lastRecvTime + this.keepIdleMs);
    }
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

  private connected(): void {
    if (this.keepAlive) this.armKeepAlive(this.lastRecvTime);
    this.connectPending = true;
    // A FIN the user asked for before the handshake completed.
    if (this.snd.finQueued && this.state === State.ESTABLISHED) this.state = State.FIN_WAIT_1;
    this.host.markDirty(this);
  }

  private enterTimeWait(now: number): void {
    this.state = State.TIME_WAIT;
    this.enteredTimeWaitAt = now;
    this.stopTimers();
    this.snd.clear();
    // Bytes the user has not read yet stay until it reads them or lets go (release()).
    if (this.handler === null) this.rcv.clear();
    this.rcv.ackNow = true;
    this.armKeep(KeepKind.TIME_WAIT, now + TIME_WAIT_MS);
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
  private drop(): void {
    this.close();
    this.host.passiveDropped(this);
  }

  /** CLOSED: stop timers, free buffers, leave the tables. */
  close(): void {
    if (this.state === State.CLOSED) return;
    this.state = State.CLOSED;
    this.stopTimers();
    this.host.wheel.cancel(this.keepTimer);
    this.keepKind = KeepKind.NONE;
    this.snd.clear();
    // A connection that ended in order (LAST-ACK, TIME-WAIT) may still hold bytes its user has not
    // read: they stay until the user reads them or lets go (release()).
    if (this.handler === null) this.rcv.clear();
    this.host.remove(this);
  }

  private stopTimers(): void {
    this.host.wheel.cancel(this.rtxTimer);
    this.host.wheel.cancel(this.delackTimer);
    if (this.keepKind !== KeepKind.TIME_WAIT) {
      this.host.wheel.cancel(this.keepTimer);
      this.keepKind = KeepKind.NONE;
    }
  }
}

/** RFC 9293 §3.3.1: seq lies in [start, start + wnd). */
function inWindow(seq: number, start: number, wnd: number): boolean {
  const d = (seq - start) >>> 0;
  return d < wnd;
}

/** States after the handshake. */
export function isSynchronized(s: State): boolean {
  return s >= State.ESTABLISHED;
}

/** States where the user may still queue data. */
function canSend(s: State): boolean {
  return s === State.ESTABLISHED || s === State.CLOSE_WAIT || s === State.SYN_SENT || s === State.SYN_RECEIVED;
}

/** RST <SEQ=seq> from a connection's own addresses (RFC 9293 §3.10.7.4 and ABORT). */
function sendResetFrom(c: Connection, seq: number): void {
  const ip = c.host.ip;
  const buf = ip.alloc(c.family, TCP_HEADER_BYTES);
  if (buf === null) return;
  writeHeader(buf.bytes, buf.start, c.localPort, c.remotePort, seq, 0, RST, 0, TCP_HEADER_BYTES);
  buf.end = buf.start + TCP_HEADER_BYTES;
  finishChecksum(buf.bytes, buf.start, buf.end, c.pseudoBase);
  ip.send(buf, c.family, c.local, c.remote, IPPROTO_TCP, 0);
}
