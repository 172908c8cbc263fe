/**
 * The [Socks5] listener: SOCKS version 5 (RFC 1928) with optional username/password authentication
 * (RFC 1929), CONNECT to IPv4, IPv6 and domain-name destinations through the tunnel, and UDP ASSOCIATE
 * (socks5-udp.ts). BIND, which needs a listening port per request, is answered "command not supported".
 *
 * Per connection: method selection, subnegotiation if required, one request, the reply, then either the
 * relay (relay.ts) or the UDP association, which lives as long as this TCP connection (§7). A malformed
 * message gets the reply the RFCs define for it where there is one (no acceptable methods, failed
 * authentication, general failure, command or address type not supported) and the connection closes.
 * The negotiation must finish within HANDSHAKE_TIMEOUT_MS, so idle connections cannot hold slots.
 */
import type net from 'node:net';
import type { Logger } from '../base/logger.js';
import type { Credentials } from './credentials.js';
import { TcpListener } from './listen.js';
import type { ListenerStats } from './listener-stats.js';
import { readExactly } from './read-bytes.js';
import { dial, relay } from './relay.js';
import type { Resolver } from './resolver.js';
import {
  AUTH_VERSION,
  buildReply,
  CMD_BIND,
  CMD_CONNECT,
  CMD_UDP_ASSOCIATE,
  failureReply,
  METHOD_NO_ACCEPTABLE,
  METHOD_NO_AUTH,
  METHOD_USERNAME_PASSWORD,
  parseAddress,
  Reply,
  replyForError,
  SOCKS_VERSION,
} from './socks5-protocol.js';
import { UdpAssociation, type UdpAssociationLimits } from './socks5-udp.js';
import type { TunnelLike } from './tunnel-like.js';

/** Negotiation and request must arrive within this (a client sends them at once). */
export const HANDSHAKE_TIMEOUT_MS = 20_000;

export interface Socks5Options {
  tunnel: TunnelLike;
  resolver: Resolver;
  stats: ListenerStats;
  logger: Logger;
  /** Required credentials, or null for none. */
  credentials: Credentials | null;
  maxConnections?: number;
  handshakeTimeoutMs?: number;
  udp?: Partial<UdpAssociationLimits>;
}

/** SOCKS4's version byte: a SOCKS4 client is told "request rejected" in its own format. */
const SOCKS4_VERSION = 4;
const SOCKS4_REJECTED = Buffer.from([0, 0x5b, 0, 0, 0, 0, 0, 0]);

/** A protocol violation: `reply` (if any) is written before the connection closes. */
class Refusal extends Error {
  readonly reply: Buffer | null;
  constructor(message: string, reply: Buffer | null) {
    super(message);
    this.reply = reply;
  }
}

export class Socks5Listener extends TcpListener {
  private readonly opts: Socks5Options;

  constructor(opts: Socks5Options) {
    super(opts.stats, opts.maxConnections);
    this.opts = opts;
  }

  protected serve(sock: net.Socket): void {
    const { stats, logger } = this.opts;
    stats.track(sock);
    sock.on('error', () => undefined); // reported where it matters: by the relay or the handshake
    const timer = setTimeout(() => sock.destroy(), this.opts.handshakeTimeoutMs ?? HANDSHAKE_TIMEOUT_MS);
    this.handshake(sock).then(
      (done) => {
        clearTimeout(timer);
        done();
      },
      (err: unknown) => {
        clearTimeout(timer);
        if (err instanceof Refusal) {
          logger.verbose?.(`socks5 ${peerOf(sock)}: ${err.message}`);
          if (err.reply !== null && sock.writable) sock.end(err.reply);
          else sock.end();
          // A client that keeps sending after a refusal is not waited for.
          sock.resume();
          setTimeout(() => sock.destroy(), 1000).unref();
        } else {
          sock.destroy();
        }
      },
    );
  }

