/**
 * The Linux bind's endpoints (linux.ts): one LinuxEndpoint per remote address, port and IPv6 scope,
 * interned by their bytes (no string per datagram), the same object parseEndpoint returns.
 *
 * - The sticky source: the local address the peer last reached us at (IP_PKTINFO / IPV6_PKTINFO),
 *   which replies leave from, so a multi-homed host answers from the address it was asked on
 *   (wireguard-go's StdNetEndpoint src, the kernel's endpoint src4/src6). Forgotten on request
 *   (clearSrc: a rebind, an endpoint set by hand) and learned again from the next datagram.
 * - The zone (RFC 4007 §11): a link-local endpoint keeps the interface index the kernel needs
 *   (sin6_scope_id, both ways) and the name or index to print: as set, or for one learned from a
 *   packet, the arriving interface's name, as wireguard-go prints it.
 */
import { interfaceIndex, interfaceName } from '../native/index.js';
import type { Endpoint } from './bind.js';
import { UdpEndpoint } from './endpoint.js';

/** Interned endpoints before the table is flushed (a flood of spoofed sources cannot grow it). */
const ENDPOINT_LIMIT = 4096;

/**
 * The interface index an IPv6 zone names: a decimal index as it is, a name looked up in our
 * namespace (where the bind's sockets are).
 * @throws TypeError when no interface has that name
 */
export function zoneScope(zone: string): number {
  if (/^[0-9]+$/.test(zone)) {
    const index = Number(zone);
    if (index > 0xffffffff) throw new TypeError(`zone ${zone} is past the largest interface index`);
    return index;
  }
  const index = interfaceIndex(zone);
  if (index === 0) throw new TypeError(`zone ${JSON.stringify(zone)}: no interface has that name`);
  return index;
}

/** A UDP endpoint with the sticky local source address replies to it leave from. */
export class LinuxEndpoint extends UdpEndpoint {
  /** The interface an IPv6 destination is scoped to (sin6_scope_id), 0 for none. */
  readonly scopeId: number;
  /**
   * The local address (4 or 16 bytes, by family) the peer last reached us at; valid when hasSrc.
   * Made at the first one learned: an endpoint only configured (every idle peer's) has none.
   */
  srcAddress: Uint8Array | null;
  hasSrc: boolean;
  /** The interface that address arrived on; given to the kernel only for IPv6 link-local sources. */
  srcIfindex: number;
  /** Next endpoint in the same intern bucket. */
  next: LinuxEndpoint | null;

  /**
   * @param zone the zone as set ('' for none, or for one learned: then `scopeId` alone is given)
   * @param scopeId the interface index the zone names
   */
  constructor(address: string | Uint8Array, port: number, zone = '', scopeId = 0) {
    super(address, port, zone);
    this.scopeId = this.family === 6 ? scopeId : 0;
    this.srcAddress = null;
    this.hasSrc = false;
    this.srcIfindex = 0;
    this.next = null;
  }

  /** Records the local address a datagram from this endpoint arrived at. */
  learnSrc(bytes: Uint8Array, at: number, ifindex: number): void {
    const src = (this.srcAddress ??= new Uint8Array(this.family === 4 ? 4 : 16));
    for (let i = 0; i < src.length; i++) src[i] = bytes[at + i]!;
    this.hasSrc = true;
    this.srcIfindex = ifindex;
  }

  /** The zone as set, or the name of the interface a learned one arrived on (its index if it has none now). */
  override get zone(): string {
    if (this.zoneText === '' && this.scopeId !== 0) {
      let name: string | null = null;
      try {
        name = interfaceName(this.scopeId);
      } catch {
        /* printed as the index */
      }
      this.zoneText = name ?? String(this.scopeId);
    }
    return this.zoneText;
  }

  /** The kernel chooses the source of the next send; the next datagram from the peer teaches one again. */
  override clearSrc(): void {
    this.hasSrc = false;
    this.srcIfindex = 0;
  }

