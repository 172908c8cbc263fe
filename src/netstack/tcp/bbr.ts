/**
 * BBR (Cardwell et al., "BBR: Congestion-Based Congestion Control", ACM Queue 2016, and
 * draft-cardwell-iccrg-bbr-congestion-control): a model of the path instead of a reaction to loss.
 * The model is two numbers, the bottleneck bandwidth (the largest delivery rate of the last
 * BW_WINDOW_ROUNDS round trips, from delivery-rate.ts) and the round-trip propagation time (the
 * smallest RTT of the last MIN_RTT_WINDOW_MS); the window is a multiple of their product, the BDP.
 *
 * Why the netstack has it: a loss-based window (CUBIC, NewReno) settles where losses say, about
 * 1.2 / sqrt(p) segments at a random loss rate p (Mathis et al. 1997), whatever the path could carry.
 * Through a userspace tunnel the RTT is a fraction of a millisecond, so at 1% loss that is ~12
 * segments and a few hundred Mbit/s; BBR keeps the window at the BDP and loses ~1% of its rate.
 *
 * Phases (the draft's state machine): Startup grows the window by what is delivered (doubling each
 * round) until the bandwidth estimate stops growing by 25% for three rounds; Drain holds the window at
 * one BDP until the queue Startup built is gone; ProbeBW holds it at CWND_GAIN x BDP; ProbeRTT, when
 * the minimum RTT has not been seen for MIN_RTT_WINDOW_MS, holds it at MIN_CWND_SEGMENTS for
 * PROBE_RTT_MS and a round so a standing queue drains and the true minimum is measured again.
 *
 * What differs from the draft: no pacing. The event loop sends in batches and has no sub-millisecond
 * timers, so the window alone bounds the flight; ProbeBW's pacing-gain cycle (1.25, 0.75, 1 ...) has
 * nothing to act on and is left out, and the window's headroom over the BDP (CWND_GAIN = 2) is what
 * finds more bandwidth: with the path not yet full, a flight of 2 BDP is delivered at twice the
 * estimate, which raises the estimate. The window keeps Linux's allowance of three send quanta over
 * CWND_GAIN x BDP (tcp_bbr.c's quantization budget, where a quantum is ~1 ms of data in one TSO
 * burst). Here a quantum is a millisecond at the estimated rate, what one event-loop turn sends at
 * load, up to QUANTUM_BYTES: the tunnel's RTT under load is set by those turns (1.5-3 ms against a
 * 0.2-0.5 ms minimum), and with Linux's 64 KiB cap the window held one stream through a tunnel to
 * 2.2 Gbit/s where CUBIC's reached 2.9 (measured with `npm run bench:rootless`); 256 KiB gave
 * 3.0, and 1 MiB no more than that with flights of thousands of segments (more holes open at once
 * under loss than a receiver's three or four SACK blocks can report).
 *
 * Loss: recovery is packet conservation for its first round (the window is what is in flight plus
 * what this ACK delivered) and the window from before comes back when recovery ends; an RTO leaves
 * one segment, as for every controller (RFC 5681 §3.1), and conservation from there.
 */
import { INITIAL_WINDOW_SEGMENTS } from './constants.js';
import { initialWindow, type CongestionControl } from './congestion.js';
import type { DeliveryRate } from './delivery-rate.js';

/** Startup's gain, 2 / ln 2: the smallest that doubles the delivery rate each round. */
const STARTUP_GAIN = 2.885;
/** ProbeBW's window over the BDP. */
const CWND_GAIN = 2;
/** The bandwidth filter's window, in round trips. */
const BW_WINDOW_ROUNDS = 10;
/** The minimum RTT's window. */
const MIN_RTT_WINDOW_MS = 10_000;
/** ProbeRTT's hold. */
const PROBE_RTT_MS = 200;
/** The smallest window, and ProbeRTT's. */
const MIN_CWND_SEGMENTS = 4;
/** Startup ends when the estimate grew less than this in FULL_BW_ROUNDS rounds. */
const FULL_BW_GROWTH = 1.25;
const FULL_BW_ROUNDS = 3;
/** The largest send quantum (the allowance is three of them). */
const QUANTUM_BYTES = 256 * 1024;
const QUANTA = 3;

export const enum BbrMode {
  STARTUP = 0,
  DRAIN = 1,
  PROBE_BW = 2,
  PROBE_RTT = 3,
}

