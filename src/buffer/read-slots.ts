/**
 * Read slots: the buffers a batch reader (a TUN fd or a UDP socket read many packets per syscall)
 * holds for its next read, taken from its Source at the size only it knows (DESIGN.md "Allocation at
 * the edge"). One helper for every such reader, so each refills the same way:
 *
 * - fill() tops the held slots up to the target before a read; a Source that gives nothing leaves
 *   them as they are, and 0 held means stop reading until the Source has buffers again (backpressure);
 * - held slots smaller than the size now asked for (a larger MTU, a jumbo datagram seen) go back
 *   first, so the next read cannot truncate what the last one learned to expect;
 * - taken(n) after a read that filled slots [0, n): those are the reader's to hand on, the unused
 *   ones move to the front for the next read, and the target follows the traffic: twice this read,
 *   within [minSlots, capacity], so an idle reader pins few buffers and a burst reaches the full batch
 *   in a few reads (8, 16, 32, 64, 128).
 *
 * Not for concurrent use; the reader owns it and release(0)s it on close.
 */
import type { PacketBuffer, Source } from './packet-buffer.js';

/**
 * 8: slots a light reader keeps. A trickle of packets is read without a top-up per readiness, and an
 * idle TUN or socket pins 8 small chunks (16 KiB) rather than a batch of 128 (256 KiB).
 */
export const MIN_READ_SLOTS = 8;

export class ReadSlots {
  /** slots[0, held) hold buffers not yet read into; the rest are null. */
  readonly slots: (PacketBuffer | null)[];
  held: number;
  readonly capacity: number;
  private readonly minSlots: number;
  private target: number;

  /** @throws RangeError unless 1 <= minSlots <= capacity. */
  constructor(capacity: number, minSlots: number = Math.min(MIN_READ_SLOTS, capacity)) {
    if (!Number.isInteger(capacity) || !Number.isInteger(minSlots) || minSlots < 1 || minSlots > capacity) {
      throw new RangeError(`read slots: need 1 <= minSlots <= capacity, got ${minSlots} and ${capacity}`);
    }
    this.slots = new Array<PacketBuffer | null>(capacity).fill(null);
    this.held = 0;
    this.capacity = capacity;
    this.minSlots = minSlots;
    this.target = minSlots;
  }

  /**
   * Tops the held slots up to the target with buffers of at least `bytes` capacity from `source`,
   * after giving back held ones smaller than that. Returns how many are held (0: the source is dry).
   */
  fill(source: Source, bytes: number): number {
    const slots = this.slots;
    let held = this.held;
    for (let i = 0; i < held; i++) {
      if (slots[i]!.capacity < bytes) {
        held = this.dropSmaller(bytes);
        break;
      }
    }
    while (held < this.target) {
      const buf = source.get(bytes);
      if (buf === null) break;
      slots[held++] = buf;
    }
    this.held = held;
    return held;
  }

  /** Gives back held slots of less than `bytes` capacity, keeping the order of the rest; returns how many are left. */
  private dropSmaller(bytes: number): number {
    const slots = this.slots;
    let kept = 0;
    for (let i = 0; i < this.held; i++) {
      const buf = slots[i]!;
      slots[i] = null;
      if (buf.capacity < bytes) buf.release();
      else slots[kept++] = buf;
    }
    this.held = kept;
    return kept;
  }

  /**
   * A read filled slots [0, n): they are the caller's from now on. The unused slots move to the
   * front, the target becomes twice n (within [minSlots, capacity]) and held slots past it go back.
   */
  taken(n: number): void {
    const slots = this.slots;
    const held = this.held;
    const rest = held - n;
    for (let i = 0; i < rest; i++) slots[i] = slots[n + i]!;
    for (let i = rest; i < held; i++) slots[i] = null;
    this.held = rest;
    this.target = Math.min(this.capacity, Math.max(this.minSlots, 2 * n));
    this.release(this.target);
  }

  /** Gives held slots past `keep` back to their origin (0: all, on close). */
  release(keep: number): void {
    const slots = this.slots;
    while (this.held > keep) {
      const i = --this.held;
      slots[i]!.release();
      slots[i] = null;
    }
  }
}
