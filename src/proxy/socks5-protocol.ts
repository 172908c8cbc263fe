/**
 * SOCKS version 5 on the wire (RFC 1928) and its username/password subnegotiation (RFC 1929): the
 * message layouts, the reply codes, and the mapping from socket errors to those codes. No I/O here;
 * socks5-server.ts and socks5-udp.ts drive it.
 */
import { isIP } from 'node:net';
import { formatIp, parseIp } from '../net/address.js';

export const SOCKS_VERSION = 5;
/** RFC 1929 §2: the subnegotiation's own version byte. */
export const AUTH_VERSION = 1;

/** RFC 1928 §3 METHOD values. */
export const METHOD_NO_AUTH = 0x00;
export const METHOD_USERNAME_PASSWORD = 0x02;
export const METHOD_NO_ACCEPTABLE = 0xff;

/** RFC 1928 §4 CMD values. */
export const CMD_CONNECT = 0x01;
export const CMD_BIND = 0x02;
export const CMD_UDP_ASSOCIATE = 0x03;

/** RFC 1928 §4/§5 ATYP values. */
export const ATYP_IPV4 = 0x01;
export const ATYP_DOMAIN = 0x03;
export const ATYP_IPV6 = 0x04;

/** RFC 1928 §6 REP values. */
export const Reply = {
  Succeeded: 0x00,
  GeneralFailure: 0x01,
  NotAllowed: 0x02,
  NetworkUnreachable: 0x03,
  HostUnreachable: 0x04,
  ConnectionRefused: 0x05,
  TtlExpired: 0x06,
  CommandNotSupported: 0x07,
  AddressTypeNotSupported: 0x08,
} as const;
export type Reply = (typeof Reply)[keyof typeof Reply];

/** A destination as a request or a UDP header names it. */
export interface SocksAddress {
  /** An IP literal (canonical text) or a domain name. */
  host: string;
  port: number;
  atyp: typeof ATYP_IPV4 | typeof ATYP_DOMAIN | typeof ATYP_IPV6;
}

/**
 * Parse ATYP, DST.ADDR, DST.PORT from `buf` at `at` (RFC 1928 §4, and §7 for the UDP header).
 * Returns the address and the offset after it; 'short' when more bytes are needed; 'bad-atyp' for an
 * address type RFC 1928 does not define; 'bad-name' for an empty domain name.
 */
export function parseAddress(buf: Uint8Array, at: number): { addr: SocksAddress; end: number } | 'short' | 'bad-atyp' | 'bad-name' {
  if (buf.length < at + 1) return 'short';
  const atyp = buf[at]!;
  let host: string;
  let p = at + 1;
  if (atyp === ATYP_IPV4) {
    if (buf.length < p + 4 + 2) return 'short';
    host = formatIp(buf.subarray(p, p + 4));
    p += 4;
  } else if (atyp === ATYP_IPV6) {
    if (buf.length < p + 16 + 2) return 'short';
    host = formatIp(buf.subarray(p, p + 16));
    p += 16;
  } else if (atyp === ATYP_DOMAIN) {
    if (buf.length < p + 1) return 'short';
    const len = buf[p]!;
    if (buf.length < p + 1 + len + 2) return 'short';
    if (len === 0) return 'bad-name';
    host = Buffer.from(buf.buffer, buf.byteOffset + p + 1, len).toString('latin1');
    p += 1 + len;
    // Some clients send a literal in a domain field; it is then an address, not a name to resolve.
    const literal = parseIp(host);
    if (literal !== null) host = formatIp(literal);
  } else {
    return 'bad-atyp';
  }
  const port = (buf[p]! << 8) | buf[p + 1]!;
  return { addr: { host, port, atyp }, end: p + 2 };
}

/** Length of ATYP + ADDR + PORT for an address of this host text. */
function addressLength(host: string): number {
  const v = isIP(host);
  return 1 + (v === 4 ? 4 : v === 6 ? 16 : 1 + Buffer.byteLength(host, 'latin1')) + 2;
}

