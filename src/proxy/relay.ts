/**
 * Moving bytes between a client and a connection through the tunnel, both ways, with backpressure and
 * TCP's half-close:
 *
 * - Each direction is a stream pipeline: when the receiving side's buffer is full, the sending side
 *   stops being read, so a client that stops reading makes the tunnel connection's receive buffer fill
 *   and its advertised window close (and the other way round). Nothing is buffered beyond the streams'
 *   own high-water marks: memory per connection is bounded whatever the peers do.
 * - A FIN in one direction ends the other side's writable half and leaves the other direction running
 *   (RFC 9293 §3.6: half-closed connections are legal and ssh, `nc -N` and HTTP/1.0 use them). Sockets
 *   on both sides must be created with allowHalfOpen.
 * - An error on either side destroys both (a reset goes on as a reset).
 *
 * Also here: dialling a destination that resolved to several addresses.
 */
import { pipeline, type Duplex } from 'node:stream';
import type { TunnelLike, TunnelSocket } from './tunnel-like.js';

/**
 * Relay between `a` and `b` until both directions have ended or one side failed; `done` gets the first
 * error (null on a clean close), once, after both sockets are destroyed.
 */
export function relay(a: Duplex, b: Duplex, done?: (err: Error | null) => void): void {
  let pending = 2;
  let first: Error | null = null;
  const finish = (err?: Error | null): void => {
    if (err && first === null) {
      first = err;
      a.destroy();
      b.destroy();
    }
    if (--pending > 0) return;
    a.destroy();
    b.destroy();
    done?.(first);
  };
  pipeline(a, b, finish);
  pipeline(b, a, finish);
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
