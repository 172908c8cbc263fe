/**
 * Packet constructors and checkers for the offload tests (not part of the library's API): TCP and
 * UDP packets over IPv4 and IPv6 with correct checksums, super-packets framed as the kernel hands
 * them to a TUN reader (virtio header, NEEDS_CSUM, pseudo-header sum in the checksum field), and
 * checks that a packet's IP and transport checksums verify (RFC 1071 §2: the sum over the covered
 * bytes, checksum included, is 0xffff).
 */
import { checksumReference, pseudoHeaderSum } from '../net/checksum.js';
import {
  VIRTIO_NET_HDR_F_NEEDS_CSUM,
  VIRTIO_NET_HDR_GSO_NONE,
  VIRTIO_NET_HDR_GSO_TCPV4,
  VIRTIO_NET_HDR_GSO_TCPV6,
  VIRTIO_NET_HDR_GSO_UDP_L4,
  VIRTIO_NET_HDR_LEN,
  writeVirtioNetHdr,
} from './offload-header.js';
import { IPPROTO_TCP, IPPROTO_UDP, TCP_ACK } from '../net/ip-header.js';

export interface PacketSpec {
  v6?: boolean;
  /** Last byte of the source / destination address (10.0.0.x or fd00::x). */
  src?: number;
  dst?: number;
  /** Whole addresses (4 or 16 bytes), instead of src / dst. */
  srcAddr?: number[];
  dstAddr?: number[];
  sport?: number;
  dport?: number;
  seq?: number;
  ack?: number;
  flags?: number;
  /** TCP options (a multiple of 4 bytes). */
  options?: number[];
  /** Payload bytes, or a length filled with a pattern from `fill`. */
  payload?: Uint8Array | number;
  fill?: number;
  ttl?: number;
  tos?: number;
  id?: number;
  /** IPv4 flags/fragment-offset word (default DF: 0x4000). */
  frag?: number;
  /** IPv4 options bytes (a multiple of 4). */
  ipOptions?: number[];
  udp?: boolean;
}

export function pattern(len: number, fill = 0): Uint8Array {
  const p = new Uint8Array(len);
  for (let i = 0; i < len; i++) p[i] = (i * 31 + fill * 7 + 3) & 0xff;
  return p;
}

function put16(b: Uint8Array, at: number, v: number): void {
  b[at] = (v >>> 8) & 0xff;
  b[at + 1] = v & 0xff;
}

function put32(b: Uint8Array, at: number, v: number): void {
  put16(b, at, v >>> 16);
  put16(b, at + 2, v & 0xffff);
}

export function get16(b: Uint8Array, at: number): number {
  return (b[at]! << 8) | b[at + 1]!;
}

export function get32(b: Uint8Array, at: number): number {
  return ((b[at]! << 24) | (b[at + 1]! << 16) | (b[at + 2]! << 8) | b[at + 3]!) >>> 0;
}

/** IP header length of a packet built here (IPv4 IHL, or 40). */
export function ipHeaderLen(p: Uint8Array): number {
  return p[0]! >> 4 === 4 ? (p[0]! & 0x0f) * 4 : 40;
}

/**
 * A TCP (or, with `udp`, UDP) packet with correct IP and transport checksums. With `partial`, the
 * transport checksum field holds the pseudo-header sum instead (CHECKSUM_PARTIAL, as NEEDS_CSUM).
 */
