/**
 * UDP endpoints shared by the binds: parsing of "host:port" and "[v6]:port" (numeric only, as the
 * cross-platform UAPI description allows) and interning so that the data path compares endpoints by
 * identity and creates no object per received datagram.
 */
import { isIPv4, isIPv6 } from 'node:net';
import type { Endpoint } from './bind.js';

export class UdpEndpoint implements Endpoint {
  readonly family: 4 | 6;
  readonly address: string;
  readonly port: number;
  readonly addressBytes: Uint8Array;
  private readonly text: string;

  constructor(address: string, port: number) {
    const v4 = isIPv4(address);
    if (!v4 && !isIPv6(address)) throw new TypeError(`endpoint address is not a numeric IP: ${JSON.stringify(address)}`);
    if (!Number.isInteger(port) || port < 0 || port > 65535) throw new RangeError(`endpoint port must be 0..65535, got ${port}`);
    this.family = v4 ? 4 : 6;
    this.addressBytes = v4 ? ipv4Bytes(address) : ipv6Bytes(address);
    // Canonical text: a v4-mapped v6 address stays v6, as the socket reports it.
    this.address = v4 ? address : canonicalV6(this.addressBytes);
    this.port = port;
    this.text = v4 ? `${this.address}:${port}` : `[${this.address}]:${port}`;
  }

  toString(): string {
    return this.text;
  }
}

/** Parse "a.b.c.d:port" or "[v6]:port" (an optional %zone is dropped). Throws TypeError naming the input. */
export function parseEndpoint(text: string): UdpEndpoint {
  const bad = (why: string): TypeError => new TypeError(`invalid endpoint ${JSON.stringify(text)}: ${why}`);
  let host: string;
  let portText: string;
  if (text.startsWith('[')) {
    const close = text.indexOf(']');
    if (close < 0 || text[close + 1] !== ':') throw bad('expected [address]:port');
    host = text.slice(1, close);
    portText = text.slice(close + 2);
    const zone = host.indexOf('%');
    if (zone >= 0) host = host.slice(0, zone);
    if (!isIPv6(host)) throw bad('not an IPv6 address');
  } else {
    const colon = text.lastIndexOf(':');
    if (colon < 0) throw bad('expected address:port');
    host = text.slice(0, colon);
    portText = text.slice(colon + 1);
    if (!isIPv4(host)) throw bad(isIPv6(host) ? 'IPv6 addresses must be written [address]:port' : 'not a numeric IP address');
  }
  if (!/^[0-9]{1,5}$/.test(portText)) throw bad('port is not a number');
  const port = Number(portText);
  if (port > 65535) throw bad('port out of range 0..65535');
  return new UdpEndpoint(host, port);
}

/**
 * Interns endpoints by (address, port): the receive path looks up the sender's endpoint and gets the
 * same object each time, so roaming is an identity comparison. Bounded: cleared when it grows past
 * `limit` (a flood of spoofed sources cannot grow it without end).
 */
export class EndpointTable {
  private readonly map = new Map<string, UdpEndpoint>();
  constructor(private readonly limit = 4096) {}

  get(address: string, port: number): UdpEndpoint {
    const key = address + '|' + port;
    let ep = this.map.get(key);
    if (ep === undefined) {
      if (this.map.size >= this.limit) this.map.clear();
      ep = new UdpEndpoint(address, port);
      this.map.set(key, ep);
    }
    return ep;
  }
}

function ipv4Bytes(a: string): Uint8Array {
  const out = new Uint8Array(4);
  const parts = a.split('.');
  for (let i = 0; i < 4; i++) out[i] = Number(parts[i]);
  return out;
}

function ipv6Bytes(a: string): Uint8Array {
  const out = new Uint8Array(16);
  let text = a;
  // Trailing dotted quad (::ffff:1.2.3.4).
  const lastColon = text.lastIndexOf(':');
  const tail = text.slice(lastColon + 1);
  let tailBytes: Uint8Array | null = null;
  if (tail.includes('.')) {
    tailBytes = ipv4Bytes(tail);
    text = text.slice(0, lastColon + 1) + '0:0';
  }
  const halves = text.split('::');
  const head = halves[0] === '' ? [] : halves[0]!.split(':');
  const rest = halves.length > 1 ? (halves[1] === '' ? [] : halves[1]!.split(':')) : [];
  const words: number[] = new Array(8).fill(0);
  for (let i = 0; i < head.length; i++) words[i] = parseInt(head[i]!, 16);
  for (let i = 0; i < rest.length; i++) words[8 - rest.length + i] = parseInt(rest[i]!, 16);
  for (let i = 0; i < 8; i++) {
    out[i * 2] = words[i]! >>> 8;
    out[i * 2 + 1] = words[i]! & 0xff;
  }
  if (tailBytes !== null) out.set(tailBytes, 12);
  return out;
}

/** RFC 5952 text for 16 address bytes: lower case, longest zero run (>1 word) compressed. */
export function canonicalV6(b: Uint8Array): string {
  const words: number[] = [];
  for (let i = 0; i < 8; i++) words.push((b[i * 2]! << 8) | b[i * 2 + 1]!);
  let bestStart = -1;
  let bestLen = 0;
  for (let i = 0; i < 8; ) {
    if (words[i] !== 0) {
      i++;
      continue;
    }
    let j = i;
    while (j < 8 && words[j] === 0) j++;
    if (j - i > bestLen) {
      bestStart = i;
      bestLen = j - i;
    }
    i = j;
  }
  if (bestLen < 2) bestStart = -1;
  // v4-mapped addresses print their last 32 bits dotted, as Go and Node do.
  if (bestStart === 0 && bestLen === 5 && words[5] === 0xffff) {
    return `::ffff:${b[12]}.${b[13]}.${b[14]}.${b[15]}`;
  }
  const parts: string[] = [];
  for (let i = 0; i < 8; i++) {
    if (i === bestStart) {
      parts.push(i === 0 ? ':' : '');
      i += bestLen - 1;
      if (i === 7) parts.push('');
      continue;
    }
    parts.push(words[i]!.toString(16));
  }
  return parts.join(':');
}
