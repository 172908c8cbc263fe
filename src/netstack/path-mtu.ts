/**
 * Path MTU per destination (RFC 1191 for IPv4, RFC 8201 for IPv6): the tunnel MTU unless a Packet Too
 * Big / Fragmentation Needed message said less. A small fixed table scanned in order; the oldest entry
 * makes room for a new one, and an entry ages out after PMTU_AGE_MS so a path that grew back is found
 * again (RFC 1191 §6.3 and RFC 8201 §4 suggest ten minutes).
 *
 * Learned values are floored: IPv6 never below 1280 (RFC 8201 §4), IPv4 never below 552, as Linux
 * (min_pmtu) floors it, so a forged message cannot shrink packets to nothing. A message can only lower
 * the value; raising waits for the entry to age out.
 *
 * The common case, no entry at all, costs one comparison per lookup.
 */
import type { Clock } from '../base/clock.js';
import { IPV6_MIN_MTU } from './ipv6.js';
import { addressAt } from './bytes.js';
import type { IpFamily } from './transport.js';

/** Destinations remembered. Ours: a tunnel talks to few hosts whose paths are narrower than itself. */
export const PMTU_ENTRIES = 64;
/** Age of a learned path MTU before the tunnel MTU is tried again (RFC 1191 §6.3: ten minutes). */
export const PMTU_AGE_MS = 10 * 60_000;
/** Lowest IPv4 path MTU believed: 512 + 20 + 20, Linux's min_pmtu. */
export const IPV4_PMTU_FLOOR = 552;

export class PathMtu {
  private readonly family = new Uint8Array(PMTU_ENTRIES);
  private readonly addr = new Uint8Array(PMTU_ENTRIES * 16);
  private readonly value = new Uint32Array(PMTU_ENTRIES);
  private readonly expires = new Float64Array(PMTU_ENTRIES);
  private count = 0;

  constructor(private readonly clock: Clock) {}

  /** Entries held (for tests and stats). */
  get size(): number {
    return this.count;
  }

  /** The path MTU toward dst: a learned value below `linkMtu`, or linkMtu. */
  get(f: IpFamily, dst: Uint8Array, linkMtu: number): number {
    if (this.count === 0) return linkMtu;
    const i = this.find(f, dst);
    if (i < 0) return linkMtu;
    if (this.expires[i]! <= this.clock.now()) {
      this.remove(i);
      return linkMtu;
    }
    const v = this.value[i]!;
    return v < linkMtu ? v : linkMtu;
  }

  /**
   * A Packet Too Big said `mtu` toward dst. Returns the value now in force (floored), or 0 when the
   * message changes nothing (not lower than what we use).
   */
  lower(f: IpFamily, dst: Uint8Array, mtu: number, linkMtu: number): number {
    const floor = f === 4 ? IPV4_PMTU_FLOOR : IPV6_MIN_MTU;
    const v = mtu < floor ? floor : mtu;
    const current = this.get(f, dst, linkMtu);
    if (v >= current) return 0;
    let i = this.find(f, dst);
    if (i < 0) {
      if (this.count === PMTU_ENTRIES) this.remove(this.oldest());
      i = this.count++;
      this.family[i] = f;
      const len = f === 4 ? 4 : 16;
      for (let k = 0; k < len; k++) this.addr[i * 16 + k] = dst[k]!;
    }
    this.value[i] = v;
    this.expires[i] = this.clock.now() + PMTU_AGE_MS;
    return v;
  }

  clear(): void {
    this.count = 0;
  }

  private find(f: IpFamily, dst: Uint8Array): number {
    for (let i = 0; i < this.count; i++) {
      if (this.family[i] === f && addressAt(dst, this.addr, i * 16)) return i;
    }
    return -1;
  }

  private oldest(): number {
    let best = 0;
    for (let i = 1; i < this.count; i++) if (this.expires[i]! < this.expires[best]!) best = i;
    return best;
  }

  /** Move the last entry into slot i. */
  private remove(i: number): void {
    const last = --this.count;
    if (i === last) return;
    this.family[i] = this.family[last]!;
    this.addr.copyWithin(i * 16, last * 16, last * 16 + 16);
    this.value[i] = this.value[last]!;
    this.expires[i] = this.expires[last]!;
  }
}
