/**
 * The [SNI] listener (windtf's wireproxy): a transparent TLS proxy. It reads the client's TLS
 * ClientHello without terminating TLS, takes the server name from its server_name extension (RFC 6066
 * §3), connects to that name on port 443 through the tunnel, replays the bytes it read and relays the
 * rest. The ClientHello must arrive within HANDSHAKE_TIMEOUT_MS and within MAX_HELLO_BYTES.
 *
 * Layouts: TLS record header (RFC 8446 §5.1: type, legacy version, length), handshake header (§4:
 * msg_type, 24-bit length), ClientHello (§4.1.2), extensions (§4.2).
 */
import type net from 'node:net';
import type { Logger } from '../base/logger.js';
import { isHostName } from '../net/address.js';
import { TcpListener } from './listen.js';
import type { ListenerStats } from './listener-stats.js';
import { readExactly } from './read-bytes.js';
import { dial, relay } from './relay.js';
import type { Resolver } from './resolver.js';
import { HANDSHAKE_TIMEOUT_MS } from './socks5-server.js';
import type { TunnelLike } from './tunnel-like.js';

const CONTENT_HANDSHAKE = 22;
const HANDSHAKE_CLIENT_HELLO = 1;
const EXT_SERVER_NAME = 0;
const NAME_TYPE_HOST = 0;
/** A ClientHello may span records; past this it is not one we serve (RFC 8446 records carry 2^14). */
export const MAX_HELLO_BYTES = 4 * 16384;
const SNI_PORT = 443;

/** The host name in a ClientHello handshake message (header included), or null if it names none. */
export function serverNameOf(hello: Uint8Array): string | null {
  const b = Buffer.from(hello.buffer, hello.byteOffset, hello.byteLength);
  if (b.length < 4 || b[0] !== HANDSHAKE_CLIENT_HELLO) return null;
  const end = Math.min(b.length, 4 + b.readUIntBE(1, 3));
  let p = 4 + 2 + 32; // legacy_version, random
  if (p + 1 > end) return null;
  p += 1 + b[p]!; // legacy_session_id
  if (p + 2 > end) return null;
  p += 2 + b.readUInt16BE(p); // cipher_suites
  if (p + 1 > end) return null;
  p += 1 + b[p]!; // legacy_compression_methods
  if (p + 2 > end) return null;
  const extEnd = Math.min(end, p + 2 + b.readUInt16BE(p));
  p += 2;
  while (p + 4 <= extEnd) {
    const type = b.readUInt16BE(p);
    const len = b.readUInt16BE(p + 2);
    p += 4;
    if (p + len > extEnd) return null;
    if (type === EXT_SERVER_NAME) {
      // ServerNameList: 16-bit length, then entries of (name_type, 16-bit length, name).
      let q = p + 2;
      const listEnd = Math.min(p + len, p + 2 + (len >= 2 ? b.readUInt16BE(p) : 0));
      while (q + 3 <= listEnd) {
        const nameType = b[q]!;
        const nameLen = b.readUInt16BE(q + 1);
        q += 3;
        if (q + nameLen > listEnd) return null;
        if (nameType === NAME_TYPE_HOST) {
          const name = b.toString('latin1', q, q + nameLen);
          return isHostName(name) ? name : null;
        }
        q += nameLen;
      }
      return null;
    }
    p += len;
  }
  return null;
}

/** Read TLS records until the whole ClientHello handshake message is in; returns records and message. */
async function readClientHello(sock: net.Socket): Promise<{ raw: Buffer; hello: Buffer } | null> {
  const records: Buffer[] = [];
  const fragments: Buffer[] = [];
  let have = 0;
  let want = -1;
  while (want < 0 || have < want) {
    const header = await readExactly(sock, 5);
    const len = header.readUInt16BE(3);
    if (header[0] !== CONTENT_HANDSHAKE || len === 0) return null;
    const body = await readExactly(sock, len);
    records.push(header, body);
    fragments.push(body);
    have += len;
    if (want < 0 && have >= 4) want = 4 + Buffer.concat(fragments).readUIntBE(1, 3);
    if (have > MAX_HELLO_BYTES) return null;
  }
  return { raw: Buffer.concat(records), hello: Buffer.concat(fragments).subarray(0, want) };
}

export interface SniOptions {
  tunnel: TunnelLike;
  resolver: Resolver;
  stats: ListenerStats;
  logger: Logger;
  maxConnections?: number;
  /** Destination port (443; tests use another). */
  port?: number;
}

export class SniListener extends TcpListener {
  private readonly opts: SniOptions;

  constructor(opts: SniOptions) {
    super(opts.stats, opts.maxConnections);
    this.opts = opts;
  }

  protected serve(sock: net.Socket): void {
    void this.forward(sock);
  }

  private async forward(sock: net.Socket): Promise<void> {
    const { tunnel, resolver, stats, logger } = this.opts;
    stats.track(sock);
    sock.on('error', () => undefined);
    const timer = setTimeout(() => sock.destroy(), HANDSHAKE_TIMEOUT_MS);
    try {
      const got = await readClientHello(sock);
      const name = got === null ? null : serverNameOf(got.hello);
      if (got === null || name === null) {
        logger.verbose?.(`SNI ${sock.remoteAddress}: no TLS ClientHello with a server name`);
        sock.destroy();
        return;
      }
      const upstream = await dial(tunnel, await resolver.resolve(name), this.opts.port ?? SNI_PORT).catch((err: Error) => {
        stats.failed++;
        logger.verbose?.(`SNI ${name}: ${err.message}`);
        return null;
      });
      if (upstream === null || sock.destroyed) {
        upstream?.destroy();
        sock.destroy();
        return;
      }
      upstream.write(got.raw);
      relay(sock, upstream);
    } catch {
      sock.destroy();
    } finally {
      clearTimeout(timer);
    }
  }
}
