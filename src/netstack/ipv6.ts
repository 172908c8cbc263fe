/**
 * IPv6 headers (RFC 8200 §3-4): validation of what the device writes into the stack, the walk over
 * extension headers to the upper-layer protocol, and the headers the stack writes.
 *
 * Inbound checks, each a counted drop: header present, payload length within the packet (bytes past it
 * ignored), destination one of ours, source neither multicast, unspecified nor ours. Then the chain of
 * extension headers (RFC 8200 §4.1 order):
 * - Hop-by-Hop Options only directly after the IPv6 header (§4.3); Destination Options anywhere (§4.6).
 *   Options are read by their action bits (§4.2): Pad1, PadN and "skip" options are passed over; an
 *   option we must understand and do not (the Jumbo Payload of RFC 2675 among them) drops the packet.
 * - Routing (§4.4): with Segments Left 0 it is passed over; otherwise this host would have to forward
 *   the packet, which a tunnel endpoint does not do, so it is dropped.
 * - Fragment (§4.5): a fragment ends the walk, its fragmentable part goes to reassembly, which walks on
 *   from the Fragment header's Next Header. An atomic fragment (offset 0, M clear: RFC 6946 §4) is
 *   processed as a whole packet.
 * - Anything else is the upper-layer protocol (No Next Header, 59, included: the stack drops it).
 * The number of headers followed is bounded (RFC 8200 sets no limit; a chain past ours is an attack).
 */
import type { LocalAddresses } from './addresses.js';
import type { NetStackCounters } from './counters.js';
import { copyAddress } from './bytes.js';
import type { RxInfo } from './rx-info.js';

export const IPV6_HEADER_BYTES = 40;
/** Every IPv6 link carries 1280 bytes (RFC 8200 §5): the floor of any path MTU. */
export const IPV6_MIN_MTU = 1280;
export const IPV6_FRAGMENT_HEADER_BYTES = 8;
/** Largest payload length (16 bits; jumbograms are not supported). */
export const IPV6_MAX_PAYLOAD_BYTES = 65535;

/** Next Header values of the extension headers (IANA "IPv6 Extension Header Types"). */
export const NH_HOP_BY_HOP = 0;
export const NH_ROUTING = 43;
export const NH_FRAGMENT = 44;
export const NH_NONE = 59;
export const NH_DEST_OPTIONS = 60;

/** Extension headers followed per packet. Ours: real traffic carries one or two. */
export const MAX_EXTENSION_HEADERS = 8;

/**
 * Validate the IPv6 packet at b[s, e) and fill rx, up to the upper-layer protocol or the fragmentable
 * part of a fragment; false (with the reason counted) to drop it. `fromSelf` allows our own source.
 */
export function parseIpv6(b: Uint8Array, s: number, e: number, rx: RxInfo, local: LocalAddresses, c: NetStackCounters, fromSelf: boolean): boolean {
  if (e - s < IPV6_HEADER_BYTES) {
    c.badHeader++;
    return false;
  }
  const end = s + IPV6_HEADER_BYTES + ((b[s + 4]! << 8) | b[s + 5]!);
  if (end > e) {
    c.badLength++;
    return false;
  }
  if (!local.hasAt(6, b, s + 24)) {
    c.notForUs++;
    return false;
  }
  if (b[s + 8] === 0xff || isUnspecified(b, s + 8) || (!fromSelf && local.hasAt(6, b, s + 8))) {
    c.badSource++;
    return false;
  }
  rx.begin(6);
  copyAddress(b, s + 8, rx.src6);
  copyAddress(b, s + 24, rx.dst6);
  rx.tos = ((b[s]! & 0x0f) << 4) | (b[s + 1]! >>> 4);
  rx.ttl = b[s + 7]!;
  rx.headerAt = s;
  return walkIpv6Extensions(b, b[s + 6]!, s + 6, s + IPV6_HEADER_BYTES, end, rx, c, true);
}

/**
 * Follow extension headers from Next Header `nh` (held in the byte at b[nhAt], or -1 after
 * reassembly), the first header starting at `at`, the payload ending at `end`. Sets rx.protocol,
 * payloadAt/End, nextHeaderAt and the fragment fields. `atStart`: the chain follows the IPv6 header
 * directly (Hop-by-Hop allowed first).
 */
