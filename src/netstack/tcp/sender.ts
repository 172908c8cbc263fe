/**
 * The send side of a connection: what to send and when, and what an ACK means for it.
 *
 * - Sequence space and the peer's window (RFC 9293 §3.3.1, §3.10.7.4 "fifth, check the ACK field":
 *   SND.UNA, SND.NXT, SND.WND with SND.WL1/WL2, the window scaled by the peer's shift, RFC 7323 §2.3).
 * - Sending: lost segments first (RFC 6675 §5 NextSeg rule 1), then new data within
 *   min(cwnd - pipe, SND.UNA + SND.WND - SND.NXT) (RFC 5681 §3.1, RFC 6675 §5 rule 2), with sender SWS
 *   avoidance (RFC 9293 §3.8.6.2.1) and, when asked for, Nagle (RFC 9293 §3.7.4, Minshall's variant
 *   as Linux: hold a small segment only while an earlier small one is unacknowledged). The FIN rides on
 *   the last data segment.
 * - ACK processing: window update; SACK blocks into the scoreboard (RFC 2018, RFC 6675 §4), D-SACK
 *   detection (RFC 2883 §4); the cumulative ACK; an RTT sample by Karn's rule (RFC 6298 §3) from the
 *   newest segment sent once, else from the timestamp echo (RFC 7323 §4.1).
 * - Loss detection by RACK (RFC 8985 §6, rack.ts, which folds in RFC 6675's DupThresh); for peers
 *   without SACK, three duplicate ACKs and partial ACKs (RFC 5681 §3.2, RFC 6582 §3.2).
 * - Recovery (RFC 6675 §5): entered on the first loss, ends when the RecoveryPoint is ACKed; cwnd is
 *   walked down by Proportional Rate Reduction (RFC 6937 §3, PRR-SSRB) as Linux does, unless the
 *   controller is model-based (BBR): that one sets cwnd on every ACK from the delivery-rate sample
 *   each segment's send and delivery feed (delivery-rate.ts).
 * - Timers, multiplexed on one per-connection wheel entry as Linux's retransmit timer is: the RTO
 *   (RFC 6298 §5, back-off, Karn), the tail loss probe (RFC 8985 §7), RACK's reorder timer (§6.3), and
 *   the persist timer with zero-window probes (RFC 9293 §3.8.6.1).
 * - The send buffer's limit follows cwnd (2 x cwnd, Linux's tcp_sndbuf_expand), so a slow path makes
 *   the user's write() return false and a fast one keeps the pipe full.
 *
 * Loss recovery's state (recovery.ts), the tail loss probe (tlp.ts), RACK (rack.ts), the scoreboard
 * (sent-records.ts), the RTT estimate (rtt.ts) and the delivery rate (delivery-rate.ts) are objects of
 * their own. What stays here (~680 lines, past the house ~500) is the send sequence space that
 * output, ACK processing and the timers all move: split further, SND.NXT and SND.UNA would be written
 * from several files.
 */
import { DATA_RETRIES, MAX_RTO_MS, PERSIST_MIN_MS, SYN, SYN_FALLBACK_RTO_MS } from './constants.js';
import { initialWindow, type CongestionControl } from './congestion.js';
import { DeliveryRate } from './delivery-rate.js';
import type { Segment } from './header.js';
import { Rack } from './rack.js';
import { CaState, Recovery } from './recovery.js';
import { RttEstimator } from './rtt.js';
import { SendBuffer } from './send-buffer.js';
import { EVER_RETRANS, FIN_FLAG, LOST, RETRANS, SACKED, SYN_FLAG, SentRecords, type DeliveryObserver } from './sent-records.js';
import { seqGe, seqGt, seqLe, seqLt, seqMin } from './seq.js';
import { TailLossProbe } from './tlp.js';

export { CaState };

/** What the single retransmission timer is armed for. */
export const enum RtxKind {
  NONE = 0,
  RTO = 1,
  TLP = 2,
  REORDER = 3,
  PERSIST = 4,
  /** Nothing in flight or queued: trim the buffers if it stays so. */
  IDLE = 5,
}

