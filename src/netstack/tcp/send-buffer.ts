/**
 * The send buffer: bytes the user wrote, from SND.UNA to the end of what is queued (RFC 9293 §3.3.1's
 * send sequence space, the part still held). One ring per connection, a power of two in size so a
 * sequence number maps to its byte with a mask; allocated at the first write, grown by doubling up
 * to the connection's limit, and dropped once the connection has been idle for a second with
 * everything acknowledged (trim), so an idle connection holds no send memory.
 *
 * Copies: a write copies the user's bytes in once (as the kernel does: Node's write callback lets
 * the user reuse the chunk, so keeping a reference is not safe); each transmission copies from here
 * into the packet buffer, which the device then seals in place, so a retransmission needs these bytes.
 */

/** 4 KiB: the smallest ring; a short request/response never allocates more. */
const MIN_RING_BYTES = 4096;

function pow2AtLeast(n: number): number {
  let p = MIN_RING_BYTES;
  while (p < n) p *= 2;
  return p;
}

export class SendBuffer {
  private ring: Uint8Array | null;
  private mask: number;
  /** Ring index of the byte at headSeq. */
  private headIndex: number;
  /** Sequence number of the first byte held. */
  headSeq: number;
  /** Bytes held. */
  length: number;
  /** Bytes the user may have queued at most (autotuned by the sender). */
  limit: number;

  constructor(limit: number) {
    this.ring = null;
    this.mask = 0;
    this.headIndex = 0;
    this.headSeq = 0;
    this.length = 0;
    this.limit = limit;
  }

  /** Room for more user bytes under the limit. */
  get space(): number {
    return this.limit > this.length ? this.limit - this.length : 0;
  }

  /** Bytes of ring memory held (for stats and memory tests). */
  get allocatedBytes(): number {
    return this.ring === null ? 0 : this.ring.length;
  }

  /** The sequence number just past the last byte held. */
  get tailSeq(): number {
    return (this.headSeq + this.length) | 0;
  }

  /** Start the sequence space: the first data byte is `seq` (ISS + 1). */
  reset(seq: number): void {
    this.headSeq = seq | 0;
    this.length = 0;
    this.headIndex = 0;
    this.ring = null;
    this.mask = 0;
  }

  /** Copy up to `space` bytes of src[at, at + len) in; returns how many were taken. */
  write(src: Uint8Array, at: number, len: number): number {
    const n = Math.min(len, this.space);
    if (n <= 0) return 0;
    const need = this.length + n;
    if (this.ring === null || this.ring.length < need) this.grow(need);
    const ring = this.ring!;
    const cap = ring.length;
    const tail = (this.headIndex + this.length) & this.mask;
    const first = Math.min(n, cap - tail);
    ring.set(src.subarray(at, at + first), tail);
    if (first < n) ring.set(src.subarray(at + first, at + n), 0);
    this.length = need;
    return n;
  }

  /** Copy the held bytes [seq, seq + len) to dst[dstAt, ...). The range must be held. */
  copyOut(seq: number, len: number, dst: Uint8Array, dstAt: number): void {
    const ring = this.ring!;
    const cap = ring.length;
    const from = (this.headIndex + ((seq - this.headSeq) >>> 0)) & this.mask;
    const first = Math.min(len, cap - from);
    dst.set(ring.subarray(from, from + first), dstAt);
    if (first < len) dst.set(ring.subarray(0, len - first), dstAt + first);
  }

  /** Drop `n` acknowledged bytes from the front; an emptied ring is given back. */
  consume(n: number): void {
    if (n <= 0) return;
    if (n > this.length) n = this.length;
    this.headSeq = (this.headSeq + n) | 0;
    this.length -= n;
    // An emptied ring stays while the connection is busy (a bulk sender empties it between writes;
    // freeing it then cost ~5% of a bulk transfer in re-growing); trim() gives it back when idle.
    this.headIndex = this.length === 0 ? 0 : (this.headIndex + n) & this.mask;
  }

  /** Give an empty ring back (the connection went idle). */
  trim(): void {
    if (this.length !== 0) return;
    this.ring = null;
    this.mask = 0;
    this.headIndex = 0;
  }

  private grow(need: number): void {
    const size = pow2AtLeast(Math.max(need, Math.min(this.limit, 2 * (this.ring?.length ?? 0))));
    const next = new Uint8Array(size);
    if (this.ring !== null && this.length > 0) this.copyOut(this.headSeq, this.length, next, 0);
    this.ring = next;
    this.mask = size - 1;
    this.headIndex = 0;
  }
}
