/**
 * SegmentViews: the packets of a buffer that holds several back to back, each as a PacketBuffer of its
 * own without a copy. A UDP GRO read is the case (DESIGN.md, "Data path": "a GRO-coalesced datagram
 * stays one buffer: a segment view walks its packets in place"): the kernel hands over one datagram of
 * k segments of one size, each a WireGuard message, and each goes through open, the replay check and
 * the TUN write as a view whose window is that segment, in the parent's memory.
 *
 * A view is released like any buffer; the parent goes back to its own origin when the last view of
 * it comes back. View handles are made when more are out at once than ever before, then reused (a
 * free list), so the steady state allocates nothing: how many can be out is bounded by the parents
 * in flight, which the parents' pool and budget bound.
 *
 * A view's chunk is its segment, [base, limit): the headroom in front of a packet inside it is the
 * segment's own WireGuard header, which a TUN write may reuse for a virtio header.
 */
import type { BufferOrigin, PacketBuffer } from './packet-buffer.js';
import { PacketBuffer as Handle } from './packet-buffer.js';

const EMPTY = new Uint8Array(0);

export class SegmentViews implements BufferOrigin {
  /** Every handle made, by id (its `slab` field). */
  private readonly views: PacketBuffer[] = [];
  private readonly freeViews: number[] = [];
  /** Per view id: its group. */
  private viewGroup = new Int32Array(64);
  /** Per group: the parent and how many of its views are still out. */
  private readonly groupParent: (PacketBuffer | null)[] = [];
  private groupLeft = new Int32Array(16);
  private readonly freeGroups: number[] = [];
  /** Views out now, for leak checks. */
  outstanding = 0;

  /**
   * Starts handing out `count` views of `parent`, which is this object's until the last of them is
   * released. Returns the group id that view() takes.
   */
  group(parent: PacketBuffer, count: number): number {
    let g = this.freeGroups.pop();
    if (g === undefined) {
      g = this.groupParent.length;
      this.groupParent.push(null);
      if (g >= this.groupLeft.length) this.groupLeft = grow(this.groupLeft);
    }
    this.groupParent[g] = parent;
    this.groupLeft[g] = count;
    return g;
  }

  /**
   * A view of bytes [start, end) of group g's parent (inside the parent's data window), whose window
   * is all of it. One per count given to group().
   */
  view(g: number, start: number, end: number): PacketBuffer {
    const parent = this.groupParent[g]!;
    let id = this.freeViews.pop();
    let v: PacketBuffer;
    if (id === undefined) {
      id = this.views.length;
      v = new Handle(EMPTY, this, id, 0, 0);
      this.views.push(v);
      if (id >= this.viewGroup.length) this.viewGroup = grow(this.viewGroup);
    } else {
      v = this.views[id]!;
    }
    this.viewGroup[id] = g;
    v.bytes = parent.bytes;
    v.base = start;
    v.limit = end;
    v.start = start;
    v.end = end;
    v.live = true;
    this.outstanding++;
    return v;
  }

  /** A view comes back; with its group's last one, the parent goes back to its origin. */
  release(v: PacketBuffer): void {
    if (!v.live) throw new Error('segment view released twice');
    v.live = false;
    v.bytes = EMPTY;
    this.outstanding--;
    const id = v.slab;
    this.freeViews.push(id);
    const g = this.viewGroup[id]!;
    if (--this.groupLeft[g]! === 0) {
      const parent = this.groupParent[g]!;
      this.groupParent[g] = null;
      this.freeGroups.push(g);
      parent.release();
    }
  }
}

function grow(a: Int32Array<ArrayBuffer>): Int32Array<ArrayBuffer> {
  const b = new Int32Array(a.length * 2);
  b.set(a);
  return b;
}
