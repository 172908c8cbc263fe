/**
 * AeadBatch: many in-place seals or opens described once, so the data path makes one call per batch
 * (send.ts and receive.ts fill it; aead.ts's sealBatch and openBatch run it, natively where the shim
 * is loaded). Every array is allocated once, at `capacity`.
 */
import type { AeadKey } from './aead-key.js';

/**
 * Slot i is keys[i], counters[i] and the window bufs[i][starts[i], starts[i] + lengths[i]); results[i]
 * receives what sealInPlace / openInPlace would return for it (-1 for a failure). Not safe for
 * concurrent use: the native batch reads and writes these same arrays during its call.
 */
export class AeadBatch {
  readonly capacity: number;
  /** Slots in use, 0..capacity. */
  count: number;
  keys: (AeadKey | null)[];
  counters: Float64Array;
  bufs: (Uint8Array | null)[];
  starts: Int32Array;
  lengths: Int32Array;
  results: Int32Array;

  constructor(capacity: number) {
    if (!Number.isInteger(capacity) || capacity < 1) {
      throw new RangeError(`capacity: expected a positive integer, got ${capacity}`);
    }
    this.capacity = capacity;
    this.count = 0;
    this.keys = new Array<AeadKey | null>(capacity).fill(null);
    this.counters = new Float64Array(capacity);
    this.bufs = new Array<Uint8Array | null>(capacity).fill(null);
    this.starts = new Int32Array(capacity);
    this.lengths = new Int32Array(capacity);
    this.results = new Int32Array(capacity);
  }

  /** Drops every key and buffer reference, so a finished batch pins nothing, and empties it. */
  clear(): void {
    for (let i = 0; i < this.capacity; i++) {
      this.keys[i] = null;
      this.bufs[i] = null;
    }
    this.count = 0;
  }
}
