/**
 * ICMP for IPv4 (RFC 792, with the host rules of RFC 1122 §3.2.2) and ICMPv6 (RFC 4443), as much as a
 * host at the end of a tunnel needs:
 *
 * - Echo: requests to our addresses are answered with the same identifier, sequence and data, so
 *   `ping` to the tunnel address works (RFC 792 "Echo or Echo Reply", RFC 4443 §4.2); replies go to
 *   the stack's own requests (ping.ts), as do errors quoting one of them.
 * - Errors in: Destination Unreachable, Packet Too Big / Fragmentation Needed, Time Exceeded and the
 *   "unrecognized Next Header" Parameter Problem are matched to the transport that sent the quoted
 *   packet (its quoted source must be ours) and delivered as an IcmpError. Packet Too Big lowers the
 *   path MTU first (RFC 1191, RFC 8201); a Fragmentation Needed without a next-hop MTU (pre-RFC 1191
 *   routers) takes the plateau below the quoted packet's length (RFC 1191 §7).
 * - Errors out: port unreachable for UDP to a closed port (RFC 1122 §4.1.3.1), protocol unreachable
 *   (IPv4) or Parameter Problem code 1 (IPv6) for a protocol nobody handles, and Time Exceeded code 1
 *   when a reassembly times out holding its first fragment. Never in answer to an ICMP error, to a
 *   packet from a non-unicast source or to a non-first fragment (RFC 1122 §3.2.2, RFC 4443 §2.4(e));
 *   rate-limited by one token bucket (RFC 1812 §4.3.2.8, RFC 4443 §2.4(f)); quoting as much of the
 *   offending packet as fits in 576 bytes (IPv4, RFC 1812 §4.3.2.3) or 1280 (IPv6, RFC 4443 §2.4(c)).
 *
 * Source quench (deprecated by RFC 6633), redirects (a tunnel has no next hop to change), router and
 * neighbor discovery (no link layer) and echo replies nobody asked for are counted and dropped.
 */
import type { Clock } from '../base/clock.js';
import type { PacketBuffer } from '../buffer/packet-buffer.js';
import { checksum, pseudoHeaderSumOf } from '../net/checksum.js';
import { copyAddress, copyBytes } from './bytes.js';
import type { NetStackCounters } from './counters.js';
import { IPV4_HEADER_BYTES, writeIpv4Header } from './ipv4.js';
import { IPV6_HEADER_BYTES, NH_DEST_OPTIONS, NH_FRAGMENT, NH_HOP_BY_HOP, NH_ROUTING, writeIpv6Header } from './ipv6.js';
import type { PathMtu } from './path-mtu.js';
import type { Pinger } from './ping.js';
import type { RxInfo } from './rx-info.js';
import { IPPROTO_ICMP, IPPROTO_ICMPV6, IPPROTO_UDP, type IcmpError, type IcmpErrorKind, type IpFamily, type IpInfo, type Transport } from './transport.js';

// ICMP types and codes (RFC 792), ICMPv6 (RFC 4443 §2.1).
const ICMP4_ECHO_REPLY = 0;
const ICMP4_UNREACHABLE = 3;
const ICMP4_ECHO_REQUEST = 8;
const ICMP4_TIME_EXCEEDED = 11;
const ICMP4_PROTOCOL_UNREACHABLE = 2;
const ICMP4_PORT_UNREACHABLE = 3;
const ICMP4_FRAGMENTATION_NEEDED = 4;
const ICMP6_UNREACHABLE = 1;
const ICMP6_PACKET_TOO_BIG = 2;
const ICMP6_TIME_EXCEEDED = 3;
const ICMP6_PARAMETER_PROBLEM = 4;
const ICMP6_ECHO_REQUEST = 128;
const ICMP6_ECHO_REPLY = 129;
const ICMP6_PORT_UNREACHABLE = 4;
const ICMP6_UNRECOGNIZED_NEXT_HEADER = 1;
/** Time Exceeded code 1: fragment reassembly time exceeded (both versions). */
const REASSEMBLY_TIME_EXCEEDED = 1;
export const ICMP_HEADER_BYTES = 8;

