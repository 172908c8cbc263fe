/**
 * The sender's congestion state (Linux's ca_state, reduced to three): open, fast recovery (RFC 6675
 * §5), and loss after an RTO (RFC 5681 §3.1 / RFC 6298 §5). It owns the RecoveryPoint, Proportional
 * Rate Reduction (RFC 6937 §3, the PRR-SSRB variant Linux uses) that walks cwnd down to ssthresh
 * during recovery, and NewReno's duplicate-ACK accounting for peers without SACK (RFC 5681 §3.2,
 * RFC 6582 §3.2): each duplicate ACK stands for a segment that left the network, and a partial ACK in
 * recovery marks the next segment lost.
 *
 * Spurious RTOs are undone (RFC 3522 Eifel detection, RFC 4015 response, as Linux's
 * tcp_try_undo_loss): when the first ACK after an RTO echoes a timestamp older than the
 * retransmission, the original arrived and only the ACK was late (in Node: an event loop or a GC that
 * stalled past the 200 ms RTO), so cwnd and ssthresh go back to what they were and nothing more is
 * resent.
 */
import { DUP_THRESH } from './constants.js';
import type { CongestionControl } from './congestion.js';
import type { SentRecords } from './sent-records.js';
import { seqGe, seqLt } from './seq.js';

export const enum CaState {
  OPEN = 0,
  RECOVERY = 1,
  LOSS = 2,
}

export class Recovery {
  private readonly cc: CongestionControl;
  private readonly records: SentRecords;
  state: CaState;
  /** RFC 6675 §5 RecoveryPoint: SND.NXT when recovery (or loss) began. */
  point: number;
  // RFC 6937 §3.
  private prrDelivered: number;
  private prrOut: number;
  private recoverFs: number;
  /** Duplicate ACKs in a row, and the bytes they stand for (peers without SACK). */
  dupAcks: number;
  renoSacked: number;
  /** Fast recoveries entered, spurious RTOs undone (counters for stats). */
  entered: number;
  undone: number;
  // Eifel: cwnd and ssthresh before the RTO, and the TSval its first retransmission carried.
  private undoArmed: boolean;
  private undoCwnd: number;
  private undoSsthresh: number;
  private undoTsVal: number;

  constructor(cc: CongestionControl, records: SentRecords) {
    this.cc = cc;
    this.records = records;
    this.state = CaState.OPEN;
    this.point = 0;
    this.prrDelivered = 0;
    this.prrOut = 0;
    this.recoverFs = 0;
    this.dupAcks = 0;
    this.renoSacked = 0;
    this.entered = 0;
    this.undone = 0;
    this.undoArmed = false;
    this.undoCwnd = 0;
    this.undoSsthresh = 0;
    this.undoTsVal = 0;
  }

  /** RFC 6675 §5 / RFC 6937: loss found in the open state; recovery until `nxt` is ACKed. */
  enter(nxt: number, now: number): void {
    this.state = CaState.RECOVERY;
    this.point = nxt;
    this.cc.onCongestionEvent(this.records.out, now);
    this.prrDelivered = 0;
    this.prrOut = 0;
    this.recoverFs = this.records.out;
    this.entered++;
  }

  /**
   * RFC 6298 §5.5 and RFC 5681 §3.1: the RTO fired. The first one of an episode sets ssthresh and
   * cwnd to one segment; later ones (the same data again) keep ssthresh.
   */
  enterLoss(nxt: number, mss: number, now: number, tsVal: number, timestamps: boolean): void {
    if (this.state !== CaState.LOSS) {
      // The first RTO of an episode: remember what to restore if it proves spurious.
      this.undoArmed = timestamps;
      this.undoCwnd = this.cc.cwnd;
      this.undoSsthresh = this.cc.ssthresh;
      this.undoTsVal = tsVal;
      this.cc.onRto(this.records.out, now);
    } else {
      this.cc.cwnd = mss;
    }
    this.state = CaState.LOSS;
    this.point = nxt;
    this.dupAcks = 0;
    this.renoSacked = 0;
  }

  /**
   * RFC 3522 §3.2: the first ACK of new data after an RTO echoes `tsEcr`. Older than the
   * retransmission's TSval: the RTO was spurious; undo it (RFC 4015 §3, Linux's cwnd restore) and
   * take back the loss marks. Returns true when it undid.
   */
  eifel(tsEcr: number): boolean {
    if (!this.undoArmed || this.state !== CaState.LOSS) return false;
    this.undoArmed = false;
    if (tsEcr === 0 || !seqLt(tsEcr, this.undoTsVal)) return false;
    if (this.cc.cwnd < this.undoCwnd) this.cc.cwnd = this.undoCwnd;
    if (this.cc.ssthresh < this.undoSsthresh) this.cc.ssthresh = this.undoSsthresh;
    this.state = CaState.OPEN;
    this.records.unmarkLost();
    this.undone++;
    return true;
  }

  /** `len` bytes went out (PRR counts what recovery sends). */
  sent(len: number): void {
    if (this.state === CaState.RECOVERY) this.prrOut += len;
  }

  /** After an ACK moved SND.UNA: recovery or loss ends at the RecoveryPoint. Returns true when it did. */
  maybeExit(una: number, now: number): boolean {
    if (this.state === CaState.OPEN || !seqGe(una, this.point)) return false;
    if (this.state === CaState.RECOVERY) this.cc.onRecoveryEnd(now);
    this.state = CaState.OPEN;
    this.renoSacked = 0;
    return true;
  }

  /** RFC 6937 §3 (PRR-SSRB): what this ACK lets recovery send sets cwnd (pipe + sndcnt). */
  prrAck(delivered: number, pipe: number, mss: number): void {
    this.prrDelivered += delivered;
    const ssthresh = this.cc.ssthresh;
    let sndcnt: number;
    if (pipe > ssthresh) {
      sndcnt = Math.ceil((this.prrDelivered * ssthresh) / (this.recoverFs > 0 ? this.recoverFs : 1)) - this.prrOut;
    } else {
      const limit = Math.max(this.prrDelivered - this.prrOut, delivered) + mss;
      sndcnt = Math.min(ssthresh - pipe, limit);
    }
    if (sndcnt < 0) sndcnt = 0;
    this.cc.cwnd = pipe + sndcnt;
  }

  /** RFC 5681 §3.2 / RFC 6582 §3.2 for a peer without SACK, after SND.UNA moved to `una`. */
  renoAck(isDup: boolean, acked: number, una: number, mss: number): void {
    const r = this.records;
    if (isDup) {
      this.dupAcks++;
      // Each duplicate ACK stands for a segment that left the network (RFC 6675 §1, Linux's reno SACK).
      if (this.renoSacked + mss < r.out) this.renoSacked += mss;
      if (this.state === CaState.OPEN && this.dupAcks >= DUP_THRESH && r.count > 0) r.markLost(r.at(0));
      return;
    }
    if (acked === 0) return;
    this.dupAcks = 0;
    this.renoSacked = Math.max(0, this.renoSacked - acked);
    // RFC 6582 §3.2 step 5: a partial ACK in recovery means the next segment is lost too.
    if (this.state === CaState.RECOVERY && seqLt(una, this.point) && r.count > 0) r.markLost(r.at(0));
  }
}
