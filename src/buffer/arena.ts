/**
 * Arena: bump-pointer scratch memory over one ArrayBuffer, reset after each batch (DESIGN.md,
 * "Packet memory", point 5). GRO on the TUN write side builds its super-packets here, so coalescing
 * allocates nothing per packet.
 *
 * Two ways in, sharing one bump pointer:
 * - alloc(n) returns an offset into `bytes` (or -1 when full), for raw scratch;
 * - take(n) returns a PacketBuffer whose origin is this arena, so a coalesced super-packet travels the
 *   same write path as pool buffers. Handles come from a reused array that grows only when a batch
 *   needs more than any batch before; each views the whole arena with its chunk at [base, limit), so a
 *   take creates no view object. release() of such a handle frees nothing (memory comes back on
 *   reset()); it only counts, so reset() can tell whether a handle is still out.
 *
 * Not for concurrent use: one event loop owns an arena.
 */

import { PacketBuffer, type BufferOrigin } from './packet-buffer.js';
import { ARENA_BYTES, POISON_BYTE } from './constants.js';

export interface ArenaOptions {
  /** Bytes of scratch. Default 256 KiB. */
  capacity?: number;
  /** Poison released and reset memory, and throw from reset() while handles are out. Default WGTS_DEBUG_BUFFERS=1. */
  debug?: boolean;
}

export class Arena implements BufferOrigin {
  /** The whole arena; alloc() offsets and handle windows index into it. */
  readonly bytes: Uint8Array;
  readonly capacity: number;
  readonly debug: boolean;
  private top: number;
  private readonly handles: PacketBuffer[];
  private taken: number;
  private out: number;
  private leaked: number;

  /** @throws RangeError when capacity is not a positive integer. */
  constructor(options?: ArenaOptions) {
    const capacity = options?.capacity ?? ARENA_BYTES;
    if (!Number.isInteger(capacity) || capacity <= 0) {
      throw new RangeError(`Arena: capacity must be a positive integer, got ${capacity}`);
    }
    this.bytes = new Uint8Array(new ArrayBuffer(capacity));
    this.capacity = capacity;
    this.debug = options?.debug ?? process.env['WGTS_DEBUG_BUFFERS'] === '1';
    this.top = 0;
    this.handles = [];
    this.taken = 0;
    this.out = 0;
    this.leaked = 0;
  }

  /** Bytes handed out since the last reset (including alignment padding). */
  get used(): number {
    return this.top;
  }

  /** Bytes still free. */
  get available(): number {
    return this.capacity - this.top;
  }

  /** Handles from take() not yet released. */
  get outstanding(): number {
    return this.out;
  }

  /** Handles found still out by reset() so far (bugs). */
  get leaks(): number {
    return this.leaked;
  }

  /**
   * Reserve `n` bytes (a non-negative integer) at an offset that is a multiple of `align` (a power of
   * two, default 1). Back-to-back allocations with align 1 are contiguous, so a super-packet can be
   * appended piece by piece. Returns the offset into `bytes`, or -1 when there is no room (or n < 0).
   */
  alloc(n: number, align = 1): number {
    const off = (this.top + align - 1) & -align;
    if (n < 0 || n > this.capacity - off) return -1;
    this.top = off + n;
    return off;
  }

  /**
   * A live handle over `n` fresh bytes: chunk [base, base + n) of `bytes`, window empty at the chunk's
   * start (no headroom; buf.reset(h) moves it). Null when there is no room.
   */
  take(n: number): PacketBuffer | null {
    const off = this.alloc(n);
    if (off < 0) return null;
    const handles = this.handles;
    if (this.taken === handles.length) handles.push(new PacketBuffer(this.bytes, this, 0, 0, 0));
    const buf = handles[this.taken++]!;
    buf.base = off;
    buf.limit = off + n;
    buf.reset(0);
    buf.live = true;
    this.out++;
    return buf;
  }

  /**
   * Take back a handle from take(). Frees no memory; counts.
   * @throws Error for a buffer of another origin or one already released.
   */
  release(buf: PacketBuffer): void {
    if (buf.origin !== this) throw new Error('Arena: released a buffer of another origin');
    if (!buf.live) throw new Error('Arena: buffer released twice');
    buf.live = false;
    if (this.debug) this.bytes.fill(POISON_BYTE, buf.base, buf.limit);
    this.out--;
  }

  /**
   * Make the whole arena free again and reuse every handle. Returns the number of handles still out,
   * which is a bug: in debug mode that throws; otherwise they are retired (a late release throws as a
   * double release) and counted in `leaks`.
   */
  reset(): number {
    const stillOut = this.out;
    if (stillOut !== 0) {
      if (this.debug) throw new Error(`Arena: reset with ${stillOut} handle(s) still outstanding`);
      const handles = this.handles;
      for (let i = 0; i < this.taken; i++) handles[i]!.live = false;
      this.leaked += stillOut;
      this.out = 0;
    }
    if (this.debug) this.bytes.fill(POISON_BYTE, 0, this.top);
    this.top = 0;
    this.taken = 0;
    return stillOut;
  }
}
