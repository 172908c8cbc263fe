/**
 * Splits the byte stream of one UAPI connection into requests (cross-platform UAPI description): a
 * client may send several on one connection, each either
 *
 *   "get=1\n\n"                      or
 *   "set=1\n" key=value lines "\n"   (the request ends at the first empty line).
 *
 * A set is not buffered whole: each line goes to the request's line sink (device/uapi-parser.ts) as soon
 * as it is complete, so a request of any size is read in the memory of one line. Bytes arrive in chunks
 * that may cut a line anywhere; each byte is looked at once however the stream is chunked. A line
 * longer than the sink's bound is skipped to its end and reported, not buffered. As wireguard-go's
 * line scanner does, a "\r" before a set line's newline is dropped. Any other operation line is answered
 * by closing the connection, as wireguard-go's IpcHandle does.
 */
import { UAPI_MAX_LINE_BYTES } from '../device/uapi-parser.js';

/** Where the lines of one set request go. */
export interface SetLineSink {
  /** One line of the body, without its newline. */
  line(text: string): void;
  /** A line longer than the reader's bound went by; its bytes were dropped. */
  lineTooLong(): void;
}

export type UapiRequest<S extends SetLineSink> =
  | { kind: 'get' }
  /** A set whose lines have all gone to `body` (it ended at the empty line, or at EOF). */
  | { kind: 'set'; body: S }
  /**
   * "get=1\n" followed by something other than the empty line. wireguard-go answers EINVAL having
   * consumed that one byte, then reads on; we do the same so a pipelining client sees the same replies.
   */
  | { kind: 'bad-get' }
  /** Not a UAPI operation: close the connection. `line` is a redacted preview for the log. */
  | { kind: 'invalid'; line: string };

const NL = 0x0a;
const CR = 0x0d;
const GET_OP = 'get=1';
const SET_OP = 'set=1';
/** Longest operation line we wait for before calling it invalid ("get=1"/"set=1" plus slack). */
const MAX_OP_LINE_BYTES = 64;
/** The buffer's first size; it grows while a request runs and more bytes wait behind it. */
const INITIAL_BYTES = 1 << 14;
/** Past this, the buffer goes back to INITIAL_BYTES once empty: no big buffer per idle connection. */
const KEEP_BYTES = 1 << 18;

export class RequestReader<S extends SetLineSink> {
  private buf: Buffer;
  /** Bytes not yet consumed are buf[head..len). */
  private head = 0;
  private len = 0;
  /** Where the next scan for a newline starts; bytes in [head, scan) were already looked at. */
  private scan = 0;
  /** The set being read, or null between requests. */
  private body: S | null = null;
  /** Inside a line that passed the bound: drop bytes up to its newline. */
  private skipping = false;

  /** `newSet` makes the sink for each set request as its "set=1" line arrives. */
  constructor(
    private readonly newSet: () => S,
    private readonly maxLineBytes = UAPI_MAX_LINE_BYTES,
  ) {
    this.buf = Buffer.allocUnsafe(INITIAL_BYTES);
  }

  /** Bytes received and not yet consumed. */
  get buffered(): number {
    return this.len - this.head;
  }

  push(chunk: Uint8Array): void {
    if (this.len + chunk.length > this.buf.length) this.makeRoom(chunk.length);
    this.buf.set(chunk, this.len);
    this.len += chunk.length;
  }

  /** The next complete request, or null when more bytes are needed. */
  next(): UapiRequest<S> | null {
    if (this.body !== null) return this.nextSetLines();
    const nl = this.findNewline();
    if (nl < 0) {
      if (this.len - this.head > MAX_OP_LINE_BYTES) return { kind: 'invalid', line: this.preview(this.len) };
      return null;
    }
    const op = this.buf.toString('latin1', this.head, nl);
    if (op === GET_OP) {
      if (this.len < nl + 2) {
        this.scan = nl; // wait for the byte after the operation line
        return null;
      }
      const ok = this.buf[nl + 1] === NL;
      this.consume(nl + 2);
      return ok ? { kind: 'get' } : { kind: 'bad-get' };
    }
    if (op === SET_OP) {
      this.consume(nl + 1);
      this.body = this.newSet();
      return this.nextSetLines();
    }
    return { kind: 'invalid', line: this.preview(nl) };
  }

  /**
   * The stream ended. A set cut short ends there, its last line taken as it is, as wireguard-go's line
   * scanner ends the set at EOF; anything else left over is dropped.
   */
  finish(): UapiRequest<S> | null {
    const body = this.body;
    if (body === null) return null;
    if (!this.skipping) {
      const end = this.len > this.head && this.buf[this.len - 1] === CR ? this.len - 1 : this.len;
      if (end > this.head) this.deliver(body, end);
    }
    this.body = null;
    this.skipping = false;
    this.consume(this.len);
    return { kind: 'set', body };
  }

  /** Hand the set's complete lines to its sink; the request when its empty line comes. */
  private nextSetLines(): UapiRequest<S> | null {
    const body = this.body!;
    for (;;) {
      const nl = this.findNewline();
      if (nl < 0) {
        if (this.len - this.head > this.maxLineBytes) {
          if (!this.skipping) body.lineTooLong();
          this.skipping = true;
          this.consume(this.len);
        }
        return null;
      }
      if (this.skipping) {
        this.skipping = false;
        this.consume(nl + 1);
        continue;
      }
      const end = nl > this.head && this.buf[nl - 1] === CR ? nl - 1 : nl;
      if (end === this.head) {
        this.consume(nl + 1);
        this.body = null;
        return { kind: 'set', body };
      }
      this.deliver(body, end);
      this.consume(nl + 1);
    }
  }

  /** Give buf[head..end) to the sink as a line, or report it too long. */
  private deliver(body: S, end: number): void {
    if (end - this.head > this.maxLineBytes) body.lineTooLong();
    else body.line(this.buf.toString('utf8', this.head, end));
  }

  /** Index of the next newline in the unconsumed bytes, or -1 (then the scan resumes past them). */
  private findNewline(): number {
    const nl = this.buf.indexOf(NL, Math.max(this.scan, this.head));
    if (nl >= 0 && nl < this.len) return nl;
    this.scan = this.len;
    return -1;
  }

  private consume(to: number): void {
    this.head = to;
    this.scan = to;
    if (this.head !== this.len) return;
    this.head = this.len = this.scan = 0;
    if (this.buf.length > KEEP_BYTES) this.buf = Buffer.allocUnsafe(INITIAL_BYTES);
  }

  /** Room for `more` bytes: move the unconsumed bytes to the front, grow only if that is not enough. */
  private makeRoom(more: number): void {
    const kept = this.len - this.head;
    let size = this.buf.length;
    while (size < kept + more) size *= 2;
    const target = size === this.buf.length ? this.buf : Buffer.allocUnsafe(size);
    this.buf.copy(target, 0, this.head, this.len);
    this.buf = target;
    this.scan -= this.head;
    this.len = kept;
    this.head = 0;
  }

  /**
   * An invalid line for the log: only what precedes any "=", at most 32 characters, so a client that
   * sent a key line where an operation belongs does not put the key in the log.
   */
  private preview(end: number): string {
    const eq = this.buf.indexOf(0x3d, this.head);
    const stop = Math.min(end, this.head + 32, eq >= 0 && eq < end ? eq : end);
    return JSON.stringify(this.buf.toString('latin1', this.head, stop));
  }
}
