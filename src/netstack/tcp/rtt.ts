/**
 * The retransmission timer's estimate (RFC 6298 §2, §5) and the windowed minimum RTT RACK needs
 * (RFC 8985 §6.2: the reordering window is a fraction of min_RTT).
 *
 * Karn's rule (RFC 6298 §3) is the caller's: it samples only segments sent once, or echoes of a
 * timestamp (RFC 7323 §4.1, whose TSecr names the transmission that was ACKed). With timestamps every
 * ACK may carry a sample, so the gains are divided by the samples expected per RTT (RFC 7323
 * Appendix G), keeping RTTVAR from collapsing under many samples of one flight.
 *
 * Times are milliseconds as the Clock gives them (fractions kept): a tunnel inside one process has
 * RTTs well below a millisecond, and RACK's timing is only as good as these.
 */
import { MAX_RTO_MS, MIN_RTO_MS, INITIAL_RTO_MS, RTO_K } from './constants.js';

/** The clock granularity G of RFC 6298 §2 (the wheel's tick). */
const CLOCK_GRANULARITY_MS = 1;
/** Linux's tcp_min_rtt_wlen: the minimum RTT is taken over the last 300 s. */
const MIN_RTT_WINDOW_MS = 300_000;

export class RttEstimator {
  /** SRTT and RTTVAR (RFC 6298 §2); 0 until the first sample. */
  srtt: number;
  rttvar: number;
  /** The RTO before back-off. */
  baseRto: number;
  /** Back-offs since the last new ACK (RFC 6298 §5.5 doubles; §5.7's "keep it" is the caller's). */
  backoff: number;
  /** Smallest sample within MIN_RTT_WINDOW_MS, and when it was taken; Infinity before any. */
  minRtt: number;
  private minRttAt: number;
  /** The most recent sample. */
  latest: number;
  samples: number;

  constructor() {
    this.srtt = 0;
    this.rttvar = 0;
    this.baseRto = INITIAL_RTO_MS;
    this.backoff = 0;
    this.minRtt = Infinity;
    this.minRttAt = 0;
    this.latest = 0;
    this.samples = 0;
  }

  get hasSample(): boolean {
    return this.samples > 0;
  }

  /** The RTO to arm now: the base doubled per back-off, within [MIN_RTO_MS, MAX_RTO_MS]. */
  get rto(): number {
    // backoff stays small (it stops once MAX_RTO_MS is reached): a shift, not pow(), per armed RTO.
    const r = this.baseRto * (1 << this.backoff);
    return r < MAX_RTO_MS ? r : MAX_RTO_MS;
  }

  /**
   * One measurement R (ms). `perRtt` is how many samples this flight is expected to give (RFC 7323
   * Appendix G: ceil(FlightSize / (2 SMSS)), 1 without timestamps).
   */
  sample(r: number, now: number, perRtt: number): void {
    if (r < 0) return;
    this.latest = r;
    if (r <= this.minRtt || now - this.minRttAt > MIN_RTT_WINDOW_MS) {
      this.minRtt = r;
      this.minRttAt = now;
    }
    if (this.samples === 0) {
      // RFC 6298 §2.2.
      this.srtt = r;
      this.rttvar = r / 2;
    } else {
      // RFC 6298 §2.3 with alpha = 1/8, beta = 1/4, each divided by perRtt.
      const n = perRtt > 1 ? perRtt : 1;
      const beta = 1 / 4 / n;
      const alpha = 1 / 8 / n;
      this.rttvar = (1 - beta) * this.rttvar + beta * Math.abs(this.srtt - r);
      this.srtt = (1 - alpha) * this.srtt + alpha * r;
    }
    this.samples++;
    const rto = this.srtt + Math.max(CLOCK_GRANULARITY_MS, RTO_K * this.rttvar);
    this.baseRto = Math.min(Math.max(rto, MIN_RTO_MS), MAX_RTO_MS);
  }

  /** RFC 6298 §5.5: the timer expired; the next RTO is twice this one. */
  backOff(): void {
    if (this.baseRto * 2 ** this.backoff < MAX_RTO_MS) this.backoff++;
  }

  /** New data was acknowledged: the back-off ends (RFC 6298 §5.7 / Linux's icsk_backoff reset). */
  resetBackoff(): void {
    this.backoff = 0;
  }

  /** RFC 6298 §5.7: the SYN (or SYN-ACK) was retransmitted and no sample came: data starts at 3 s. */
  synTimedOut(fallbackMs: number): void {
    if (this.samples === 0) this.baseRto = fallbackMs;
  }
}
