/**
 * IPv4 headers (RFC 791 §3.1): validation of what the device writes into the stack, and the header the
 * stack puts in front of what it sends.
 *
 * Inbound checks, in order, each a counted drop: version and header length (IHL >= 5, within the
 * packet), total length (no more than the packet; bytes past it are link padding and ignored), header
 * checksum (RFC 1071), destination one of ours, source neither multicast, broadcast nor ours (RFC 1122
 * §3.2.1.3 martians). Options are skipped unread: a host need act on none of them (RFC 1122 §3.2.1.8
 * lets it ignore what it does not implement).
 *
 * Outbound: a 20-byte header without options. Identification comes from one counter per stack, which
 * is unique per (source, destination, protocol) within any sane lifetime (RFC 6864 §4.1); DF is set on
 * TCP, which sizes its segments to the path MTU (RFC 1191), and on nothing else, so UDP larger than the
 * path is fragmented here rather than refused.
 */
import { checksumReference, setIpv4HeaderChecksum } from '../net/checksum.js';
import type { LocalAddresses } from './addresses.js';
import type { NetStackCounters } from './counters.js';
import { copyAddress } from './bytes.js';
import type { RxInfo } from './rx-info.js';

export const IPV4_HEADER_BYTES = 20;
/** The largest IPv4 packet: total length is 16 bits. */
export const IPV4_MAX_PACKET_BYTES = 65535;
/** Every IPv4 link carries 68 bytes unfragmented (RFC 791 §3.2); the smallest MTU we believe. */
export const IPV4_MIN_MTU = 68;
/** Flags and fragment offset (RFC 791 §3.1): Don't Fragment, More Fragments, offset in 8-byte units. */
export const IPV4_DF = 0x4000;
export const IPV4_MF = 0x2000;
export const IPV4_OFFSET_MASK = 0x1fff;

/**
 * Validate the IPv4 packet at b[s, e) and fill rx; false (with the reason counted) to drop it.
 * `fromSelf` allows our own source address: a packet the stack sent to itself.
 */
export function parseIpv4(b: Uint8Array, s: number, e: number, rx: RxInfo, local: LocalAddresses, c: NetStackCounters, fromSelf: boolean): boolean {
  if (e - s < IPV4_HEADER_BYTES) {
    c.badHeader++;
    return false;
  }
  const ihl = (b[s]! & 0x0f) << 2;
  if (ihl < IPV4_HEADER_BYTES || ihl > e - s) {
    c.badHeader++;
    return false;
  }
  const total = (b[s + 2]! << 8) | b[s + 3]!;
  if (total < ihl || total > e - s) {
    c.badLength++;
    return false;
  }
  if (checksumReference(b, s, s + ihl, 0) !== 0xffff) {
    c.badChecksum++;
    return false;
  }
  if (!local.hasAt(4, b, s + 16)) {
    c.notForUs++;
    return false;
  }
  const src0 = b[s + 12]!;
  if (src0 >= 224 || (!fromSelf && local.hasAt(4, b, s + 12))) {
    c.badSource++; // multicast (224/4), class E and 255.255.255.255, or a spoof of our own address
    return false;
  }
  rx.begin(4);
  copyAddress(b, s + 12, rx.src4);
  copyAddress(b, s + 16, rx.dst4);
  rx.tos = b[s + 1]!;
  rx.ttl = b[s + 8]!;
  rx.protocol = b[s + 9]!;
  rx.headerAt = s;
  rx.payloadAt = s + ihl;
  rx.payloadEnd = s + total;
  const frag = (b[s + 6]! << 8) | b[s + 7]!;
  if ((frag & (IPV4_MF | IPV4_OFFSET_MASK)) !== 0) {
    rx.fragment = true;
    rx.moreFragments = (frag & IPV4_MF) !== 0;
    rx.fragOffset = (frag & IPV4_OFFSET_MASK) << 3;
    rx.fragId = (b[s + 4]! << 8) | b[s + 5]!;
  }
  return true;
}

/**
 * Write a 20-byte IPv4 header at b[at, at + 20), checksum included. `fragField` holds the flags and the
 * offset in 8-byte units, as on the wire.
 */
export function writeIpv4Header(
  b: Uint8Array,
  at: number,
  totalLength: number,
  id: number,
  fragField: number,
  ttl: number,
  protocol: number,
  tos: number,
  src: Uint8Array,
  dst: Uint8Array,
): void {
  b[at] = 0x45;
  b[at + 1] = tos;
  b[at + 2] = totalLength >>> 8;
  b[at + 3] = totalLength & 0xff;
  b[at + 4] = (id >>> 8) & 0xff;
  b[at + 5] = id & 0xff;
  b[at + 6] = fragField >>> 8;
  b[at + 7] = fragField & 0xff;
  b[at + 8] = ttl;
  b[at + 9] = protocol;
  for (let i = 0; i < 4; i++) {
    b[at + 12 + i] = src[i]!;
    b[at + 16 + i] = dst[i]!;
  }
  setIpv4HeaderChecksum(b, at, IPV4_HEADER_BYTES);
}
