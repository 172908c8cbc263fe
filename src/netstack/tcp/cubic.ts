/**
 * CUBIC (RFC 9438): after a congestion event the window follows W_cubic(t) = C (t - K)^3 + W_max
 * (§4.2), concave up to the window where the loss happened and convex beyond it, never slower than
 * the Reno-friendly estimate W_est (§4.3). Windows in the formulas are in segments, as the RFC writes
 * them; cwnd itself is kept in bytes.
 *
 * - Slow start as RFC 5681 (no HyStart: the tunnel's queues are ours, and loss recovery bounds the
 *   overshoot); §4.10 allows it.
 * - Fast convergence (§4.7): a loss below the last W_max lowers W_max to release bandwidth.
 * - §4.8 multiplicative decrease: ssthresh = cwnd x beta (0.7) on a congestion event and on an RTO.
 * - Application-limited periods (RFC 7661, §5.8): no growth while not cwnd-limited, and the epoch is
 *   shifted by idle time so the curve resumes where it was (Linux's bictcp_cwnd_event).
 */
import { CUBIC_BETA, CUBIC_C } from './constants.js';
import { initialWindow, slowStart, type CongestionControl } from './congestion.js';

/** RFC 9438 §4.3: alpha_cubic = 3 (1 - beta) / (1 + beta), the Reno-friendly additive increase. */
const ALPHA_CUBIC = (3 * (1 - CUBIC_BETA)) / (1 + CUBIC_BETA);

export class Cubic implements CongestionControl {
  readonly name = 'cubic' as const;
  cwnd: number;
  ssthresh: number;
  private mss: number;
  /** The window before the last reduction, segments. */
  wMax: number;
  /** The Reno-friendly window estimate W_est (segments). */
  private wEst: number;
  /** Seconds from the epoch's start to the plateau at W_max. */
  k: number;
  /** Start of the current congestion-avoidance epoch (ms), or -1 when none is running. */
  private epochStart: number;

  constructor(mss: number) {
    this.mss = mss;
    this.cwnd = initialWindow(mss);
    this.ssthresh = Infinity;
    this.wMax = 0;
    this.wEst = 0;
    this.k = 0;
    this.epochStart = -1;
  }

  setMss(mss: number): void {
    this.mss = mss;
  }

  onAck(acked: number, cwndLimited: boolean, rtt: number, now: number): void {
    if (!cwndLimited) return;
    if (this.cwnd < this.ssthresh) {
      acked = slowStart(this, acked);
      if (acked === 0) return;
    }
    const mss = this.mss;
    const cwndSeg = this.cwnd / mss;
    if (this.epochStart < 0) {
      // §4.2: a new epoch begins with the first ACK of congestion avoidance.
      this.epochStart = now;
      this.wEst = cwndSeg;
      this.k = this.wMax > cwndSeg ? Math.cbrt((this.wMax - cwndSeg) / CUBIC_C) : 0;
      if (this.wMax < cwndSeg) this.wMax = cwndSeg;
    }
    const ackedSeg = acked / mss;
    // §4.3: W_est grows by alpha_cubic per window of ACKed segments; alpha becomes 1 once past W_max.
    const alpha = this.wEst >= this.wMax ? 1 : ALPHA_CUBIC;
    this.wEst += (alpha * ackedSeg) / cwndSeg;
    const t = (now - this.epochStart) / 1000;
    if (this.wCubic(t) < this.wEst) {
      // §4.3 Reno-friendly region: cwnd follows W_est.
      if (this.wEst > cwndSeg) this.cwnd = this.wEst * mss;
    } else {
      // §4.2: aim at W_cubic one RTT ahead, within [cwnd, 1.5 cwnd].
      let target = this.wCubic(t + rtt / 1000);
      if (target < cwndSeg) target = cwndSeg;
      else if (target > 1.5 * cwndSeg) target = 1.5 * cwndSeg;
      // §4.4 / §4.5 concave and convex regions: (target - cwnd) / cwnd per ACKed segment.
      this.cwnd += ((target - cwndSeg) / cwndSeg) * ackedSeg * mss;
    }
  }

  /** §4.2 eq. 1: W_cubic(t) in segments, t in seconds since the epoch began. */
  wCubic(t: number): number {
    const d = t - this.k;
    return CUBIC_C * d * d * d + this.wMax;
  }

  onCongestionEvent(_inflight: number, _now: number): void {
    this.reduce();
  }

  onRecoveryEnd(_now: number): void {
    this.cwnd = this.ssthresh;
  }

  onRto(_inflight: number, _now: number): void {
    this.reduce();
    this.cwnd = this.mss;
  }

  onIdleRestart(idleMs: number): void {
    if (this.epochStart >= 0) this.epochStart += idleMs;
  }

  /** §4.6 multiplicative decrease with §4.7 fast convergence; the next ACK starts a new epoch. */
  private reduce(): void {
    const cwndSeg = this.cwnd / this.mss;
    this.wMax = cwndSeg < this.wMax ? (cwndSeg * (1 + CUBIC_BETA)) / 2 : cwndSeg;
    this.ssthresh = Math.max(this.cwnd * CUBIC_BETA, 2 * this.mss);
    this.epochStart = -1;
  }
}
