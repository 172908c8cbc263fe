/**
 * Receiver indices (paper 5.4.2: "sender" is a random 32-bit index the other side echoes as
 * "receiver"). Each index names either a handshake in flight or a keypair; the receive path finds the
 * keypair of a transport message in one map lookup.
 */
import { randomFillSync } from 'node:crypto';
import type { Keypair } from './keypair.js';
import type { Handshake } from './noise.js';

export interface IndexEntry<P> {
  peer: P;
  handshake: Handshake | null;
  keypair: Keypair | null;
}

const rnd = new Uint32Array(64);
let rndAt = rnd.length;

function randomU32(): number {
  if (rndAt === rnd.length) {
    randomFillSync(rnd);
    rndAt = 0;
  }
  return rnd[rndAt++]!;
}

export class IndexTable<P> {
  private readonly map = new Map<number, IndexEntry<P>>();

  /** A fresh random index not in use, bound to a handshake of `peer`. */
  newHandshakeIndex(peer: P, handshake: Handshake): number {
    for (;;) {
      const index = randomU32();
      if (index === 0 || this.map.has(index)) continue;
      this.map.set(index, { peer, handshake, keypair: null });
      return index;
    }
  }

  /** Rebind an index from its handshake to the keypair it produced (same index, 5.4.5). */
  bindKeypair(index: number, keypair: Keypair): void {
    const e = this.map.get(index);
    if (e !== undefined) {
      e.handshake = null;
      e.keypair = keypair;
    }
  }

  lookup(index: number): IndexEntry<P> | undefined {
    return this.map.get(index);
  }

  delete(index: number): void {
    this.map.delete(index);
  }

  get size(): number {
    return this.map.size;
  }
}
