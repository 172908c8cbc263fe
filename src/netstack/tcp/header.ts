/**
 * The TCP header on the wire (RFC 9293 §3.1) and its options: MSS (RFC 9293 §3.7.1), window scale and
 * timestamps (RFC 7323 §2.2, §3.2), SACK-permitted and SACK (RFC 2018 §2, §3).
 *
 * Inbound, parseSegment fills one reused Segment object per stack: no allocation per segment. Option
 * parsing follows RFC 9293 §3.2 and RFC 9293 §3.1's robustness rule: an unknown option is skipped by
 * its length; a length that runs past the header or below 2 makes the segment malformed (dropped, as
 * Linux's tcp_parse_options stops there). MSS, window scale and SACK-permitted count only on a SYN
 * (RFC 7323 §2.2, RFC 2018 §2); SACK blocks only on a segment without SYN.
 *
 * Outbound, the write* functions put a header and options straight into the packet buffer the segment
 * travels in, and finishChecksum completes it in place over the pseudo-header (RFC 9293 §3.1).
 */
import { checksum, checksumReference } from '../../net/checksum.js';
import {
  ACK,
  MAX_SACK_BLOCKS,
  MAX_WSCALE,
  OPT_EOL,
  OPT_MSS,
  OPT_NOP,
  OPT_SACK,
  OPT_SACK_PERMITTED,
  OPT_TIMESTAMP,
  OPT_WSCALE,
  SYN,
  FIN,
  TCP_HEADER_BYTES,
} from './constants.js';

/** One parsed inbound segment; the fields are valid until the next parse. */
export class Segment {
  bytes: Uint8Array;
  /** Where the header starts and the payload starts and ends, as indices into `bytes`. */
  headerAt: number;
  dataAt: number;
  dataEnd: number;
  srcPort: number;
  dstPort: number;
  seq: number;
  ack: number;
  flags: number;
  /** The window field as sent (unscaled). */
  window: number;
  /** Options: mss 0 when absent; wscale -1 when absent. */
  mss: number;
  wscale: number;
  sackPermitted: boolean;
  hasTimestamp: boolean;
  tsVal: number;
  tsEcr: number;
  /** SACK blocks: sackCount pairs [left, right) in `sack`. */
  sackCount: number;
  readonly sack: Int32Array;

  constructor() {
    this.bytes = new Uint8Array(0);
    this.headerAt = 0;
    this.dataAt = 0;
    this.dataEnd = 0;
    this.srcPort = 0;
    this.dstPort = 0;
    this.seq = 0;
    this.ack = 0;
    this.flags = 0;
    this.window = 0;
    this.mss = 0;
    this.wscale = -1;
    this.sackPermitted = false;
    this.hasTimestamp = false;
    this.tsVal = 0;
    this.tsEcr = 0;
    this.sackCount = 0;
    this.sack = new Int32Array(2 * MAX_SACK_BLOCKS);
  }

  /** Payload bytes. */
  get dataLength(): number {
    return this.dataEnd - this.dataAt;
  }

  /** SEG.LEN (RFC 9293 §3.3.1): payload plus one for SYN and one for FIN. */
  get seqLength(): number {
    return this.dataEnd - this.dataAt + (this.flags & SYN ? 1 : 0) + (this.flags & FIN ? 1 : 0);
  }
}

/** Why parseSegment refused a segment (counted by reason). */
export const enum ParseResult {
  OK = 0,
  /** Shorter than 20 bytes, or a Data Offset below 5 or past the segment. */
  BAD_HEADER = 1,
  /** An option whose length is below 2 or runs past the header. */
  BAD_OPTION = 2,
}

function u16(b: Uint8Array, at: number): number {
  return (b[at]! << 8) | b[at + 1]!;
}

/** A 32-bit field as int32 (seq.ts: sequence numbers and timestamps stay small integers). */
function u32(b: Uint8Array, at: number): number {
  return (b[at]! << 24) | (b[at + 1]! << 16) | (b[at + 2]! << 8) | b[at + 3]!;
}

/** Parse the segment at bytes[start, end) into `seg`. */
export function parseSegment(seg: Segment, bytes: Uint8Array, start: number, end: number): ParseResult {
  if (end - start < TCP_HEADER_BYTES) return ParseResult.BAD_HEADER;
  const doff = (bytes[start + 12]! >>> 4) << 2;
  if (doff < TCP_HEADER_BYTES || start + doff > end) return ParseResult.BAD_HEADER;
  seg.bytes = bytes;
  seg.headerAt = start;
  seg.dataAt = start + doff;
  seg.dataEnd = end;
  seg.srcPort = u16(bytes, start);
  seg.dstPort = u16(bytes, start + 2);
  seg.seq = u32(bytes, start + 4);
  seg.ack = u32(bytes, start + 8);
  seg.flags = bytes[start + 13]!;
  seg.window = u16(bytes, start + 14);
  seg.mss = 0;
  seg.wscale = -1;
  seg.sackPermitted = false;
  seg.hasTimestamp = false;
  seg.tsVal = 0;
  seg.tsEcr = 0;
  seg.sackCount = 0;
  if (doff === TCP_HEADER_BYTES) return ParseResult.OK;
  return parseOptions(seg, bytes, start + TCP_HEADER_BYTES, start + doff);
}