/** A connection idle this long gives back its send ring and scoreboard. */
const IDLE_TRIM_MS = 1000;

/** What the sender needs from its connection. */
export interface SenderHost {
  readonly sackOk: boolean;
  readonly tsOk: boolean;
  /** True while the handshake is incomplete (only the SYN or SYN-ACK may be sent). */
  readonly handshaking: boolean;
  /** Payload bytes one segment may carry now (MSS less the options this segment will carry). */
  segmentPayload(): number;
  /**
   * Send the segment [seq, seq + len) with the record's flags (SYN, FIN); false when the pool had no
   * buffer (nothing went out: wait for the IP layer's onWritable).
   */
  emit(seq: number, len: number, recordFlags: number, push: boolean, now: number): boolean;
  /** A zero-window or keepalive probe: an ACK with SEQ = SND.UNA - 1 and no data. */
  emitProbe(now: number): void;
  armRtx(kind: RtxKind, deadline: number): void;
  cancelRtx(): void;
  /** Send-buffer space was freed (the user may write again). */
  writable(): void;
  /** The retransmissions ran out: the connection fails with ETIMEDOUT (or a soft ICMP error). */
  timedOut(): void;
  /** RTO back-offs allowed in the current state (SYN, SYN-ACK, data, orphaned). */
  maxRetries(): number;
  /** Our TSval clock now (ms), for RTT samples from echoes. */
  tsNow(now: number): number;
  /** Nothing to send for IDLE_TRIM_MS: the receive side may give its memory back too. */
  idle(): void;
}

export class Sender implements DeliveryObserver {
  private readonly host: SenderHost;
  /** ISS, SND.UNA, SND.NXT (RFC 9293 §3.3.1). */
  iss: number;
  una: number;
  nxt: number;
  /** SND.WND in bytes (scaled), SND.WL1, SND.WL2, the largest window seen, the peer's shift. */
  wnd: number;
  wl1: number;
  wl2: number;
  maxWnd: number;
  wscale: number;
  readonly buf: SendBuffer;
  readonly bufMax: number;
  readonly records: SentRecords;
  readonly rtt: RttEstimator;
  readonly rack: Rack;
  readonly cc: CongestionControl;
  readonly recovery: Recovery;
  readonly tlp: TailLossProbe;
  /** Delivery-rate samples for a model-based controller (delivery-rate.ts). */
  readonly rate: DeliveryRate;
  /** The time of the ACK being processed (for the delivery observer). */
  private ackTime: number;
  /** FIN state: asked for by the user; recorded (sent) with its sequence number. */
  finQueued: boolean;
  finSent: boolean;
  finSeq: number;
  /** Nagle on (setNoDelay(false)); the end of the last small segment sent (Minshall). */
  nagle: boolean;
  private smallEnd: number;
  /** RFC 7661: the last output was limited by cwnd, not by the application. */
  private cwndLimited: boolean;
  lastSendTime: number;
  /** Persist probes sent without an answer. */
  probes: number;
  rtxKind: RtxKind;
  // Karn's sample for the ACK being processed: the newest segment sent once (-1: none).
  private sampleXmit: number;
  private inCumAck: boolean;
  private synTimedOut: boolean;
  // Counters.
  retransmits: number;
  rtoCount: number;
  dsacks: number;
  bytesAcked: number;

