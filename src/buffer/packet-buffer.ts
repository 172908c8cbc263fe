/**
 * PacketBuffer: one chunk of packet memory with a data window and the origin it goes back to.
 *
 * The allocator pattern (DESIGN.md, "Packet memory"): buffers are taken at the edge (TUN read, UDP
 * receive) from a Source at the size only that reader knows, travel through the data path by
 * reference, and are released back to whichever origin made them. The handle object is created once
 * per chunk and reused for the chunk's whole life, so the steady-state data path allocates no handles.
 */

/**
 * Where a buffer goes back to. Public on purpose: an I/O back end may bring its own allocator (a ring
 * shared with the kernel, an arena) by implementing this and setting itself as the buffer's origin.
 */
export interface BufferOrigin {
  /** Take the buffer back. Called exactly once per get; the caller must not touch it afterwards. */
  release(buf: PacketBuffer): void;
}

/** Something that hands out buffers of at least `size` bytes of capacity, or null when it may not. */
export interface Source {
  /**
   * A live buffer with `capacity >= size`, its window empty at `start = end = headroom`, or null when
   * the source is exhausted (budget reached, size larger than any class). Never throws on the data path.
   */
  get(size: number): PacketBuffer | null;
}

/**
 * Headroom every buffer keeps before its data window: the 16-byte WireGuard transport header
 * (type 4 + receiver 4 + counter 8, paper 5.4.6) is written in front of the plaintext with no copy.
 */
export const HEADROOM_BYTES = 16;

export class PacketBuffer {
  /**
   * The memory this handle views, fixed for the life of the handle: a pool chunk's own view into its
   * slab, or (for an Arena handle) the whole arena, with the chunk at [base, limit).
   */
  readonly bytes: Uint8Array;
  /** Data window: bytes[start, end), indices into `bytes`, base <= start <= end <= limit. */
  start: number;
  end: number;
  /** Where release() sends this buffer. */
  origin: BufferOrigin;
  /** False once released; a second release or a use after release is a bug. */
  live: boolean;
  /** Intrusive free-list link owned by the origin; null while live. */
  next: PacketBuffer | null;
  /** Index of the slab this chunk lives in, within its origin (for native batch descriptors). */
  readonly slab: number;
  /**
   * The chunk inside `bytes` is [base, limit). A pool chunk owns its whole view (base 0, limit =
   * bytes.length); an Arena handle views the whole arena and moves base/limit on each take(), so it
   * needs no new view object. Set by the origin only.
   */
  base: number;
  limit: number;

  constructor(bytes: Uint8Array, origin: BufferOrigin, slab: number, base = 0, limit = bytes.length) {
    this.bytes = bytes;
    this.start = 0;
    this.end = 0;
    this.origin = origin;
    this.live = false;
    this.next = null;
    this.slab = slab;
    this.base = base;
    this.limit = limit;
  }

  /** Bytes in the chunk: limit - base (bytes.length for a pool chunk). */
  get capacity(): number {
    return this.limit - this.base;
  }

  /** Bytes in the data window. */
  get length(): number {
    return this.end - this.start;
  }

  /** Room before the window. */
  get headroom(): number {
    return this.start - this.base;
  }

  /** Room after the window. */
  get tailroom(): number {
    return this.limit - this.end;
  }

  /** A view of the data window. Allocates a view object: for the control path and tests, not per packet. */
  data(): Uint8Array {
    return this.bytes.subarray(this.start, this.end);
  }

  /** Reset the window to empty at `headroom` bytes into the chunk. */
  reset(headroom: number): void {
    this.start = this.base + headroom;
    this.end = this.base + headroom;
  }

  /** Give the buffer back to its origin. Exactly once per get. */
  release(): void {
    this.origin.release(this);
  }
}
