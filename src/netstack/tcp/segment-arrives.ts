/**
 * SEGMENT ARRIVES (RFC 9293 §3.10.7) for a connection, checked step by step as the RFC orders them:
 *
 *   SYN-SENT (§3.10.7.3): the ACK check, an RST (acceptable only if it ACKs our SYN, RFC 5961 §3.2),
 *     a SYN with ACK (ESTABLISHED) or without (a simultaneous open: SYN-RECEIVED, answered with a
 *     SYN-ACK on our own ISS, §3.5 figure 8).
 *   Otherwise (§3.10.7.4): PAWS (RFC 7323 §5.3); first, sequence acceptability (the four cases, with
 *     the zero-window allowance for ACKs); second, RST by RFC 5961 §3.2 (exactly RCV.NXT resets,
 *     anywhere else in the window draws a challenge ACK); fourth, SYN by RFC 5961 §4 (challenge ACK;
 *     the peer's own SYN again in SYN-RECEIVED re-sends the SYN-ACK); fifth, the ACK by RFC 5961 §5.2
 *     (too new, or older than MAX.SND.WND: answered and dropped) with the per-state transitions;
 *     sixth, URG is not used (data is delivered inline, RFC 6093 §6); seventh the text and eighth
 *     the FIN (receiver.ts), with their transitions, simultaneous close included (FIN-WAIT-1 ->
 *     CLOSING -> TIME-WAIT).
 *
 * Functions over the connection, as the RFC's event processing is written: the TCB is the
 * connection's (connection.ts), this file is the one place that reads a segment into it.
 */
import { ACK, FIN, FIN_WAIT_2_TIMEOUT_MS, OOW_ACK_INTERVAL_MS, PAWS_IDLE_MS, RST, SYN, TIME_WAIT_MS } from './constants.js';
import { WaitKind } from './conn-timers.js';
import type { Connection } from './connection.js';
import { agreeOptions } from './handshake.js';
import type { Segment } from './header.js';
import { sendSegment } from './output.js';
import { segmentAcceptable, seqGe, seqGt, seqLe, seqLt } from './seq.js';
import { State } from './state.js';