  constructor(host: SenderHost, cc: CongestionControl, bufInitial: number, bufMax: number) {
    this.host = host;
    this.iss = 0;
    this.una = 0;
    this.nxt = 0;
    this.wnd = 0;
    this.wl1 = 0;
    this.wl2 = 0;
    this.maxWnd = 0;
    this.wscale = 0;
    this.buf = new SendBuffer(Math.min(bufInitial, bufMax));
    this.bufMax = bufMax;
    this.records = new SentRecords();
    this.rtt = new RttEstimator();
    this.rack = new Rack();
    this.cc = cc;
    this.recovery = new Recovery(cc, this.records);
    this.tlp = new TailLossProbe();
    this.rate = new DeliveryRate();
    this.ackTime = 0;
    this.finQueued = false;
    this.finSent = false;
    this.finSeq = 0;
    this.nagle = false;
    this.smallEnd = 0;
    this.cwndLimited = false;
    this.lastSendTime = 0;
    this.probes = 0;
    this.rtxKind = RtxKind.NONE;
    this.sampleXmit = -1;
    this.inCumAck = false;
    this.synTimedOut = false;
    this.retransmits = 0;
    this.rtoCount = 0;
    this.dsacks = 0;
    this.bytesAcked = 0;
  }

  /** RFC 6675 pipe, with NewReno's duplicate ACKs standing in for SACKed segments. */
  get inflight(): number {
    const p = this.records.inflight - this.recovery.renoSacked;
    return p > 0 ? p : 0;
  }

  /** Start the sequence space at `iss`; the SYN takes it. */
  init(iss: number): void {
    this.iss = iss | 0;
    this.una = this.iss;
    this.nxt = this.iss;
    this.buf.reset((iss + 1) | 0);
    this.smallEnd = this.iss;
    this.records.fack = this.iss;
  }

  /** The handshake told us the peer's window (unscaled on the SYN) and its shift. */
  initWindow(window: number, seq: number, ack: number, wscale: number): void {
    this.wnd = window;
    this.wl1 = seq;
    this.wl2 = ack;
    this.maxWnd = window;
    this.wscale = wscale;
  }

  /** The MSS is known (handshake or a smaller path MTU): the congestion window's unit. */
  setMss(mss: number, fresh: boolean): void {
    this.cc.setMss(mss);
    if (fresh) this.cc.cwnd = initialWindow(mss);
  }

  /** Record and send the SYN (or SYN-ACK) at `now`. */
  sendSyn(now: number): void {
    this.rate.onSend(this.records, this.records.append(this.iss, 1, now, SYN_FLAG), 0, now);
    this.nxt = (this.iss + 1) | 0;
    this.host.emit(this.iss, 1, SYN_FLAG, false, now);
    this.lastSendTime = now;
    this.armRto(now);
  }

  /** Bytes not yet sent (after SND.NXT). */
  get unsent(): number {
    const d = (this.buf.tailSeq - this.nxt) | 0;
    return d > 0 ? d : 0;
  }

  /** Nothing left to send or acknowledge: everything written and the FIN (if any) were ACKed. */
  get idle(): boolean {
    return this.records.count === 0 && this.unsent === 0 && (!this.finQueued || this.finSent);
  }

  /** Our FIN was acknowledged. */
  get finAcked(): boolean {
    return this.finSent && seqGt(this.una, this.finSeq);
  }

  /** Copy user bytes into the send buffer; returns how many fit. */
  write(src: Uint8Array, at: number, len: number): number {
    return this.buf.write(src, at, len);
  }

  // -------------------------------------------------------------------------------------------------
  // Sending.

  /** Send what the windows allow: lost segments first, then new data and the FIN; arm timers. */
  output(now: number): void {
    const host = this.host;
    if (host.handshaking) {
      // Only the SYN can go: after an RTO marked it lost.
      if (this.records.lostPending > 0) this.retransmitLost(now);
      return;
    }
    if (this.records.lostPending > 0) this.retransmitLost(now);
    this.sendNew(now);
    this.armTimers(now);
  }

