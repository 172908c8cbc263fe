/**
 * HTTP clients through a Tunnel: an http.Agent and an https.Agent whose connections are the tunnel's
 * TCP sockets (http.get(url, { agent })), and an undici Dispatcher (fetch(url, { dispatcher })).
 *
 * TLS runs over the tunnel's socket with Node's own tls.connect({ socket }), so certificate checks,
 * SNI and ALPN are Node's. SNI carries the host name, never an address (RFC 6066 §3). Host names
 * resolve through the tunnel's lookup() inside connect().
 *
 * undici is loaded when the first dispatcher is made, not with this module: importing it costs a
 * process ~16 MB of RSS (Node 20: 41.6 MB bare, 58.0 MB after `import 'undici'`), which a program
 * that never fetches (wgts proxy, a program that only connects) should not pay. It is a CommonJS
 * package, so require() loads it synchronously and the dispatcher getter stays synchronous.
 */
import http from 'node:http';
import https from 'node:https';
import { isIP, type Socket } from 'node:net';
import type { Duplex } from 'node:stream';
import { createRequire } from 'node:module';
import tls from 'node:tls';
import type { Agent, Dispatcher } from 'undici';
import type { TcpSocket } from '../netstack/tcp-socket.js';

type Undici = typeof import('undici');
let undiciModule: Undici | null = null;

/** undici itself, loaded at the first call. */
function undici(): Undici {
  undiciModule ??= createRequire(import.meta.url)('undici') as Undici;
  return undiciModule;
}

/** What the agents need of a Tunnel. */
export interface TunnelConnector {
  connect(options: { port: number; host: string }): TcpSocket;
}

/** The SNI name for `host`: none for an address literal. */
function serverName(host: string, given: string | undefined): string | undefined {
  if (given !== undefined && given !== '') return given;
  return isIP(host) === 0 ? host : undefined;
}

/** An http.Agent (keep-alive on) whose sockets go through the tunnel. */
export class TunnelHttpAgent extends http.Agent {
  constructor(
    private readonly tunnel: TunnelConnector,
    options: http.AgentOptions = {},
  ) {
    super({ keepAlive: true, ...options });
  }

  override createConnection(options: http.ClientRequestArgs): Duplex {
    return this.tunnel.connect({ port: Number(options.port ?? 80), host: options.host ?? options.hostname ?? 'localhost' });
  }
}

/** An https.Agent (keep-alive on) whose TLS runs over sockets through the tunnel. */
export class TunnelHttpsAgent extends https.Agent {
  constructor(
    private readonly tunnel: TunnelConnector,
    options: https.AgentOptions = {},
  ) {
    super({ keepAlive: true, ...options });
  }

  override createConnection(options: https.RequestOptions): Duplex {
    const host = options.host ?? options.hostname ?? 'localhost';
    const raw = this.tunnel.connect({ port: Number(options.port ?? 443), host });
    const { path: _path, ...rest } = options;
    return tls.connect({ ...(rest as tls.ConnectionOptions), host, socket: raw, servername: serverName(host, options.servername) });
  }
}

export interface TunnelDispatcherOptions {
  /** TLS options for https: origins (ca, rejectUnauthorized, ...). */
  tls?: tls.ConnectionOptions;
  /** undici Agent options (connections per origin, timeouts, ...). */
  agent?: Omit<Agent.Options, 'connect'>;
}

/** An undici Agent connecting through the tunnel, for fetch(url, { dispatcher }). */
export function tunnelDispatcher(tunnel: TunnelConnector, options: TunnelDispatcherOptions = {}): Dispatcher {
  return new (undici().Agent)({
    ...options.agent,
    connect: (opts, callback) => {
      const https = opts.protocol === 'https:';
      const port = opts.port === '' ? (https ? 443 : 80) : Number(opts.port);
      let sock: Duplex = tunnel.connect({ port, host: opts.hostname });
      if (https) {
        sock = tls.connect({ ...options.tls, socket: sock, host: opts.hostname, servername: serverName(opts.hostname, opts.servername), ALPNProtocols: ['http/1.1'] });
      }
      const ready = https ? 'secureConnect' : 'connect';
      const onReady = (): void => {
        sock.removeListener('error', onError);
        callback(null, sock as Socket);
      };
      const onError = (err: Error): void => {
        sock.removeListener(ready, onReady);
        callback(err, null);
      };
      sock.once(ready, onReady);
      sock.once('error', onError);
    },
  });
}
