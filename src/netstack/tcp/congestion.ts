/**
 * Congestion control behind one small interface, as gVisor's congestionControl and Linux's
 * tcp_congestion_ops: the sender owns loss detection and recovery (RFC 6675, RFC 8985) and tells the
 * controller what happened; the controller owns cwnd and ssthresh. CUBIC (RFC 9438, cubic.ts) is the
 * default; NewReno (RFC 5681 §3.1 with RFC 6582's recovery in the sender, newreno.ts) is its simple twin.
 *
 * Units are bytes. cwnd may carry a fraction (growth in congestion avoidance is fractional per ACK);
 * the sender compares flight sizes against it.
 */
import { INITIAL_WINDOW_CAP_BYTES, INITIAL_WINDOW_SEGMENTS } from './constants.js';
import type { DeliveryRate } from './delivery-rate.js';

export type CongestionName = 'cubic' | 'newreno' | 'bbr';

export interface CongestionControl {
  readonly name: CongestionName;
  /** Congestion window and slow-start threshold, bytes. */
  cwnd: number;
  ssthresh: number;
  /** The sender's MSS changed (handshake, path MTU): the unit of growth. */
  setMss(mss: number): void;
  /**
   * An ACK outside recovery delivered `acked` new bytes (cumulatively or by SACK). `cwndLimited` says
   * whether the flight was limited by cwnd (RFC 7661: an application-limited flow does not grow cwnd).
   * `rtt` is the current smoothed RTT in ms, `now` the Clock.
   */
  onAck(acked: number, cwndLimited: boolean, rtt: number, now: number): void;
  /**
   * Loss detected by SACK, RACK or three duplicate ACKs: a congestion event (RFC 5681 §3.2, RFC 9438
   * §4.6). Sets ssthresh; the sender's recovery (PRR) walks cwnd down to it.
   */
  onCongestionEvent(inflight: number, now: number): void;
  /** Recovery ended (the RecoveryPoint was acknowledged): cwnd = ssthresh. */
  onRecoveryEnd(now: number): void;
  /** The retransmission timer expired (RFC 5681 §3.1 eq. 4, RFC 9438 §4.7): cwnd = one segment. */
  onRto(inflight: number, now: number): void;
  /** Sending resumes after the connection was idle for `idleMs` (RFC 9438 §5.8 / Linux's epoch shift). */
  onIdleRestart(idleMs: number): void;
  /**
   * Model-based controllers only: every ACK that delivered data (rs.deliveredThisAck bytes), in and
   * out of recovery, with its delivery-rate sample and the flight after it. A controller that has this
   * sets cwnd itself: the sender then calls neither onAck nor PRR.
   */
  onDelivery?(rs: DeliveryRate, inflight: number, inRecovery: boolean, now: number): void;
}

/** RFC 6928 §2: IW = min(10 MSS, max(2 MSS, 14600 bytes)). */
export function initialWindow(mss: number): number {
  return Math.min(INITIAL_WINDOW_SEGMENTS * mss, Math.max(2 * mss, INITIAL_WINDOW_CAP_BYTES));
}

/**
 * Slow start (RFC 5681 §3.1 with byte counting, as Linux's tcp_slow_start): grow by the bytes acked,
 * up to ssthresh. Returns the bytes left over for congestion avoidance.
 */
export function slowStart(cc: CongestionControl, acked: number): number {
  const room = cc.ssthresh - cc.cwnd;
  if (acked <= room) {
    cc.cwnd += acked;
    return 0;
  }
  cc.cwnd = cc.ssthresh;
  return acked - room;
}
