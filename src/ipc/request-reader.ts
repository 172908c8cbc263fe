/**
 * Splits the byte stream of one UAPI connection into requests (cross-platform UAPI description): a
 * client may send several on one connection, each either
 *
 *   "get=1\n\n"                      or
 *   "set=1\n" key=value lines "\n"   (the request ends at the first empty line).
 *
 * Bytes arrive in chunks that may cut a line anywhere, so the reader buffers and scans incrementally:
 * each byte is looked at once however the stream is chunked. Any other operation line is answered by
 * closing the connection, as wireguard-go's IpcHandle does; a request larger than the limit closes it
 * too, so a client cannot make the daemon buffer without bound.
 */

/** A request larger than this closes the connection: ~10k peers' worth of lines, far above real use. */
export const MAX_REQUEST_BYTES = 1 << 20;

export type UapiRequest =
  /** A whole request, text as uapiHandle takes it ("get=1\n\n" or "set=1\n...\n\n"). */
  | { kind: 'request'; text: string }
  /**
   * "get=1\n" followed by something other than the empty line. wireguard-go answers EINVAL having
   * consumed that one byte, then reads on; we do the same so a pipelining client sees the same replies.
   */
  | { kind: 'bad-get' }
  /** Not a UAPI operation: close the connection. `line` is a redacted preview for the log. */
  | { kind: 'invalid'; line: string }
  /** The request passed MAX_REQUEST_BYTES: close the connection. */
  | { kind: 'overflow' };

const NL = 0x0a;
const GET_OP = 'get=1';
const SET_OP = 'set=1';
/** Longest operation line we wait for before calling it invalid ("get=1"/"set=1" plus slack). */
const MAX_OP_LINE_BYTES = 64;

export class RequestReader {
  private buf: Buffer;
  /** Valid bytes are buf[0..len). */
  private len = 0;
  /** Where the next scan for a newline starts; bytes before it were already looked at. */
  private scan = 0;
  /** Index of the operation line's newline once "set=1\n" has been seen, else -1. */
  private setOpEnd = -1;

  constructor(private readonly maxBytes = MAX_REQUEST_BYTES) {
    this.buf = Buffer.allocUnsafe(4096);
  }

  /** Bytes received and not yet part of a returned request. */
  get buffered(): number {
    return this.len;
  }

  push(chunk: Uint8Array): void {
    if (this.len + chunk.length > this.buf.length) {
      let size = this.buf.length * 2;
      while (size < this.len + chunk.length) size *= 2;
      const bigger = Buffer.allocUnsafe(size);
      this.buf.copy(bigger, 0, 0, this.len);
      this.buf = bigger;
    }
    this.buf.set(chunk, this.len);
    this.len += chunk.length;
  }

  /** The next complete request, or null when more bytes are needed. */
  next(): UapiRequest | null {
    if (this.setOpEnd >= 0) return this.nextSetBody();
    const nl = this.buf.indexOf(NL, this.scan);
    if (nl < 0 || nl >= this.len) {
      this.scan = this.len;
      if (this.len > MAX_OP_LINE_BYTES) return { kind: 'invalid', line: this.preview(this.len) };
      return null;
    }
    const op = this.buf.toString('latin1', 0, nl);
    if (op === GET_OP) {
      if (this.len < nl + 2) {
        this.scan = nl; // wait for the byte after the operation line
        return null;
      }
      const ok = this.buf[nl + 1] === NL;
      this.consume(nl + 2);
      return ok ? { kind: 'request', text: 'get=1\n\n' } : { kind: 'bad-get' };
    }
    if (op === SET_OP) {
      this.setOpEnd = nl;
      this.scan = nl;
      return this.nextSetBody();
    }
    return { kind: 'invalid', line: this.preview(nl) };
  }

  /**
   * The stream ended. A set cut short is applied as far as it got, as wireguard-go's line scanner
   * ends the set at EOF; anything else left over is dropped.
   */
  finish(): UapiRequest | null {
    if (this.setOpEnd < 0 || this.len > this.maxBytes) return null;
    let text = this.buf.toString('utf8', 0, this.len);
    if (!text.endsWith('\n')) text += '\n';
    this.consume(this.len);
    return { kind: 'request', text: text + '\n' };
  }

  /** The set body ends at the first empty line: a newline right after the previous one. */
  private nextSetBody(): UapiRequest | null {
    // Resume one byte back so a "\n\n" cut between two chunks is still found.
    let from = Math.max(this.scan, this.setOpEnd);
    for (;;) {
      const nl = this.buf.indexOf(NL, from + 1);
      if (nl < 0 || nl >= this.len) break;
      if (this.buf[nl - 1] === NL) {
        const text = this.buf.toString('utf8', 0, nl + 1);
        this.consume(nl + 1);
        return { kind: 'request', text };
      }
      from = nl;
    }
    this.scan = Math.max(this.setOpEnd, this.len - 1);
    return this.len > this.maxBytes ? { kind: 'overflow' } : null;
  }

  private consume(n: number): void {
    this.buf.copy(this.buf, 0, n, this.len);
    this.len -= n;
    this.scan = 0;
    this.setOpEnd = -1;
    // A big request grew the buffer; do not keep a megabyte per idle connection.
    if (this.buf.length > 65536 && this.len < 4096) {
      const small = Buffer.allocUnsafe(4096);
      this.buf.copy(small, 0, 0, this.len);
      this.buf = small;
    }
  }

  /**
   * An invalid line for the log: only what precedes any "=", at most 32 characters, so a client that
   * sent a key line where an operation belongs does not put the key in the log.
   */
  private preview(end: number): string {
    const eq = this.buf.indexOf(0x3d, 0);
    const stop = Math.min(end, 32, eq >= 0 && eq < end ? eq : end);
    return JSON.stringify(this.buf.toString('latin1', 0, stop));
  }
}