/** An ICMP error and its quote fit in 576 bytes (RFC 1812 §4.3.2.3) / 1280 bytes (RFC 4443 §2.4(c)). */
const ICMP4_ERROR_MAX_PACKET = 576;
const ICMP6_ERROR_MAX_PACKET = 1280;
/** Token bucket for the errors we send. Ours; Linux allows 1000/s with a burst of 50 per host. */
export const ICMP_ERRORS_PER_SECOND = 100;
export const ICMP_ERROR_BURST = 20;
/** The ICMPv4 error types (RFC 1122 §3.2.2: unreachable, quench, redirect, time exceeded, parameter). */
const ICMP4_ERROR_TYPES: ReadonlySet<number> = new Set([3, 4, 5, 11, 12]);
/** RFC 1191 §7 "plateau" table, for a Fragmentation Needed that carries no next-hop MTU. */
const MTU_PLATEAUS = [32000, 17914, 8166, 4352, 2002, 1492, 1006, 508, 296, 68];

/** What ICMP needs from the IP layer. */
export interface IcmpHost {
  readonly clock: Clock;
  readonly counters: NetStackCounters;
  readonly pathMtu: PathMtu;
  mtu(): number;
  alloc(family: IpFamily, transportBytes: number): PacketBuffer | null;
  send(buf: PacketBuffer, family: IpFamily, src: Uint8Array, dst: Uint8Array, protocol: number, ttl: number): boolean;
  isLocal(address: Uint8Array): boolean;
  transport(protocol: number): Transport | null;
}

export class Icmp {
  private tokens = ICMP_ERROR_BURST;
  private refilledAt: number;
  /** Reused for every error delivered to a transport. */
  private readonly err: IcmpError;
  private readonly src4 = new Uint8Array(4);
  private readonly dst4 = new Uint8Array(4);
  private readonly src6 = new Uint8Array(16);
  private readonly dst6 = new Uint8Array(16);
  /** The addresses of a quoted packet we answer outside delivery (reassembly timeouts). */
  private readonly quoted: IpInfo;
  /** The stack's echo requests: replies and errors quoting a request go here. */
  pinger: Pinger | null = null;

  /** @param rx the stack's scratch for the packet being delivered (ports unreachable quote it) */
  constructor(
    private readonly host: IcmpHost,
    private readonly rx: RxInfo,
  ) {
    this.refilledAt = host.clock.now();
    this.err = { kind: 'unreachable', mtu: 0, family: 4, src: this.src4, dst: this.dst4, bytes: new Uint8Array(0), at: 0, end: 0 };
    this.quoted = { family: 4, src: this.src4, dst: this.dst4, ttl: 0, tos: 0 };
  }

  /** An ICMP or ICMPv6 message for us: buf's window is the message; buf is ours. */
  receive(buf: PacketBuffer, rx: RxInfo): void {
    const c = this.host.counters;
    const b = buf.bytes;
    const at = buf.start;
    const end = buf.end;
    if (end - at < ICMP_HEADER_BYTES) {
      c.badTransportLength++;
      buf.release();
      return;
    }
    const initial = rx.family === 4 ? 0 : pseudoHeaderSumOf(rx.src, rx.dst, IPPROTO_ICMPV6, end - at);
    if (checksum(b, at, end, initial) !== 0xffff) {
      c.badTransportChecksum++;
      buf.release();
      return;
    }
    const type = b[at]!;
    const code = b[at + 1]!;
    if (rx.family === 4) {
      if (type === ICMP4_ECHO_REQUEST && code === 0) this.echo(buf, rx, ICMP4_ECHO_REPLY);
      else if (type === ICMP4_ECHO_REPLY && code === 0) this.echoReply(b, at, end, rx);
      else if (type === ICMP4_UNREACHABLE) {
        const kind = code === ICMP4_PORT_UNREACHABLE ? 'port-unreachable' : code === ICMP4_FRAGMENTATION_NEEDED ? 'packet-too-big' : 'unreachable';
        this.deliver(b, at, end, 4, kind, (b[at + 6]! << 8) | b[at + 7]!);
      } else if (type === ICMP4_TIME_EXCEEDED) this.deliver(b, at, end, 4, 'ttl-exceeded', 0);
      else c.icmpIgnored++;
    } else {
      if (type === ICMP6_ECHO_REQUEST && code === 0) this.echo(buf, rx, ICMP6_ECHO_REPLY);
      else if (type === ICMP6_ECHO_REPLY && code === 0) this.echoReply(b, at, end, rx);
      else if (type === ICMP6_UNREACHABLE) this.deliver(b, at, end, 6, code === ICMP6_PORT_UNREACHABLE ? 'port-unreachable' : 'unreachable', 0);
      else if (type === ICMP6_PACKET_TOO_BIG) this.deliver(b, at, end, 6, 'packet-too-big', readU32(b, at + 4));
      else if (type === ICMP6_TIME_EXCEEDED) this.deliver(b, at, end, 6, 'ttl-exceeded', 0);
      else if (type === ICMP6_PARAMETER_PROBLEM && code === ICMP6_UNRECOGNIZED_NEXT_HEADER) this.deliver(b, at, end, 6, 'unreachable', 0);
      else c.icmpIgnored++;
    }
    // echo() sent its own copy; the request goes back either way.
    buf.release();
  }

