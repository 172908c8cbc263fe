/**
 * The receive side of a connection (RFC 9293 §3.3.1 receive sequence space, §3.10.7.4 "seventh,
 * process the segment text" and "eighth, check the FIN bit"), with:
 *
 * - reassembly of out-of-order data (reassembly.ts) and SACK blocks (RFC 2018 §4) with D-SACK
 *   (RFC 2883 §4: a duplicate segment is reported in the first block of the next ACK);
 * - ACK policy (RFC 9293 §3.8.6.3, RFC 5681 §4.2): an ACK for at least every second full-sized
 *   segment, at once for a segment that fills a hole, for a FIN, and for the first QUICKACK_SEGMENTS
 *   segments (Linux's quick-ACK mode, so the peer's slow start is not held back by the delayed-ACK
 *   timer); otherwise within DELACK_MS. Out-of-order data is ACKed at once for the first DUP_THRESH
 *   segments past a hole (the duplicate ACKs that start the peer's recovery, RFC 5681 §3.2); after
 *   those, with SACK, the SACK blocks are compressed (as Linux's tcp_comp_sack_nr): one ACK at the
 *   end of the batch, or after every SACK_COMPRESS_SEGMENTS segments. An ACK per out-of-order
 *   segment doubled the packets both ways whenever a hole was open, i.e. all the time at 1% loss
 *   with a large window, and the peer's sending rate fell to a fifth;
 * - the window: free space of a bounded receive buffer whose fill counts both the bytes held here and
 *   those the Node stream holds, so a slow reader shrinks the window; never shrinking the right edge
 *   (RFC 9293 §3.8.6.2.2 / RFC 7323 §2.4); receiver SWS avoidance, opening only by at least
 *   min(buffer / 2, MSS) (RFC 9293 §3.8.6.2.2); a window update when a reader frees space that doubles
 *   a small window (Linux's tcp_cleanup_rbuf rule);
 * - receive-buffer autotuning (dynamic right-sizing, as Linux's tcp_rcv_space_adjust): the buffer
 *   grows to four times what the reader took in the last RTT, up to the maximum, so memory follows the
 *   reader's pace and never passes the maximum.
 */
import { DUP_THRESH, QUICKACK_SEGMENTS, RECV_BUFFER_INITIAL_BYTES } from './constants.js';

/**
 * 16: within one batch of in-order segments an ACK goes out after the first two full segments, then
 * at least every 16, then at the batch's end (the flush). RFC 9293 §3.8.6.3 asks for one per two,
 * which costs the sender an ACK to process per two segments; one per device batch measured 4-7 RTOs
 * per 2 MiB each way at 5% loss (the lone ACK of a small flight lost, and the tail probe with it).
 */
const ACK_WITHIN_BATCH_SEGMENTS = 16;
/**
 * Out-of-order segments past the first DUP_THRESH whose SACK information one ACK may carry: 44, as
 * Linux's tcp_comp_sack_nr default (1% loss each way, a kernel BBR sender: 1.18 Gbit/s with 16,
 * 1.35-1.40 with 44).
 */
const SACK_COMPRESS_SEGMENTS = 44;
import { Reassembly } from './reassembly.js';
import { RecvBuffer } from './recv-buffer.js';
import { seqGe, seqGt, seqLt } from './seq.js';

