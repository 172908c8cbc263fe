/**
 * The [http] listener: an HTTP/1.1 forward proxy (RFC 9110 §3.7, §9.3.6; RFC 9112 §3.2.2) into the
 * tunnel, over plain TCP or, with CertFile and KeyFile, over TLS to the proxy itself.
 *
 * - CONNECT host:port opens a tunnel connection and relays bytes both ways (relay.ts): https, ssh, any
 *   TCP protocol.
 * - A request with an absolute URI (`GET http://host/path HTTP/1.1`) is forwarded in origin form over a
 *   kept-alive connection through the tunnel; the response streams back. Bodies stream both ways with
 *   backpressure (chunked bodies stay chunked), the client connection is kept alive between requests,
 *   and hop-by-hop headers (RFC 9110 §7.6.1) are not forwarded.
 * - Proxy-Authorization: Basic (RFC 7617) when the section has a Username; without valid credentials
 *   the answer is 407 with Proxy-Authenticate (RFC 9110 §11.7.1).
 * - Errors: a destination that cannot be resolved or reached is 502 Bad Gateway, one that does not
 *   answer in time 504 Gateway Timeout; a request that is not a proxy request is 400. Malformed HTTP is
 *   answered 400 (or 431 for oversized headers) by Node's parser, which bounds header size.
 */
import http from 'node:http';
import https from 'node:https';
import type net from 'node:net';
import type { Duplex } from 'node:stream';
import type { Logger } from '../base/logger.js';
import type { Credentials } from './credentials.js';
import { formatHostPort, parseHostPort } from '../net/host-port.js';
import { MAX_CONNECTIONS_PER_LISTENER, TcpListener } from './listen.js';
import type { ListenerStats } from './listener-stats.js';
import { dial, relay } from './relay.js';
import type { Resolver } from './resolver.js';
import type { TunnelLike } from './tunnel-like.js';

export interface HttpProxyOptions {
  tunnel: TunnelLike;
  resolver: Resolver;
  stats: ListenerStats;
  logger: Logger;
  credentials: Credentials | null;
  /** PEM certificate chain and key: TLS to the proxy. */
  tls: { cert: Buffer; key: Buffer } | null;
  maxConnections?: number;
}

/** Request headers must arrive within this; bodies and tunnels may take as long as they take. */
const HEADERS_TIMEOUT_MS = 30_000;
/** Idle kept-alive connections to destinations, per listener. */
const MAX_FREE_UPSTREAM = 32;
const REALM = 'Basic realm="wgts proxy"';

/** RFC 9110 §7.6.1 hop-by-hop fields, and the proxy's own. */
const HOP_BY_HOP = new Set(['connection', 'proxy-connection', 'keep-alive', 'proxy-authorization', 'proxy-authenticate', 'te', 'trailer', 'transfer-encoding', 'upgrade']);

/**
 * `raw` (name, value, name, value, ...) without hop-by-hop fields, those the Connection field lists,
 * and `drop` (lower case).
 */
export function endToEndHeaders(raw: readonly string[], drop = ''): string[] {
  const listed = new Set<string>();
  for (let i = 0; i < raw.length; i += 2) {
    if (raw[i]!.toLowerCase() !== 'connection') continue;
    for (const t of raw[i + 1]!.split(',')) listed.add(t.trim().toLowerCase());
  }
  const out: string[] = [];
  for (let i = 0; i < raw.length; i += 2) {
    const n = raw[i]!.toLowerCase();
    if (HOP_BY_HOP.has(n) || listed.has(n) || n === drop) continue;
    out.push(raw[i]!, raw[i + 1]!);
  }
  return out;
}

function isChunked(headers: http.IncomingHttpHeaders): boolean {
  return /(^|,)\s*chunked\s*$/i.test(headers['transfer-encoding'] ?? '');
}

/** Status for a failed connection attempt or lookup. */
function statusForError(err: unknown): number {
  return (err as NodeJS.ErrnoException).code === 'ETIMEDOUT' ? 504 : 502;
}

/**
 * An Agent whose connections go through the tunnel. Kept-alive sockets are not unref'd and get no
 * socket timeout: a tunnel socket need not have either (the Tunnel contract is a Duplex).
 */
class TunnelAgent extends http.Agent {
  private readonly tunnel: TunnelLike;
  constructor(tunnel: TunnelLike, maxSockets: number) {
    super({ keepAlive: true, maxFreeSockets: MAX_FREE_UPSTREAM, maxTotalSockets: maxSockets, scheduling: 'lifo' });
    this.tunnel = tunnel;
  }

  override createConnection(options: http.ClientRequestArgs): Duplex {
    return this.tunnel.connect({ port: Number(options.port), host: String(options.host), noDelay: true });
  }

  override keepSocketAlive(): boolean {
    return true;
  }

  override reuseSocket(_socket: Duplex, req: http.ClientRequest): void {
    req.reusedSocket = true;
  }
}

function makeServer(opts: HttpProxyOptions): http.Server {
  const options: http.ServerOptions = { requestTimeout: 0, headersTimeout: HEADERS_TIMEOUT_MS, noDelay: true };
  return opts.tls === null ? http.createServer(options) : https.createServer({ ...options, cert: opts.tls.cert, key: opts.tls.key });
}

export class HttpProxyListener extends TcpListener {
  private readonly opts: HttpProxyOptions;
  private readonly agent: TunnelAgent;