/** Write ATYP, ADDR and PORT for `host` (an IP literal; a name only if it fits 255 bytes) at `at`. */
export function writeAddress(out: Buffer, at: number, host: string, port: number): number {
  let p = at;
  const ip = parseIp(host);
  if (ip !== null && ip.length === 4) {
    out[p++] = ATYP_IPV4;
    out.set(ip, p);
    p += 4;
  } else if (ip !== null) {
    // An IPv4-mapped address is the IPv4 peer a dual-stack socket saw: reply with the IPv4 form.
    const mapped = ip[10] === 0xff && ip[11] === 0xff && ip.subarray(0, 10).every((b) => b === 0);
    if (mapped) {
      out[p++] = ATYP_IPV4;
      out.set(ip.subarray(12), p);
      p += 4;
    } else {
      out[p++] = ATYP_IPV6;
      out.set(ip, p);
      p += 16;
    }
  } else {
    const len = out.write(host, p + 2, 'latin1');
    out[p++] = ATYP_DOMAIN;
    out[p++] = len;
    p += len;
  }
  out[p++] = port >>> 8;
  out[p++] = port & 0xff;
  return p;
}

/** RFC 1928 §6: VER REP RSV ATYP BND.ADDR BND.PORT. */
export function buildReply(rep: Reply, bindHost: string, bindPort: number): Buffer {
  const out = Buffer.alloc(3 + addressLength(bindHost));
  out[0] = SOCKS_VERSION;
  out[1] = rep;
  out[2] = 0;
  const end = writeAddress(out, 3, bindHost, bindPort);
  return out.subarray(0, end);
}

/** A failure reply: the bound address carries nothing, so it is all zeros (IPv4 0.0.0.0:0). */
export function failureReply(rep: Reply): Buffer {
  return buildReply(rep, '0.0.0.0', 0);
}

/**
 * RFC 1928 §7 UDP request header in front of `data`: RSV RSV FRAG ATYP DST.ADDR DST.PORT.
 * @returns a new buffer holding header and data
 */
export function buildUdpDatagram(host: string, port: number, data: Uint8Array): Buffer {
  const head = 3 + addressLength(host);
  const out = Buffer.allocUnsafe(head + data.length);
  out[0] = 0;
  out[1] = 0;
  out[2] = 0;
  const end = writeAddress(out, 3, host, port);
  out.set(data, end);
  return out.subarray(0, end + data.length);
}

/** The header of a client's UDP datagram, or why it is dropped. */
export function parseUdpDatagram(buf: Uint8Array): { addr: SocksAddress; dataAt: number } | 'short' | 'fragment' | 'bad-atyp' | 'bad-name' {
  if (buf.length < 4) return 'short';
  // §7: an implementation that does not reassemble fragments drops any datagram with FRAG != 0.
  if (buf[2] !== 0) return 'fragment';
  const r = parseAddress(buf, 3);
  if (typeof r === 'string') return r;
  return { addr: r.addr, dataAt: r.end };
}

/**
 * The REP for a failed connection attempt, from the Tunnel's error codes (tunnel-like.ts) and the
 * resolver's. Timeouts report TTL expired, as several servers do: the attempt expired in transit.
 */
export function replyForError(err: unknown): Reply {
  switch ((err as NodeJS.ErrnoException | null)?.code) {
    case 'ECONNREFUSED':
      return Reply.ConnectionRefused;
    case 'EHOSTUNREACH':
    case 'ENOTFOUND':
    case 'EAI_AGAIN':
    case 'ENODATA':
    case 'EAI_NONAME':
      return Reply.HostUnreachable;
    case 'ENETUNREACH':
    case 'EADDRNOTAVAIL':
    case 'EAFNOSUPPORT':
      return Reply.NetworkUnreachable;
    case 'ETIMEDOUT':
      return Reply.TtlExpired;
    case 'EACCES':
    case 'EPERM':
      return Reply.NotAllowed;
    default:
      return Reply.GeneralFailure;
  }
}
