/**
 * The bookkeeping behind TieredPool: a Tier is one size class (its counters and the stack of slabs
 * with free chunks), a Slab one carved ArrayBuffer (its handles, its own intrusive free list and its
 * outstanding count, which tells trim() when it is wholly free). Internal to this directory; plain
 * fields, all set in the constructor in a fixed order, so the pool's hot path bumps them in place.
 */

import type { PacketBuffer } from './packet-buffer.js';
import { POISON_BYTE } from './constants.js';

/** One size class. Counters are plain fields so the hot path bumps them in place. */
export class Tier {
  readonly index: number;
  readonly chunkBytes: number;
  readonly chunksPerSlab: number;
  readonly slabBytes: number;
  /** Slabs with at least one free chunk: avail[0, availCount). Grows only past its largest size. */
  avail: Slab[];
  availCount: number;
  slabCount: number;
  outstanding: number;
  peakOutstanding: number;
  gets: number;
  hits: number;
  misses: number;
  refused: number;
  failed: number;
  trimmed: number;

  constructor(index: number, chunkBytes: number, targetSlabBytes: number) {
    this.index = index;
    this.chunkBytes = chunkBytes;
    this.chunksPerSlab = Math.max(1, Math.floor(targetSlabBytes / chunkBytes));
    this.slabBytes = this.chunksPerSlab * chunkBytes;
    this.avail = [];
    this.availCount = 0;
    this.slabCount = 0;
    this.outstanding = 0;
    this.peakOutstanding = 0;
    this.gets = 0;
    this.hits = 0;
    this.misses = 0;
    this.refused = 0;
    this.failed = 0;
    this.trimmed = 0;
  }
}

/** One slab: its memory, its handles, its own free list and how many of its chunks are out. */
export class Slab {
  readonly index: number;
  readonly tier: Tier;
  readonly memory: ArrayBuffer;
  /** Every handle carved from this slab, by chunk number. */
  readonly handles: PacketBuffer[];
  freeHead: PacketBuffer | null;
  freeCount: number;
  outstanding: number;
  /** Clock reading when outstanding last fell to zero. */
  idleSince: number;

  constructor(index: number, tier: Tier, memory: ArrayBuffer, now: number) {
    this.index = index;
    this.tier = tier;
    this.memory = memory;
    this.handles = [];
    this.freeHead = null;
    this.freeCount = 0;
    this.outstanding = 0;
    this.idleSince = now;
  }
}

/** Debug: throws if any byte of a free chunk lost the poison, naming tier, slab and offset. */
export function checkPoison(buf: PacketBuffer, tier: Tier): void {
  const bytes = buf.bytes;
  for (let i = 0; i < bytes.length; i++) {
    if (bytes[i] !== POISON_BYTE) {
      throw new Error(
        `TieredPool: chunk written after release (tier ${tier.index}: ${tier.chunkBytes}-byte chunks, ` +
          `slab ${buf.slab}, chunk at slab offset ${bytes.byteOffset}, byte ${i} = 0x${bytes[i]!.toString(16)}, ` +
          `expected 0x${POISON_BYTE.toString(16)})`,
      );
    }
  }
}
