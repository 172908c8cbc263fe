/**
 * Building segments in place: each outgoing segment is written once, straight into a pool buffer the
 * IP layer hands out with room in front for the IP and WireGuard headers (transport.ts), header and
 * options first, then the payload copied from the send buffer, then the checksum over the
 * pseudo-header (RFC 9293 §3.1). Nothing is allocated per segment but the payload copy's view (see
 * the measurement below).
 *
 * Options by segment (RFC 9293 §3.2, RFC 7323 §2-3, RFC 2018 §2-3): a SYN or SYN-ACK carries MSS,
 * window scale, SACK-permitted and timestamps (a SYN-ACK only those the SYN offered); every later
 * segment carries timestamps when both sides agreed to them (RFC 7323 §3.2), and an ACK carries SACK
 * blocks while data is held out of order or a duplicate is being reported (D-SACK, RFC 2883).
 *
 * Payload copy, measured (Node 20.20, 2-vCPU VM shared with other jobs, 1380-byte copies):
 * dst.set(src.subarray(a, b), at) 85-195 ns with one ~100-byte view object per copy; Buffer#copy
 * 95-126 ns, and it allocates the same view internally; a JS loop over Int32 words 1-2 us; over bytes
 * ~6.7 us. Kept: set(subarray). The two views (here and in recv-buffer.ts) are the garbage a segment
 * still makes, about half of the ~250 bytes a bulk transfer allocates per segment (V8's sampling
 * heap profiler, 200 MiB); they die young, one scavenge per several thousand segments.
 */
import type { IpFamily, IpOutput } from '../transport.js';
import { IPPROTO_TCP } from '../transport.js';
import {
  ACK,
  MSS_OPTION_BYTES,
  RST,
  SACK_BLOCK_BYTES,
  SACK_OPTION_BASE_BYTES,
  SACK_PERMITTED_OPTION_BYTES,
  SYN,
  TCP_HEADER_BYTES,
  TIMESTAMP_OPTION_BYTES,
  WSCALE_OPTION_BYTES,
} from './constants.js';
import {
  finishChecksum,
  pseudoHeaderBase,
  writeHeader,
  writeMssOption,
  writeSackOption,
  writeSackPermittedOption,
  writeTimestampOption,
  writeWscaleOption,
} from './header.js';

/** What a segment's options depend on: the connection's negotiated options and its receiver state. */
export interface SegmentSource {
  readonly family: IpFamily;
  readonly local: Uint8Array;
  readonly remote: Uint8Array;
  readonly localPort: number;
  readonly remotePort: number;
  readonly pseudoBase: number;
  /** Options in use (after the handshake) or to offer/accept (on the SYN or SYN-ACK). */
  readonly tsOk: boolean;
  readonly sackOk: boolean;
  readonly wsOk: boolean;
  /** The window-scale shift this side announces on its SYN. */
  readonly rcvWscale: number;
  /** The MSS this side announces on its SYN. */
  readonly advMss: number;
  /** TSval for a segment sent now, and the TSecr to echo (TS.Recent). */
  tsVal(now: number): number;
  readonly tsEcr: number;
  /** SACK blocks to report, (left, right) pairs, filled into `out`; returns how many (<= max). */
  sackBlocks(out: Int32Array, max: number): number;
  /** ACK number and the window field to put on a segment (the window already scaled down). */
  readonly ackNumber: number;
  windowField(syn: boolean): number;
  /** Called after every segment that carried an ACK (delayed-ACK state, last advertised window). */
  ackSent(now: number): void;
}

/** Scratch for SACK blocks being written (one per stack; never held across calls). */
const sackScratch = new Int32Array(8);

/** The option bytes a non-SYN segment of `src` carries now (timestamps and SACK blocks). */
export function optionBytes(src: SegmentSource, sackBlocks: number): number {
  return (src.tsOk ? TIMESTAMP_OPTION_BYTES : 0) + (sackBlocks > 0 ? SACK_OPTION_BASE_BYTES + SACK_BLOCK_BYTES * sackBlocks : 0);
}

