/**
 * The stack's own addresses: the wg-quick `Address =` list (IPv4 and IPv6, each with its prefix), and
 * the questions the IP layer asks of it on every packet (is this destination ours, which source to use
 * toward a destination). A handful of entries, scanned in order: no allocation per question.
 */
import { parseCidr } from '../net/address.js';
import type { IpFamily } from './transport.js';
import { addressAt } from './bytes.js';

/** One interface address with its prefix length. */
interface Local {
  readonly ip: Uint8Array;
  readonly cidr: number;
}

/** An interface has a few addresses; wg-quick lists rarely pass a handful. Our bound. */
export const MAX_LOCAL_ADDRESSES = 64;

export class LocalAddresses {
  private readonly v4: Local[] = [];
  private readonly v6: Local[] = [];

  /**
   * @param cidrs "10.0.0.2/24", "fd00::2/64", a bare address (a full-length prefix)
   * @throws RangeError naming a bad entry, or for more than MAX_LOCAL_ADDRESSES
   */
  constructor(cidrs: readonly string[]) {
    if (cidrs.length > MAX_LOCAL_ADDRESSES) {
      throw new RangeError(`NetStack: at most ${MAX_LOCAL_ADDRESSES} addresses, got ${cidrs.length}`);
    }
    for (const text of cidrs) {
      const p = parseCidr(text);
      const list = p.family === 4 ? this.v4 : this.v6;
      if (list.some((l) => addressAt(l.ip, p.ip, 0))) continue;
      list.push({ ip: p.ip, cidr: p.cidr });
    }
  }

  /** Addresses of one family, in configuration order. */
  list(family: IpFamily): Uint8Array[] {
    return (family === 4 ? this.v4 : this.v6).map((l) => l.ip);
  }

  /** The first address of the family, or null. */
  first(family: IpFamily): Uint8Array | null {
    const list = family === 4 ? this.v4 : this.v6;
    return list.length > 0 ? list[0]!.ip : null;
  }

  has(family: IpFamily): boolean {
    return (family === 4 ? this.v4 : this.v6).length > 0;
  }

  /** Whether b[at, at + 4 or 16) is one of ours. */
  hasAt(family: IpFamily, b: Uint8Array, at: number): boolean {
    const list = family === 4 ? this.v4 : this.v6;
    for (let i = 0; i < list.length; i++) if (addressAt(list[i]!.ip, b, at)) return true;
    return false;
  }

  isLocal(address: Uint8Array): boolean {
    if (address.length !== 4 && address.length !== 16) return false;
    return this.hasAt(address.length === 4 ? 4 : 6, address, 0);
  }

  /**
   * The source toward `dst`: the address whose prefix holds dst (the on-link one), else the first of
   * the family, as a host with one interface picks it (RFC 6724 §5 reduces to this here). null when the
   * stack has no address of the family.
   */
  sourceFor(family: IpFamily, dst: Uint8Array): Uint8Array | null {
    const list = family === 4 ? this.v4 : this.v6;
    if (list.length === 0) return null;
    for (let i = 0; i < list.length; i++) if (inPrefix(list[i]!, dst)) return list[i]!.ip;
    return list[0]!.ip;
  }
}

function inPrefix(l: Local, a: Uint8Array): boolean {
  if (a.length !== l.ip.length) return false;
  let bits = l.cidr;
  for (let i = 0; bits > 0; i++, bits -= 8) {
    const mask = bits >= 8 ? 0xff : (0xff << (8 - bits)) & 0xff;
    if (((a[i]! ^ l.ip[i]!) & mask) !== 0) return false;
  }
  return true;
}