  /** Runs the negotiation and the request; resolves to what starts the connection's second phase. */
  private async handshake(sock: net.Socket): Promise<() => void> {
    // RFC 1928 §3: VER NMETHODS METHODS.
    const head = await readExactly(sock, 2);
    if (head[0] === SOCKS4_VERSION) throw new Refusal('SOCKS4 request refused', SOCKS4_REJECTED);
    if (head[0] !== SOCKS_VERSION) throw new Refusal(`not SOCKS (version byte ${head[0]})`, null);
    const methods = head[1]! === 0 ? Buffer.alloc(0) : await readExactly(sock, head[1]!);
    const creds = this.opts.credentials;
    const wanted = creds === null ? METHOD_NO_AUTH : METHOD_USERNAME_PASSWORD;
    if (!methods.includes(wanted)) throw new Refusal('no acceptable authentication method', Buffer.from([SOCKS_VERSION, METHOD_NO_ACCEPTABLE]));
    sock.write(Buffer.from([SOCKS_VERSION, wanted]));

    if (creds !== null) {
      // RFC 1929 §2: VER ULEN UNAME PLEN PASSWD; §2 reply: VER STATUS (0 = success, anything else closes).
      const v = await readExactly(sock, 2);
      if (v[0] !== AUTH_VERSION) throw new Refusal(`bad subnegotiation version ${v[0]}`, Buffer.from([AUTH_VERSION, 1]));
      const user = v[1]! === 0 ? Buffer.alloc(0) : await readExactly(sock, v[1]!);
      const plen = (await readExactly(sock, 1))[0]!;
      const pass = plen === 0 ? Buffer.alloc(0) : await readExactly(sock, plen);
      if (!creds.check(user, pass)) throw new Refusal('authentication failed', Buffer.from([AUTH_VERSION, 1]));
      sock.write(Buffer.from([AUTH_VERSION, 0]));
    }

    // RFC 1928 §4: VER CMD RSV ATYP DST.ADDR DST.PORT, read in steps so nothing past it is consumed.
    const req = await readExactly(sock, 5);
    if (req[0] !== SOCKS_VERSION) throw new Refusal(`bad request version ${req[0]}`, failureReply(Reply.GeneralFailure));
    const cmd = req[1]!;
    const atyp = req[3]!;
    const rest = atyp === 1 ? 4 + 2 - 1 : atyp === 4 ? 16 + 2 - 1 : atyp === 3 ? req[4]! + 2 : -1;
    if (rest < 0) throw new Refusal(`address type ${atyp} not supported`, failureReply(Reply.AddressTypeNotSupported));
    const whole = Buffer.concat([req, await readExactly(sock, rest)]);
    const parsed = parseAddress(whole, 3);
    if (typeof parsed === 'string') throw new Refusal(`malformed destination (${parsed})`, failureReply(Reply.GeneralFailure));
    const dst = parsed.addr;

    if (cmd === CMD_CONNECT) return this.connect(sock, dst.host, dst.port);
    if (cmd === CMD_UDP_ASSOCIATE) return this.associate(sock, dst.host, dst.port);
    throw new Refusal(cmd === CMD_BIND ? 'BIND is not supported' : `unknown command ${cmd}`, failureReply(Reply.CommandNotSupported));
  }

  private async connect(sock: net.Socket, host: string, port: number): Promise<() => void> {
    const { tunnel, resolver, stats, logger } = this.opts;
    let upstream;
    try {
      upstream = await dial(tunnel, await resolver.resolve(host), port);
    } catch (err) {
      stats.failed++;
      throw new Refusal(`CONNECT ${host}:${port}: ${(err as Error).message}`, failureReply(replyForError(err)));
    }
    if (sock.destroyed) {
      upstream.destroy();
      throw new Refusal('client went away', null);
    }
    sock.write(buildReply(Reply.Succeeded, upstream.localAddress ?? '0.0.0.0', upstream.localPort ?? 0));
    return () =>
      relay(sock, upstream, (err) => {
        if (err !== null) logger.verbose?.(`socks5 ${peerOf(sock)} -> ${host}:${port}: ${err.message}`);
      });
  }

  private async associate(sock: net.Socket, host: string, port: number): Promise<() => void> {
    const { tunnel, resolver, stats, logger } = this.opts;
    let assoc: UdpAssociation;
    try {
      assoc = await UdpAssociation.open({ control: sock, clientHost: host, clientPort: port, tunnel, resolver, stats, logger, limits: this.opts.udp ?? {} });
    } catch (err) {
      throw new Refusal(`UDP ASSOCIATE: ${(err as Error).message}`, failureReply(Reply.GeneralFailure));
    }
    const at = assoc.address();
    sock.write(buildReply(Reply.Succeeded, at.address, at.port));
    return () => assoc.start();
  }
}

function peerOf(sock: net.Socket): string {
  return `${sock.remoteAddress}:${sock.remotePort}`;
}
