/**
 * The read side of TUN offloads: what a TUN opened with IFF_VNET_HDR and TUNSETOFFLOAD(TUN_F_CSUM |
 * TUN_F_TSO4 | TUN_F_TSO6 [| TUN_F_USO4 | TUN_F_USO6]) hands over, turned back into plain IP packets.
 *
 * A read is a virtio_net_hdr (offload-header.ts) and then either
 * - a plain packet (GSO_NONE), perhaps NEEDS_CSUM: the kernel left the transport checksum to us
 *   (CHECKSUM_PARTIAL) with the pseudo-header sum already in the field; completed here;
 * - a super-packet (GSO_TCPV4 / GSO_TCPV6, or GSO_UDP_L4 with USO): one IP and transport header and
 *   up to 64 KiB of payload, to be cut into gso_size pieces, each a packet of its own, as the NIC
 *   would have done (TSO). Each segment gets the headers with, per RFC 9293 §3.1 / §3.4 and what the
 *   kernel's tcp_gso_segment does: IPv4 total length, identification + k and header checksum
 *   (RFC 791); IPv6 payload length (RFC 8200 §3); TCP sequence number + k * gso_size; FIN and PSH only
 *   on the last segment, CWR only on the first (RFC 3168 §6.1.2: CWR once per window reduction);
 *   the transport checksum over pseudo-header and segment. UDP segments get their length and
 *   checksum (RFC 768; a computed 0 is sent as 0xffff).
 *
 * TsoSplitter works on bytes only: begin() parses and checks one frame, segmentLength(k) says how big
 * segment k is (so the caller can take a buffer of the right tier from its Source: allocation at the
 * edge), writeSegments(first, count, ...) writes a run of segments into the caller's buffers and
 * writeSegment(k, ...) one. Headers are copied and rewritten here; the payloads are copied and
 * checksummed in one pass by the shim's scatterSum (native/bytes.ts), one call per run of segments.
 * No allocation per packet.
 *
 * Measured (Node 20.20, +-20%): a 64 KiB super-packet of 47 x 1368 bytes with timestamps split into
 * pool buffers in ~42 us, ~880 ns a segment, in JS (checksum() at ~2.4 GB/s and one view object per
 * payload copy); it was ~12-15% of the sending daemon's CPU profile. With scatterSum: see
 * writeSegments.
 */
import { checksumReference, pseudoHeaderSum, setIpv4HeaderChecksum } from '../net/checksum.js';
import type { PacketBuffer } from '../buffer/packet-buffer.js';
import { MAX_BATCH } from '../native/binding.js';
import { scatterSum } from '../native/bytes.js';
import { SlabBatch } from '../native/slab-batch.js';
import {
  IPPROTO_TCP,
  IPPROTO_UDP,
  IPV4_ID_OFFSET,
  IPV4_MIN_HEADER_LEN,
  IPV4_SRC_OFFSET,
  IPV4_TOTAL_LENGTH_OFFSET,
  IPV4_VERSION_IHL_OFFSET,
  IPV6_HEADER_LEN,
  IPV6_PAYLOAD_LENGTH_OFFSET,
  IPV6_SRC_OFFSET,
  TCP_CHECKSUM_OFFSET,
  TCP_CWR,
  TCP_DATA_OFFSET,
  TCP_FIN,
  TCP_FLAGS_OFFSET,
  TCP_MIN_HEADER_LEN,
  TCP_PSH,
  TCP_SEQ_OFFSET,
  UDP_CHECKSUM_OFFSET,
  UDP_HEADER_LEN,
  UDP_LENGTH_OFFSET,
} from '../net/ip-header.js';
import {
  VIRTIO_NET_HDR_F_NEEDS_CSUM,
  VIRTIO_NET_HDR_GSO_ECN,
  VIRTIO_NET_HDR_GSO_NONE,
  VIRTIO_NET_HDR_GSO_TCPV4,
  VIRTIO_NET_HDR_GSO_TCPV6,
  VIRTIO_NET_HDR_GSO_UDP_L4,
  VIRTIO_NET_HDR_LEN,
  VirtioNetHdr,
  readVirtioNetHdr,
} from './offload-header.js';


