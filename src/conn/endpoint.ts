/**
 * UDP endpoints shared by the binds: parsing of "host:port" and "[v6]:port" (numeric only, as the
 * cross-platform UAPI description allows) and interning so that the data path compares endpoints by
 * identity and creates no object per received datagram.
 */
import { formatIp, parseIp } from '../net/address.js';
import type { Endpoint } from './bind.js';

/** `text` without an IPv6 %zone suffix (a scope is not part of the address). */
function withoutZone(text: string): string {
  const zone = text.indexOf('%');
  return zone < 0 ? text : text.slice(0, zone);
}

export class UdpEndpoint implements Endpoint {
  readonly family: 4 | 6;
  readonly address: string;
  readonly port: number;
  readonly addressBytes: Uint8Array;
  private readonly text: string;

  /**
   * @param address numeric address text (net/address.ts parseIp; an IPv6 %zone is dropped), or the
   *   address's 4 or 16 bytes (copied)
   * @throws TypeError for text that is no numeric address or bytes of another length; RangeError for a bad port
   */
  constructor(address: string | Uint8Array, port: number) {
    const bytes =
      typeof address === 'string'
        ? parseIp(withoutZone(address))
        : address.length === 4 || address.length === 16
          ? new Uint8Array(address)
          : null;
    if (bytes === null) {
      const what = typeof address === 'string' ? JSON.stringify(address) : `${address.length} bytes`;
      throw new TypeError(`endpoint address is not a numeric IP: ${what}`);
    }
    if (!Number.isInteger(port) || port < 0 || port > 65535) throw new RangeError(`endpoint port must be 0..65535, got ${port}`);
    this.family = bytes.length === 4 ? 4 : 6;
    this.addressBytes = bytes;
    // One text rule for every address (formatIp): RFC 5952, and an IPv4-mapped address stays IPv6,
    // written "::ffff:a.b.c.d", as wireguard-go's UAPI and `wg` print such an endpoint.
    this.address = formatIp(bytes);
    this.port = port;
    this.text = this.family === 4 ? `${this.address}:${port}` : `[${this.address}]:${port}`;
  }

  toString(): string {
    return this.text;
  }
}

/** Parse "a.b.c.d:port" or "[v6]:port" (an optional %zone is dropped). Throws TypeError naming the input. */
export function parseEndpoint(text: string): UdpEndpoint {
  const bad = (why: string): TypeError => new TypeError(`invalid endpoint ${JSON.stringify(text)}: ${why}`);
  let ip: Uint8Array | null;
  let portText: string;
  if (text.startsWith('[')) {
    const close = text.indexOf(']');
    if (close < 0 || text[close + 1] !== ':') throw bad('expected [address]:port');
    ip = parseIp(withoutZone(text.slice(1, close)));
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
  return new UdpEndpoint(ip, port);
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
