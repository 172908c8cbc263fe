/**
 * The Bind contract: how the device sends and receives WireGuard datagrams.
 *
 * Like the TUN, a Bind pushes received batches to the handler installed once at open(), taking the
 * buffers from the Source it is given (allocation at the edge). Ownership: received buffers belong to
 * the handler; buffers passed to send() belong to the bind, which releases them when the kernel has
 * them (or on failure). Arrays are reused by their caller after a call returns.
 */
import type { PacketBuffer, Source } from '../buffer/packet-buffer.js';

/** A remote UDP address. Immutable; binds may intern them so equal endpoints are the same object. */
export interface Endpoint {
  readonly family: 4 | 6;
  /** Numeric address text ("192.0.2.1", "2001:db8::1", "fe80::1%eth0" with its zone). */
  readonly address: string;
  /**
   * The IPv6 zone a link-local address is scoped to (RFC 4007 §11: an interface name, or an index),
   * as set or as the packet that taught it arrived; '' for none.
   */
  readonly zone: string;
  readonly port: number;
  /** "192.0.2.1:51820", "[2001:db8::1]:51820" or "[fe80::1%eth0]:51820", as `wg` prints endpoints. */
  toString(): string;
  /** Address bytes (4 or 16), for the cookie's source binding (paper 5.4.7) and rate limiting. */
  readonly addressBytes: Uint8Array;
  /**
   * Forget the local source address replies to this endpoint leave from (where a bind keeps one),
   * so the kernel chooses afresh at the next send: after a rebind, and for an endpoint set by hand,
   * as wireguard-go clears its cached sources.
   */
  clearSrc(): void;
}

export interface BindHandler {
  /**
   * Datagrams bufs[0..count) arrived from endpoints[0..count); the buffers are the handler's. With
   * `segments` (a bind reading with UDP GRO), segments[i] > 0 says bufs[i] holds datagrams of that
   * many bytes back to back, coalesced by the kernel, the last one possibly shorter; 0 (or no array)
   * is one datagram.
   */
  onDatagrams(bufs: PacketBuffer[], endpoints: Endpoint[], count: number, segments?: Int32Array): void;
}

export interface Bind {
  /** Open on `port` (0: any free port) and start delivering to `handler`; resolves to the bound port. */
  open(port: number, handler: BindHandler, source: Source): Promise<number>;
  /** Stop receiving and close sockets. Buffers in flight are released. */
  close(): Promise<void>;
  /** Send bufs[0..count) to one endpoint; the bind owns and releases the buffers. Never throws. */
  send(bufs: PacketBuffer[], count: number, endpoint: Endpoint): void;
  /** Parse "host:port" / "[v6]:port" (numeric addresses only); throws TypeError naming the input. */
  parseEndpoint(text: string): Endpoint;
  /** Set SO_MARK on the sockets where supported; false where the bind cannot. */
  setMark(mark: number): boolean;
  /** Backpressure: stop reading until resume(). */
  pause(): void;
  resume(): void;
  /**
   * The largest datagram the device expects (its MTU plus the transport overhead), so a bind that
   * sizes its read slots can make them big enough up front. Optional: binds that receive into their
   * own memory first (node:dgram) need no hint.
   */
  expectDatagrams?(bytes: number): void;
  /** Largest batch handed to onDatagrams or accepted by send. */
  readonly batchSize: number;
}