  constructor(opts: HttpProxyOptions) {
    super(opts.stats, opts.maxConnections, makeServer(opts));
    this.opts = opts;
    this.agent = new TunnelAgent(opts.tunnel, opts.maxConnections ?? MAX_CONNECTIONS_PER_LISTENER);
    this.server.on('connection', (sock: net.Socket) => this.serve(sock));
    this.server.on('request', (req, res) => this.forward(req, res));
    this.server.on('connect', (req: http.IncomingMessage, sock: Duplex, head: Buffer) => void this.tunnelTo(req, sock, head));
  }

  /** Node's HTTP server parses; here a connection is only counted. */
  protected serve(sock: net.Socket): void {
    this.opts.stats.track(sock);
  }

  override async close(): Promise<void> {
    this.agent.destroy();
    await super.close();
  }

  /** Whether the request carries the credentials the section requires (always, when it requires none). */
  private authorized(req: http.IncomingMessage): boolean {
    const creds = this.opts.credentials;
    if (creds === null) return true;
    const m = /^\s*basic\s+([A-Za-z0-9+/=]+)\s*$/i.exec(req.headers['proxy-authorization'] ?? '');
    if (m === null) return false;
    const text = Buffer.from(m[1]!, 'base64');
    const colon = text.indexOf(0x3a);
    if (colon < 0) return false;
    return creds.check(text.subarray(0, colon), text.subarray(colon + 1));
  }

  /** CONNECT authority-form (RFC 9110 §9.3.6): open a tunnel connection, then relay. */
  private async tunnelTo(req: http.IncomingMessage, sock: Duplex, head: Buffer): Promise<void> {
    const { stats, logger } = this.opts;
    sock.on('error', () => undefined);
    const refuse = (status: number, extra = ''): void => {
      sock.end(`HTTP/1.1 ${status} ${http.STATUS_CODES[status]}\r\n${extra}Content-Length: 0\r\nConnection: close\r\n\r\n`);
    };
    if (!this.authorized(req)) {
      refuse(407, `Proxy-Authenticate: ${REALM}\r\n`);
      return;
    }
    const dst = parseHostPort(req.url ?? '', 'target');
    if (typeof dst === 'string') {
      refuse(400);
      return;
    }
    let upstream;
    try {
      upstream = await dial(this.opts.tunnel, await this.opts.resolver.resolve(dst.host), dst.port);
    } catch (err) {
      stats.failed++;
      logger.verbose?.(`http CONNECT ${req.url}: ${(err as Error).message}`);
      refuse(statusForError(err));
      return;
    }
    if (sock.destroyed) {
      upstream.destroy();
      return;
    }
    sock.write('HTTP/1.1 200 Connection established\r\n\r\n');
    if (head.length > 0) upstream.write(head);
    relay(sock, upstream, (err) => {
      if (err !== null) logger.verbose?.(`http CONNECT ${req.url}: ${err.message}`);
    });
  }

  /** An absolute-form request (RFC 9112 §3.2.2): forward it in origin form, stream the response back. */
  private forward(req: http.IncomingMessage, res: http.ServerResponse): void {
    const { stats, logger } = this.opts;
    const fail = (status: number, why: string): void => {
      if (res.headersSent) {
        res.destroy();
        return;
      }
      res.writeHead(status, { 'Content-Type': 'text/plain; charset=utf-8', Connection: 'close' });
      res.end(`${why}\n`);
      req.resume();
    };
    if (!this.authorized(req)) {
      res.writeHead(407, { 'Proxy-Authenticate': REALM, 'Content-Length': '0' });
      res.end();
      req.resume();
      return;
    }
    let url: URL;
    try {
      url = new URL(req.url ?? '');
    } catch {
      fail(400, 'this is a proxy: send requests with an absolute http:// URI, or use CONNECT');
      return;
    }
    if (url.protocol !== 'http:') {
      fail(400, `cannot forward ${url.protocol} URIs: use CONNECT for https`);
      return;
    }
    const host = url.hostname.startsWith('[') ? url.hostname.slice(1, -1) : url.hostname;
    const port = url.port === '' ? 80 : Number(url.port);
    // RFC 9112 §3.2.2: the request-target's authority replaces any Host field the client sent.
    const headers = ['Host', url.host, ...endToEndHeaders(req.rawHeaders, 'host')];
    if (isChunked(req.headers)) headers.push('Transfer-Encoding', 'chunked');

    this.opts.resolver.resolve(host).then(
      (addrs) => {
        const up = http.request({
          agent: this.agent,
          host: addrs[0],
          port,
          method: req.method,
          path: url.pathname + url.search,
          headers,
          setHost: false,
        });
        up.on('response', (ures) => {
          const out = endToEndHeaders(ures.rawHeaders);
          if (isChunked(ures.headers)) out.push('Transfer-Encoding', 'chunked');
          res.writeHead(ures.statusCode ?? 502, ures.statusMessage, out);
          ures.pipe(res);
          ures.on('error', () => res.destroy());
        });
        up.on('error', (err) => {
          stats.failed++;
          logger.verbose?.(`http ${req.method} ${req.url}: ${err.message}`);
          fail(statusForError(err), `cannot reach ${formatHostPort(host, port)}: ${err.message}`);
        });
        res.on('close', () => {
          if (!res.writableFinished) up.destroy();
        });
        req.pipe(up);
      },
      (err: Error) => {
        stats.failed++;
        fail(502, err.message);
      },
    );
  }
}
