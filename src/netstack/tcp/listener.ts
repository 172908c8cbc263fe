/**
 * A listening socket (RFC 9293 §3.10.7.2, "If the state is LISTEN"): an RST is ignored, an ACK draws a
 * reset (unless it returns a SYN cookie), a SYN opens a connection in SYN-RECEIVED.
 *
 * A SYN flood costs bounded memory: at most max(backlog, MIN_SYN_BACKLOG) half-open connections per
 * listener; past that, SYN cookies (RFC 4987 §3.6, secrets.ts) answer without keeping anything, and a
 * cookie's final ACK is only honoured within two cookie slots of the last overflow (as Linux's
 * tcp_synq_no_recent_overflow), so cookies cannot be replayed into a listener that never overflowed.
 * With cookies off, SYNs past the cap are dropped.
 */
import { IPPROTO_TCP, type IpFamily, type IpInfo, type IpOutput } from '../transport.js';
import { ACK, MIN_SYN_BACKLOG, SYN, TCP_HEADER_BYTES } from './constants.js';
import type { Connection } from './connection.js';
import { openFromCookie } from './handshake.js';
import { segmentArrives } from './segment-arrives.js';
import { pseudoHeaderBase, type Segment } from './header.js';
import { sendSegment, type SegmentSource } from './output.js';
import { TcpSecrets, type CookieState } from './secrets.js';

/** Cookies are honoured this long after the SYN queue last overflowed (two 64 s cookie slots). */
const COOKIE_WINDOW_MS = 128_000;

/** What a listener needs from its stack. */
export interface ListenerHost {
  readonly ip: IpOutput;
  readonly secrets: TcpSecrets;
  readonly synCookies: boolean;
  /** A new passive connection in the table, or null when the stack is at its connection limit. */
  newPassive(l: Listener, seg: Segment, ip: IpInfo): Connection | null;
  /** Reply to a segment nobody takes (RFC 9293 §3.10.7.1). */
  reset(seg: Segment, ip: IpInfo): void;
  /** Our receive window on a SYN-ACK and the shift we announce. */
  readonly initialWindow: number;
  readonly rcvWscale: number;
  /** TSval offset for an address pair. */
  tsOffset(local: Uint8Array, remote: Uint8Array): number;
}

export class Listener {
  readonly family: IpFamily | 0;
  /** The bound address, or null for any address of `family` (0: of both). */
  readonly address: Uint8Array | null;
  readonly port: number;
  readonly backlog: number;
  /** Half-open connections now. */
  synQueue: number;
  closed: boolean;
  /** Called with each connection that reaches ESTABLISHED. */
  onConnection: ((c: Connection) => void) | null;
  private lastOverflow: number;
  // Counters.
  synReceived: number;
  cookiesSent: number;
  cookiesAccepted: number;
  cookiesFailed: number;
  synDropped: number;

  constructor(family: IpFamily | 0, address: Uint8Array | null, port: number, backlog: number) {
    this.family = family;
    this.address = address === null ? null : address.slice();
    this.port = port;
    this.backlog = backlog;
    this.synQueue = 0;
    this.closed = false;
    this.onConnection = null;
    this.lastOverflow = -Infinity;
    this.synReceived = 0;
    this.cookiesSent = 0;
    this.cookiesAccepted = 0;
    this.cookiesFailed = 0;
    this.synDropped = 0;
  }

  /** Does this listener take segments addressed to `dst` (a 4- or 16-byte address)? */
  accepts(family: IpFamily, dst: Uint8Array): boolean {
    if (this.closed) return false;
    if (this.family !== 0 && this.family !== family) return false;
    if (this.address === null) return true;
    if (this.address.length !== dst.length) return false;
    for (let i = 0; i < dst.length; i++) if (this.address[i] !== dst[i]) return false;
    return true;
  }

  /** RFC 9293 §3.10.7.2 for one segment that found no connection. */
  input(host: ListenerHost, seg: Segment, ip: IpInfo, now: number): void {
    const flags = seg.flags;
    if (flags & ACK) {
      if ((flags & SYN) === 0 && this.tryCookie(host, seg, ip, now)) return;
      host.reset(seg, ip);
      return;
    }
    if ((flags & SYN) === 0) return;
    this.synReceived++;
    if (this.synQueue >= Math.max(this.backlog, MIN_SYN_BACKLOG)) {
      this.lastOverflow = now;
      if (host.synCookies) this.sendCookie(host, seg, ip, now);
      else this.synDropped++;
      return;
    }
    const c = host.newPassive(this, seg, ip);
    if (c === null) {
      this.synDropped++;
      return;
    }
    this.synQueue++;
  }