export class Receiver {
  /** IRS and RCV.NXT (RFC 9293 §3.3.1). */
  irs: number;
  nxt: number;
  /** The window-scale shift we announce (applied to every window we send after the SYN). */
  wscale: number;
  /** The right edge last advertised (RCV.NXT + RCV.WND when it was sent); never moves left. */
  advRight: number;
  readonly buf: RecvBuffer;
  readonly ooo: Reassembly;
  /** The peer's FIN: its sequence number once seen (finSeen), consumed when RCV.NXT reaches it. */
  finSeen: boolean;
  finSeq: number;
  /** The FIN was consumed: no more data will come (the reader sees end of stream once it drains). */
  finReceived: boolean;
  /** Bytes the receive buffer may hold (autotuned) and its ceiling. */
  bufLimit: number;
  readonly bufMax: number;
  /** Largest segment seen: "full-sized" for the ACK-every-second-segment rule. */
  mss: number;
  /**
   * ACK state: an ACK must go out at the next flush; one must go out before the next segment is
   * processed (out-of-order data, a hole filled, a duplicate: RFC 5681 §4.2 "immediately", one per
   * segment as a kernel does, where GRO stops at out-of-order data. Batching these into one ACK per
   * device batch measured ~1 RTO per 100 losses at 5% loss: one lost ACK stopped the ACK clock in
   * recovery); bytes received since the last ACK.
   */
  ackNow: boolean;
  ackImmediate: boolean;
  private ackedInBatch: boolean;
  unacked: number;
  quickAcks: number;
  /** SACK is on (Connection.sackOk: offered, then as agreed): out-of-order ACKs may be compressed. */
  sackOk: boolean;
  /** RCV.NXT when the current run of out-of-order segments began, and the ACKs sent at once in it. */
  private dupNxt: number;
  private dupAcks: number;
  /** Out-of-order segments waiting for the next ACK (compressed SACK information). */
  private compressed: number;
  /** A pending D-SACK block. */
  hasDsack: boolean;
  dsackLeft: number;
  dsackRight: number;
  /** RFC 7323 §4.3: the ACK number last sent (Last.ACK.sent). */
  lastAckSent: number;
  // Dynamic right-sizing.
  /** Bytes the reader has pulled in total; consumed at the start of the current measurement. */
  pulled: number;
  private spacePulled: number;
  private spaceTime: number;
  /** Smoothed receiver-side RTT (ms), 0 before the first measurement. */
  rtt: number;
  private rttSeq: number;
  private rttTime: number;
  // Counters.
  bytesReceived: number;
  segmentsOutOfOrder: number;
  segmentsDuplicate: number;

  constructor(bufMax: number) {
    this.irs = 0;
    this.nxt = 0;
    this.wscale = 0;
    this.advRight = 0;
    this.buf = new RecvBuffer();
    this.ooo = new Reassembly();
    this.finSeen = false;
    this.finSeq = 0;
    this.finReceived = false;
    this.bufMax = bufMax;
    this.bufLimit = Math.min(RECV_BUFFER_INITIAL_BYTES, bufMax);
    this.mss = 536;
    this.ackNow = false;
    this.ackImmediate = false;
    this.ackedInBatch = false;
    this.unacked = 0;
    this.quickAcks = QUICKACK_SEGMENTS;
    this.sackOk = false;
    this.dupNxt = 0;
    this.dupAcks = 0;
    this.compressed = 0;
    this.hasDsack = false;
    this.dsackLeft = 0;
    this.dsackRight = 0;
    this.lastAckSent = 0;
    this.pulled = 0;
    this.spacePulled = 0;
    this.spaceTime = 0;
    this.rtt = 0;
    this.rttSeq = 0;
    this.rttTime = 0;
    this.bytesReceived = 0;
    this.segmentsOutOfOrder = 0;
    this.segmentsDuplicate = 0;
  }

  /** The peer's SYN carried sequence number `irs`. */
  init(irs: number, now: number): void {
    this.irs = irs | 0;
    this.nxt = (irs + 1) | 0;
    this.advRight = this.nxt;
    this.lastAckSent = this.nxt;
    this.buf.reset(this.nxt);
    this.rttSeq = this.nxt;
    this.rttTime = now;
    this.spaceTime = now;
  }

  /** In-order bytes received and not yet taken by the reader. */
  get unread(): number {
    return (this.nxt - this.buf.readSeq - (this.finReceived ? 1 : 0)) >>> 0;
  }

  /** True when the reader has taken everything and the FIN is in: end of stream. */
  get eof(): boolean {
    return this.finReceived && this.unread === 0;
  }

  /**
   * The window to advertise now (bytes, not yet scaled), given what the reader holds (`userHeld`).
   * Keeps the right edge where it is unless it can move by min(buffer / 2, mss) (receiver SWS
   * avoidance), and never moves it left.
   */
  window(userHeld: number): number {
    const held = this.unread + userHeld;
    let free = this.bufLimit - held;
    if (free < 0) free = 0;
    const unit = 1 << this.wscale; // <= 2^14 (RFC 7323 §2.3); a shift, not pow()
    // Round down to what the scaled field can say, and no more than it can say.
    free = Math.floor(free / unit) * unit;
    const most = 0xffff * unit;
    if (free > most) free = most;
    let cur = (this.advRight - this.nxt) | 0;
    if (cur < 0) cur = 0; // a FIN consumed at the right edge
    if (free <= cur) return cur;
    if (free - cur < Math.min(this.bufLimit >>> 1, this.mss)) return cur;
    return free;
  }