  private retransmitLost(now: number): void {
    const r = this.records;
    for (let i = 0; i < r.count && r.lostPending > 0; i++) {
      const p = r.at(i);
      const f = r.flags[p]!;
      if ((f & LOST) === 0 || (f & (RETRANS | SACKED)) !== 0) continue;
      let len = r.len[p]!;
      const inflight = this.inflight;
      if (inflight > 0 && inflight + len > this.cc.cwnd) {
        this.cwndLimited = true;
        return;
      }
      const dataLen = len - (f & SYN_FLAG ? 1 : 0) - (f & FIN_FLAG ? 1 : 0);
      const max = this.host.segmentPayload();
      if (dataLen > max) {
        // The path's MSS went down since this was first sent (Packet Too Big): split it.
        r.split(i, max);
        len = max;
      }
      if (!this.host.emit(r.seq[p]!, len, r.flags[p]!, false, now)) return;
      r.onRetransmit(p, now);
      this.rate.onSend(r, p, inflight, now);
      this.retransmits++;
      this.recovery.sent(len);
      this.lastSendTime = now;
    }
  }

  private sendNew(now: number): void {
    const r = this.records;
    if (r.count === 0 && this.lastSendTime > 0 && now - this.lastSendTime > this.rtt.rto) this.restartAfterIdle(now);
    for (;;) {
      const unsent = this.unsent;
      const finPending = this.finQueued && !this.finSent;
      if (unsent === 0 && !finPending) {
        // Out of data with room in the window: rate samples from this flight are application-limited.
        const inflight = this.inflight;
        if (inflight < this.cc.cwnd) this.rate.markAppLimited(inflight);
        return;
      }
      const mss = this.host.segmentPayload();
      let len = unsent < mss ? unsent : mss;
      let fin = finPending && len === unsent;
      const usable = (this.una + this.wnd - this.nxt) | 0;
      if (usable < len + (fin ? 1 : 0)) {
        // Sender SWS avoidance (RFC 9293 §3.8.6.2.1): a partial segment only when the usable window
        // is at least half the largest window the peer offered.
        if (usable <= 0 || usable < this.maxWnd >>> 1) return;
        len = usable;
        fin = false;
      }
      if (this.nagle && len < mss && !fin && len === unsent && seqGt(this.smallEnd, this.una)) return;
      const inflight = this.inflight;
      if (inflight > 0 && inflight + len > this.cc.cwnd) {
        this.cwndLimited = true;
        return;
      }
      const seqLen = len + (fin ? 1 : 0);
      const push = len === unsent;
      const start = this.nxt;
      // Without a buffer nothing left: no record; onWritable brings us back.
      if (!this.host.emit(start, seqLen, fin ? FIN_FLAG : 0, push, now)) return;
      this.rate.onSend(r, r.append(start, seqLen, now, fin ? FIN_FLAG : 0), inflight, now);
      this.nxt = (start + seqLen) | 0;
      if (fin) {
        this.finSent = true;
        this.finSeq = (start + len) | 0;
      }
      if (len < mss) this.smallEnd = this.nxt;
      this.recovery.sent(seqLen);
      this.lastSendTime = now;
      this.cwndLimited = this.inflight >= this.cc.cwnd - mss;
    }
  }

  /** RFC 5681 §4.1 / RFC 7661: after an idle period longer than an RTO, restart from at most IW. */
  private restartAfterIdle(now: number): void {
    const idle = now - this.lastSendTime;
    this.cc.onIdleRestart(idle);
    const mss = this.host.segmentPayload();
    const restart = Math.min(this.cc.cwnd, initialWindow(mss));
    let cwnd = this.cc.cwnd;
    for (let t = idle - this.rtt.rto; t > 0 && cwnd > restart; t -= this.rtt.rto) cwnd /= 2;
    this.cc.cwnd = Math.max(cwnd, restart);
  }

  // -------------------------------------------------------------------------------------------------
  // Timers.

