/**
 * RACK, the time-based loss detection of RFC 8985 §6: a segment is lost when a segment sent after
 * it has been delivered and more than RACK.rtt + the reordering window has passed since it was sent.
 * Steps as the RFC numbers them in §6.2:
 *   2 RACK_update: the most recently sent delivered segment sets RACK.xmit_ts/end_seq/rtt, skipping
 *     ambiguous retransmissions (Karn for RACK);
 *   3 RACK_detect_reordering: a never-retransmitted segment delivered below RACK.fack was reordered;
 *   4 RACK_update_reo_wnd: min_RTT/4, scaled up by DSACK rounds (§6.2 step 4), 0 before any
 *     reordering was seen while in recovery or once DupThresh segments are SACKed (RFC 6675's rule
 *     folded in, as RFC 8985 §6.2 step 4 and Linux's tcp_rack_reo_wnd do);
 *   5 RACK_detect_loss: walk the unSACKed segments sent before RACK.xmit_ts; mark the expired ones
 *     lost and return when the next one expires (the reorder timer, §6.3).
 *
 * The walk goes in sequence order from SND.UNA and stops at the first segment sent only once that
 * was sent after RACK.xmit_ts: every later never-retransmitted segment was sent later still, and a
 * retransmission further on was sent after its own original, so nothing past the stop can be
 * "sent before" RACK's segment.
 */
import { DUP_THRESH } from './constants.js';
import { seqGt, seqLt } from './seq.js';
import { EVER_RETRANS, LOST, RETRANS, SACKED, type DeliveryObserver, type SentRecords } from './sent-records.js';

/** RFC 8985 §6.2 step 4: after a DSACK round the larger window persists for 16 recoveries. */
const REO_WND_PERSIST = 16;

/** RACK_sent_after(t1, seq1, t2, seq2). */
function sentAfter(t1: number, seq1: number, t2: number, seq2: number): boolean {
  return t1 > t2 || (t1 === t2 && seqGt(seq1, seq2));
}

export class Rack implements DeliveryObserver {
  /** RACK.xmit_ts, RACK.end_seq, RACK.rtt of the most recently sent delivered segment. */
  xmitTs: number;
  endSeq: number;
  rtt: number;
  /** RACK.reordering_seen, RACK.reo_wnd_mult, RACK.reo_wnd_persist, RACK.dsack_round (-1: none). */
  reorderingSeen: boolean;
  reoWndMult: number;
  reoWndPersist: number;
  private dsackRound: number;
  private hasDsackRound: boolean;
  /** RACK.xmit_ts moved during the ACK being processed (worth a loss walk). */
  advanced: boolean;
  // Context of the ACK being processed (beginAck).
  private now: number;
  private minRtt: number;
  private fackBefore: number;
  /** The clock tick (ms, floored) whose TSval this ACK echoes, or -1 without timestamps. */
  private echoTick: number;

  constructor() {
    this.xmitTs = -Infinity;
    this.endSeq = 0;
    this.rtt = 0;
    this.reorderingSeen = false;
    this.reoWndMult = 1;
    this.reoWndPersist = 0;
    this.dsackRound = 0;
    this.hasDsackRound = false;
    this.advanced = false;
    this.now = 0;
    this.minRtt = 0;
    this.fackBefore = 0;
    this.echoTick = -1;
  }

  /**
   * Before the records of one ACK are delivered: the time, min_RTT, RACK.fack as it stood, and the
   * tick the ACK's timestamp echo stands for (-1: none).
   */
  beginAck(now: number, minRtt: number, fack: number, echoTick = -1): void {
    this.now = now;
    this.echoTick = echoTick;
    this.minRtt = minRtt;
    this.fackBefore = fack;
    this.advanced = false;
  }

  /** Steps 2 and 3 for one newly ACKed or SACKed segment. */
  delivered(r: SentRecords, p: number): void {
    const xmit = r.xmit[p]!;
    const end = r.end(p);
    const flags = r.flags[p]!;
    if ((flags & EVER_RETRANS) === 0 && seqLt(end, this.fackBefore)) this.reorderingSeen = true;
    const rtt = this.now - xmit;
    // Step 2: an ACK that may be for the original of a retransmitted segment says nothing of timing.
    // With timestamps the echo tells (RFC 7323 §4.3: it echoes the segment that moved the left edge,
    // or an older one): an echo from before the retransmission's tick was not caused by it. Under
    // load the tunnel's RTT is many times its min_RTT, so the min_RTT test alone took the late ACK of
    // an original for its retransmission's, with an RTT of a millisecond, and marked everything sent
    // in the RTT before it lost: hundreds of spurious retransmissions at once.
    if ((flags & EVER_RETRANS) !== 0) {
      if (rtt < this.minRtt) return;
      if (this.echoTick >= 0 && this.echoTick < Math.floor(xmit)) return;
    }
    if (sentAfter(xmit, end, this.xmitTs, this.endSeq)) {
      this.xmitTs = xmit;
      this.endSeq = end;
      this.rtt = rtt;
      this.advanced = true;
    }
  }

  /**
   * Step 4's state: a DSACK starts a round that widens the window (once per round trip); each
   * recovery that ends counts down the widening.
   */
  updateReoWnd(dsack: boolean, sndUna: number, sndNxt: number, exitedRecovery: boolean): void {
    if (this.hasDsackRound && !seqLt(sndUna, this.dsackRound)) this.hasDsackRound = false;
    if (dsack) {
      // A duplicate reported: a segment marked lost had arrived after all. That is reordering as
      // RACK sees it (a delivery later than its window), and without this the window stays 0 in
      // recovery when the originals came to light only as D-SACKs of their retransmissions.
      this.reorderingSeen = true;
    }
    if (!this.hasDsackRound && dsack) {
      this.hasDsackRound = true;
      this.dsackRound = sndNxt;
      this.reoWndMult++;
      this.reoWndPersist = REO_WND_PERSIST;
    } else if (exitedRecovery) {
      if (--this.reoWndPersist <= 0) this.reoWndMult = 1;
    }
  }

  /** Step 4's window, ms. */
  reoWnd(inRecovery: boolean, sackedSegments: number, minRtt: number, srtt: number): number {
    if (!this.reorderingSeen && (inRecovery || sackedSegments >= DUP_THRESH)) return 0;
    const w = (this.reoWndMult * minRtt) / 4;
    return w < srtt ? w : srtt;
  }

  /**
   * Step 5: mark the expired segments lost. Returns the ms until the next one would expire (arm the
   * reorder timer for it), or 0 when none is pending.
   */
  detectLoss(r: SentRecords, now: number, reoWnd: number): number {
    let timeout = 0;
    for (let i = 0; i < r.count; i++) {
      const p = r.at(i);
      const f = r.flags[p]!;
      if (f & SACKED) continue;
      if ((f & LOST) !== 0 && (f & RETRANS) === 0) continue;
      const x = r.xmit[p]!;
      const e = r.end(p);
      if (!sentAfter(this.xmitTs, this.endSeq, x, e)) {
        if ((f & EVER_RETRANS) === 0) break;
        continue;
      }
      const remaining = x + this.rtt + reoWnd - now;
      if (remaining <= 0) r.markLost(p);
      else if (remaining > timeout) timeout = remaining;
    }
    return timeout;
  }
}