export function walkIpv6Extensions(b: Uint8Array, nh: number, nhAt: number, at: number, end: number, rx: RxInfo, c: NetStackCounters, atStart: boolean): boolean {
  for (let n = 0; n <= MAX_EXTENSION_HEADERS; n++) {
    if (nh === NH_HOP_BY_HOP || nh === NH_DEST_OPTIONS) {
      if (nh === NH_HOP_BY_HOP && !(atStart && n === 0)) break;
      if (at + 2 > end) break;
      const len = (b[at + 1]! + 1) << 3;
      if (at + len > end || !optionsAcceptable(b, at + 2, at + len)) break;
      nhAt = at;
      nh = b[at]!;
      at += len;
    } else if (nh === NH_ROUTING) {
      if (at + 4 > end) break;
      const len = (b[at + 1]! + 1) << 3;
      if (at + len > end || b[at + 3] !== 0) break;
      nhAt = at;
      nh = b[at]!;
      at += len;
    } else if (nh === NH_FRAGMENT) {
      if (at + IPV6_FRAGMENT_HEADER_BYTES > end) break;
      const field = (b[at + 2]! << 8) | b[at + 3]!;
      nhAt = at;
      nh = b[at]!;
      if ((field & 0xfff9) !== 0) {
        rx.fragment = true;
        rx.fragOffset = field & 0xfff8;
        rx.moreFragments = (field & 1) !== 0;
        rx.fragId = ((b[at + 4]! << 24) | (b[at + 5]! << 16) | (b[at + 6]! << 8) | b[at + 7]!) >>> 0;
        rx.protocol = nh;
        rx.nextHeaderAt = nhAt;
        rx.payloadAt = at + IPV6_FRAGMENT_HEADER_BYTES;
        rx.payloadEnd = end;
        return true;
      }
      at += IPV6_FRAGMENT_HEADER_BYTES;
    } else {
      rx.protocol = nh;
      rx.nextHeaderAt = nhAt;
      rx.payloadAt = at;
      rx.payloadEnd = end;
      return true;
    }
  }
  c.badExtension++;
  return false;
}

/**
 * Whether the TLV options in b[at, end) are all ones we may skip (RFC 8200 §4.2): Pad1, PadN, and any
 * option whose two high type bits are 00. Any other option we do not implement means discard.
 */
function optionsAcceptable(b: Uint8Array, at: number, end: number): boolean {
  let i = at;
  while (i < end) {
    const type = b[i]!;
    if (type === 0) {
      i++;
      continue;
    }
    if (i + 2 > end) return false;
    const next = i + 2 + b[i + 1]!;
    if (next > end) return false;
    if (type !== 1 && type >>> 6 !== 0) return false;
    i = next;
  }
  return true;
}

function isUnspecified(b: Uint8Array, at: number): boolean {
  for (let i = 0; i < 16; i++) if (b[at + i] !== 0) return false;
  return true;
}

/** Write a 40-byte IPv6 header at b[at, at + 40); flow label 0 (RFC 6437 allows it). */
export function writeIpv6Header(b: Uint8Array, at: number, payloadLength: number, nextHeader: number, hopLimit: number, tos: number, src: Uint8Array, dst: Uint8Array): void {
  b[at] = 0x60 | (tos >>> 4);
  b[at + 1] = (tos & 0x0f) << 4;
  b[at + 2] = 0;
  b[at + 3] = 0;
  b[at + 4] = payloadLength >>> 8;
  b[at + 5] = payloadLength & 0xff;
  b[at + 6] = nextHeader;
  b[at + 7] = hopLimit;
  for (let i = 0; i < 16; i++) {
    b[at + 8 + i] = src[i]!;
    b[at + 24 + i] = dst[i]!;
  }
}

/** Write a Fragment header (RFC 8200 §4.5) at b[at, at + 8): `offset` in bytes, a multiple of 8. */
export function writeIpv6FragmentHeader(b: Uint8Array, at: number, nextHeader: number, offset: number, more: boolean, id: number): void {
  b[at] = nextHeader;
  b[at + 1] = 0;
  b[at + 2] = offset >>> 8;
  b[at + 3] = (offset & 0xf8) | (more ? 1 : 0);
  b[at + 4] = (id >>> 24) & 0xff;
  b[at + 5] = (id >>> 16) & 0xff;
  b[at + 6] = (id >>> 8) & 0xff;
  b[at + 7] = id & 0xff;
}