  /** After sending or on an ACK: the RTO, or a TLP ahead of it; the persist timer when window-bound. */
  private armTimers(now: number): void {
    const r = this.records;
    if (r.count > 0) {
      if (this.rtxKind === RtxKind.REORDER) return;
      if (this.rtxKind === RtxKind.NONE || this.rtxKind === RtxKind.PERSIST || this.rtxKind === RtxKind.IDLE) this.armRto(now);
      return;
    }
    if (this.unsent > 0 || (this.finQueued && !this.finSent)) {
      // Window-bound with nothing in flight: probe the window (RFC 9293 §3.8.6.1).
      if (this.rtxKind !== RtxKind.PERSIST) {
        this.rtxKind = RtxKind.PERSIST;
        this.host.armRtx(RtxKind.PERSIST, now + this.persistInterval());
      }
      return;
    }
    // Idle: after IDLE_TRIM_MS with nothing to send, the buffers grown for a burst go back.
    if (this.rtxKind !== RtxKind.IDLE) {
      this.rtxKind = RtxKind.IDLE;
      this.host.armRtx(RtxKind.IDLE, now + IDLE_TRIM_MS);
    }
  }

  /** RFC 6298 §5.1/5.3 (re)start, or a probe timeout when RFC 8985 §7.2 allows one. */
  private armRto(now: number): void {
    const rto = this.rtt.rto;
    let deadline = now + rto;
    let kind = RtxKind.RTO;
    if (this.tlpEligible()) {
      // RFC 8985 §7.2: the probe fires no later than the RTO would (and then instead of it).
      const pto = this.tlp.pto(this.rtt.srtt, this.records.count);
      deadline = now + (pto < rto ? pto : rto);
      kind = RtxKind.TLP;
    }
    this.rtxKind = kind;
    this.host.armRtx(kind, deadline);
  }

  /** RFC 8985 §7.2: a TLP only with SACK, in the open state, one per episode, with an RTT sample. */
  private tlpEligible(): boolean {
    return this.host.sackOk && this.recovery.state === CaState.OPEN && !this.tlp.active && !this.host.handshaking && this.rtt.hasSample;
  }

  private persistInterval(): number {
    const base = Math.max(this.rtt.rto, PERSIST_MIN_MS);
    return Math.min(base * 2 ** this.probes, MAX_RTO_MS);
  }

  /** The retransmission timer fired, for whatever it was armed. */
  onRtxTimer(now: number): void {
    const kind = this.rtxKind;
    this.rtxKind = RtxKind.NONE;
    switch (kind) {
      case RtxKind.RTO:
        this.onRto(now);
        break;
      case RtxKind.TLP:
        this.onPto(now);
        break;
      case RtxKind.REORDER:
        this.onReorderTimeout(now);
        break;
      case RtxKind.PERSIST:
        this.onPersist(now);
        break;
      case RtxKind.IDLE:
        if (this.records.count === 0 && this.unsent === 0) {
          this.buf.trim();
          this.records.shrink();
          this.host.idle();
        } else {
          this.armTimers(now);
        }
        break;
      default:
        break;
    }
  }

  /** RFC 6298 §5.4-5.7 with RFC 6675 §5.1 / RFC 5681 §3.1: mark everything lost, back off, resend. */
  private onRto(now: number): void {
    const r = this.records;
    if (r.count === 0) {
      this.armTimers(now);
      return;
    }
    if (this.rtt.backoff >= this.host.maxRetries()) {
      this.host.timedOut();
      return;
    }
    const head = r.at(0);
    // RFC 2018 §8: SACKed data at SND.UNA after an RTO means the receiver reneged.
    r.markAllLost((r.flags[head]! & SACKED) !== 0);
    this.recovery.enterLoss(this.nxt, this.host.segmentPayload(), now, this.host.tsNow(now), this.host.tsOk);
    this.tlp.cancel();
    this.rtt.backOff();
    this.rtoCount++;
    this.output(now);
    this.rtxKind = RtxKind.RTO;
    this.host.armRtx(RtxKind.RTO, now + this.rtt.rto);
  }