  /** Answer the UDP datagram being delivered (ip, buf's window) with a port unreachable. */
  portUnreachable(buf: PacketBuffer, ip: IpInfo): void {
    const rx = this.rx;
    // The stack delivers from its one scratch; another IpInfo has no header to quote, so it is rebuilt.
    const headerAt = ip === rx ? rx.headerAt : -1;
    if (ip.family === 4) this.error(4, ICMP4_UNREACHABLE, ICMP4_PORT_UNREACHABLE, 0, ip, buf.bytes, headerAt, buf.start, buf.end, IPPROTO_UDP);
    else this.error(6, ICMP6_UNREACHABLE, ICMP6_PORT_UNREACHABLE, 0, ip, buf.bytes, headerAt, buf.start, buf.end, IPPROTO_UDP);
  }

  /** Answer the packet being delivered (rx) whose protocol nobody handles. */
  protocolUnreachable(buf: PacketBuffer, rx: RxInfo): void {
    const b = buf.bytes;
    if (rx.family === 4) {
      this.error(4, ICMP4_UNREACHABLE, ICMP4_PROTOCOL_UNREACHABLE, 0, rx, b, rx.headerAt, rx.payloadAt, rx.payloadEnd, rx.protocol);
    } else {
      // The pointer names the Next Header byte that carried the unknown value (RFC 4443 §3.4).
      const pointer = rx.headerAt >= 0 && rx.nextHeaderAt >= 0 ? rx.nextHeaderAt - rx.headerAt : 6;
      this.error(6, ICMP6_PARAMETER_PROBLEM, ICMP6_UNRECOGNIZED_NEXT_HEADER, pointer, rx, b, rx.headerAt, rx.payloadAt, rx.payloadEnd, rx.protocol);
    }
  }

  /**
   * Reassembly gave up on a datagram whose first fragment, as received, is b[headerAt, buf.end);
   * buf's window is that fragment's payload, `protocol` the datagram's upper layer.
   */
  reassemblyTimedOut(family: IpFamily, buf: PacketBuffer, headerAt: number, protocol: number): void {
    const b = buf.bytes;
    const q = this.quoted;
    q.family = family;
    if (family === 4) {
      copyAddress(b, headerAt + 12, this.src4);
      copyAddress(b, headerAt + 16, this.dst4);
      q.src = this.src4;
      q.dst = this.dst4;
    } else {
      copyAddress(b, headerAt + 8, this.src6);
      copyAddress(b, headerAt + 24, this.dst6);
      q.src = this.src6;
      q.dst = this.dst6;
    }
    const type = family === 4 ? ICMP4_TIME_EXCEEDED : ICMP6_TIME_EXCEEDED;
    this.error(family, type, REASSEMBLY_TIME_EXCEEDED, 0, q, b, headerAt, buf.start, buf.end, protocol);
  }

  private echo(req: PacketBuffer, rx: RxInfo, replyType: number): void {
    const len = req.end - req.start;
    const out = this.host.alloc(rx.family, len);
    if (out === null) return; // counted by alloc
    const o = out.start;
    copyBytes(req.bytes, req.start, req.end, out.bytes, o);
    out.end = o + len;
    const b = out.bytes;
    b[o] = replyType;
    b[o + 2] = 0;
    b[o + 3] = 0;
    const initial = rx.family === 4 ? 0 : pseudoHeaderSumOf(rx.dst, rx.src, IPPROTO_ICMPV6, len);
    const sum = ~checksum(b, o, o + len, initial) & 0xffff;
    b[o + 2] = sum >>> 8;
    b[o + 3] = sum & 0xff;
    if (this.host.send(out, rx.family, rx.dst, rx.src, rx.family === 4 ? IPPROTO_ICMP : IPPROTO_ICMPV6, 0)) this.host.counters.echoReplies++;
  }

