/**
 * Receiver indices (paper 5.4.2: "sender" is a random 32-bit index the other side echoes as
 * "receiver"). Each index names either a handshake in flight or a keypair; the receive path finds the
 * keypair of a transport message in one map lookup.
 *
 * The map is keyed by the index's top 30 bits (index >>> 2), with the whole index kept in the entry
 * and compared: a V8 small integer holds 31 bits, and a key above that is a heap number, one
 * allocation per lookup, per received datagram (25 MB of garbage in 8 s on a receiving daemon at
 * 2 Gbit/s, measured with the sampling heap profiler). New indices are drawn so that no two live
 * ones share a key; they stay uniformly random 32-bit values.
 */
import { randomU32 } from '../crypto/random.js';
import type { Keypair } from './keypair.js';
import type { Handshake } from './noise.js';

export interface IndexEntry<P> {
  /** The whole 32-bit index (the map's key is its top 30 bits). */
  readonly index: number;
  peer: P;
  handshake: Handshake | null;
  keypair: Keypair | null;
}

export class IndexTable<P> {
  private readonly map = new Map<number, IndexEntry<P>>();

  /** A fresh random index not in use, bound to a handshake of `peer`. */
  newHandshakeIndex(peer: P, handshake: Handshake): number {
    for (;;) {
      const index = randomU32();
      if (index === 0 || this.map.has(index >>> 2)) continue;
      this.map.set(index >>> 2, { index, peer, handshake, keypair: null });
      return index;
    }
  }

  /** Rebind an index from its handshake to the keypair it produced (same index, 5.4.5). */
  bindKeypair(index: number, keypair: Keypair): void {
    const e = this.lookup(index);
    if (e !== undefined) {
      e.handshake = null;
      e.keypair = keypair;
    }
  }

  lookup(index: number): IndexEntry<P> | undefined {
    const e = this.map.get(index >>> 2);
    return e !== undefined && e.index === index ? e : undefined;
  }

  delete(index: number): void {
    if (this.lookup(index) !== undefined) this.map.delete(index >>> 2);
  }

  get size(): number {
    return this.map.size;
  }
}
