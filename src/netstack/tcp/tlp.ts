/**
 * The tail loss probe of RACK-TLP (RFC 8985 §7): when the last segments of a flight go unanswered, a
 * probe after about two SRTTs (new data if the window allows, else the last segment again) draws an
 * ACK whose SACK lets RACK find the loss, instead of waiting for the RTO. One probe per episode; the
 * episode ends when the ACK of the probe's end comes (§7.4.2), and a probe that repaired a loss (no
 * D-SACK says the original arrived too) is a congestion signal.
 */
import { TLP_WORST_CASE_DELACK_MS } from './constants.js';
import { seqGe, seqGt } from './seq.js';

export class TailLossProbe {
  /** A probe is out and its episode not over; TLP.end_seq; whether it resent old data. */
  active: boolean;
  private endSeq: number;
  private retrans: boolean;
  /** Probes sent (a counter for stats). */
  probes: number;

  constructor() {
    this.active = false;
    this.endSeq = 0;
    this.retrans = false;
    this.probes = 0;
  }

  /** RFC 8985 §7.2: PTO = 2 SRTT, plus the worst-case delayed ACK when one segment flies. */
  pto(srtt: number, segmentsInFlight: number): number {
    // Otherwise Linux's TCP_TIMEOUT_MIN: a timer tick of slack beyond 2 SRTT.
    return 2 * srtt + (segmentsInFlight === 1 ? TLP_WORST_CASE_DELACK_MS : 2);
  }

  /** A probe went out; SND.NXT is now `nxt`. */
  sent(nxt: number, retransmission: boolean): void {
    this.probes++;
    this.active = true;
    this.endSeq = nxt;
    this.retrans = retransmission;
  }

  /** RTO or recovery: the episode is over without a verdict. */
  cancel(): void {
    this.active = false;
  }

  /**
   * RFC 8985 §7.4.2 TLP_process_ack. Returns true when the probe repaired a loss (invoke congestion
   * control); false otherwise.
   */
  onAck(ack: number, dsack: boolean, pureDupAck: boolean): boolean {
    if (!this.active || !seqGe(ack, this.endSeq)) return false;
    if (!this.retrans) {
      this.active = false;
      return false;
    }
    if (dsack) {
      // The original arrived too: the probe was spurious.
      this.active = false;
      return false;
    }
    if (seqGt(ack, this.endSeq) || pureDupAck) {
      this.active = false;
      return true;
    }
    return false;
  }
}