  private echoReply(b: Uint8Array, at: number, end: number, rx: RxInfo): void {
    if (this.pinger !== null && this.pinger.onReply(rx.family, rx.src, b, at, end)) this.host.counters.echoRepliesReceived++;
    else this.ignore();
  }

  /**
   * Hand an ICMP error about one of our packets to its transport. The quoted packet starts 8 bytes
   * into the message; `param` is the next-hop MTU (IPv4 code 4) or the MTU (IPv6 Packet Too Big).
   */
  private deliver(b: Uint8Array, at: number, end: number, family: IpFamily, kind: IcmpErrorKind, param: number): void {
    const c = this.host.counters;
    const err = this.err;
    const q = at + ICMP_HEADER_BYTES;
    let protocol: number;
    let t: number;
    let quotedLength: number;
    if (family === 4) {
      if (q + IPV4_HEADER_BYTES > end || b[q]! >>> 4 !== 4) return this.ignore();
      const ihl = (b[q]! & 0x0f) << 2;
      // A non-first fragment quotes no transport header: nobody to tell.
      if (ihl < IPV4_HEADER_BYTES || (((b[q + 6]! << 8) | b[q + 7]!) & 0x1fff) !== 0) return this.ignore();
      protocol = b[q + 9]!;
      quotedLength = (b[q + 2]! << 8) | b[q + 3]!;
      copyAddress(b, q + 12, this.src4);
      copyAddress(b, q + 16, this.dst4);
      err.src = this.src4;
      err.dst = this.dst4;
      t = q + ihl;
    } else {
      if (q + IPV6_HEADER_BYTES > end || b[q]! >>> 4 !== 6) return this.ignore();
      copyAddress(b, q + 8, this.src6);
      copyAddress(b, q + 24, this.dst6);
      err.src = this.src6;
      err.dst = this.dst6;
      quotedLength = IPV6_HEADER_BYTES + ((b[q + 4]! << 8) | b[q + 5]!);
      protocol = b[q + 6]!;
      t = q + IPV6_HEADER_BYTES;
      // Our own packets carry at most a Fragment header; skip what a path may have added, bounded.
      for (let n = 0; n < 4 && t + 8 <= end; n++) {
        if (protocol === NH_FRAGMENT) {
          if ((((b[t + 2]! << 8) | b[t + 3]!) & 0xfff8) !== 0) return this.ignore();
          protocol = b[t]!;
          t += 8;
        } else if (protocol === NH_HOP_BY_HOP || protocol === NH_ROUTING || protocol === NH_DEST_OPTIONS) {
          const len = (b[t + 1]! + 1) << 3;
          protocol = b[t]!;
          t += len;
        } else break;
      }
    }
    if (t + 8 > end || !this.host.isLocal(err.src)) return this.ignore();
    // Besides TCP and UDP, the only thing we send that is not itself an error: an echo request (ping.ts).
    const echo = protocol === (family === 4 ? IPPROTO_ICMP : IPPROTO_ICMPV6);
    const transport = echo ? null : this.host.transport(protocol);
    if (echo ? this.pinger === null : transport === null) return this.ignore();
    c.icmpErrorsReceived++;
    let mtu = 0;
    if (kind === 'packet-too-big') {
      let next = param;
      if (family === 4 && next === 0) next = plateauBelow(quotedLength);
      const linkMtu = this.host.mtu();
      this.host.pathMtu.lower(family, err.dst, next, linkMtu);
      mtu = this.host.pathMtu.get(family, err.dst, linkMtu);
    }
    if (transport === null) {
      // A request too big for the path is simply lost: the ping times out; the others failed for good.
      if (kind !== 'packet-too-big' && this.pinger !== null) this.pinger.onError(kind, err.dst, b, t, end);
      return;
    }
    err.kind = kind;
    err.mtu = mtu;
    err.family = family;
    err.bytes = b;
    err.at = t;
    err.end = end;
    transport.icmpError(err);
  }

  private ignore(): void {
    this.host.counters.icmpIgnored++;
  }

