/**
 * NewReno's window (RFC 5681 §3.1): slow start by bytes acked below ssthresh, then one MSS per cwnd of
 * bytes acked (appropriate byte counting, RFC 3465 §2.1). On a congestion event ssthresh is half the
 * flight (eq. 4); on an RTO cwnd drops to one segment. RFC 6582's partial-ACK recovery is the
 * sender's (it retransmits; this only holds the window).
 */
import { initialWindow, slowStart, type CongestionControl } from './congestion.js';

export class NewReno implements CongestionControl {
  readonly name = 'newreno' as const;
  cwnd: number;
  ssthresh: number;
  private mss: number;
  /** Bytes acked in congestion avoidance not yet turned into growth. */
  private bytesAcked: number;

  constructor(mss: number) {
    this.mss = mss;
    this.cwnd = initialWindow(mss);
    this.ssthresh = Infinity;
    this.bytesAcked = 0;
  }

  setMss(mss: number): void {
    this.mss = mss;
  }

  onAck(acked: number, cwndLimited: boolean, _rtt: number, _now: number): void {
    if (!cwndLimited) return;
    if (this.cwnd < this.ssthresh) acked = slowStart(this, acked);
    if (acked === 0) return;
    this.bytesAcked += acked;
    if (this.bytesAcked >= this.cwnd) {
      this.bytesAcked -= this.cwnd;
      this.cwnd += this.mss;
    }
  }

  onCongestionEvent(inflight: number, _now: number): void {
    this.ssthresh = Math.max(inflight / 2, 2 * this.mss);
    this.bytesAcked = 0;
  }

  onRecoveryEnd(_now: number): void {
    this.cwnd = this.ssthresh;
  }

  onRto(inflight: number, _now: number): void {
    this.ssthresh = Math.max(inflight / 2, 2 * this.mss);
    this.cwnd = this.mss;
    this.bytesAcked = 0;
  }

  onIdleRestart(_idleMs: number): void {}
}