/** One segment for `c`; `seg` is valid during the call only. */
export function segmentArrives(c: Connection, seg: Segment, now: number): void {
  c.segmentsIn++;
  c.lastRecvTime = now;
  c.timers.segmentArrived(now);
  if (c.state === State.SYN_SENT) {
    synSentArrives(c, seg, now);
    return;
  }
  if (c.state === State.CLOSED) return;
  const flags = seg.flags;
  const rcv = c.rcv;
  // RFC 7323 §5.3 PAWS: an older TSval than TS.Recent is an old duplicate (unless TS.Recent is stale).
  if (c.tsOk && seg.hasTimestamp && (flags & RST) === 0 && seqLt(seg.tsVal, c.tsRecent) && now - c.tsRecentAt <= PAWS_IDLE_MS) {
    dupAck(c, seg, now);
    return;
  }
  // The peer's SYN again in SYN-RECEIVED: our SYN-ACK was lost; send it again (Linux's tcp_check_req).
  if (c.state === State.SYN_RECEIVED && !c.active && (flags & (SYN | ACK | RST)) === SYN && seg.seq === rcv.irs) {
    c.snd.records.markLost(c.snd.records.at(0));
    c.snd.output(now);
    return;
  }
  // First: is the segment acceptable (RFC 9293 §3.10.7.4, the four cases)?
  const len = seg.seqLength;
  let wnd = (rcv.advRight - rcv.nxt) | 0;
  if (wnd < 0) wnd = 0;
  const seq = seg.seq;
  const acceptable = segmentAcceptable(seq, len, rcv.nxt, wnd);
  // RFC 9293: with a zero window still take valid ACKs and RSTs (a window probe's ACK field).
  const zeroWindowProbe = len > 0 && wnd === 0 && seq === rcv.nxt;
  if (!acceptable && !zeroWindowProbe) {
    if (flags & RST) return;
    // In TIME-WAIT a retransmitted FIN is below RCV.NXT: ACK it and restart the 2 MSL wait.
    if (c.state === State.TIME_WAIT && (flags & FIN) !== 0) c.timers.armWait(WaitKind.TIME_WAIT, now + TIME_WAIT_MS);
    if (flags & SYN) challengeAck(c, now);
    else dupAck(c, seg, now);
    return;
  }
  // Second: RST (RFC 5961 §3.2).
  if (flags & RST) {
    if (seq !== rcv.nxt) challengeAck(c, now);
    else resetArrives(c);
    return;
  }
  // Fourth: SYN in a synchronized state (RFC 5961 §4).
  if (flags & SYN) {
    challengeAck(c, now);
    return;
  }
  // Fifth: the ACK field.
  if ((flags & ACK) === 0) return;
  const ack = seg.ack;
  const snd = c.snd;
  if (c.state === State.SYN_RECEIVED) {
    if (!(seqLt(snd.una, ack) && seqLe(ack, snd.nxt))) {
      c.reset(ack);
      return;
    }
    c.state = State.ESTABLISHED;
    snd.initWindow(seg.window * (1 << snd.wscale), seq, ack, snd.wscale);
    if (!c.active) c.host.passiveEstablished(c);
    else c.connected(now);
    if (c.isClosed) return;
  }
  if (seqGt(ack, snd.nxt)) {
    // RFC 9293 / RFC 5961 §5.2: ACKs something not yet sent.
    dupAck(c, seg, now);
    return;
  }
  if (seqLt(ack, (snd.una - snd.maxWnd) | 0)) {
    // RFC 5961 §5.2: older than any window we could have sent: a blind ACK.
    challengeAck(c, now);
    return;
  }
  if (c.tsOk && seg.hasTimestamp) {
    // RFC 7323 §4.3: remember the TSval of a segment that covers Last.ACK.sent.
    if (seqLe(seq, rcv.lastAckSent) && seqGe(seg.tsVal, c.tsRecent)) {
      c.tsRecent = seg.tsVal;
      c.tsRecentAt = now;
    }
    if (seg.tsEcr !== 0) rcv.tsRttSample((c.tsNow(now) - seg.tsEcr) | 0);
  }
  if (seqGe(ack, snd.una)) snd.onAck(seg, now);
  if (snd.finAcked) {
    if (c.state === State.FIN_WAIT_1) {
      c.state = State.FIN_WAIT_2;
      // An orphan waits for the peer's FIN only so long (Linux's tcp_fin_timeout).
      if (c.orphan) c.timers.armWait(WaitKind.FIN_WAIT_2, now + FIN_WAIT_2_TIMEOUT_MS);
    } else if (c.state === State.CLOSING) {
      c.enterTimeWait(now);
      return;
    } else if (c.state === State.LAST_ACK) {
      c.close();
      return;
    }
  }
  // Seventh and eighth: text and FIN.
  const textState = c.state === State.ESTABLISHED || c.state === State.FIN_WAIT_1 || c.state === State.FIN_WAIT_2;
  if (textState && !zeroWindowProbe) {
    const hadFin = rcv.finReceived;
    if (rcv.onSegment(seq, seg.bytes, seg.dataAt, seg.dataLength, (flags & FIN) !== 0, now)) c.readablePending = true;
    if (!hadFin && rcv.finReceived) finArrives(c, now);
  } else if (len > 0) {
    // A retransmitted FIN (CLOSE-WAIT, CLOSING, LAST-ACK, TIME-WAIT) or a window probe: ACK it.
    rcv.ackNow = true;
    if (c.state === State.TIME_WAIT) c.timers.armWait(WaitKind.TIME_WAIT, now + TIME_WAIT_MS);
  }
  afterSegment(c, now);
}

