/**
 * UDP (RFC 768) over the netstack: the socket table, demultiplexing of inbound datagrams to sockets,
 * and building outbound datagrams in place. The Node-shaped socket is udp-socket.ts; this file knows
 * sockets only as the UdpBinding face below.
 *
 * - One socket per (family, local port): a udp4 and a udp6 socket may share a port number, two of one
 *   family may not (EADDRINUSE). udp6 sockets are IPv6-only (as with Node's `ipv6Only: true`).
 * - A socket bound to one address receives only what is sent to it; a connected socket only what comes
 *   from its peer (RFC 8085 §5.1 asks applications to check, Linux's connect() does it for them).
 * - A datagram no socket takes is answered with ICMP port unreachable (RFC 1122 §4.1.3.1), which ICMP
 *   rate-limits.
 * - A port unreachable quoting a connected socket's datagram reaches that socket, which reports
 *   ECONNREFUSED, as Linux reports it on connected UDP sockets (ICMP errors are "hard" for port and
 *   protocol unreachable only, so other kinds stay silent, as there).
 * - Ephemeral ports are drawn at random from the IANA dynamic range 49152-65535 (RFC 6335 §6, RFC 6056
 *   §3.3.1's simple randomization), so they are not guessable.
 * - The table is bounded (MAX_UDP_SOCKETS).
 *
 * The IP layer has verified the checksum and trimmed the window to the UDP length before receive().
 */
import { randomInt } from 'node:crypto';
import type { PacketBuffer } from '../buffer/packet-buffer.js';
import { checksum, pseudoHeaderSumOf } from '../net/checksum.js';
import { addressAt } from './bytes.js';
import type { NetStackCounters } from './counters.js';
import type { Icmp } from './icmp.js';
import { IPPROTO_UDP, type IcmpError, type IpFamily, type IpInfo, type IpOutput, type Transport } from './transport.js';

export const UDP_HEADER_BYTES = 8;
/** Sockets open at once on one stack. Ours: a bound on the table, far above what a program opens. */
export const MAX_UDP_SOCKETS = 4096;
/** The IANA dynamic port range (RFC 6335 §6). */
export const EPHEMERAL_PORT_MIN = 49152;
export const EPHEMERAL_PORT_MAX = 65535;
/** Random draws before a linear scan of the range. */
const EPHEMERAL_DRAWS = 32;
/** Largest payloads: 65535 minus the IPv4 and UDP headers; IPv6's 16-bit payload length minus UDP's. */
export const UDP4_MAX_PAYLOAD_BYTES = 65535 - 20 - UDP_HEADER_BYTES;
export const UDP6_MAX_PAYLOAD_BYTES = 65535 - UDP_HEADER_BYTES;

/** What the transport sees of a socket. */
export interface UdpBinding {
  readonly family: IpFamily;
  /** Bound port (0 while unbound). */
  readonly boundPort: number;
  /** Bound address, or null for any of ours. */
  readonly boundAddress: Uint8Array | null;
  /** Connected peer, or null. */
  readonly peerAddress: Uint8Array | null;
  readonly peerPort: number;
  /** Hop limit for what it sends (0: the stack's default). */
  readonly ttl: number;
  /**
   * One datagram for the socket: buf's window is the UDP header and payload. True when the socket took
   * buf; false when its receive buffer is full (the transport drops and releases it).
   */
  deliver(buf: PacketBuffer, ip: IpInfo): boolean;
  /** The peer of a connected socket answered with port unreachable. */
  refused(): void;
  /** Sends refused for want of buffers may be retried. */
  onWritable(): void;
  /** The stack is closing: let go of everything. */
  detach(): void;
}

/** Why a send did not happen; null when it did. */
export type UdpSendError = 'ENOBUFS' | 'EMSGSIZE' | 'ENETUNREACH' | null;

export class UdpTransport implements Transport {
  readonly protocol = IPPROTO_UDP;
  private readonly table = new Map<number, UdpBinding>();
  private readonly waiting = new Set<UdpBinding>();

  constructor(
    private readonly ip: IpOutput,
    private readonly icmp: Icmp,
    private readonly counters: NetStackCounters,
  ) {}

  /** Sockets bound now. */
  get size(): number {
    return this.table.size;
  }

  /**
   * Claim `port` (0: an ephemeral one) of `family` for sock. Returns the port, or an error code:
   * EADDRINUSE (taken, or no ephemeral port left), EMFILE (table full), EADDRNOTAVAIL (address not ours).
   */
  bind(sock: UdpBinding, family: IpFamily, port: number, address: Uint8Array | null): number | 'EADDRINUSE' | 'EMFILE' | 'EADDRNOTAVAIL' {
    if (address !== null && !isAny(address) && !this.ip.isLocal(address)) return 'EADDRNOTAVAIL';
    if (this.table.size >= MAX_UDP_SOCKETS) return 'EMFILE';
    let p = port;
    if (p === 0) {
      p = this.ephemeral(family);
      if (p === 0) return 'EADDRINUSE';
    } else if (this.table.has(key(family, p))) return 'EADDRINUSE';
    this.table.set(key(family, p), sock);
    return p;
  }

