/**
 * Delivery-rate estimation (draft-cheng-iccrg-delivery-rate-estimation, as Linux's tcp_rate.c): each
 * ACK yields a sample of how fast the network delivered data, for a model-based congestion control
 * (bbr.ts).
 *
 * When a segment is sent, its record is stamped with the connection's delivered count and time and
 * the send time of the first segment of its flight (sent-records.ts keeps the stamps per record).
 * When records are delivered (ACKed or SACKed), the newest one sent anchors the sample:
 *
 *   rate = (delivered now - delivered when it was sent) / max(send interval, ACK interval)
 *
 * Taking the longer of the two intervals keeps ACK compression (a burst of ACKs for data sent over a
 * longer time) from inflating the rate (§3.3). A sample whose interval is shorter than the minimum
 * RTT is discarded; a sample taken while the sender was application-limited is flagged, so a model
 * does not lower its bandwidth estimate because the application had nothing to send (§3.4).
 *
 * Units: bytes and the Clock's milliseconds. No allocation per ACK: the sample is this object's fields.
 */
import { APP_LIMITED, EVER_RETRANS, type SentRecords } from './sent-records.js';

export class DeliveryRate {
  /** Bytes delivered (ACKed or SACKed) since the connection began, and when the last were. */
  delivered: number;
  deliveredTime: number;
  /** Send time of the newest delivered segment: the start of the current flight's send interval. */
  private firstSentTime: number;
  /** Non-zero while application-limited: the delivered count at which that period ends. */
  private appLimitedUntil: number;
  // The sample, built from this ACK's deliveries: the newest segment sent of those delivered anchors
  // it. The public fields are read after finish() returned true.
  private priorTime: number;
  private sendElapsed: number;
  private newestSent: number;
  /** Delivered count when the newest delivered segment was sent (round-trip counting in bbr.ts). */
  priorDelivered: number;
  /** Bytes newly delivered (ACKed or SACKed, each once) by the ACK being processed. */
  deliveredThisAck: number;
  /** Bytes per ms; valid only when rateValid. */
  rate: number;
  rateValid: boolean;
  /** The newest delivered segment was sent while application-limited. */
  appLimited: boolean;
  /** Its RTT (ms), -1 if it was retransmitted. */
  rtt: number;

  constructor() {
    this.delivered = 0;
    this.deliveredTime = 0;
    this.firstSentTime = 0;
    this.appLimitedUntil = 0;
    this.priorTime = 0;
    this.sendElapsed = 0;
    this.newestSent = -1;
    this.priorDelivered = 0;
    this.deliveredThisAck = 0;
    this.rate = 0;
    this.rateValid = false;
    this.appLimited = false;
    this.rtt = -1;
  }

  /** Stamp the record at ring index p, sent (or sent again) at `now` with `inflight` bytes already out. */
  onSend(r: SentRecords, p: number, inflight: number, now: number): void {
    if (inflight === 0) {
      // A new flight starts: its intervals are measured from now.
      this.firstSentTime = now;
      this.deliveredTime = now;
    }
    r.dlv[p] = this.delivered;
    r.dlvTime[p] = this.deliveredTime;
    r.firstSent[p] = this.firstSentTime;
    if (this.appLimitedUntil !== 0) r.flags[p] = r.flags[p]! | APP_LIMITED;
    else r.flags[p] = r.flags[p]! & ~APP_LIMITED;
  }

  /**
   * The sender ran out of data with room in the window: mark the flight application-limited until
   * what is in it now has been delivered (§3.4).
   */
  markAppLimited(inflight: number): void {
    const until = this.delivered + inflight;
    this.appLimitedUntil = until > 0 ? until : 1;
  }

  /** An ACK begins. */
  begin(): void {
    this.newestSent = -1;
    this.deliveredThisAck = 0;
  }

  /** The record at ring index p was delivered at `now` (called before it leaves the scoreboard). */
  onDelivered(r: SentRecords, p: number, now: number): void {
    const len = r.len[p]!;
    this.delivered += len;
    this.deliveredTime = now;
    this.deliveredThisAck += len;
    const sent = r.xmit[p]!;
    const dlv = r.dlv[p]!;
    if (this.newestSent < 0 || dlv > this.priorDelivered || (dlv === this.priorDelivered && sent > this.newestSent)) {
      this.newestSent = sent;
      this.priorDelivered = dlv;
      this.priorTime = r.dlvTime[p]!;
      this.sendElapsed = sent - r.firstSent[p]!;
      this.appLimited = (r.flags[p]! & APP_LIMITED) !== 0;
      this.rtt = (r.flags[p]! & EVER_RETRANS) !== 0 ? -1 : now - sent;
      // The next flight's send interval starts at this segment's send time.
      this.firstSentTime = sent;
    }
  }

  /**
   * The ACK is processed: build the sample. Returns false when it delivered nothing; rateValid is
   * false as well when the interval was too short for a rate.
   */
  finish(minRtt: number): boolean {
    if (this.appLimitedUntil !== 0 && this.delivered > this.appLimitedUntil) this.appLimitedUntil = 0;
    this.rateValid = false;
    if (this.newestSent < 0) return false;
    const ackElapsed = this.deliveredTime - this.priorTime;
    const interval = this.sendElapsed > ackElapsed ? this.sendElapsed : ackElapsed;
    // §3.3: an interval shorter than the path's minimum RTT is an artefact of ACK timing.
    if (interval <= 0 || interval < minRtt) {
      this.rate = 0;
      return true;
    }
    this.rate = (this.delivered - this.priorDelivered) / interval;
    this.rateValid = true;
    return true;
  }
}
