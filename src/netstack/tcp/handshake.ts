/**
 * Opening a connection (RFC 9293 §3.5, §3.10.1, §3.10.7.2) and agreeing on its options: MSS
 * (RFC 9293 §3.7.1), window scaling and timestamps (RFC 7323 §2.2, §3.2: used only when both SYNs
 * carry them), SACK-permitted (RFC 2018 §2). The active side offers everything; the passive side
 * answers with what the SYN offered; a SYN cookie (RFC 4987 §3.6, secrets.ts) restores what its
 * SYN-ACK agreed to. The SYN-SENT side of the handshake is segment-arrives.ts's.
 */
import type { Connection } from './connection.js';
import type { Segment } from './header.js';
import { State } from './state.js';

/** OPEN, active (RFC 9293 §3.10.1): send the SYN from ISS, offering every option. */
export function openActive(c: Connection, iss: number, now: number): void {
  c.state = State.SYN_SENT;
  c.lastRecvTime = now;
  c.snd.init(iss);
  c.snd.sendSyn(now);
  c.host.markDirty(c);
}

/** A listener's SYN (RFC 9293 §3.10.7.2): SYN-RECEIVED, options as the SYN offered them, the SYN-ACK. */
export function openPassive(c: Connection, seg: Segment, iss: number, now: number): void {
  c.state = State.SYN_RECEIVED;
  c.lastRecvTime = now;
  agreeOptions(c, seg, now);
  c.rcv.init(seg.seq, now);
  c.snd.init(iss);
  c.snd.initWindow(seg.window, seg.seq, iss, c.snd.wscale);
  c.snd.sendSyn(now);
}

/**
 * A SYN cookie's final ACK rebuilt this connection (RFC 4987 §3.6): ESTABLISHED at once, with the
 * MSS and options the cookie carried (`wscale` -1: none).
 */
export function openFromCookie(c: Connection, seg: Segment, iss: number, mss: number, wscale: number, sackOk: boolean, now: number): void {
  c.lastRecvTime = now;
  c.tsOk = seg.hasTimestamp;
  c.sackOk = sackOk;
  c.wsOk = wscale >= 0;
  if (!c.wsOk) c.rcvWscale = 0;
  c.rcv.wscale = c.rcvWscale;
  c.snd.wscale = c.wsOk ? wscale : 0;
  c.setPeerMss(mss, true);
  if (c.tsOk) c.tsRecent = seg.tsVal;
  c.tsRecentAt = now;
  c.rcv.init((seg.seq - 1) | 0, now);
  // The cookie's SYN-ACK advertised the initial window, unscaled: take it as advertised.
  c.rcv.ackSent(Math.min(c.rcv.window(0), 0xffff));
  c.snd.init(iss);
  c.snd.una = (iss + 1) | 0;
  c.snd.nxt = c.snd.una;
  c.snd.initWindow(seg.window * (1 << c.snd.wscale), seg.seq, seg.ack, c.snd.wscale);
  c.state = State.ESTABLISHED;
}

/** Options from the peer's SYN (RFC 7323 §2.2, §3.2; RFC 2018 §2; RFC 9293 §3.7.1). */
export function agreeOptions(c: Connection, seg: Segment, now: number): void {
  c.wsOk = c.wsOk && seg.wscale >= 0;
  c.snd.wscale = c.wsOk ? seg.wscale : 0;
  if (!c.wsOk) c.rcvWscale = 0;
  c.rcv.wscale = c.rcvWscale;
  c.sackOk = c.sackOk && seg.sackPermitted;
  c.tsOk = c.tsOk && seg.hasTimestamp;
  if (c.tsOk) {
    c.tsRecent = seg.tsVal;
    c.tsRecentAt = now;
  }
  c.setPeerMss(seg.mss > 0 ? seg.mss : c.peerMss, true);
}
