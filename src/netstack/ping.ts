/**
 * Echo requests from the stack: ping(address) sends one ICMP Echo (RFC 792 "Echo or Echo Reply") or
 * ICMPv6 Echo Request (RFC 4443 §4.1) from our address toward `address` and resolves with the round
 * trip in milliseconds when the Echo Reply comes back with the same identifier, sequence number and
 * data (RFC 792, RFC 4443 §4.2: the reply carries them unchanged). It rejects, in node:net's error
 * shape, with ETIMEDOUT when no reply came in time, EHOSTUNREACH when an ICMP error quotes the request
 * (unreachable, time exceeded), ENETUNREACH when we have no address of that family, ENOBUFS when
 * MAX_OUTSTANDING_PINGS are already waiting or the pool refused a buffer, and ECONNABORTED when the
 * stack closes.
 *
 * One identifier per stack, picked at random (as Linux's ping sockets use their port), and a running
 * sequence number: a reply is matched by (identifier, sequence), then by its source and data, so a
 * stray or forged reply resolves nothing. The data is a pattern derived from the sequence number:
 * nothing to keep per request but the promise.
 */
import type { Clock } from '../base/clock.js';
import type { PacketBuffer } from '../buffer/packet-buffer.js';
import { formatIp } from '../net/address.js';
import { checksum, pseudoHeaderSumOf } from '../net/checksum.js';
import { sameAddress } from './bytes.js';
import { socketError } from './errors.js';
import { IPPROTO_ICMP, IPPROTO_ICMPV6, type IcmpErrorKind, type IpFamily } from './transport.js';

/** Echo requests waiting for their reply, per stack. */
export const MAX_OUTSTANDING_PINGS = 64;
/** Default wait for a reply (ms) and data bytes (ping(8)'s 56). */
export const DEFAULT_PING_TIMEOUT_MS = 5000;
export const DEFAULT_PING_DATA_BYTES = 56;
/** Largest data a request may carry: what fits one minimum-MTU IPv6 packet unfragmented. */
export const MAX_PING_DATA_BYTES = 1280 - 40 - 8;

const ICMP4_ECHO_REQUEST = 8;
const ICMP6_ECHO_REQUEST = 128;
const ECHO_HEADER_BYTES = 8;

/** What the pinger needs from the IP layer. */
export interface PingHost {
  readonly clock: Clock;
  alloc(family: IpFamily, transportBytes: number): PacketBuffer | null;
  send(buf: PacketBuffer, family: IpFamily, src: Uint8Array, dst: Uint8Array, protocol: number, ttl: number): boolean;
  sourceFor(family: IpFamily, dst: Uint8Array): Uint8Array | null;
}

export interface PingOptions {
  /** How long to wait for the reply, ms (default 5000). */
  timeout?: number;
  /** Data bytes after the echo header (default 56, at most 1232). */
  size?: number;
}

interface Pending {
  family: IpFamily;
  dst: Uint8Array;
  size: number;
  sentAt: number;
  timer: unknown;
  resolve: (ms: number) => void;
  reject: (err: Error) => void;
}

export class Pinger {
  private readonly id: number;
  private seq = 0;
  private readonly waiting = new Map<number, Pending>();
  private closed = false;

  constructor(private readonly host: PingHost) {
    this.id = (Math.random() * 0x10000) | 0;
  }

  /** Requests waiting for a reply. */
  get outstanding(): number {
    return this.waiting.size;
  }

  /** Send one echo request to `dst` (4 or 16 bytes); resolves with the round trip in ms. */
  ping(dst: Uint8Array, options: PingOptions = {}): Promise<number> {
    const family: IpFamily = dst.length === 4 ? 4 : 6;
    const timeout = options.timeout ?? DEFAULT_PING_TIMEOUT_MS;
    const size = options.size ?? DEFAULT_PING_DATA_BYTES;
    if (!(timeout > 0) || !Number.isFinite(timeout)) throw new RangeError(`ping: timeout must be a positive number of ms, got ${timeout}`);
    if (!Number.isInteger(size) || size < 0 || size > MAX_PING_DATA_BYTES) throw new RangeError(`ping: size must be an integer in 0..${MAX_PING_DATA_BYTES}, got ${size}`);
    const text = formatIp(dst);
    if (this.closed) return Promise.reject(socketError('ECONNABORTED', 'ping', text));
    if (this.waiting.size >= MAX_OUTSTANDING_PINGS) return Promise.reject(socketError('ENOBUFS', 'ping', text));
    const src = this.host.sourceFor(family, dst);
    if (src === null) return Promise.reject(socketError('ENETUNREACH', 'ping', text));
    // The next sequence number no request is waiting on (at most 64 are: the search is short).
    let seq = this.seq;
    while (this.waiting.has(seq)) seq = (seq + 1) & 0xffff;
    this.seq = (seq + 1) & 0xffff;
    if (!this.sendRequest(family, src, dst, seq, size)) return Promise.reject(socketError('ENOBUFS', 'ping', text));
    return new Promise<number>((resolve, reject) => {
      const p: Pending = { family, dst: dst.slice(), size, sentAt: this.host.clock.now(), timer: null, resolve, reject };
      p.timer = this.host.clock.schedule(() => this.settle(seq, socketError('ETIMEDOUT', 'ping', text)), timeout);
      this.waiting.set(seq, p);
    });
  }