function copyHeader(out: Uint8Array, at: number, b: Uint8Array, from: number, to: number): void {
  for (let i = from; i < to; i++) out[at + i - from] = b[i]!;
}

/** A checksum field's value from a folded sum: its complement, 0 sent as 0xffff (UDP needs it; RFC 768). */
function checksumField(sum: number): number {
  const c = ~sum & 0xffff;
  return c === 0 ? 0xffff : c;
}

export class TsoSplitter {
  /** The last frame's header, as read. */
  readonly hdr = new VirtioNetHdr();
  private bytes: Uint8Array = new Uint8Array(0);
  /** The IP packet after the virtio header: bytes[start, end). */
  private start = 0;
  private end = 0;
  private segments = 0;
  /** 0: a plain packet; IPPROTO_TCP or IPPROTO_UDP: a super-packet of that transport. */
  private protocol = 0;
  private isV6 = false;
  /** IP header length including IPv6 extension headers (csum_start), and IP + transport headers. */
  private ipHeaderLen = 0;
  private headerLen = 0;
  private gsoSize = 0;
  private firstSeq = 0;
  private firstId = 0;
  /** Sum of the two addresses, shared by every segment's pseudo-header. */
  private addrSum = 0;
  /** The payload windows of one writeSegments call and their sums (scatterSum). */
  private readonly windows = new SlabBatch(MAX_BATCH);
  private readonly sums = new Int32Array(MAX_BATCH);

  /**
   * Parses the frame bytes[start, end) (virtio header, then the packet). Returns how many packets it
   * makes (1 for a plain packet), or 0 when it is malformed and must be dropped: a GSO type we did
   * not negotiate or that does not match the IP version, headers that do not fit, a checksum
   * position outside the packet. The kernel's hdr_len is not trusted (it can cover a whole first
   * packet on the forwarding path, as wireguard-go notes); the header length is taken from the
   * transport header itself.
   */
  begin(bytes: Uint8Array, start: number, end: number): number {
    this.segments = 0;
    if (end - start < VIRTIO_NET_HDR_LEN + 1) return 0;
    const h = this.hdr;
    readVirtioNetHdr(bytes, start, h);
    const s = start + VIRTIO_NET_HDR_LEN;
    const len = end - s;
    this.bytes = bytes;
    this.start = s;
    this.end = end;
    const gsoType = h.gsoType & ~VIRTIO_NET_HDR_GSO_ECN;
    if (gsoType === VIRTIO_NET_HDR_GSO_NONE) {
      if ((h.flags & VIRTIO_NET_HDR_F_NEEDS_CSUM) !== 0 && h.csumStart + h.csumOffset + 2 > len) return 0;
      this.protocol = 0;
      this.segments = 1;
      return 1;
    }
    const version = bytes[s]! >> 4;
    let protocol: number;
    if (gsoType === VIRTIO_NET_HDR_GSO_TCPV4 && version === 4) protocol = IPPROTO_TCP;
    else if (gsoType === VIRTIO_NET_HDR_GSO_TCPV6 && version === 6) protocol = IPPROTO_TCP;
    else if (gsoType === VIRTIO_NET_HDR_GSO_UDP_L4 && (version === 4 || version === 6)) protocol = IPPROTO_UDP;
    else return 0;
    const ipLen = h.csumStart;
    if (version === 4) {
      // csum_start is the transport header; for IPv4 it must be where IHL says.
      if (len < IPV4_MIN_HEADER_LEN || ipLen !== (bytes[s + IPV4_VERSION_IHL_OFFSET]! & 0x0f) * 4 || ipLen < IPV4_MIN_HEADER_LEN) return 0;
    } else if (ipLen < IPV6_HEADER_LEN) {
      return 0;
    }
    let headerLen: number;
    if (protocol === IPPROTO_TCP) {
      if (ipLen + TCP_MIN_HEADER_LEN > len) return 0;
      const tcpLen = (bytes[s + ipLen + TCP_DATA_OFFSET]! >> 4) * 4;
      if (tcpLen < TCP_MIN_HEADER_LEN) return 0;
      headerLen = ipLen + tcpLen;
    } else {
      headerLen = ipLen + UDP_HEADER_LEN;
    }
    if (headerLen > len || h.gsoSize === 0) return 0;
    this.protocol = protocol;
    this.isV6 = version === 6;
    this.ipHeaderLen = ipLen;
    this.headerLen = headerLen;
    this.gsoSize = h.gsoSize;
    const t = s + ipLen;
    this.firstSeq =
      protocol === IPPROTO_TCP
        ? ((bytes[t + TCP_SEQ_OFFSET]! << 24) | (bytes[t + TCP_SEQ_OFFSET + 1]! << 16) | (bytes[t + TCP_SEQ_OFFSET + 2]! << 8) | bytes[t + TCP_SEQ_OFFSET + 3]!) >>> 0
        : 0;
    this.firstId = version === 4 ? (bytes[s + IPV4_ID_OFFSET]! << 8) | bytes[s + IPV4_ID_OFFSET + 1]! : 0;
    this.addrSum = this.isV6
      ? pseudoHeaderSum(bytes, s + IPV6_SRC_OFFSET, 16, 0, 0)
      : pseudoHeaderSum(bytes, s + IPV4_SRC_OFFSET, 4, 0, 0);
    const payload = len - headerLen;
    this.segments = payload === 0 ? 1 : Math.ceil(payload / h.gsoSize);
    return this.segments;
  }

