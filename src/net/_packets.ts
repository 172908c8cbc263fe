/**
 * ICMP echo packets with correct checksums (RFC 792, RFC 4443 §4.1-4.2; net/checksum.ts), for tests
 * that talk to a real kernel through a TUN or a tunnel. Not part of the library's API.
 */
import { checksumReference, pseudoHeaderSum, setIpv4HeaderChecksum } from './checksum.js';

function put16(b: Uint8Array, at: number, v: number): void {
  b[at] = v >> 8;
  b[at + 1] = v & 0xff;
}

/** IPv4 ICMP echo request (type 8) or reply (type 0). Addresses are 4-byte arrays. */
export function icmp4Echo(src: Uint8Array, dst: Uint8Array, type: 0 | 8, id: number, seq: number, payload: Uint8Array): Uint8Array {
  const p = new Uint8Array(20 + 8 + payload.length);
  p[0] = 0x45;
  put16(p, 2, p.length);
  p[8] = 64;
  p[9] = 1;
  p.set(src, 12);
  p.set(dst, 16);
  setIpv4HeaderChecksum(p, 0, 20);
  p[20] = type;
  put16(p, 24, id);
  put16(p, 26, seq);
  p.set(payload, 28);
  put16(p, 22, ~checksumReference(p, 20, p.length, 0) & 0xffff);
  return p;
}

/** IPv6 ICMPv6 echo request (128) or reply (129). Addresses are 16-byte arrays. */
export function icmp6Echo(src: Uint8Array, dst: Uint8Array, type: 128 | 129, id: number, seq: number, payload: Uint8Array): Uint8Array {
  const len = 8 + payload.length;
  const p = new Uint8Array(40 + len);
  p[0] = 0x60;
  put16(p, 4, len);
  p[6] = 58;
  p[7] = 64;
  p.set(src, 8);
  p.set(dst, 24);
  p[40] = type;
  put16(p, 44, id);
  put16(p, 46, seq);
  p.set(payload, 48);
  // The ICMPv6 checksum covers the pseudo-header (RFC 8200 §8.1): addresses, length, next header.
  put16(p, 42, ~checksumReference(p, 40, p.length, pseudoHeaderSum(p, 8, 16, 58, len)) & 0xffff);
  return p;
}

/** Parse an echo packet: its ICMP type, id and sequence, or null if it is not one. */
export function parseEcho(p: Uint8Array): { type: number; id: number; seq: number } | null {
  if (p.length >= 28 && p[0]! >> 4 === 4 && p[9] === 1) {
    const o = (p[0]! & 15) * 4;
    return { type: p[o]!, id: (p[o + 4]! << 8) | p[o + 5]!, seq: (p[o + 6]! << 8) | p[o + 7]! };
  }
  if (p.length >= 48 && p[0]! >> 4 === 6 && p[6] === 58) {
    return { type: p[40]!, id: (p[44]! << 8) | p[45]!, seq: (p[46]! << 8) | p[47]! };
  }
  return null;
}

/** The reply to an echo request: swapped addresses, reply type, same id, sequence and payload. */
export function echoReplyFor(req: Uint8Array): Uint8Array | null {
  const e = parseEcho(req);
  if (e === null) return null;
  if (req[0]! >> 4 === 4 && e.type === 8) {
    return icmp4Echo(req.subarray(16, 20), req.subarray(12, 16), 0, e.id, e.seq, req.subarray(28));
  }
  if (req[0]! >> 4 === 6 && e.type === 128) {
    return icmp6Echo(req.subarray(24, 40), req.subarray(8, 24), 129, e.id, e.seq, req.subarray(48));
  }
  return null;
}
