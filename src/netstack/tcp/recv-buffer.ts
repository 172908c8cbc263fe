/**
 * The receive buffer's bytes: payload is copied once, from the packet into a chunk, at its sequence
 * number (in order or not), and the Node stream receives views of the chunks (Buffer.subarray), never
 * a second copy. A chunk the reader has taken wholly is forgotten here (the reader's views keep it
 * alive while it needs them), so the memory this holds is the unread window plus one partly filled
 * chunk, and nothing once the connection has idled with everything read (trim()).
 *
 * Chunks start at 4 KiB and double each time one fills, up to RECV_CHUNK_BYTES (64 KiB, what a
 * net.Socket reads at once), so request/response traffic stays in small chunks and a bulk stream hands
 * the reader 64 KiB views as the kernel path does. Which ranges hold data is the receiver's business
 * (RCV.NXT and reassembly.ts); this only stores bytes where it is told.
 */
import { RECV_CHUNK_BYTES } from './constants.js';

const FIRST_CHUNK_BYTES = 4096;

export class RecvBuffer {
  /** Chunks in sequence order; chunk i holds [starts[i], starts[i] + chunks[i].length). */
  private readonly chunks: Buffer[];
  private readonly starts: number[];
  /** The next byte the reader takes (lies in chunks[0] when any chunk is held). */
  readSeq: number;
  private nextChunkBytes: number;

  constructor() {
    this.chunks = [];
    this.starts = [];
    this.readSeq = 0;
    this.nextChunkBytes = FIRST_CHUNK_BYTES;
  }

  /** Bytes of chunk memory held. */
  get allocatedBytes(): number {
    let n = 0;
    for (let i = 0; i < this.chunks.length; i++) n += this.chunks[i]!.length;
    return n;
  }

  /** Start the sequence space at the first data byte (IRS + 1). */
  reset(seq: number): void {
    this.chunks.length = 0;
    this.starts.length = 0;
    this.readSeq = seq | 0;
  }

  /** Store src[at, at + len) as the bytes [seq, seq + len). seq must not be before readSeq. */
  place(seq: number, src: Uint8Array, at: number, len: number): void {
    const end = (seq + len) | 0;
    this.cover(end);
    // Find the chunk holding seq, from the tail: in-order data lands in the last chunk or two.
    let i = this.chunks.length - 1;
    while (i > 0 && ((seq - this.starts[i]!) | 0) < 0) i--;
    let off = (seq - this.starts[i]!) >>> 0;
    while (len > 0) {
      const chunk = this.chunks[i]!;
      const n = Math.min(len, chunk.length - off);
      chunk.set(src.subarray(at, at + n), off);
      at += n;
      len -= n;
      i++;
      off = 0;
    }
  }

  /**
   * A view of the next readable bytes, from readSeq up to `limit` (RCV.NXT) within one chunk, at most
   * `max` bytes; null when nothing is readable. Moves readSeq past them.
   */
  pull(limit: number, max: number): Buffer | null {
    const avail = (limit - this.readSeq) | 0;
    if (avail <= 0 || this.chunks.length === 0) return null;
    const chunk = this.chunks[0]!;
    const off = (this.readSeq - this.starts[0]!) >>> 0;
    let n = Math.min(avail, chunk.length - off);
    if (n > max) n = max;
    const view = chunk.subarray(off, off + n);
    this.readSeq = (this.readSeq + n) | 0;
    if (off + n === chunk.length) {
      this.chunks.shift();
      this.starts.shift();
    }
    return view;
  }

  /**
   * The reader has everything (readSeq is RCV.NXT, nothing out of order): forget the partly filled
   * chunk, so an idle connection holds no receive memory; the next data starts a small chunk again.
   */
  trim(): void {
    this.chunks.length = 0;
    this.starts.length = 0;
    this.nextChunkBytes = FIRST_CHUNK_BYTES;
  }

  /** Forget every chunk (the connection is gone). */
  clear(): void {
    this.chunks.length = 0;
    this.starts.length = 0;
  }

  /** Append chunks until they reach `end`. */
  private cover(end: number): void {
    let n = this.chunks.length;
    let tail = n === 0 ? this.readSeq : (this.starts[n - 1]! + this.chunks[n - 1]!.length) | 0;
    while (((end - tail) | 0) > 0) {
      const size = this.nextChunkBytes;
      // A chunk that fills means a stream that fills chunks: make the next one larger.
      if (n > 0 && size < RECV_CHUNK_BYTES) this.nextChunkBytes = size * 2;
      this.chunks.push(Buffer.allocUnsafe(size));
      this.starts.push(tail);
      tail = (tail + size) | 0;
      n++;
    }
  }
}
