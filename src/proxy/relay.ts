/**
 * Moving bytes between a client and a connection through the tunnel, both ways, with backpressure and
 * TCP's half-close:
 *
 * - Each direction forwards 'data' as it comes and pauses the source when the destination's buffer is
 *   full (write() returned false) until it drains, as pipe() does: a client that stops reading makes
 *   the tunnel connection's receive buffer fill and its advertised window close (and the other way
 *   round). Nothing is buffered beyond the streams' own high-water marks: memory per connection is
 *   bounded whatever the peers do.
 * - A FIN in one direction ends the other side's writable half and leaves the other direction running
 *   (RFC 9293 §3.6: half-closed connections are legal and ssh, `nc -N` and HTTP/1.0 use them). Sockets
 *   on both sides must be created with allowHalfOpen.
 * - An error on either side destroys both (a reset goes on as a reset), and so does a side that closes
 *   before it has ended both ways (destroyed by someone else: a premature close).
 *
 * Written out rather than as two stream.pipeline() calls: those cost ~15 KB of listeners, closures and
 * their contexts per relayed connection (ten end-of-stream watchers, two AbortControllers), most of
 * the proxy's per-connection heap with 1,000 connections open (heap snapshots: 31.0 KB per connection
 * with pipelines, 16.6 KB without).
 *
 * Also here: dialling a destination that resolved to several addresses.
 */
import type { Duplex } from 'node:stream';
import type { TunnelLike, TunnelSocket } from './tunnel-like.js';

/** A close by someone else before the relay ended both ways (stream.pipeline's error for it). */
function prematureClose(): Error {
  return Object.assign(new Error('Premature close'), { code: 'ERR_STREAM_PREMATURE_CLOSE' });
}

/**
 * Relay between `a` and `b` until both directions have ended or one side failed; `done` gets the first
 * error (null on a clean close), once, after both sockets are destroyed.
 */
export function relay(a: Duplex, b: Duplex, done?: (err: Error | null) => void): void {
  let settled = false;
  // Each side's readable 'end' and writable 'finish': all four seen is a clean end.
  let pending = 4;
  const settle = (err: Error | null): void => {
    if (settled) return;
    settled = true;
    a.destroy();
    b.destroy();
    done?.(err);
  };
  const seen = (): void => {
    if (--pending === 0) settle(null);
  };
  const forward = (src: Duplex, dst: Duplex): void => {
    src.on('data', (chunk: Buffer) => {
      if (!settled && !dst.write(chunk)) src.pause();
    });
    dst.on('drain', () => src.resume());
    const ended = (): void => {
      if (!dst.writableEnded && !dst.destroyed) dst.end();
      seen();
    };
    // A side may have ended or finished before the relay began (a client that sent its FIN right
    // behind an HTTP CONNECT): its event is not coming again.
    if (src.readableEnded) ended();
    else src.once('end', ended);
    if (src.writableFinished) seen();
    else src.once('finish', seen);
    src.on('error', settle);
    src.once('close', () => {
      if (!(src.readableEnded && src.writableFinished)) settle(prematureClose());
    });
  };
  forward(a, b);
  forward(b, a);
  if (a.destroyed || b.destroyed) settle(prematureClose());
  // A source paused before the relay (nothing is read until the tunnel connection is up) flows now.
  a.resume();
  b.resume();
}

/** How long one connection attempt may take before the next address is tried (or ETIMEDOUT). */
export const DIAL_TIMEOUT_MS = 30_000;
/** Addresses tried per destination: the preferred one, and one more (typically the other family). */
export const DIAL_ATTEMPTS = 2;

function timedOut(host: string, port: number): Error {
  return Object.assign(new Error(`connection to ${host}:${port} timed out`), { code: 'ETIMEDOUT' });
}

/** One attempt: resolves with the socket once it emitted 'connect'; rejects with its error. */
function dialOne(tunnel: TunnelLike, host: string, port: number, timeoutMs: number): Promise<TunnelSocket> {
  return new Promise((resolve, reject) => {
    let sock: TunnelSocket;
    try {
      sock = tunnel.connect({ port, host, allowHalfOpen: true, noDelay: true });
    } catch (err) {
      reject(err as Error);
      return;
    }
    const timer = setTimeout(() => fail(timedOut(host, port)), timeoutMs);
    const onConnect = (): void => {
      clearTimeout(timer);
      sock.off('error', fail);
      resolve(sock);
    };
    function fail(err: Error): void {
      clearTimeout(timer);
      sock.off('connect', onConnect);
      sock.off('error', fail);
      // A late error from the abandoned socket must not go unhandled.
      sock.on('error', () => undefined);
      sock.destroy();
      reject(err);
    }
    sock.once('connect', onConnect);
    sock.on('error', fail);
  });
}

/**
 * Connect to `port` on the first address that answers, trying at most DIAL_ATTEMPTS of `addresses` in
 * order. Rejects with the last attempt's error (its `code` is the Tunnel's: ECONNREFUSED, ...).
 */
export async function dial(tunnel: TunnelLike, addresses: readonly string[], port: number, timeoutMs = DIAL_TIMEOUT_MS): Promise<TunnelSocket> {
  let last: unknown = new Error('no address to connect to');
  const n = Math.min(addresses.length, DIAL_ATTEMPTS);
  for (let i = 0; i < n; i++) {
    try {
      return await dialOne(tunnel, addresses[i]!, port, timeoutMs);
    } catch (err) {
      last = err;
    }
  }
  throw last;
}