  /** Sets (or, with null, clears) the sticky source. */
  setSrc(address: Uint8Array | null, ifindex = 0): void {
    if (address === null) {
      this.clearSrc();
      return;
    }
    const len = this.family === 4 ? 4 : 16;
    if (address.length !== len) throw new RangeError(`source address for ${this} must be ${len} bytes, got ${address.length}`);
    this.learnSrc(address, 0, ifindex);
  }
}

/**
 * Interns LinuxEndpoints by address bytes, port and (IPv6) scope. IPv4 keys are exact (address * 2^16
 * + port); IPv6 keys hash the address and scope, and a bucket chains the endpoints that share a key.
 */
export class EndpointInterner {
  private readonly v4 = new Map<number, LinuxEndpoint>();
  private readonly v6 = new Map<number, LinuxEndpoint>();
  private size = 0;
  private last: LinuxEndpoint | null = null;

  /**
   * The endpoint for the 4 or 16 address bytes at bytes[at..], port and IPv6 scope; created on first
   * sight, with `zone` as its text (a learned one works its name out from the scope when asked).
   *
   * The endpoint found last is compared first: a batch is mostly one peer's datagrams, and the map key
   * (above 2^31) is a heap number, so a lookup per datagram made ~16 bytes of garbage per datagram
   * (25 MB in 8 s on a receiving daemon at 2 Gbit/s, measured with the sampling heap profiler).
   */
  get(family: number, bytes: Uint8Array, at: number, port: number, scope: number, zone = ''): LinuxEndpoint {
    const last = this.last;
    if (last !== null && last.port === port && last.family === family && last.scopeId === scope && sameBytes(last.addressBytes, bytes, at)) {
      return last;
    }
    const ep = this.lookup(family, bytes, at, port, scope, zone);
    this.last = ep;
    return ep;
  }

  private lookup(family: number, bytes: Uint8Array, at: number, port: number, scope: number, zone: string): LinuxEndpoint {
    if (family === 4) {
      const key = (((bytes[at]! << 24) | (bytes[at + 1]! << 16) | (bytes[at + 2]! << 8) | bytes[at + 3]!) >>> 0) * 65536 + port;
      const ep = this.v4.get(key);
      if (ep !== undefined) return ep;
      return this.add(this.v4, key, new LinuxEndpoint(bytes.subarray(at, at + 4), port));
    }
    let h = scope;
    for (let i = 0; i < 16; i += 4) {
      const w = (bytes[at + i]! << 24) | (bytes[at + i + 1]! << 16) | (bytes[at + i + 2]! << 8) | bytes[at + i + 3]!;
      h = Math.imul(h ^ w, 0x9e3779b1);
    }
    const key = (h >>> 0) * 65536 + port;
    const head = this.v6.get(key) ?? null;
    for (let ep = head; ep !== null; ep = ep.next) {
      if (ep.port === port && ep.scopeId === scope && sameBytes(ep.addressBytes, bytes, at)) return ep;
    }
    const ep = new LinuxEndpoint(bytes.subarray(at, at + 16), port, zone, scope);
    ep.next = head;
    return this.add(this.v6, key, ep);
  }

  /** A LinuxEndpoint for any Endpoint: itself when it is one (its sticky source lives on it). */
  intern(ep: Endpoint): LinuxEndpoint {
    if (ep instanceof LinuxEndpoint) return ep;
    return this.get(ep.family, ep.addressBytes, 0, ep.port, ep.zone === '' ? 0 : zoneScope(ep.zone), ep.zone);
  }

  private add(map: Map<number, LinuxEndpoint>, key: number, ep: LinuxEndpoint): LinuxEndpoint {
    if (this.size >= ENDPOINT_LIMIT) {
      this.v4.clear();
      this.v6.clear();
      this.size = 0;
      this.last = null;
      ep.next = null;
    }
    map.set(key, ep);
    this.size++;
    return ep;
  }
}

function sameBytes(a: Uint8Array, b: Uint8Array, at: number): boolean {
  for (let i = 0; i < a.length; i++) if (a[i] !== b[at + i]) return false;
  return true;
}