  unbind(sock: UdpBinding): void {
    const k = key(sock.family, sock.boundPort);
    if (this.table.get(k) === sock) this.table.delete(k);
    this.waiting.delete(sock);
  }

  /** The socket has sends waiting for buffers: tell it on onWritable(). */
  wait(sock: UdpBinding): void {
    this.waiting.add(sock);
  }

  /**
   * Send data[at, at + len) from sock to (dst, port). The source is the socket's bound address, or the
   * stack's address toward dst.
   */
  send(sock: UdpBinding, data: Uint8Array, at: number, len: number, dst: Uint8Array, port: number): UdpSendError {
    const family = sock.family;
    if (len > (family === 4 ? UDP4_MAX_PAYLOAD_BYTES : UDP6_MAX_PAYLOAD_BYTES)) return 'EMSGSIZE';
    const bound = sock.boundAddress;
    const src = bound !== null && !isAny(bound) ? bound : this.ip.sourceFor(family, dst);
    if (src === null) return 'ENETUNREACH';
    const total = UDP_HEADER_BYTES + len;
    const buf = this.ip.alloc(family, total);
    if (buf === null) return 'ENOBUFS';
    const b = buf.bytes;
    const o = buf.start;
    const sport = sock.boundPort;
    b[o] = sport >>> 8;
    b[o + 1] = sport & 0xff;
    b[o + 2] = port >>> 8;
    b[o + 3] = port & 0xff;
    b[o + 4] = total >>> 8;
    b[o + 5] = total & 0xff;
    b[o + 6] = 0;
    b[o + 7] = 0;
    if (len > 0) b.set(at === 0 && len === data.length ? data : data.subarray(at, at + len), o + UDP_HEADER_BYTES);
    buf.end = o + total;
    // A computed zero goes out as all ones: zero means "no checksum" (RFC 768; forbidden for IPv6).
    const sum = ~checksum(b, o, o + total, pseudoHeaderSumOf(src, dst, IPPROTO_UDP, total)) & 0xffff || 0xffff;
    b[o + 6] = sum >>> 8;
    b[o + 7] = sum & 0xff;
    this.ip.send(buf, family, src, dst, IPPROTO_UDP, sock.ttl);
    return null;
  }

  receive(buf: PacketBuffer, ip: IpInfo): void {
    const b = buf.bytes;
    const s = buf.start;
    const sport = (b[s]! << 8) | b[s + 1]!;
    const dport = (b[s + 2]! << 8) | b[s + 3]!;
    const sock = this.table.get(key(ip.family, dport));
    if (sock === undefined || !accepts(sock, ip, sport)) {
      this.counters.noSocket++;
      this.icmp.portUnreachable(buf, ip);
      buf.release();
      return;
    }
    if (!sock.deliver(buf, ip)) {
      this.counters.socketBufferFull++;
      buf.release();
    }
  }

  icmpError(err: IcmpError): void {
    if (err.kind !== 'port-unreachable') return;
    const b = err.bytes;
    const sport = (b[err.at]! << 8) | b[err.at + 1]!;
    const dport = (b[err.at + 2]! << 8) | b[err.at + 3]!;
    const sock = this.table.get(key(err.family, sport));
    if (sock === undefined || sock.peerAddress === null) return;
    if (sock.peerPort === dport && addressAt(sock.peerAddress, err.dst, 0)) sock.refused();
  }

  onWritable(): void {
    if (this.waiting.size === 0) return;
    const socks = [...this.waiting];
    this.waiting.clear();
    for (const s of socks) s.onWritable();
  }

  close(): void {
    const socks = [...this.table.values()];
    this.table.clear();
    this.waiting.clear();
    for (const s of socks) s.detach();
  }

  private ephemeral(family: IpFamily): number {
    const span = EPHEMERAL_PORT_MAX - EPHEMERAL_PORT_MIN + 1;
    for (let i = 0; i < EPHEMERAL_DRAWS; i++) {
      const p = EPHEMERAL_PORT_MIN + randomInt(span);
      if (!this.table.has(key(family, p))) return p;
    }
    const start = randomInt(span);
    for (let i = 0; i < span; i++) {
      const p = EPHEMERAL_PORT_MIN + ((start + i) % span);
      if (!this.table.has(key(family, p))) return p;
    }
    return 0;
  }
}

function key(family: IpFamily, port: number): number {
  return family === 4 ? port : 0x10000 | port;
}

function isAny(a: Uint8Array): boolean {
  for (let i = 0; i < a.length; i++) if (a[i] !== 0) return false;
  return true;
}

/** Whether a datagram from (ip.src, sport) to ip.dst is the socket's to take. */
function accepts(sock: UdpBinding, ip: IpInfo, sport: number): boolean {
  const local = sock.boundAddress;
  if (local !== null && !isAny(local) && !addressAt(local, ip.dst, 0)) return false;
  const remote = sock.peerAddress;
  return remote === null || (sock.peerPort === sport && addressAt(remote, ip.src, 0));
}