  /** Bytes of IP packet k (0 <= k < begin()'s count). */
  segmentLength(k: number): number {
    if (this.protocol === 0) return this.end - this.start;
    const from = this.start + this.headerLen + k * this.gsoSize;
    return this.headerLen + Math.min(this.gsoSize, this.end - from);
  }

  /**
   * Writes IP packets first..first+count-1 (count <= MAX_BATCH) into out[outAt...], each at its
   * buffer's start, and sets each buffer's end. Each buffer needs segmentLength(k) bytes from its
   * start and must not overlap the frame. A plain packet (count 1) is copied whole.
   *
   * Measured (Node 20.20, 2-core VM, +-20%; 47 x 1368-byte segments with timestamps, pool buffers
   * taken and released around it): ~250 ns a segment in one run, against ~510 ns for the JS copy
   * and checksum, and ~550 ns through writeSegment (one N-API call per segment).
   */
  writeSegments(first: number, count: number, out: PacketBuffer[], outAt: number): void {
    const windows = this.windows;
    const sums = this.sums;
    if (this.protocol === 0) {
      const buf = out[outAt]!;
      buf.end = buf.start + this.writePlain(buf.bytes, buf.start);
      return;
    }
    for (let j = 0; j < count; j++) {
      const buf = out[outAt + j]!;
      const len = this.writeHeaders(first + j, buf.bytes, buf.start);
      windows.set(j, buf.bytes, buf.start + this.headerLen, len - this.headerLen);
      buf.end = buf.start + len;
    }
    scatterSum(this.bytes, this.start + this.headerLen + first * this.gsoSize, windows, sums, count);
    windows.clear();
    for (let j = 0; j < count; j++) {
      const buf = out[outAt + j]!;
      this.writeChecksum(buf.bytes, buf.start, buf.end - buf.start, sums[j]!);
    }
  }

  /**
   * Writes IP packet k to out[at, at + segmentLength(k)) and returns its length. `out` must not
   * overlap the frame. Segments may be written in any order, each once.
   */
  writeSegment(k: number, out: Uint8Array, at: number): number {
    if (this.protocol === 0) return this.writePlain(out, at);
    const len = this.writeHeaders(k, out, at);
    const windows = this.windows;
    windows.set(0, out, at + this.headerLen, len - this.headerLen);
    scatterSum(this.bytes, this.start + this.headerLen + k * this.gsoSize, windows, this.sums, 1);
    windows.clear();
    this.writeChecksum(out, at, len, this.sums[0]!);
    return len;
  }

  /**
   * A plain packet copied whole, its checksum completed when NEEDS_CSUM: the field at csumStart +
   * csumOffset holds the pseudo-header sum, so the sum from csumStart to the end, field included, is
   * the whole sum. A result of 0 goes out as 0xffff, as the kernel's skb_checksum_help does. begin()
   * checked csumStart + csumOffset + 2 <= the packet's length.
   */
  private writePlain(out: Uint8Array, at: number): number {
    const len = this.end - this.start;
    const h = this.hdr;
    const windows = this.windows;
    const partial = (h.flags & VIRTIO_NET_HDR_F_NEEDS_CSUM) !== 0;
    // Two windows when NEEDS_CSUM: what comes before csum_start, and what the checksum covers.
    const split = partial ? h.csumStart : len;
    windows.set(0, out, at, split);
    windows.set(1, out, at + split, len - split);
    scatterSum(this.bytes, this.start, windows, this.sums, 2);
    windows.clear();
    if (partial) {
      const v = checksumField(this.sums[1]!);
      const f = at + h.csumStart + h.csumOffset;
      out[f] = v >>> 8;
      out[f + 1] = v & 0xff;
    }
    return len;
  }