/** RFC 9293 §3.10.7.3. */
function synSentArrives(c: Connection, seg: Segment, now: number): void {
  const flags = seg.flags;
  const snd = c.snd;
  let ackOk = false;
  if (flags & ACK) {
    if (seqLe(seg.ack, snd.iss) || seqGt(seg.ack, snd.nxt)) {
      if ((flags & RST) === 0) c.reset(seg.ack);
      return;
    }
    ackOk = true;
  }
  if (flags & RST) {
    // RFC 5961 §3.2 for SYN-SENT: only an RST that ACKs our SYN refuses the connection.
    if (ackOk) c.fail('ECONNREFUSED');
    return;
  }
  if ((flags & SYN) === 0) return;
  agreeOptions(c, seg, now);
  c.rcv.init(seg.seq, now);
  if (!ackOk) {
    // Simultaneous open (RFC 9293 §3.5, figure 8): SYN-RECEIVED, and a SYN-ACK on our own ISS.
    c.state = State.SYN_RECEIVED;
    snd.initWindow(seg.window, seg.seq, snd.iss, snd.wscale);
    snd.records.markLost(snd.records.at(0));
    snd.output(now);
    return;
  }
  snd.initWindow(seg.window, seg.seq, seg.ack, snd.wscale);
  snd.onAck(seg, now);
  c.state = State.ESTABLISHED;
  c.rcv.ackNow = true;
  c.connected(now);
  if (c.isClosed) return;
  // Data or a FIN on the SYN-ACK (rare): take it as text.
  if (seg.dataLength > 0 || (flags & FIN) !== 0) {
    if (c.rcv.onSegment((seg.seq + 1) | 0, seg.bytes, seg.dataAt, seg.dataLength, (flags & FIN) !== 0, now)) c.readablePending = true;
    if (c.rcv.finReceived) finArrives(c, now);
  }
  afterSegment(c, now);
}

/** ACKs that must go now, the flush for the rest, the delayed-ACK timer otherwise. */
function afterSegment(c: Connection, now: number): void {
  const rcv = c.rcv;
  if (rcv.ackImmediate) sendSegment(c.host.ip, c, c.snd.nxt, ACK, 0, null, 0, now);
  if (rcv.ackNow || c.readablePending) c.host.markDirty(c);
  else if (rcv.unacked > 0) c.timers.armDelack();
  if (c.snd.unsent > 0 || c.snd.records.lostPending > 0 || c.writablePending) c.host.markDirty(c);
}

/** Eighth, the FIN was consumed: RFC 9293 §3.10.7.4's per-state transitions. */
function finArrives(c: Connection, now: number): void {
  c.readablePending = true;
  switch (c.state) {
    case State.SYN_RECEIVED:
    case State.ESTABLISHED:
      c.state = State.CLOSE_WAIT;
      break;
    case State.FIN_WAIT_1:
      // Simultaneous close: our FIN not yet ACKed.
      if (c.snd.finAcked) c.enterTimeWait(now);
      else c.state = State.CLOSING;
      break;
    case State.FIN_WAIT_2:
      c.enterTimeWait(now);
      break;
    default:
      break;
  }
}

/** RST accepted (RFC 9293 §3.10.7.4 second, per state). */
function resetArrives(c: Connection): void {
  switch (c.state) {
    case State.SYN_RECEIVED:
      if (!c.active) c.drop();
      else c.fail('ECONNREFUSED');
      return;
    case State.ESTABLISHED:
    case State.FIN_WAIT_1:
    case State.FIN_WAIT_2:
    case State.CLOSE_WAIT:
      c.fail('ECONNRESET');
      return;
    default:
      c.close();
  }
}

/** An ACK for an unacceptable segment, at most one per OOW_ACK_INTERVAL_MS for segments without data. */
function dupAck(c: Connection, seg: Segment, now: number): void {
  if (seg.dataLength === 0 && (seg.flags & (SYN | FIN)) === 0) {
    if (now - c.lastOowAck < OOW_ACK_INTERVAL_MS) return;
    c.lastOowAck = now;
  }
  c.rcv.ackNow = true;
  c.host.markDirty(c);
}

/** RFC 5961 §3.2, §4, §5.2: an ACK that tells a genuine peer where we are, rate-limited (§7). */
function challengeAck(c: Connection, now: number): void {
  if (now - c.lastOowAck < OOW_ACK_INTERVAL_MS || !c.host.challengeAllowed(now)) return;
  c.lastOowAck = now;
  c.challengeAcks++;
  c.rcv.ackNow = true;
  c.host.markDirty(c);
}
