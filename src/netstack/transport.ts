/**
 * The contract between the netstack's IP layer and its transport protocols (TCP, UDP, ICMP echo).
 *
 * The IP layer (stack.ts and the ip*.ts files) owns everything below the transport header: it checks
 * and strips IPv4/IPv6 headers, reassembles inbound IPv4 fragments, verifies the TCP/UDP checksum
 * before handing a segment up, turns ICMP errors into calls on the transport that owns the quoted
 * flow, and on the way out prepends the IP header and gathers packets into the batches the device
 * reads (the Tun contract, tun/tun.ts).
 *
 * A transport owns its header and payload: it parses what it receives and builds what it sends,
 * computing its own checksum over the pseudo-header (net/checksum.ts pseudoHeaderSum) in the buffer
 * the IP layer gave it, so every segment is written once, in place, with room in front for the IP
 * header and the WireGuard header (DESIGN.md "The netstack").
 *
 * Addresses are passed as byte arrays of 4 (IPv4) or 16 (IPv6) bytes. On input they are views into
 * the received packet, valid only during the call; a transport that keeps one copies it (once per
 * connection, not per segment). On output the IP layer copies them into the header.
 *
 * Ownership: a buffer passed to `Transport.receive` belongs to the transport, which releases it (at
 * once, or later if it keeps the payload in place). A buffer passed to `IpOutput.send` belongs to the
 * IP layer from then on. `IpOutput.alloc` may return null (the pool's budget is exhausted): the
 * transport then sends later (its retransmission or persist timer, or `IpOutput.onWritable`).
 *
 * Not for concurrent use: one event loop owns a stack.
 */
import type { PacketBuffer } from '../buffer/packet-buffer.js';

/** The protocol numbers transports register under (net/ip-header.ts holds them for every layer). */
export { IPPROTO_ICMP, IPPROTO_TCP, IPPROTO_UDP, IPPROTO_ICMPV6 } from '../net/ip-header.js';

export type IpFamily = 4 | 6;

/** Per-segment facts from the IP header, in one scratch object the IP layer reuses for every packet. */
export interface IpInfo {
  family: IpFamily;
  /** Source and destination addresses: views valid only during the call. */
  src: Uint8Array;
  dst: Uint8Array;
  /** Hop limit / TTL as received. */
  ttl: number;
  /** Traffic class / TOS byte as received (ECN bits in its low two bits). */
  tos: number;
}

/** ICMP errors the IP layer delivers to the transport that owns the quoted flow. */
export type IcmpErrorKind =
  /** Destination, host or network unreachable, or administratively prohibited. */
  | 'unreachable'
  /** ICMP port unreachable (RFC 1122 §3.2.2.1) / ICMPv6 port unreachable (RFC 4443 §3.1). */
  | 'port-unreachable'
  /** Fragmentation needed (RFC 1191) / Packet Too Big (RFC 8201): `mtu` carries the next-hop MTU. */
  | 'packet-too-big'
  /** Time exceeded in transit. */
  | 'ttl-exceeded';

export interface IcmpError {
  kind: IcmpErrorKind;
  /** Next-hop MTU for 'packet-too-big', 0 otherwise. */
  mtu: number;
  family: IpFamily;
  /** The quoted packet's source and destination (our local and the remote address): views. */
  src: Uint8Array;
  dst: Uint8Array;
  /** The quoted transport header's first bytes: bytes[at, end) (at least 8 bytes: the ports). */
  bytes: Uint8Array;
  at: number;
  end: number;
}

/** What the IP layer offers a transport. */
export interface IpOutput {
  /**
   * The largest transport segment (transport header + payload) that leaves as one unfragmented packet
   * toward `dst` in this family: the path MTU (the tunnel MTU, lowered by Packet Too Big) minus the IP
   * header. TCP derives its MSS from it.
   */
  maxTransportBytes(family: IpFamily, dst: Uint8Array): number;
  /**
   * A buffer for one outgoing transport segment of up to `transportBytes`: its window is empty and
   * starts where the transport header goes, with room in front for the IP header and the WireGuard
   * header, and room behind for the WireGuard padding and tag. null when the pool refuses.
   */
  alloc(family: IpFamily, transportBytes: number): PacketBuffer | null;
  /**
   * Prepend the IP header (src, dst, protocol, the stack's default hop limit or `ttl` when > 0) to the
   * segment in buf's window and queue it for the device. The transport has written its header and
   * checksum already. Ownership passes to the IP layer; returns false if the packet was dropped
   * (stack closed, no route), in which case the IP layer has released it.
   */
  send(buf: PacketBuffer, family: IpFamily, src: Uint8Array, dst: Uint8Array, protocol: number, ttl: number): boolean;
  /** True when `address` (4 or 16 bytes) is one of the stack's own addresses. */
  isLocal(address: Uint8Array): boolean;
  /**
   * The local address the stack uses toward `dst` when a socket did not bind one (the interface's
   * address of that family), or null when the stack has no address of that family.
   */
  sourceFor(family: IpFamily, dst: Uint8Array): Uint8Array | null;
}

/** What a transport offers the IP layer. One instance per protocol per stack. */
export interface Transport {
  /** IPPROTO_TCP, IPPROTO_UDP, IPPROTO_ICMP or IPPROTO_ICMPV6. */
  readonly protocol: number;
  /**
   * One inbound segment: buf's window is the transport header and payload, its checksum already
   * verified; `ip` describes the packet it came in. The transport owns buf from here.
   */
  receive(buf: PacketBuffer, ip: IpInfo): void;
  /** An ICMP error quoting one of this transport's segments. */
  icmpError(err: IcmpError): void;
  /** The device can take packets again after the pool refused (budget) or the device paused reading. */
  onWritable(): void;
  /** The stack is closing: abort every socket (their users see an error), release every buffer held. */
  close(): void;
}
