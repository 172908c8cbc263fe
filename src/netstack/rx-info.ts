/**
 * What the IP layer learns from one inbound packet's headers, in one scratch object per stack that is
 * filled for every packet and never reallocated. Transports see it through the IpInfo face
 * (transport.ts); the IP layer, reassembly and ICMP read the rest.
 *
 * The addresses are copied out of the packet into four fixed arrays (32 bytes of copying against a
 * view object per packet), and `src`/`dst` point at the pair of the packet's family.
 */
import type { IpFamily, IpInfo } from './transport.js';

export class RxInfo implements IpInfo {
  family: IpFamily;
  src: Uint8Array;
  dst: Uint8Array;
  ttl: number;
  tos: number;
  /** Upper-layer protocol (the last Next Header for IPv6). */
  protocol: number;
  /** Offset of the IP header in the packet's buffer; -1 for a reassembled datagram (no header kept). */
  headerAt: number;
  /** The upper-layer bytes: [payloadAt, payloadEnd) in the buffer. */
  payloadAt: number;
  payloadEnd: number;
  /** IPv6: offset of the byte that named `protocol` (the pointer of a Parameter Problem, RFC 4443 §3.4). */
  nextHeaderAt: number;
  /** A fragment of a larger datagram (IPv4 MF or offset; an IPv6 Fragment header that is not atomic). */
  fragment: boolean;
  /** Fragment offset in bytes, More Fragments flag, Identification. */
  fragOffset: number;
  moreFragments: boolean;
  fragId: number;
  readonly src4 = new Uint8Array(4);
  readonly dst4 = new Uint8Array(4);
  readonly src6 = new Uint8Array(16);
  readonly dst6 = new Uint8Array(16);

  constructor() {
    this.family = 4;
    this.src = this.src4;
    this.dst = this.dst4;
    this.ttl = 0;
    this.tos = 0;
    this.protocol = 0;
    this.headerAt = 0;
    this.payloadAt = 0;
    this.payloadEnd = 0;
    this.nextHeaderAt = 0;
    this.fragment = false;
    this.fragOffset = 0;
    this.moreFragments = false;
    this.fragId = 0;
  }

  /** Point src/dst at the arrays of `family` and clear the per-packet fields. */
  begin(family: IpFamily): void {
    this.family = family;
    if (family === 4) {
      this.src = this.src4;
      this.dst = this.dst4;
    } else {
      this.src = this.src6;
      this.dst = this.dst6;
    }
    this.fragment = false;
    this.fragOffset = 0;
    this.moreFragments = false;
    this.fragId = 0;
    this.nextHeaderAt = -1;
  }
}
