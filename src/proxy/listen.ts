/**
 * Listening sockets on this host for the proxy's sections, bounded: every TCP listener turns away
 * connections past its limit (net.Server maxConnections; counted as refused), and its clients are
 * tracked for /metrics and for shutdown.
 */
import net from 'node:net';
import type dgram from 'node:dgram';
import type { HostPort } from '../net/host-port.js';
import type { ListenerStats } from './listener-stats.js';

/**
 * Connections one listener serves at once. Each costs two sockets' stream buffers (16 KiB high-water
 * marks each way on this side) plus the tunnel connection's bounded send and receive buffers; at the
 * limit that stays within the issue's memory budget with room for the rest.
 */
export const MAX_CONNECTIONS_PER_LISTENER = 4096;

/** Every address of this host when BindAddress names none (`:1080`), as Go's net.Listen does. */
function hostOf(bind: HostPort): string | undefined {
  return bind.host === '' ? undefined : bind.host;
}

/** Listen on `bind`; resolves with the bound address (the real port when 0 was asked for). */
export function listenTcp(server: net.Server, bind: HostPort, stats: ListenerStats, maxConnections: number): Promise<net.AddressInfo> {
  server.maxConnections = maxConnections;
  server.on('drop', () => stats.refused++);
  return new Promise((resolve, reject) => {
    const onError = (err: Error): void => reject(err);
    server.once('error', onError);
    server.listen({ port: bind.port, host: hostOf(bind) }, () => {
      server.off('error', onError);
      resolve(server.address() as net.AddressInfo);
    });
  });
}

export function listenUdp(socket: dgram.Socket, bind: HostPort): Promise<net.AddressInfo> {
  return new Promise((resolve, reject) => {
    const onError = (err: Error): void => reject(err);
    socket.once('error', onError);
    socket.bind({ port: bind.port, address: hostOf(bind) }, () => {
      socket.off('error', onError);
      resolve(socket.address());
    });
  });
}

/** Stop accepting; resolves once the server is closed (its live connections are the caller's). */
export function closeServer(server: net.Server): Promise<void> {
  return new Promise((resolve) => {
    if (!server.listening) {
      resolve();
      return;
    }
    server.close(() => resolve());
  });
}

/**
 * A TCP listener on this host for one section: the server, its bound and its accounting. Subclasses
 * serve connections; an HTTP listener brings its own server.
 */
export abstract class TcpListener {
  protected readonly server: net.Server;
  protected readonly stats: ListenerStats;
  private readonly maxConnections: number;

  protected constructor(stats: ListenerStats, maxConnections: number | undefined, server?: net.Server) {
    this.stats = stats;
    this.maxConnections = maxConnections ?? MAX_CONNECTIONS_PER_LISTENER;
    // Half-open connections are kept: relay.ts passes a FIN on and keeps the other direction going.
    this.server = server ?? net.createServer({ allowHalfOpen: true, noDelay: true }, (sock) => this.serve(sock));
  }

  /** Handle one client connection (counted already). */
  protected abstract serve(sock: net.Socket): void;

  listen(bind: HostPort): Promise<net.AddressInfo> {
    return listenTcp(this.server, bind, this.stats, this.maxConnections);
  }

  /** Stop listening and drop the live connections. */
  async close(): Promise<void> {
    const closed = closeServer(this.server);
    this.stats.destroyAll();
    await closed;
  }
}
