/**
 * Static TCP forwards, as wireproxy's sections define them:
 *
 * - [TCPClientTunnel] BindAddress -> Target: a listener on this host; each connection is relayed to
 *   Target through the tunnel (Target's name resolved per connection, as CONNECT's are).
 * - [TCPServerTunnel] ListenPort -> Target: a listener on the tunnel's own address, port ListenPort;
 *   each connection from the WireGuard side is relayed to Target on this host's network (its name
 *   resolved by this host's resolver: Target is a local service).
 * - [STDIOTunnel] Target: this process's stdin and stdout relayed to Target through the tunnel, once
 *   (ssh -o ProxyCommand='wgts proxy -c FILE').
 *
 * Each connection is relayed with backpressure and half-close (relay.ts); each listener is bounded.
 */
import net from 'node:net';
import { Duplex } from 'node:stream';
import type { Logger } from '../base/logger.js';
import { formatHostPort, type HostPort } from '../net/host-port.js';
import { MAX_CONNECTIONS_PER_LISTENER, TcpListener } from './listen.js';
import type { ListenerStats } from './listener-stats.js';
import { dial, relay } from './relay.js';
import { systemLookup, type Lookup, type Resolver } from './resolver.js';
import type { TunnelLike, TunnelServer, TunnelSocket } from './tunnel-like.js';

export interface TcpTunnelOptions {
  tunnel: TunnelLike;
  stats: ListenerStats;
  logger: Logger;
  target: HostPort;
  maxConnections?: number;
}

export class TcpClientTunnel extends TcpListener {
  private readonly opts: TcpTunnelOptions & { resolver: Resolver };

  constructor(opts: TcpTunnelOptions & { resolver: Resolver }) {
    super(opts.stats, opts.maxConnections);
    this.opts = opts;
  }

  protected serve(sock: net.Socket): void {
    // Nothing is read until the tunnel connection is up (the relay starts reading).
    sock.pause();
    void this.forward(sock);
  }

  private async forward(sock: net.Socket): Promise<void> {
    const { tunnel, resolver, stats, logger, target } = this.opts;
    stats.track(sock);
    sock.on('error', () => undefined);
    let upstream: TunnelSocket;
    try {
      upstream = await dial(tunnel, await resolver.resolve(target.host), target.port);
    } catch (err) {
      stats.failed++;
      logger.error?.(`TCPClientTunnel to ${formatHostPort(target.host, target.port)}: ${(err as Error).message}`);
      // A reset tells the client the far end is not there, as a refused connection would.
      sock.resetAndDestroy();
      return;
    }
    if (sock.destroyed) {
      upstream.destroy();
      return;
    }
    relay(sock, upstream, (err) => {
      if (err !== null) logger.verbose?.(`TCPClientTunnel ${sock.remoteAddress}:${sock.remotePort}: ${err.message}`);
    });
  }
}

export class TcpServerTunnel {
  private readonly opts: TcpTunnelOptions & { lookup?: Lookup };
  private server: TunnelServer | null = null;
  private readonly pending = new Set<TunnelSocket>();

  constructor(opts: TcpTunnelOptions & { lookup?: Lookup }) {
    this.opts = opts;
  }

  /** Listen on the tunnel's address. */
  listen(port: number): Promise<void> {
    const server = this.opts.tunnel.createServer({ allowHalfOpen: true }, (sock) => void this.serve(sock));
    this.server = server;
    return new Promise((resolve, reject) => {
      server.on('error', reject);
      server.listen(port, () => resolve());
    });
  }

  async close(): Promise<void> {
    const s = this.server;
    this.server = null;
    for (const p of this.pending) p.destroy();
    this.opts.stats.destroyAll();
    if (s !== null) await new Promise<void>((r) => s.close(() => r()));
  }

  private async serve(from: TunnelSocket): Promise<void> {
    const { stats, logger, target } = this.opts;
    from.on('error', () => undefined);
    if (stats.open + this.pending.size >= (this.opts.maxConnections ?? MAX_CONNECTIONS_PER_LISTENER)) {
      stats.refused++;
      from.destroy();
      return;
    }
    from.pause();
    this.pending.add(from);
    let to: net.Socket;
    try {
      const [address] = await (this.opts.lookup ?? systemLookup)(target.host).catch(() => [] as string[]);
      if (address === undefined) throw Object.assign(new Error(`cannot resolve ${target.host}`), { code: 'ENOTFOUND' });
      to = await connectLocal(net.isIP(target.host) !== 0 ? target.host : address, target.port);
    } catch (err) {
      this.pending.delete(from);
      stats.failed++;
      logger.error?.(`TCPServerTunnel to ${formatHostPort(target.host, target.port)}: ${(err as Error).message}`);
      from.destroy();
      return;
    }
    this.pending.delete(from);
    stats.track(to, true);
    if (from.destroyed) {
      to.destroy();
      return;
    }
    relay(from, to, (err) => {
      if (err !== null) logger.verbose?.(`TCPServerTunnel ${from.remoteAddress}:${from.remotePort}: ${err.message}`);
    });
  }
}

/** A connection on this host's network, with half-close. */
function connectLocal(host: string, port: number): Promise<net.Socket> {
  return new Promise((resolve, reject) => {
    const s = net.connect({ host, port, allowHalfOpen: true, noDelay: true });
    s.once('connect', () => {
      s.off('error', reject);
      resolve(s);
    });
    s.once('error', reject);
  });
}

/**
 * [STDIOTunnel]: relay `input` and `output` (process.stdin and stdout) to the target through the tunnel.
 * Resolves when the connection has ended both ways; rejects when it cannot be made.
 */
export async function runStdioTunnel(opts: { tunnel: TunnelLike; resolver: Resolver; logger: Logger; target: HostPort; input: NodeJS.ReadableStream; output: NodeJS.WritableStream }): Promise<void> {
  const { tunnel, resolver, target } = opts;
  const upstream = await dial(tunnel, await resolver.resolve(target.host), target.port);
  const local = Duplex.from({ readable: opts.input, writable: opts.output });
  await new Promise<void>((resolve) =>
    relay(local, upstream, (err) => {
      if (err !== null) opts.logger.verbose?.(`STDIOTunnel: ${err.message}`);
      resolve();
    }),
  );
}