function parseOptions(seg: Segment, b: Uint8Array, at: number, end: number): ParseResult {
  const syn = (seg.flags & SYN) !== 0;
  while (at < end) {
    const kind = b[at]!;
    if (kind === OPT_EOL) break;
    if (kind === OPT_NOP) {
      at++;
      continue;
    }
    if (at + 1 >= end) return ParseResult.BAD_OPTION;
    const len = b[at + 1]!;
    if (len < 2 || at + len > end) return ParseResult.BAD_OPTION;
    switch (kind) {
      case OPT_MSS:
        if (len === 4 && syn) seg.mss = u16(b, at + 2);
        break;
      case OPT_WSCALE:
        // RFC 7323 §2.3: a shift above 14 is used as 14 (and logged by Linux).
        if (len === 3 && syn) seg.wscale = Math.min(b[at + 2]!, MAX_WSCALE);
        break;
      case OPT_SACK_PERMITTED:
        if (len === 2 && syn) seg.sackPermitted = true;
        break;
      case OPT_TIMESTAMP:
        if (len === 10) {
          seg.hasTimestamp = true;
          seg.tsVal = u32(b, at + 2);
          seg.tsEcr = u32(b, at + 6);
        }
        break;
      case OPT_SACK:
        // RFC 2018 §3: 8 bytes a block; a malformed length is ignored, not fatal.
        if (!syn && (len - 2) % 8 === 0) {
          const n = Math.min((len - 2) >>> 3, MAX_SACK_BLOCKS);
          for (let i = 0; i < n; i++) {
            seg.sack[2 * i] = u32(b, at + 2 + 8 * i);
            seg.sack[2 * i + 1] = u32(b, at + 6 + 8 * i);
          }
          seg.sackCount = n;
        }
        break;
      default:
        break;
    }
    at += len;
  }
  return ParseResult.OK;
}

// ---------------------------------------------------------------------------------------------------
// Writing.

function put16(b: Uint8Array, at: number, v: number): void {
  b[at] = v >>> 8;
  b[at + 1] = v & 0xff;
}

function put32(b: Uint8Array, at: number, v: number): void {
  b[at] = v >>> 24;
  b[at + 1] = (v >>> 16) & 0xff;
  b[at + 2] = (v >>> 8) & 0xff;
  b[at + 3] = v & 0xff;
}

/**
 * The fixed header at b[at, at + 20) for a header of `headerBytes` (20 + options, a multiple of 4).
 * The checksum field is zeroed; finishChecksum fills it once options and payload are in place.
 */
export function writeHeader(
  b: Uint8Array,
  at: number,
  srcPort: number,
  dstPort: number,
  seq: number,
  ack: number,
  flags: number,
  window: number,
  headerBytes: number,
): void {
  put16(b, at, srcPort);
  put16(b, at + 2, dstPort);
  put32(b, at + 4, seq);
  put32(b, at + 8, flags & ACK ? ack : 0);
  b[at + 12] = (headerBytes >>> 2) << 4;
  b[at + 13] = flags;
  put16(b, at + 14, window);
  b[at + 16] = 0;
  b[at + 17] = 0;
  b[at + 18] = 0; // urgent pointer: this stack never sends urgent data
  b[at + 19] = 0;
}

/** MSS option (4 bytes); returns the offset after it. */
export function writeMssOption(b: Uint8Array, at: number, mss: number): number {
  b[at] = OPT_MSS;
  b[at + 1] = 4;
  put16(b, at + 2, mss);
  return at + 4;
}

/** NOP + window scale (4 bytes). */
export function writeWscaleOption(b: Uint8Array, at: number, shift: number): number {
  b[at] = OPT_NOP;
  b[at + 1] = OPT_WSCALE;
  b[at + 2] = 3;
  b[at + 3] = shift;
  return at + 4;
}

/** NOP NOP + SACK-permitted (4 bytes). */
export function writeSackPermittedOption(b: Uint8Array, at: number): number {
  b[at] = OPT_NOP;
  b[at + 1] = OPT_NOP;
  b[at + 2] = OPT_SACK_PERMITTED;
  b[at + 3] = 2;
  return at + 4;
}

/** NOP NOP + timestamps (12 bytes), the layout of RFC 7323 Appendix A. */
export function writeTimestampOption(b: Uint8Array, at: number, tsVal: number, tsEcr: number): number {
  b[at] = OPT_NOP;
  b[at + 1] = OPT_NOP;
  b[at + 2] = OPT_TIMESTAMP;
  b[at + 3] = 10;
  put32(b, at + 4, tsVal);
  put32(b, at + 8, tsEcr);
  return at + 12;
}

/** NOP NOP + SACK with `count` blocks from `blocks` (pairs), 4 + 8 x count bytes. */
export function writeSackOption(b: Uint8Array, at: number, blocks: Int32Array, count: number): number {
  b[at] = OPT_NOP;
  b[at + 1] = OPT_NOP;
  b[at + 2] = OPT_SACK;
  b[at + 3] = 2 + 8 * count;
  at += 4;
  for (let i = 0; i < count; i++) {
    put32(b, at, blocks[2 * i]!);
    put32(b, at + 4, blocks[2 * i + 1]!);
    at += 8;
  }
  return at;
}

/**
 * The folded sum of the pseudo-header's constant part for one connection: both addresses and the
 * protocol (RFC 9293 §3.1, RFC 8200 §8.1). finishChecksum adds the length per segment.
 */
export function pseudoHeaderBase(src: Uint8Array, dst: Uint8Array, protocol: number): number {
  return checksumReference(dst, 0, dst.length, checksumReference(src, 0, src.length, protocol));
}

/** Fill the checksum of the segment at b[at, end), given its connection's pseudoHeaderBase. */
export function finishChecksum(b: Uint8Array, at: number, end: number, base: number): void {
  const len = end - at;
  const sum = checksum(b, at, end, base + (len >>> 16) + (len & 0xffff));
  const c = ~sum & 0xffff;
  b[at + 16] = c >>> 8;
  b[at + 17] = c & 0xff;
}