  /** A half-open connection left the SYN queue (established, reset, or timed out). */
  leftSynQueue(): void {
    if (this.synQueue > 0) this.synQueue--;
  }

  private sendCookie(host: ListenerHost, seg: Segment, ip: IpInfo, now: number): void {
    const reply = cookieReply;
    reply.fill(host, seg, ip, now);
    const mssIndex = TcpSecrets.cookieMssIndex(seg.mss > 0 ? seg.mss : ip.family === 4 ? 536 : 1220);
    const isn = host.secrets.cookie(ip.dst, seg.dstPort, ip.src, seg.srcPort, seg.seq, mssIndex, now);
    reply.advMss = Math.min(reply.advMss, 0xffff);
    sendSegment(host.ip, reply, isn, SYN | ACK, 0, null, 0, now);
    this.cookiesSent++;
  }

  private tryCookie(host: ListenerHost, seg: Segment, ip: IpInfo, now: number): boolean {
    if (!host.synCookies || now - this.lastOverflow > COOKIE_WINDOW_MS) return false;
    const clientIsn = (seg.seq - 1) | 0;
    const cookie = (seg.ack - 1) | 0;
    const mss = host.secrets.checkCookie(ip.dst, seg.dstPort, ip.src, seg.srcPort, clientIsn, cookie, now);
    if (mss === 0) {
      this.cookiesFailed++;
      return false;
    }
    const st = cookieState;
    st.mss = mss;
    st.wscale = -1;
    st.sackOk = false;
    if (seg.hasTimestamp) TcpSecrets.cookieOptions(seg.tsEcr, st);
    const c = host.newPassive(this, seg, ip);
    if (c === null) return true;
    // Counted as half-open for the instant before it is handed over (which uncounts it).
    this.synQueue++;
    openFromCookie(c, seg, cookie, st.mss, st.wscale, st.sackOk, now);
    this.cookiesAccepted++;
    c.host.passiveEstablished(c);
    if (!c.isClosed) segmentArrives(c, seg, now);
    return true;
  }
}

const cookieState: CookieState = { mss: 0, wscale: -1, sackOk: false };

/** The SYN-ACK of a SYN cookie: a SegmentSource filled per reply, holding nothing afterwards. */
class CookieReply implements SegmentSource {
  family: IpFamily = 4;
  local: Uint8Array = new Uint8Array(4);
  remote: Uint8Array = new Uint8Array(4);
  localPort = 0;
  remotePort = 0;
  pseudoBase = 0;
  tsOk = false;
  sackOk = false;
  wsOk = false;
  rcvWscale = 0;
  advMss = 0;
  tsEcr = 0;
  ackNumber = 0;
  private window = 0;
  private ts = 0;

  fill(host: ListenerHost, seg: Segment, ip: IpInfo, now: number): void {
    this.family = ip.family;
    this.local = ip.dst;
    this.remote = ip.src;
    this.localPort = seg.dstPort;
    this.remotePort = seg.srcPort;
    this.pseudoBase = pseudoHeaderBase(ip.dst, ip.src, IPPROTO_TCP);
    // Without timestamps a cookie cannot carry window scale or SACK: offer neither (as Linux).
    this.tsOk = seg.hasTimestamp;
    this.wsOk = this.tsOk && seg.wscale >= 0;
    this.sackOk = this.tsOk && seg.sackPermitted;
    this.rcvWscale = host.rcvWscale;
    this.advMss = host.ip.maxTransportBytes(ip.family, ip.src) - TCP_HEADER_BYTES;
    this.tsEcr = seg.tsVal;
    this.ackNumber = (seg.seq + 1) | 0;
    this.window = Math.min(host.initialWindow, 0xffff);
    const base = (Math.floor(now) + host.tsOffset(ip.dst, ip.src)) | 0;
    this.ts = TcpSecrets.cookieTsVal(base, this.wsOk ? seg.wscale : -1, this.sackOk);
  }

  tsVal(): number {
    return this.ts;
  }

  sackBlocks(): number {
    return 0;
  }

  windowField(): number {
    return this.window;
  }

  ackSent(): void {}
}

const cookieReply = new CookieReply();
