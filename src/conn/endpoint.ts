/**
 * UDP endpoints shared by the binds: parsing of "host:port" and "[v6]:port" or "[v6%zone]:port"
 * (numeric only, as the cross-platform UAPI description allows) and interning so that the data path
 * compares endpoints by identity and creates no object per received datagram. A zone (RFC 4007 §11)
 * is kept and printed, as wireguard-go does: a link-local endpoint means nothing without it.
 */
import { formatIpZone, isZone, parseIp, parseIpZone } from '../net/address.js';
import type { Endpoint } from './bind.js';

/** Where an IPv4 endpoint's address is written out to be printed (nothing is kept of it). */
const V4_SCRATCH = new Uint8Array(4);

export class UdpEndpoint implements Endpoint {
  readonly family: 4 | 6;
  readonly port: number;
  /**
   * The address: an IPv6 one's 16 bytes; an IPv4 one's 4 only once asked for (addressBytes: a send,
   * a handshake), its int32 word (v4) until then. An idle peer's endpoint holds no array.
   */
  private bytes: Uint8Array | null;
  private readonly v4: number;
  /**
   * The address text once asked for (the portable bind sends by it); null before. Nothing else is
   * kept as text: every peer holds an endpoint, and the binds on the data path use the bytes.
   */
  private addressText: string | null;
  /** The zone as written or learned ('' for none); a subclass may work it out when first asked. */
  protected zoneText: string;

  /**
   * @param address numeric address text, with an IPv6 zone if any (net/address.ts parseIpZone), or
   *   the address's 4 or 16 bytes (copied)
   * @param zone the IPv6 zone for address bytes ('' for none)
   * @throws TypeError for text that is no numeric address, bytes of another length, or a zone that is
   *   no interface name or index (or on an IPv4 address); RangeError for a bad port
   */
  constructor(address: string | Uint8Array, port: number, zone = '') {
    let bytes: Uint8Array | null = null;
    if (typeof address === 'string') {
      const parsed = parseIpZone(address);
      if (parsed !== null) {
        bytes = parsed.ip;
        if (parsed.zone !== '') zone = parsed.zone;
      }
    } else if (address.length === 4 || address.length === 16) {
      bytes = address;
    }
    if (bytes === null) {
      const what = typeof address === 'string' ? JSON.stringify(address) : `${address.length} bytes`;
      throw new TypeError(`endpoint address is not a numeric IP: ${what}`);
    }
    if (zone !== '' && (bytes.length !== 16 || !isZone(zone))) {
      throw new TypeError(`endpoint zone ${JSON.stringify(zone)} must be an interface name or index, on an IPv6 address`);
    }
    if (!Number.isInteger(port) || port < 0 || port > 65535) throw new RangeError(`endpoint port must be 0..65535, got ${port}`);
    this.family = bytes.length === 4 ? 4 : 6;
    this.v4 = this.family === 4 ? (bytes[0]! << 24) | (bytes[1]! << 16) | (bytes[2]! << 8) | bytes[3]! : 0;
    this.bytes = this.family === 6 ? new Uint8Array(bytes) : null;
    this.port = port;
    this.addressText = null;
    this.zoneText = zone;
  }

  get zone(): string {
    return this.zoneText;
  }

  /** Address bytes (4 or 16); an IPv4 endpoint makes its array at the first call. */
  get addressBytes(): Uint8Array {
    return (this.bytes ??= this.writeV4(new Uint8Array(4)));
  }

  private writeV4(out: Uint8Array): Uint8Array {
    const w = this.v4;
    out[0] = w >>> 24;
    out[1] = (w >>> 16) & 0xff;
    out[2] = (w >>> 8) & 0xff;
    out[3] = w & 0xff;
    return out;
  }

  /** The address text (with its zone), from the bytes, kept or written out for the call. */
  private text(): string {
    return formatIpZone(this.bytes ?? this.writeV4(V4_SCRATCH), this.zone);
  }

  /**
   * One text rule for every address (formatIp): RFC 5952, and an IPv4-mapped address stays IPv6,
   * written "::ffff:a.b.c.d", as wireguard-go's UAPI and `wg` print such an endpoint; "%zone" after
   * a scoped one.
   */
  get address(): string {
    return (this.addressText ??= this.text());
  }

  toString(): string {
    const a = this.addressText ?? this.text();
    return this.family === 4 ? `${a}:${this.port}` : `[${a}]:${this.port}`;
  }

  /** A plain endpoint keeps no source address: nothing to forget. */
  clearSrc(): void {}
}

/** Parse "a.b.c.d:port", "[v6]:port" or "[v6%zone]:port". Throws TypeError naming the input. */
export function parseEndpoint(text: string): UdpEndpoint {
  const bad = (why: string): TypeError => new TypeError(`invalid endpoint ${JSON.stringify(text)}: ${why}`);
  let ip: Uint8Array | null;
  let zone = '';
  let portText: string;
  if (text.startsWith('[')) {
    const close = text.indexOf(']');
    if (close < 0 || text[close + 1] !== ':') throw bad('expected [address]:port');
    const inside = text.slice(1, close);
    const parsed = parseIpZone(inside);
    if (parsed === null && inside.includes('%') && parseIp(inside.slice(0, inside.indexOf('%')))?.length === 16) {
      throw bad('the zone after % must be an interface name or index');
    }
    ip = parsed?.ip ?? null;
    zone = parsed?.zone ?? '';
    portText = text.slice(close + 2);
    if (ip?.length !== 16) throw bad('not an IPv6 address');
  } else {
    const colon = text.lastIndexOf(':');
    if (colon < 0) throw bad('expected address:port');
    ip = parseIp(text.slice(0, colon));
    portText = text.slice(colon + 1);
    if (ip?.length !== 4) throw bad(ip !== null ? 'IPv6 addresses must be written [address]:port' : 'not a numeric IP address');
  }
  if (!/^[0-9]{1,5}$/.test(portText)) throw bad('port is not a number');
  const port = Number(portText);
  if (port > 65535) throw bad('port out of range 0..65535');
  return new UdpEndpoint(ip, port, zone);
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
