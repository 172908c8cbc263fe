/**
 * Reading a fixed number of bytes from a stream during a protocol's opening exchange (SOCKS5
 * negotiation, a TLS record header), leaving whatever follows in the stream's buffer for the relay.
 * The stream's own high-water mark bounds what it holds meanwhile.
 */
import type { Readable } from 'node:stream';

/** The stream ended or failed before the bytes arrived. */
export class ShortReadError extends Error {
  constructor(wanted: number) {
    super(`the connection closed before ${wanted} more bytes arrived`);
    this.name = 'ShortReadError';
  }
}

/** Exactly `n` bytes (1..65536) from `s`, as soon as they are buffered. */
export function readExactly(s: Readable, n: number): Promise<Buffer> {
  const now = s.read(n) as Buffer | null;
  if (now !== null) return now.length === n ? Promise.resolve(now) : Promise.reject(new ShortReadError(n));
  if (s.readableEnded || s.destroyed) return Promise.reject(new ShortReadError(n));
  return new Promise((resolve, reject) => {
    const cleanup = (): void => {
      s.off('readable', onReadable);
      s.off('end', onEnd);
      s.off('close', onEnd);
      s.off('error', onError);
    };
    const onReadable = (): void => {
      const b = s.read(n) as Buffer | null;
      if (b === null) return;
      cleanup();
      if (b.length === n) resolve(b);
      else reject(new ShortReadError(n));
    };
    const onEnd = (): void => {
      cleanup();
      reject(new ShortReadError(n));
    };
    const onError = (err: Error): void => {
      cleanup();
      reject(err);
    };
    s.on('readable', onReadable);
    s.once('end', onEnd);
    s.once('close', onEnd);
    s.once('error', onError);
  });
}