export class Bbr implements CongestionControl {
  readonly name = 'bbr' as const;
  cwnd: number;
  /** Unused by BBR's own window; kept for the interface (RFC 3522 undo compares it). */
  ssthresh: number;
  private mss: number;
  mode: BbrMode;
  // Round trips: a round ends when a segment sent after the previous round's end is delivered.
  round: number;
  private nextRoundDelivered: number;
  private roundStart: boolean;
  // The bandwidth filter: the largest rate of each of the last rounds (bytes per ms).
  private readonly bwSlots: Float64Array;
  private readonly bwRounds: Float64Array;
  /** The bottleneck-bandwidth estimate (bytes per ms). */
  bw: number;
  /** The round-trip propagation estimate (ms) and when it was last lowered or refreshed. */
  minRtt: number;
  private minRttAt: number;
  // Startup's exit.
  private fullBw: number;
  private fullBwRounds: number;
  filledPipe: boolean;
  // ProbeRTT.
  private probeRttDoneAt: number;
  private probeRttRoundDone: boolean;
  // Loss.
  private priorCwnd: number;
  /** An RTO saved the window already (recovery's start must not save the one segment it left). */
  private afterRto: boolean;
  private conservation: boolean;
  private wasInRecovery: boolean;

  constructor(mss: number) {
    this.mss = mss;
    this.cwnd = initialWindow(mss);
    this.ssthresh = Infinity;
    this.mode = BbrMode.STARTUP;
    this.round = 0;
    this.nextRoundDelivered = 0;
    this.roundStart = false;
    this.bwSlots = new Float64Array(BW_WINDOW_ROUNDS);
    this.bwRounds = new Float64Array(BW_WINDOW_ROUNDS).fill(-1);
    this.bw = 0;
    this.minRtt = Infinity;
    this.minRttAt = 0;
    this.fullBw = 0;
    this.fullBwRounds = 0;
    this.filledPipe = false;
    this.probeRttDoneAt = 0;
    this.probeRttRoundDone = false;
    this.priorCwnd = 0;
    this.afterRto = false;
    this.conservation = false;
    this.wasInRecovery = false;
  }

  setMss(mss: number): void {
    this.mss = mss;
  }

  /** Loss-based growth does not apply: every ACK comes through onDelivery. */
  onAck(_acked: number, _cwndLimited: boolean, _rtt: number, _now: number): void {}

  /** Recovery's start and end are seen in onDelivery (as tcp_bbr.c watches the CA state). */
  onCongestionEvent(_inflight: number, _now: number): void {}

  onRecoveryEnd(_now: number): void {}

  onRto(_inflight: number, _now: number): void {
    if (!this.afterRto) this.saveCwnd();
    this.afterRto = true;
    this.cwnd = this.mss;
  }

  onIdleRestart(_idleMs: number): void {}

  /** The BDP at `gain` (bytes), or the initial window while there is no estimate. */
  private target(gain: number): number {
    if (this.bw === 0 || this.minRtt === Infinity) return initialWindow(this.mss);
    let quantum = this.bw; // one millisecond at the estimated rate
    if (quantum > QUANTUM_BYTES) quantum = QUANTUM_BYTES;
    if (quantum < 2 * this.mss) quantum = 2 * this.mss;
    return gain * this.bw * this.minRtt + QUANTA * quantum;
  }

  /**
   * An ACK delivered data. `rs` is its delivery-rate sample (rs.deliveredThisAck the bytes), `inflight`
   * the flight after it (RFC 6675 pipe), `inRecovery` whether fast recovery or an RTO's loss state is on.
   */
  onDelivery(rs: DeliveryRate, inflight: number, inRecovery: boolean, now: number): void {
    // Round trips (draft §4.1.1.3).
    this.roundStart = false;
    if (rs.priorDelivered >= this.nextRoundDelivered) {
      this.nextRoundDelivered = rs.delivered;
      this.round++;
      this.roundStart = true;
    }
    // The model.
    if (rs.rateValid && (!rs.appLimited || rs.rate >= this.bw)) this.updateBw(rs.rate);
    const expired = now - this.minRttAt > MIN_RTT_WINDOW_MS;
    if (rs.rtt >= 0 && (rs.rtt <= this.minRtt || expired)) {
      this.minRtt = rs.rtt;
      this.minRttAt = now;
    }
    // Startup's end: three rounds without 25% more bandwidth (draft §4.3.2.2).
    if (!this.filledPipe && this.roundStart && !rs.appLimited) {
      if (this.bw >= this.fullBw * FULL_BW_GROWTH) {
        this.fullBw = this.bw;
        this.fullBwRounds = 0;
      } else if (++this.fullBwRounds >= FULL_BW_ROUNDS) {
        this.filledPipe = true;
      }
    }
    if (this.mode === BbrMode.STARTUP && this.filledPipe) this.mode = BbrMode.DRAIN;
    if (this.mode === BbrMode.DRAIN && inflight <= this.target(1)) this.mode = BbrMode.PROBE_BW;
    this.probeRtt(expired, inflight, rs.delivered, now);
    this.setCwnd(rs.deliveredThisAck, inflight, inRecovery, rs.delivered);
  }

