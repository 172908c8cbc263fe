/**
 * SlabBatch: how a batch of packet windows is described to the C shim without an object per packet
 * (DESIGN.md, "JS owns every byte"): a table of slabs (the ArrayBuffers the windows live in) and, per
 * packet, the slab's index, the window's byte offset in that slab and its size, in reused Int32Arrays.
 *
 * Why a slab table rather than one view per packet: the C fetches a slab's pointer once per call,
 * and a pool carves hundreds of chunks from one slab, so a batch of 128 usually costs one or two
 * N-API lookups instead of 128. Measured (aeadSeal of 0-byte packets, batch 128, this machine): the
 * per-packet N-API cost fell from ~270 ns with a Uint8Array per packet to ~15 ns with the table.
 *
 * Not for concurrent use; one owner fills, calls, then clear()s.
 */
import { MAX_BATCH, type SlabMemory } from './binding.js';

// Unused table entries hold this rather than being holes: a holey array is a slower elements kind.
const EMPTY = new ArrayBuffer(0);

/** Slab table entries searched for a match before a new one is appended (duplicates are harmless). */
const SLAB_SEARCH = 4;

export class SlabBatch {
  readonly capacity: number;
  /** Slab table: slabs[0, slabCount), what the C reads. */
  readonly slabs: SlabMemory[];
  slabCount: number;
  readonly slabIndex: Int32Array;
  readonly offsets: Int32Array;
  /** Window sizes: capacities for a read, lengths for a write or an AEAD call. */
  readonly sizes: Int32Array;
  /** The memory behind each table entry (an entry may be a view over it), compared to find it. */
  private readonly memory: ArrayBufferLike[];

  /** @throws RangeError unless 1 <= capacity <= MAX_BATCH. */
  constructor(capacity: number = MAX_BATCH) {
    if (!Number.isInteger(capacity) || capacity < 1 || capacity > MAX_BATCH) {
      throw new RangeError(`SlabBatch capacity must be 1..${MAX_BATCH}, got ${capacity}`);
    }
    this.capacity = capacity;
    this.slabs = new Array<SlabMemory>(capacity).fill(EMPTY);
    this.memory = new Array<ArrayBufferLike>(capacity).fill(EMPTY);
    this.slabCount = 0;
    this.slabIndex = new Int32Array(capacity);
    this.offsets = new Int32Array(capacity);
    this.sizes = new Int32Array(capacity);
  }

  /**
   * Slot i is the window bytes[start, start + size). The caller keeps start + size within bytes;
   * the C re-checks against the slab and aborts on a lie.
   */
  set(i: number, bytes: Uint8Array, start: number, size: number): void {
    const memory = bytes.buffer;
    const mem = this.memory;
    const n = this.slabCount;
    // The last entry first: consecutive packets nearly always share a slab.
    let s = n - 1;
    if (s < 0 || mem[s] !== memory) s = this.find(memory, n);
    this.slabIndex[i] = s;
    this.offsets[i] = bytes.byteOffset + start;
    this.sizes[i] = size;
  }

  private find(memory: ArrayBufferLike, n: number): number {
    const mem = this.memory;
    const stop = n > SLAB_SEARCH ? n - SLAB_SEARCH : 0;
    for (let s = n - 2; s >= stop; s--) if (mem[s] === memory) return s;
    mem[n] = memory;
    // A SharedArrayBuffer is not an ArrayBuffer to N-API; a view over all of it is.
    this.slabs[n] = memory instanceof ArrayBuffer ? memory : new Uint8Array(memory);
    this.slabCount = n + 1;
    return n;
  }

  /** Slot i is empty: the C skips it (AEAD: result -1) or asserts (I/O: a caller bug). */
  setEmpty(i: number): void {
    this.slabIndex[i] = -1;
    this.offsets[i] = 0;
    this.sizes[i] = 0;
  }

  /** Drops the slab references, so a finished batch pins no memory, and empties the table. */
  clear(): void {
    const slabs = this.slabs;
    const mem = this.memory;
    for (let s = 0; s < this.slabCount; s++) {
      slabs[s] = EMPTY;
      mem[s] = EMPTY;
    }
    this.slabCount = 0;
  }
}
