/**
 * Outbound fragmentation of a datagram larger than its path MTU (RFC 791 §3.2 for IPv4, RFC 8200 §4.5
 * for IPv6, where only the source may fragment). Only datagrams that may be fragmented come here: UDP
 * and ICMP. TCP sizes its segments to the path (its MSS) and sets DF.
 *
 * Each fragment is built in a buffer of its own from the pool, with room in front for the WireGuard
 * header and behind for its padding and tag, and the data is copied in; the original buffer goes back
 * when all fragments are built. If the pool refuses a buffer midway the datagram is dropped whole:
 * half a datagram is no use to the receiver.
 */
import { HEADROOM_BYTES, type PacketBuffer, type Source } from '../buffer/packet-buffer.js';
import { TAILROOM_BYTES } from '../buffer/constants.js';
import { copyBytes } from './bytes.js';
import type { NetStackCounters } from './counters.js';
import { IPV4_HEADER_BYTES, IPV4_MF, writeIpv4Header } from './ipv4.js';
import { IPV6_FRAGMENT_HEADER_BYTES, IPV6_HEADER_BYTES, NH_FRAGMENT, writeIpv6FragmentHeader, writeIpv6Header } from './ipv6.js';
import type { IpFamily } from './transport.js';

/** Fragments of one datagram: a 64 KiB datagram over the smallest IPv4 path we believe (552) is 120. */
export const MAX_OUT_FRAGMENTS = 128;

/** Where the fragments go: the stack's outbound queue. */
export interface FragmentSink {
  readonly counters: NetStackCounters;
  enqueue(buf: PacketBuffer): void;
}

export class Fragmenter {
  private readonly built: PacketBuffer[] = new Array<PacketBuffer>(MAX_OUT_FRAGMENTS);

  constructor(private readonly sink: FragmentSink) {}

  /**
   * Split the upper-layer bytes in buf's window into fragments of at most `mtu` bytes each and queue
   * them. Takes buf (released here); false when the datagram was dropped.
   */
  fragment(
    source: Source,
    buf: PacketBuffer,
    family: IpFamily,
    src: Uint8Array,
    dst: Uint8Array,
    protocol: number,
    ttl: number,
    id: number,
    mtu: number,
  ): boolean {
    const header = family === 4 ? IPV4_HEADER_BYTES : IPV6_HEADER_BYTES + IPV6_FRAGMENT_HEADER_BYTES;
    // Every fragment but the last carries a multiple of 8 bytes (the offset unit).
    const step = ((mtu - header) >>> 3) << 3;
    const total = buf.end - buf.start;
    const count = step > 0 ? Math.ceil(total / step) : Infinity;
    if (count > MAX_OUT_FRAGMENTS) {
      this.sink.counters.cannotSend++;
      buf.release();
      return false;
    }
    let n = 0;
    for (let off = 0; off < total; off += step) {
      const piece = total - off < step ? total - off : step;
      const out = source.get(HEADROOM_BYTES + header + piece + TAILROOM_BYTES);
      if (out === null) {
        for (let i = 0; i < n; i++) this.built[i]!.release();
        this.sink.counters.noBuffer++;
        buf.release();
        return false;
      }
      const at = out.start;
      const more = off + piece < total;
      if (family === 4) {
        writeIpv4Header(out.bytes, at, header + piece, id & 0xffff, (more ? IPV4_MF : 0) | (off >>> 3), ttl, protocol, 0, src, dst);
      } else {
        writeIpv6Header(out.bytes, at, IPV6_FRAGMENT_HEADER_BYTES + piece, NH_FRAGMENT, ttl, 0, src, dst);
        writeIpv6FragmentHeader(out.bytes, at + IPV6_HEADER_BYTES, protocol, off, more, id);
      }
      copyBytes(buf.bytes, buf.start + off, buf.start + off + piece, out.bytes, at + header);
      out.end = at + header + piece;
      this.built[n++] = out;
    }
    buf.release();
    for (let i = 0; i < n; i++) {
      this.sink.enqueue(this.built[i]!);
      this.sink.counters.fragmentsSent++;
    }
    return true;
  }
}