export function buildPacket(spec: PacketSpec, partial = false): Uint8Array {
  const v6 = spec.v6 === true;
  const udp = spec.udp === true;
  const payload = typeof spec.payload === 'number' ? pattern(spec.payload, spec.fill ?? 0) : spec.payload ?? new Uint8Array(0);
  const ipOptions = spec.ipOptions ?? [];
  const options = spec.options ?? [];
  const ipLen = v6 ? 40 : 20 + ipOptions.length;
  const l4Len = udp ? 8 : 20 + options.length;
  const len = ipLen + l4Len + payload.length;
  const p = new Uint8Array(len);
  const src = spec.src ?? 1;
  const dst = spec.dst ?? 2;
  if (v6) {
    p[0] = 0x60 | ((spec.tos ?? 0) >> 4);
    p[1] = ((spec.tos ?? 0) & 0x0f) << 4;
    put16(p, 4, len - 40);
    p[6] = udp ? IPPROTO_UDP : IPPROTO_TCP;
    p[7] = spec.ttl ?? 64;
    p.set(spec.srcAddr ?? [0xfd, ...Array<number>(14).fill(0), src], 8);
    p.set(spec.dstAddr ?? [0xfd, ...Array<number>(14).fill(0), dst], 24);
  } else {
    p[0] = 0x40 | (ipLen / 4);
    p[1] = spec.tos ?? 0;
    put16(p, 2, len);
    put16(p, 4, spec.id ?? 0x1234);
    put16(p, 6, spec.frag ?? 0x4000);
    p[8] = spec.ttl ?? 64;
    p[9] = udp ? IPPROTO_UDP : IPPROTO_TCP;
    p.set(spec.srcAddr ?? [10, 0, 0, src], 12);
    p.set(spec.dstAddr ?? [10, 0, 0, dst], 16);
    p.set(ipOptions, 20);
    const h = ~checksumReference(p, 0, ipLen, 0) & 0xffff;
    put16(p, 10, h);
  }
  const t = ipLen;
  put16(p, t, spec.sport ?? 40000);
  put16(p, t + 2, spec.dport ?? 5201);
  if (udp) {
    put16(p, t + 4, l4Len + payload.length);
  } else {
    put32(p, t + 4, spec.seq ?? 1000);
    put32(p, t + 8, spec.ack ?? 777);
    p[t + 12] = (l4Len / 4) << 4;
    p[t + 13] = spec.flags ?? TCP_ACK;
    put16(p, t + 14, 65535);
    p.set(options, t + 20);
  }
  p.set(payload, t + l4Len);
  const csumAt = t + (udp ? 6 : 16);
  const pseudo = pseudoHeaderSum(p, v6 ? 8 : 12, v6 ? 16 : 4, udp ? IPPROTO_UDP : IPPROTO_TCP, len - ipLen);
  if (partial) {
    put16(p, csumAt, pseudo);
  } else {
    let c = ~checksumReference(p, t, len, pseudo) & 0xffff;
    if (c === 0 && udp) c = 0xffff;
    put16(p, csumAt, c);
  }
  return p;
}

/** A frame as the kernel hands it to a TUN reader: virtio header, then `packet`. */
export function frame(packet: Uint8Array, flags: number, gsoType: number, gsoSize: number, csumStart: number, csumOffset: number, hdrLen = 0): Uint8Array {
  const f = new Uint8Array(VIRTIO_NET_HDR_LEN + packet.length);
  writeVirtioNetHdr(f, 0, flags, gsoType, hdrLen, gsoSize, csumStart, csumOffset);
  f.set(packet, VIRTIO_NET_HDR_LEN);
  return f;
}

/**
 * A TSO/USO super-packet frame: one header and `payload` bytes, NEEDS_CSUM, gso_size `mss`, the
 * transport checksum field holding the pseudo-header sum over the whole length, as the kernel
 * leaves it for CHECKSUM_PARTIAL. hdr_len is set as the kernel's tun does (headers only).
 */
export function superFrame(spec: PacketSpec, mss: number): Uint8Array {
  const p = buildPacket(spec, true);
  const ipLen = ipHeaderLen(p);
  const udp = spec.udp === true;
  const hdrLen = ipLen + (udp ? 8 : (p[ipLen + 12]! >> 4) * 4);
  const type = udp ? VIRTIO_NET_HDR_GSO_UDP_L4 : spec.v6 === true ? VIRTIO_NET_HDR_GSO_TCPV6 : VIRTIO_NET_HDR_GSO_TCPV4;
  return frame(p, VIRTIO_NET_HDR_F_NEEDS_CSUM, type, mss, ipLen, udp ? 6 : 16, hdrLen);
}

/** A plain frame: GSO_NONE, optionally NEEDS_CSUM with a partial checksum. */
export function plainFrame(spec: PacketSpec, needsCsum: boolean): Uint8Array {
  const p = buildPacket(spec, needsCsum);
  const ipLen = ipHeaderLen(p);
  return frame(p, needsCsum ? VIRTIO_NET_HDR_F_NEEDS_CSUM : 0, VIRTIO_NET_HDR_GSO_NONE, 0, needsCsum ? ipLen : 0, needsCsum ? (spec.udp === true ? 6 : 16) : 0);
}

/** IPv4 header checksum verifies (always true for IPv6, which has none). */
export function ipChecksumOk(p: Uint8Array): boolean {
  return p[0]! >> 4 === 6 || checksumReference(p, 0, ipHeaderLen(p), 0) === 0xffff;
}

/** The TCP or UDP checksum verifies over pseudo-header and segment. */
export function transportChecksumOk(p: Uint8Array): boolean {
  const v6 = p[0]! >> 4 === 6;
  const ipLen = ipHeaderLen(p);
  const proto = v6 ? p[6]! : p[9]!;
  const pseudo = pseudoHeaderSum(p, v6 ? 8 : 12, v6 ? 16 : 4, proto, p.length - ipLen);
  return checksumReference(p, ipLen, p.length, pseudo) === 0xffff;
}