  /**
   * Send an ICMP error about a packet we received: from its destination (ours) to its source, quoting
   * b[headerAt, payloadEnd), or, when the header is gone (headerAt < 0: a reassembled datagram), a
   * header rebuilt from `ip` followed by b[payloadAt, payloadEnd). `protocol` is the quoted packet's.
   */
  private error(
    family: IpFamily,
    type: number,
    code: number,
    param: number,
    ip: IpInfo,
    b: Uint8Array,
    headerAt: number,
    payloadAt: number,
    payloadEnd: number,
    protocol: number,
  ): void {
    const c = this.host.counters;
    if (!unicastSource(ip.src) || isIcmpError(protocol, family, b, payloadAt, payloadEnd)) return;
    if (!this.takeToken()) {
      c.icmpRateLimited++;
      return;
    }
    const ipBytes = family === 4 ? IPV4_HEADER_BYTES : IPV6_HEADER_BYTES;
    const room = (family === 4 ? ICMP4_ERROR_MAX_PACKET : ICMP6_ERROR_MAX_PACKET) - ipBytes - ICMP_HEADER_BYTES;
    const rebuilt = headerAt < 0;
    const whole = rebuilt ? ipBytes + payloadEnd - payloadAt : payloadEnd - headerAt;
    const quote = whole < room ? whole : room;
    const len = ICMP_HEADER_BYTES + quote;
    const out = this.host.alloc(family, len);
    if (out === null) return;
    const o = out.start;
    const ob = out.bytes;
    ob[o] = type;
    ob[o + 1] = code;
    ob[o + 2] = 0;
    ob[o + 3] = 0;
    ob[o + 4] = (param >>> 24) & 0xff;
    ob[o + 5] = (param >>> 16) & 0xff;
    ob[o + 6] = (param >>> 8) & 0xff;
    ob[o + 7] = param & 0xff;
    const q = o + ICMP_HEADER_BYTES;
    if (rebuilt) {
      const qEnd = q + quote;
      if (family === 4) writeIpv4Header(ob, q, whole, 0, 0, ip.ttl, protocol, ip.tos, ip.src, ip.dst);
      else writeIpv6Header(ob, q, whole - ipBytes, protocol, ip.ttl, ip.tos, ip.src, ip.dst);
      copyBytes(b, payloadAt, payloadAt + (qEnd - q - ipBytes), ob, q + ipBytes);
    } else {
      copyBytes(b, headerAt, headerAt + quote, ob, q);
    }
    out.end = o + len;
    const initial = family === 4 ? 0 : pseudoHeaderSumOf(ip.dst, ip.src, IPPROTO_ICMPV6, len);
    const sum = ~checksum(ob, o, o + len, initial) & 0xffff;
    ob[o + 2] = sum >>> 8;
    ob[o + 3] = sum & 0xff;
    if (this.host.send(out, family, ip.dst, ip.src, family === 4 ? IPPROTO_ICMP : IPPROTO_ICMPV6, 0)) c.icmpErrorsSent++;
  }

  private takeToken(): boolean {
    const now = this.host.clock.now();
    const tokens = this.tokens + ((now - this.refilledAt) * ICMP_ERRORS_PER_SECOND) / 1000;
    this.refilledAt = now;
    this.tokens = tokens > ICMP_ERROR_BURST ? ICMP_ERROR_BURST : tokens;
    if (this.tokens < 1) return false;
    this.tokens -= 1;
    return true;
  }
}

function readU32(b: Uint8Array, at: number): number {
  return ((b[at]! << 24) | (b[at + 1]! << 16) | (b[at + 2]! << 8) | b[at + 3]!) >>> 0;
}

/** Largest plateau below a packet of `length` that did not fit (RFC 1191 §7). */
function plateauBelow(length: number): number {
  for (let i = 0; i < MTU_PLATEAUS.length; i++) if (MTU_PLATEAUS[i]! < length) return MTU_PLATEAUS[i]!;
  return MTU_PLATEAUS[MTU_PLATEAUS.length - 1]!;
}

/** Not 0.0.0.0, not multicast or broadcast, not :: or ff00::/8 (RFC 1122 §3.2.2, RFC 4443 §2.4(e)). */
function unicastSource(a: Uint8Array): boolean {
  if (a.length === 4) return a[0]! < 224 && (a[0]! | a[1]! | a[2]! | a[3]!) !== 0;
  if (a[0] === 0xff) return false;
  for (let i = 0; i < 16; i++) if (a[i] !== 0) return true;
  return false;
}

/** Whether the packet whose upper layer is b[at, end) is itself an ICMP error (never answered). */
function isIcmpError(protocol: number, family: IpFamily, b: Uint8Array, at: number, end: number): boolean {
  if (at >= end) return false;
  if (family === 4) return protocol === IPPROTO_ICMP && ICMP4_ERROR_TYPES.has(b[at]!);
  return protocol === IPPROTO_ICMPV6 && b[at]! < 128;
}