  /** RFC 8985 §7.3: send one new segment if the window allows, else resend the last one. */
  private onPto(now: number): void {
    const r = this.records;
    if (r.count === 0) return;
    let retrans = false;
    const mss = this.host.segmentPayload();
    const usable = (this.una + this.wnd - this.nxt) | 0;
    if (this.unsent > 0 && usable > 0) {
      // A probe with new data: exempt from cwnd (it replaces a segment presumed lost).
      const len = Math.min(this.unsent, mss, usable);
      const fin = this.finQueued && !this.finSent && len === this.unsent && usable > len;
      const start = this.nxt;
      const inflight = this.inflight;
      if (!this.host.emit(start, len + (fin ? 1 : 0), fin ? FIN_FLAG : 0, true, now)) {
        this.armTimers(now);
        return;
      }
      this.rate.onSend(r, r.append(start, len + (fin ? 1 : 0), now, fin ? FIN_FLAG : 0), inflight, now);
      this.nxt = (start + len + (fin ? 1 : 0)) | 0;
      if (fin) {
        this.finSent = true;
        this.finSeq = (start + len) | 0;
      }
    } else {
      const p = r.at(r.count - 1);
      const inflight = this.inflight;
      if ((r.flags[p]! & SACKED) === 0 && this.host.emit(r.seq[p]!, r.len[p]!, r.flags[p]!, true, now)) {
        r.onRetransmit(p, now);
        this.rate.onSend(r, p, inflight, now);
        this.retransmits++;
      }
      retrans = true;
    }
    this.tlp.sent(this.nxt, retrans);
    this.lastSendTime = now;
    this.rtxKind = RtxKind.RTO;
    this.host.armRtx(RtxKind.RTO, now + this.rtt.rto);
  }

  /** RFC 8985 §6.3: the reorder window of a held-back segment ran out. */
  private onReorderTimeout(now: number): void {
    this.detectLoss(now);
    if (this.recovery.state === CaState.OPEN && this.records.lost > 0) this.enterRecovery(now);
    this.output(now);
    if (this.rtxKind === RtxKind.NONE && this.records.count > 0) this.armRto(now);
  }

  /** RFC 9293 §3.8.6.1: probe a zero window, backing off; give up only if the peer stops answering. */
  private onPersist(now: number): void {
    if (this.records.count > 0 || (this.unsent === 0 && !(this.finQueued && !this.finSent))) {
      this.armTimers(now);
      return;
    }
    if (this.probes > DATA_RETRIES) {
      this.host.timedOut();
      return;
    }
    const usable = (this.una + this.wnd - this.nxt) | 0;
    if (usable > 0) {
      // The window opened a little but below the SWS threshold: send what fits (RFC 9293 §3.8.6.2.1's
      // override timeout).
      const saved = this.maxWnd;
      this.maxWnd = 0;
      this.sendNew(now);
      this.maxWnd = saved;
    } else {
      this.host.emitProbe(now);
    }
    this.probes++;
    this.armTimers(now);
    if (this.rtxKind === RtxKind.PERSIST) this.host.armRtx(RtxKind.PERSIST, now + this.persistInterval());
  }

  // -------------------------------------------------------------------------------------------------
  // ACK processing.

  /** DeliveryObserver: RACK's bookkeeping, the delivery rate, and Karn's RTT candidate during the cumulative ACK. */
  delivered(r: SentRecords, p: number): void {
    this.rack.delivered(r, p);
    const xmit = r.xmit[p]!;
    this.rate.onDelivered(r, p, this.ackTime);
    if (this.inCumAck && (r.flags[p]! & EVER_RETRANS) === 0 && xmit > this.sampleXmit) this.sampleXmit = xmit;
  }