  /** Record that an ACK advertising `wnd` went out. */
  ackSent(wnd: number): void {
    this.ackNow = false;
    this.ackImmediate = false;
    this.unacked = 0;
    this.compressed = 0;
    this.hasDsack = false;
    this.lastAckSent = this.nxt;
    const right = (this.nxt + wnd) | 0;
    if (seqGt(right, this.advRight)) this.advRight = right;
  }

  /**
   * Take a segment's text and FIN (RFC 9293 §3.10.7.4 seventh and eighth). The segment passed the
   * acceptability test. `seq` is the sequence number of data[at] (after the SYN, if any). Returns true
   * when the reader has something new (data or end of stream).
   */
  onSegment(seq: number, data: Uint8Array, at: number, len: number, fin: boolean, now: number): boolean {
    if (len > this.mss) this.mss = len;
    this.measureRtt(now);
    // Left edge: drop what we already have, reporting it as a D-SACK (RFC 2883 §4.1).
    if (seqLt(seq, this.nxt)) {
      const skip = (this.nxt - seq) >>> 0;
      if (skip >= len + (fin ? 1 : 0)) {
        this.segmentsDuplicate++;
        if (len > 0) this.noteDsack(seq, (seq + len) | 0);
        this.ackImmediate = true;
        return false;
      }
      if (skip > 0) this.noteDsack(seq, this.nxt);
      seq = this.nxt;
      at += skip;
      len -= skip;
    }
    // Right edge: keep only what the window we advertised allows; a trimmed FIN is not taken.
    const right = seqGt(this.advRight, this.nxt) ? this.advRight : this.nxt;
    const room = (right - seq) | 0;
    if (len > room) {
      len = room > 0 ? room : 0;
      fin = false;
    }
    let readable = false;
    if (seq === this.nxt) {
      if (len > 0) {
        this.buf.place(seq, data, at, len);
        this.nxt = (this.nxt + len) | 0;
        this.bytesReceived += len;
        readable = true;
        if (this.ooo.count > 0) {
          // RFC 5681 §4.2: a segment that fills (part of) a hole is ACKed at once.
          for (let next = this.ooo.advance(this.nxt); next !== this.nxt; next = this.ooo.advance(this.nxt)) {
            this.bytesReceived += (next - this.nxt) >>> 0;
            this.nxt = next;
          }
          this.ackImmediate = true;
        }
      }
      if (fin) {
        this.finSeen = true;
        this.finSeq = (seq + len) | 0;
      }
      this.scheduleAck(len);
    } else {
      // Out of order: keep it if the reassembly table has room (RFC 5681 §4.2: ACK at once).
      this.segmentsOutOfOrder++;
      const end = (seq + len) | 0;
      if (len > 0) {
        if (this.ooo.holds(seq, end)) this.noteDsack(seq, end);
        else if (this.ooo.add(seq, end, this.nxt)) this.buf.place(seq, data, at, len);
      }
      if (fin) {
        this.finSeen = true;
        this.finSeq = end;
      }
      this.scheduleOutOfOrderAck();
    }
    if (this.finSeen && !this.finReceived && this.nxt === this.finSeq) {
      // Eighth: the FIN is consumed when everything before it arrived; ACK it at once.
      this.nxt = (this.nxt + 1) | 0;
      this.finReceived = true;
      this.ackNow = true;
      readable = true;
    }
    return readable;
  }

  /** The SACK blocks for the next ACK: a pending D-SACK first (RFC 2883 §4), then RFC 2018 §4's order. */
  sackBlocks(out: Int32Array, max: number): number {
    let n = 0;
    if (this.hasDsack && max > 0) {
      out[0] = this.dsackLeft;
      out[1] = this.dsackRight;
      n = 1;
    }
    return n + this.ooo.sackBlocks(out, 2 * n, max - n);
  }