  /**
   * Segment k's headers into out[at...]: the frame's, with the IP length (and IPv4 id and header
   * checksum), the TCP sequence number and flags or the UDP length rewritten, and the transport
   * checksum field zeroed. Returns the segment's length.
   */
  private writeHeaders(k: number, out: Uint8Array, at: number): number {
    const b = this.bytes;
    const s = this.start;
    const ipLen = this.ipHeaderLen;
    const headerLen = this.headerLen;
    const from = s + headerLen + k * this.gsoSize;
    const to = Math.min(from + this.gsoSize, this.end);
    const len = headerLen + (to - from);
    copyHeader(out, at, b, s, s + headerLen);
    if (this.isV6) {
      const payloadLen = len - IPV6_HEADER_LEN;
      out[at + IPV6_PAYLOAD_LENGTH_OFFSET] = payloadLen >>> 8;
      out[at + IPV6_PAYLOAD_LENGTH_OFFSET + 1] = payloadLen & 0xff;
    } else {
      const id = (this.firstId + k) & 0xffff;
      out[at + IPV4_TOTAL_LENGTH_OFFSET] = len >>> 8;
      out[at + IPV4_TOTAL_LENGTH_OFFSET + 1] = len & 0xff;
      out[at + IPV4_ID_OFFSET] = id >>> 8;
      out[at + IPV4_ID_OFFSET + 1] = id & 0xff;
      setIpv4HeaderChecksum(out, at, ipLen);
    }
    const t = at + ipLen;
    let csumAt: number;
    if (this.protocol === IPPROTO_TCP) {
      const seq = (this.firstSeq + k * this.gsoSize) >>> 0;
      out[t + TCP_SEQ_OFFSET] = seq >>> 24;
      out[t + TCP_SEQ_OFFSET + 1] = (seq >>> 16) & 0xff;
      out[t + TCP_SEQ_OFFSET + 2] = (seq >>> 8) & 0xff;
      out[t + TCP_SEQ_OFFSET + 3] = seq & 0xff;
      let flags = out[t + TCP_FLAGS_OFFSET]!;
      if (to < this.end) flags &= ~(TCP_FIN | TCP_PSH);
      if (k > 0) flags &= ~TCP_CWR;
      out[t + TCP_FLAGS_OFFSET] = flags;
      csumAt = t + TCP_CHECKSUM_OFFSET;
    } else {
      const udpLen = len - ipLen;
      out[t + UDP_LENGTH_OFFSET] = udpLen >>> 8;
      out[t + UDP_LENGTH_OFFSET + 1] = udpLen & 0xff;
      csumAt = t + UDP_CHECKSUM_OFFSET;
    }
    out[csumAt] = 0;
    out[csumAt + 1] = 0;
    return len;
  }

  /**
   * The transport checksum of the segment at out[at, at + len): pseudo-header, transport header and
   * `payloadSum` (the payload's folded sum; the payload starts a multiple of 4 bytes after the
   * transport header, so its sum adds as is).
   */
  private writeChecksum(out: Uint8Array, at: number, len: number, payloadSum: number): void {
    const t = at + this.ipHeaderLen;
    const pseudo = this.addrSum + this.protocol + (len - this.ipHeaderLen);
    const sum = checksumReference(out, t, at + this.headerLen, pseudo + payloadSum);
    const v = this.protocol === IPPROTO_UDP ? checksumField(sum) : ~sum & 0xffff;
    const f = t + (this.protocol === IPPROTO_TCP ? TCP_CHECKSUM_OFFSET : UDP_CHECKSUM_OFFSET);
    out[f] = v >>> 8;
    out[f + 1] = v & 0xff;
  }
}
