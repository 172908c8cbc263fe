// MACs of many windows under one key in one call: how a responder checks mac1 of a whole batch of
// received handshake messages (paper 5.4.4 Cookie MACs: mac1 = MAC(HASH("mac1----" || S_pub), the
// message up to mac1), checked on every handshake message before any other work). The shim's
// blake2sMacBatch does the batch where it is loaded, the TypeScript twin otherwise; the windows are
// described by a SlabBatch, so a batch costs no object per message.
//
// mac1's 116 bytes, batch of 128, median of 3 x 2,000 batches: ~415 ns a message, against ~510 ns
// for one blake2sMac call per message, which also needs a subarray per message.
import { native } from '../native/load.js';
import { SlabBatch } from '../native/slab-batch.js';
import { referenceBlake2sMacBatch } from './blake2s-reference.js';
import { MAC_LEN } from './blake2s.js';

export class MacBatch {
  readonly capacity: number;
  /** Slots in use, 0..capacity. */
  count: number;
  private readonly windows: SlabBatch;
  /** Slot i's MAC, at i * MAC_LEN, after compute(). */
  private readonly macs: Uint8Array;
  /** MAC_LEN for a computed slot, -1 for an empty one. */
  private readonly results: Int32Array;

  /** @throws RangeError unless 1 <= capacity <= MAX_BATCH (the shim's largest batch). */
  constructor(capacity: number) {
    this.windows = new SlabBatch(capacity);
    this.capacity = capacity;
    this.count = 0;
    this.macs = new Uint8Array(capacity * MAC_LEN);
    this.results = new Int32Array(capacity);
  }

  /** Slot i is bytes[start, start + length). */
  set(i: number, bytes: Uint8Array, start: number, length: number): void {
    this.windows.set(i, bytes, start, length);
  }

  /** Slot i has nothing to MAC; it matches nothing. */
  setEmpty(i: number): void {
    this.windows.setEmpty(i);
  }

  /** MACs slots 0..count-1 under `key`, then lets go of the windows' memory. */
  compute(key: Uint8Array): void {
    const w = this.windows;
    const run = native === null ? referenceBlake2sMacBatch : native.blake2sMacBatch;
    run(key, w.slabs, w.slabIndex, w.offsets, w.sizes, this.macs, MAC_LEN, this.results, this.count);
    w.clear();
  }

  /** Slot i's MAC equals bytes[at, at + MAC_LEN), compared in constant time. */
  matches(i: number, bytes: Uint8Array, at: number): boolean {
    if (this.results[i] !== MAC_LEN) return false;
    const m = this.macs;
    const o = i * MAC_LEN;
    let diff = 0;
    for (let j = 0; j < MAC_LEN; j++) diff |= m[o + j]! ^ bytes[at + j]!;
    return diff === 0;
  }
}