  /**
   * An Echo Reply for us: the message is b[at, end) (checksum verified), from `src`. Returns whether
   * it answered one of our requests.
   */
  onReply(family: IpFamily, src: Uint8Array, b: Uint8Array, at: number, end: number): boolean {
    if (end - at < ECHO_HEADER_BYTES || ((b[at + 4]! << 8) | b[at + 5]!) !== this.id) return false;
    const seq = (b[at + 6]! << 8) | b[at + 7]!;
    const p = this.waiting.get(seq);
    if (p === undefined || p.family !== family || !sameAddress(p.dst, src) || end - at !== ECHO_HEADER_BYTES + p.size) return false;
    for (let i = 0; i < p.size; i++) if (b[at + ECHO_HEADER_BYTES + i] !== dataByte(seq, i)) return false;
    this.settle(seq, this.host.clock.now() - p.sentAt);
    return true;
  }

  /**
   * An ICMP error quoting an echo request of ours: b[at, end) is the quoted ICMP message (at least its
   * 8-byte header), sent from us to `dst`.
   */
  onError(kind: IcmpErrorKind, dst: Uint8Array, b: Uint8Array, at: number, end: number): void {
    if (end - at < ECHO_HEADER_BYTES) return;
    const type = b[at]!;
    if ((type !== ICMP4_ECHO_REQUEST && type !== ICMP6_ECHO_REQUEST) || ((b[at + 4]! << 8) | b[at + 5]!) !== this.id) return;
    const seq = (b[at + 6]! << 8) | b[at + 7]!;
    const p = this.waiting.get(seq);
    if (p === undefined || !sameAddress(p.dst, dst)) return;
    const err = socketError('EHOSTUNREACH', 'ping', formatIp(p.dst));
    (err as Error & { icmp?: IcmpErrorKind }).icmp = kind;
    this.settle(seq, err);
  }

  /** Reject every waiting request (the stack closed). */
  close(): void {
    if (this.closed) return;
    this.closed = true;
    for (const [seq, p] of [...this.waiting]) this.settle(seq, socketError('ECONNABORTED', 'ping', formatIp(p.dst)));
  }

  private settle(seq: number, outcome: number | Error): void {
    const p = this.waiting.get(seq);
    if (p === undefined) return;
    this.waiting.delete(seq);
    this.host.clock.cancel(p.timer);
    if (typeof outcome === 'number') p.resolve(outcome);
    else p.reject(outcome);
  }

  private sendRequest(family: IpFamily, src: Uint8Array, dst: Uint8Array, seq: number, size: number): boolean {
    const len = ECHO_HEADER_BYTES + size;
    const buf = this.host.alloc(family, len);
    if (buf === null) return false;
    const b = buf.bytes;
    const o = buf.start;
    b[o] = family === 4 ? ICMP4_ECHO_REQUEST : ICMP6_ECHO_REQUEST;
    b[o + 1] = 0;
    b[o + 2] = 0;
    b[o + 3] = 0;
    b[o + 4] = this.id >>> 8;
    b[o + 5] = this.id & 0xff;
    b[o + 6] = seq >>> 8;
    b[o + 7] = seq & 0xff;
    for (let i = 0; i < size; i++) b[o + ECHO_HEADER_BYTES + i] = dataByte(seq, i);
    buf.end = o + len;
    // ICMPv6 sums a pseudo-header (RFC 4443 §2.3); ICMPv4 the message alone (RFC 792).
    const initial = family === 4 ? 0 : pseudoHeaderSumOf(src, dst, IPPROTO_ICMPV6, len);
    const sum = ~checksum(b, o, o + len, initial) & 0xffff;
    b[o + 2] = sum >>> 8;
    b[o + 3] = sum & 0xff;
    return this.host.send(buf, family, src, dst, family === 4 ? IPPROTO_ICMP : IPPROTO_ICMPV6, 0);
  }
}

/** The request's data: a pattern of its sequence number, checked again in the reply. */
function dataByte(seq: number, i: number): number {
  return (seq + i * 7) & 0xff;
}