  private updateBw(rate: number): void {
    const slot = this.round % BW_WINDOW_ROUNDS;
    if (this.bwRounds[slot] !== this.round) {
      this.bwRounds[slot] = this.round;
      this.bwSlots[slot] = rate;
    } else if (rate > this.bwSlots[slot]!) {
      this.bwSlots[slot] = rate;
    }
    let max = 0;
    for (let i = 0; i < BW_WINDOW_ROUNDS; i++) {
      if (this.bwRounds[i]! > this.round - BW_WINDOW_ROUNDS && this.bwSlots[i]! > max) max = this.bwSlots[i]!;
    }
    this.bw = max;
  }

  /** ProbeRTT (draft §4.3.4): entered when the minimum went stale, left after PROBE_RTT_MS and a round. */
  private probeRtt(stale: boolean, inflight: number, delivered: number, now: number): void {
    if (stale && this.mode !== BbrMode.PROBE_RTT) {
      this.saveCwnd();
      this.mode = BbrMode.PROBE_RTT;
      this.probeRttDoneAt = 0;
    }
    if (this.mode !== BbrMode.PROBE_RTT) return;
    if (this.probeRttDoneAt === 0) {
      if (inflight <= MIN_CWND_SEGMENTS * this.mss) {
        this.probeRttDoneAt = now + PROBE_RTT_MS;
        this.probeRttRoundDone = false;
        this.nextRoundDelivered = delivered; // a round from now
      }
      return;
    }
    if (this.roundStart) this.probeRttRoundDone = true;
    if (this.probeRttRoundDone && now >= this.probeRttDoneAt) {
      this.minRttAt = now;
      if (this.cwnd < this.priorCwnd) this.cwnd = this.priorCwnd;
      this.mode = this.filledPipe ? BbrMode.PROBE_BW : BbrMode.STARTUP;
    }
  }

  private setCwnd(acked: number, inflight: number, inRecovery: boolean, delivered: number): void {
    if (inRecovery && !this.wasInRecovery) {
      // Recovery begins: packet conservation for a round (tcp_bbr.c's bbr_set_cwnd_to_recover_or_restore).
      if (!this.afterRto) this.saveCwnd();
      this.afterRto = false;
      this.conservation = true;
      this.nextRoundDelivered = delivered;
      this.cwnd = inflight + acked;
    } else if (!inRecovery && this.wasInRecovery) {
      if (this.cwnd < this.priorCwnd) this.cwnd = this.priorCwnd;
      this.conservation = false;
    }
    this.wasInRecovery = inRecovery;
    if (this.conservation && this.roundStart) this.conservation = false;
    const floor = MIN_CWND_SEGMENTS * this.mss;
    if (this.conservation) {
      if (inflight + acked > this.cwnd) this.cwnd = inflight + acked;
    } else {
      const gain = this.mode === BbrMode.STARTUP ? STARTUP_GAIN : this.mode === BbrMode.DRAIN ? 1 : CWND_GAIN;
      const target = this.target(gain);
      if (this.filledPipe) {
        this.cwnd = Math.min(this.cwnd + acked, target);
      } else if (this.cwnd < target || delivered < INITIAL_WINDOW_SEGMENTS * this.mss) {
        this.cwnd += acked;
      }
    }
    if (this.cwnd < floor) this.cwnd = floor;
    if (this.mode === BbrMode.PROBE_RTT && this.cwnd > floor) this.cwnd = floor;
  }

  /** Remember the window to come back to after recovery or ProbeRTT. */
  private saveCwnd(): void {
    const keep = this.mode === BbrMode.PROBE_RTT || this.wasInRecovery ? Math.max(this.priorCwnd, this.cwnd) : this.cwnd;
    this.priorCwnd = keep;
  }
}