  /**
   * An acceptable ACK (SND.UNA - MAX.SND.WND <= SEG.ACK <= SND.NXT, checked by the caller, RFC 5961
   * §5.2). Returns the bytes of user data newly acknowledged.
   */
  onAck(seg: Segment, now: number): number {
    const r = this.records;
    const ack = seg.ack;
    const prevUna = this.una;
    // Fifth: the window (RFC 9293 §3.10.7.4), from the newest segment by (SEG.SEQ, SEG.ACK).
    let windowChanged = false;
    if (seqLt(this.wl1, seg.seq) || (this.wl1 === seg.seq && seqLe(this.wl2, ack))) {
      // RFC 7323 §2.2: the window of a SYN is never scaled.
      // A shift, not 2 ** wscale: V8 calls pow() for a variable exponent, ~3% of a download's CPU.
      const w = seg.flags & SYN ? seg.window : seg.window * (1 << this.wscale);
      if (w !== this.wnd) windowChanged = true;
      this.wnd = w;
      this.wl1 = seg.seq;
      this.wl2 = ack;
      if (w > this.maxWnd) this.maxWnd = w;
    }
    // The age in ticks of the TSval this ACK echoes (-1: no echo): RACK's step 2 and the RTT below.
    const echoAge = this.host.tsOk && seg.hasTimestamp && seg.tsEcr !== 0 ? (this.host.tsNow(now) - seg.tsEcr) | 0 : -1;
    this.rack.beginAck(now, this.rtt.minRtt, r.fack, echoAge >= 0 ? Math.floor(now) - echoAge : -1);
    this.rate.begin();
    this.ackTime = now;
    this.sampleXmit = -1;
    // SACK blocks (RFC 2018 §4, RFC 6675 §4 Update()).
    let sacked = 0;
    let dsack = false;
    if (this.host.sackOk && seg.sackCount > 0) {
      const lowest = seqGt(ack, this.una) ? ack : this.una;
      for (let i = 0; i < seg.sackCount; i++) {
        const left = seg.sack[2 * i]!;
        const right = seg.sack[2 * i + 1]!;
        // RFC 2883 §4: a first block below the ACK, or inside the second block, reports a duplicate.
        if (i === 0 && (seqLt(left, ack) || (seg.sackCount > 1 && seqGe(left, seg.sack[2]!) && seqLe(right, seg.sack[3]!)))) {
          dsack = true;
          this.dsacks++;
          continue;
        }
        if (!seqLt(left, right) || seqGt(right, this.nxt) || seqLt(left, lowest)) continue;
        sacked += r.sack(left, right, this);
      }
    }
    // The cumulative ACK.
    let acked = 0;
    let dataAcked = 0;
    if (seqGt(ack, this.una)) {
      this.inCumAck = true;
      acked = r.ackUpTo(ack, this);
      this.inCumAck = false;
      const dataEnd = seqMin(ack, this.buf.tailSeq);
      if (seqGt(dataEnd, this.buf.headSeq)) {
        dataAcked = (dataEnd - this.buf.headSeq) | 0;
        this.buf.consume(dataAcked);
        this.bytesAcked += dataAcked;
      }
      this.una = ack;
      if (seqLt(this.nxt, ack)) this.nxt = ack;
      // RFC 6298 §5.7: a SYN that timed out and gave no sample leaves data a 3 s RTO.
      if (prevUna === this.iss && this.rtt.backoff > 0) this.synTimedOut = true;
      this.rtt.resetBackoff();
      this.probes = 0;
    }
    // A spurious RTO undone (RFC 3522): the ACK echoes a transmission from before the timeout.
    if (acked > 0 && seg.hasTimestamp && this.recovery.eifel(seg.tsEcr)) this.armRto(now);
    // RTT: Karn's rule on the records, else the timestamp echo (RFC 7323 §4.1).
    if (acked > 0) {
      let sample = -1;
      if (this.sampleXmit >= 0) sample = now - this.sampleXmit;
      // The timestamp clock ticks in whole ms: an echo from this very tick means "under one tick",
      // not zero (as Linux rounds it up). A zero made min_RTT 0, and with it RACK's reordering window
      // and the delivery-rate floor, for the 10 s of the min filter.
      else if (echoAge >= 0) sample = echoAge === 0 ? 1 : echoAge;
      if (sample >= 0) {
        const perRtt = this.host.tsOk ? Math.ceil(r.out / (2 * this.host.segmentPayload())) : 1;
        this.rtt.sample(sample, now, perRtt);
      }
    }
    if (this.synTimedOut) {
      this.synTimedOut = false;
      this.rtt.synTimedOut(SYN_FALLBACK_RTO_MS);
    }
    // Duplicate ACKs (RFC 5681 §2) for peers without SACK: NewReno (RFC 6582).
    const isDup = acked === 0 && ack === prevUna && seg.dataLength === 0 && !windowChanged && r.count > 0;
    const rec = this.recovery;
    if (!this.host.sackOk) rec.renoAck(isDup, acked, this.una, this.host.segmentPayload());
    else if (this.rack.advanced || rec.state !== CaState.OPEN) {
      // RACK: a walk when something new was delivered or recovery is on (RFC 8985 §6.2).
      this.detectLoss(now);
    }
    let exited = false;
    if (rec.state === CaState.OPEN && r.lost > 0) this.enterRecovery(now);
    else exited = rec.maybeExit(this.una, now);
    if (this.host.sackOk) this.rack.updateReoWnd(dsack, this.una, this.nxt, exited);
    // TLP episode (RFC 8985 §7.4.2): a probe that repaired a loss is a congestion signal.
    if (this.tlp.onAck(ack, dsack, isDup && seg.sackCount === 0) && rec.state === CaState.OPEN) {
      this.cc.onCongestionEvent(r.out, now);
      this.cc.onRecoveryEnd(now);
    }
    // Congestion control: a model-based controller on every delivery; else PRR in recovery, growth outside.
    const sampled = this.rate.finish(this.rtt.minRtt);
    const delivered = acked + sacked;
    if (this.cc.onDelivery !== undefined) {
      if (sampled) this.cc.onDelivery(this.rate, this.inflight, rec.state !== CaState.OPEN, now);
    } else if (rec.state === CaState.RECOVERY) rec.prrAck(delivered, this.inflight, this.host.segmentPayload());
    else if (delivered > 0) this.cc.onAck(delivered, this.cwndLimited, this.rtt.srtt, now);
    // Send buffer follows cwnd (Linux's tcp_sndbuf_expand): 2 x cwnd, within [initial, max].
    const want = Math.min(this.bufMax, Math.max(this.buf.limit, 2 * this.cc.cwnd));
    if (want > this.buf.limit) this.buf.limit = Math.ceil(want);
    // Timers: restart on new data ACKed (RFC 6298 §5.3); stop when all is ACKed (§5.2).
    if (acked > 0 || windowChanged) {
      if (this.rtxKind !== RtxKind.REORDER || r.count === 0) {
        if (r.count > 0) this.armRto(now);
        else this.armTimers(now);
      }
    }
    if (dataAcked > 0) this.host.writable();
    return dataAcked;
  }