/** How many SACK blocks fit beside the other options (RFC 2018 §3: 3 with timestamps, else 4). */
export function maxSackBlocks(src: SegmentSource): number {
  return src.tsOk ? 3 : 4;
}

/**
 * Write and send one segment of `src`: header with `flags` at sequence `seq`, options as the flags
 * call for, and `dataLen` payload bytes copied by `copy` (from the send buffer) at offset. Returns
 * false only when the pool refused a buffer (nothing left: send again when the IP layer says it is
 * writable); a packet the IP layer then drops counts as sent, and lost.
 */
export function sendSegment(
  ip: IpOutput,
  src: SegmentSource,
  seq: number,
  flags: number,
  dataLen: number,
  copy: PayloadSource | null,
  dataSeq: number,
  now: number,
): boolean {
  const syn = (flags & SYN) !== 0;
  let opts: number;
  let sacks = 0;
  if (syn) {
    opts = MSS_OPTION_BYTES;
    if (src.wsOk) opts += WSCALE_OPTION_BYTES;
    if (src.sackOk) opts += SACK_PERMITTED_OPTION_BYTES;
    if (src.tsOk) opts += TIMESTAMP_OPTION_BYTES;
  } else {
    if (src.sackOk && (flags & ACK) !== 0) sacks = src.sackBlocks(sackScratch, maxSackBlocks(src));
    opts = optionBytes(src, sacks);
  }
  const hdr = TCP_HEADER_BYTES + opts;
  const buf = ip.alloc(src.family, hdr + dataLen);
  if (buf === null) return false;
  const b = buf.bytes;
  const at = buf.start;
  writeHeader(b, at, src.localPort, src.remotePort, seq, src.ackNumber, flags, src.windowField(syn), hdr);
  let o = at + TCP_HEADER_BYTES;
  if (syn) {
    o = writeMssOption(b, o, src.advMss);
    if (src.wsOk) o = writeWscaleOption(b, o, src.rcvWscale);
    if (src.sackOk) o = writeSackPermittedOption(b, o);
    if (src.tsOk) o = writeTimestampOption(b, o, src.tsVal(now), flags & ACK ? src.tsEcr : 0);
  } else {
    if (src.tsOk) o = writeTimestampOption(b, o, src.tsVal(now), src.tsEcr);
    if (sacks > 0) o = writeSackOption(b, o, sackScratch, sacks);
  }
  if (dataLen > 0) copy!.copyOut(dataSeq, dataLen, b, o);
  const end = o + dataLen;
  buf.end = end;
  finishChecksum(b, at, end, src.pseudoBase);
  if (flags & ACK) src.ackSent(now);
  ip.send(buf, src.family, src.local, src.remote, IPPROTO_TCP, 0);
  return true;
}

/** Where payload bytes come from (the send buffer). */
export interface PayloadSource {
  copyOut(seq: number, len: number, dst: Uint8Array, dstAt: number): void;
}

/**
 * A reset (or the reset-and-ACK) for a segment that has no connection, RFC 9293 §3.10.7.1: no
 * options, addressed back to the sender.
 */
export function sendReset(
  ip: IpOutput,
  family: IpFamily,
  local: Uint8Array,
  remote: Uint8Array,
  localPort: number,
  remotePort: number,
  seq: number,
  ack: number,
  withAck: boolean,
): boolean {
  const buf = ip.alloc(family, TCP_HEADER_BYTES);
  if (buf === null) return false;
  const b = buf.bytes;
  const at = buf.start;
  writeHeader(b, at, localPort, remotePort, seq, ack, withAck ? RST | ACK : RST, 0, TCP_HEADER_BYTES);
  buf.end = at + TCP_HEADER_BYTES;
  finishChecksum(b, at, buf.end, pseudoHeaderBase(local, remote, IPPROTO_TCP));
  return ip.send(buf, family, local, remote, IPPROTO_TCP, 0);
}