  /** How many SACK blocks the next ACK will carry (for sizing the segment's payload). */
  sackBlockCount(max: number): number {
    const n = (this.hasDsack ? 1 : 0) + this.ooo.count;
    return n < max ? n : max;
  }

  /**
   * The reader took `n` bytes. Returns true when the window should be announced now: it was small
   * (at most half the buffer) and can now at least double (Linux's tcp_cleanup_rbuf rule).
   */
  onPulled(n: number, userHeld: number, now: number): boolean {
    this.pulled += n;
    // What the reader consumed: pulled into the stream and taken out of it (Linux counts bytes
    // copied to the user; the stream's own buffer is still the socket's).
    this.adjustSpace(now, this.pulled - userHeld);
    const cur = (this.advRight - this.nxt) | 0;
    if (2 * cur > this.bufLimit) return false;
    const w = this.window(userHeld);
    return w > 0 && w >= 2 * cur;
  }

  /** An RTT sample from a timestamp echo (ms), for autotuning. */
  tsRttSample(ms: number): void {
    const s = ms < 1 ? 1 : ms;
    this.rtt = this.rtt === 0 ? s : (7 * this.rtt + s) / 8;
  }

  /** The connection went idle: with nothing unread or out of order, the receive memory goes back. */
  trimIdle(): void {
    if (this.unread !== 0 || this.ooo.count !== 0) return;
    this.buf.trim();
    this.ooo.clear();
  }

  /** Drop everything held (connection closed). */
  clear(): void {
    this.buf.clear();
    this.ooo.clear();
  }

  /** Without timestamps: the time a window's worth of data takes to arrive is an RTT (Linux's tcp_rcv_rtt_measure). */
  private measureRtt(now: number): void {
    if (seqGe(this.nxt, this.rttSeq) && now > this.rttTime) {
      if (this.rtt === 0 || this.rtt > now - this.rttTime) this.tsRttSample(now - this.rttTime);
      this.rttSeq = (this.nxt + Math.max(this.bufLimit >>> 1, 1)) | 0;
      this.rttTime = now;
    }
  }

  /** Dynamic right-sizing: once per receiver RTT, grow the buffer to 4x what the reader took. */
  private adjustSpace(now: number, consumed: number): void {
    if (this.rtt === 0 || now - this.spaceTime < this.rtt) return;
    const copied = consumed - this.spacePulled;
    this.spacePulled = consumed;
    this.spaceTime = now;
    const want = Math.min(4 * copied, this.bufMax);
    if (want > this.bufLimit) this.bufLimit = want;
  }

  private scheduleAck(len: number): void {
    if (len === 0) return;
    this.unacked += len;
    if (this.quickAcks > 0) {
      this.quickAcks--;
      this.ackNow = true;
    } else if (this.unacked >= 2 * this.mss && !this.ackedInBatch) {
      // The first two full segments of a batch are ACKed at once, then every ACK_WITHIN_BATCH_SEGMENTS,
      // then the batch's end: a small flight gets two ACKs, so losing one does not stop the ACK clock.
      this.ackImmediate = true;
      this.ackedInBatch = true;
    } else if (this.unacked >= ACK_WITHIN_BATCH_SEGMENTS * this.mss) {
      this.ackImmediate = true;
    } else if (this.unacked >= 2 * this.mss) {
      this.ackNow = true;
    }
  }

  /**
   * An out-of-order segment arrived: the first DUP_THRESH past this hole go at once; after those, with
   * SACK, at the batch's end or after SACK_COMPRESS_SEGMENTS.
   */
  private scheduleOutOfOrderAck(): void {
    if (this.dupNxt !== this.nxt) {
      this.dupNxt = this.nxt;
      this.dupAcks = 0;
    }
    if (!this.sackOk || this.dupAcks < DUP_THRESH) {
      this.dupAcks++;
      this.ackImmediate = true;
      return;
    }
    this.compressed++;
    if (this.compressed >= SACK_COMPRESS_SEGMENTS) this.ackImmediate = true;
    else this.ackNow = true;
  }

  /** The device batch is over (the connection's flush): the next one starts with an early ACK again. */
  batchEnded(): void {
    this.ackedInBatch = false;
  }

  private noteDsack(left: number, right: number): void {
    this.hasDsack = true;
    this.dsackLeft = left;
    this.dsackRight = right;
  }
}