  /** RACK's loss walk (RFC 8985 §6.2 step 5) and its reorder timer. */
  private detectLoss(now: number): void {
    const r = this.records;
    if (r.count === 0) return;
    const wnd = this.rack.reoWnd(this.recovery.state !== CaState.OPEN, r.sackedSegments, this.rtt.minRtt, this.rtt.srtt);
    const timeout = this.rack.detectLoss(r, now, wnd);
    if (timeout > 0) {
      this.rtxKind = RtxKind.REORDER;
      this.host.armRtx(RtxKind.REORDER, now + timeout);
    } else if (this.rtxKind === RtxKind.REORDER) {
      this.armRto(now);
    }
  }

  /** RFC 6675 §5 / RFC 6937: fast recovery begins; cwnd is reduced by PRR from here. */
  private enterRecovery(now: number): void {
    this.recovery.enter(this.nxt, now);
    this.tlp.cancel();
  }

  /** The path MTU went down (RFC 8201 / RFC 1191): resend what no longer fits (Linux's tcp_simple_retransmit). */
  onMssDecrease(newPayload: number, now: number): void {
    const r = this.records;
    for (let i = 0; i < r.count; i++) {
      const p = r.at(i);
      if ((r.flags[p]! & SACKED) === 0 && r.len[p]! > newPayload) r.markLost(p);
    }
    this.output(now);
  }

  /** Drop everything held (the connection is gone). */
  clear(): void {
    this.records.clear();
    this.buf.reset(this.nxt);
    this.rtxKind = RtxKind.NONE;
  }
}
