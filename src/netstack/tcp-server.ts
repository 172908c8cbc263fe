/**
 * TcpServer: a listening TCP socket of the netstack shaped as net.Server: listen(port, host?,
 * backlog?, cb) or listen({ port, host, backlog }, cb), 'listening', 'connection' (a TcpSocket),
 * 'close' once stopped and every accepted socket closed, 'drop' past maxConnections (the connection is
 * closed at once, as net.Server does), 'error' (EADDRINUSE, EADDRNOTAVAIL), address(), close(cb),
 * getConnections(cb), ref/unref.
 *
 * Host: undefined or '::' listens on every address of both families (Node's dual-stack default),
 * '0.0.0.0' on every IPv4 address, a literal on that address only (it must be one of the stack's).
 * Events are emitted on the next tick, never from inside the stack's segment processing.
 */
import { EventEmitter } from 'node:events';
import { formatIp, parseIp } from '../net/address.js';
import type { Connection } from './tcp/connection.js';
import { DEFAULT_BACKLOG } from './tcp/constants.js';
import type { Listener } from './tcp/listener.js';
import type { Tcp } from './tcp/tcp.js';
import { tcpError } from './tcp/errors.js';
import { TcpSocket, type TcpAddressInfo } from './tcp-socket.js';
import type { IpFamily } from './transport.js';

export interface TcpServerOptions {
  allowHalfOpen?: boolean;
  /** Accepted sockets start paused (net.Server's pauseOnConnect). */
  pauseOnConnect?: boolean;
  noDelay?: boolean;
  keepAlive?: boolean;
  keepAliveInitialDelay?: number;
}

export interface TcpListenOptions {
  port?: number;
  host?: string;
  backlog?: number;
}

export class TcpServer extends EventEmitter {
  readonly tcp: Tcp;
  /** Accepted sockets beyond this are dropped ('drop'); undefined: no limit (net.Server). */
  maxConnections: number | undefined;
  private readonly options: TcpServerOptions;
  private listener: Listener | null;
  private connections: number;
  private addressInfo: TcpAddressInfo | null;

  constructor(tcp: Tcp, options: TcpServerOptions | ((s: TcpSocket) => void) = {}, connectionListener?: (s: TcpSocket) => void) {
    super();
    this.tcp = tcp;
    if (typeof options === 'function') {
      connectionListener = options;
      options = {};
    }
    this.options = options;
    this.maxConnections = undefined;
    this.listener = null;
    this.connections = 0;
    this.addressInfo = null;
    if (connectionListener !== undefined) this.on('connection', connectionListener);
  }

  get listening(): boolean {
    return this.listener !== null;
  }

  /** listen(port?, host?, backlog?, cb?) or listen(options, cb?), as net.Server#listen. */
  listen(...args: unknown[]): this {
    let cb: (() => void) | undefined;
    if (typeof args[args.length - 1] === 'function') cb = args.pop() as () => void;
    let port = 0;
    let host: string | undefined;
    let backlog = DEFAULT_BACKLOG;
    const first = args[0];
    if (first !== null && typeof first === 'object') {
      const o = first as TcpListenOptions;
      port = o.port ?? 0;
      host = o.host;
      backlog = o.backlog ?? DEFAULT_BACKLOG;
    } else {
      if (first !== undefined) port = Number(first);
      if (typeof args[1] === 'string') host = args[1];
      else if (typeof args[1] === 'number') backlog = args[1];
      if (typeof args[2] === 'number') backlog = args[2];
    }
    if (!Number.isInteger(port) || port < 0 || port > 65535) throw new RangeError(`options.port should be >= 0 and < 65536, got ${String(port)}`);
    if (this.listener !== null) throw Object.assign(new Error('Listen method has been called more than once without closing.'), { code: 'ERR_SERVER_ALREADY_LISTEN' });
    if (cb !== undefined) this.once('listening', cb);
    let family: IpFamily | 0 = 0;
    let address: Uint8Array | null = null;
    if (host !== undefined && host !== '::' && host !== '') {
      if (host === '0.0.0.0') {
        family = 4;
      } else {
        address = parseIp(host);
        if (address === null || !this.tcp.ip.isLocal(address)) {
          process.nextTick(() => this.emit('error', tcpError('EADDRNOTAVAIL', 'listen', `${host}:${port}`)));
          return this;
        }
        family = address.length === 4 ? 4 : 6;
      }
    }
    let l: Listener;
    try {
      l = this.tcp.listen(family, address, port, backlog);
    } catch (e) {
      process.nextTick(() => this.emit('error', e));
      return this;
    }
    l.onConnection = (c) => this.accept(c);
    this.listener = l;
    this.addressInfo = {
      address: address !== null ? formatIp(address) : family === 4 ? '0.0.0.0' : '::',
      family: family === 4 ? 'IPv4' : 'IPv6',
      port: l.port,
    };
    process.nextTick(() => this.emit('listening'));
    return this;
  }

  address(): TcpAddressInfo | null {
    return this.listener !== null ? { ...this.addressInfo! } : null;
  }

  /** Stop accepting; 'close' follows once every accepted socket has closed. */
  close(cb?: (err?: Error) => void): this {
    if (typeof cb === 'function') {
      if (this.listener === null) {
        this.once('close', () => cb(Object.assign(new Error('Server is not running.'), { code: 'ERR_SERVER_NOT_RUNNING' })));
      } else {
        this.once('close', cb);
      }
    }
    if (this.listener !== null) {
      this.tcp.unlisten(this.listener);
      this.listener = null;
    }
    this.emitCloseIfDrained();
    return this;
  }

  getConnections(cb: (err: Error | null, count: number) => void): this {
    const n = this.connections;
    process.nextTick(() => cb(null, n));
    return this;
  }

  ref(): this {
    return this;
  }

  unref(): this {
    return this;
  }

  /** An accepted socket closed (TcpSocket's _destroy). */
  socketClosed(): void {
    this.connections--;
    this.emitCloseIfDrained();
  }

  private accept(c: Connection): void {
    if (this.maxConnections !== undefined && this.connections >= this.maxConnections) {
      const data = {
        localAddress: formatIp(c.local),
        localPort: c.localPort,
        localFamily: c.family === 4 ? 'IPv4' : 'IPv6',
        remoteAddress: formatIp(c.remote),
        remotePort: c.remotePort,
        remoteFamily: c.family === 4 ? 'IPv4' : 'IPv6',
      };
      c.release();
      process.nextTick(() => this.emit('drop', data));
      return;
    }
    const o = this.options;
    const s = new TcpSocket(this.tcp, {
      allowHalfOpen: o.allowHalfOpen,
      noDelay: o.noDelay,
      keepAlive: o.keepAlive,
      keepAliveInitialDelay: o.keepAliveInitialDelay,
    });
    s.server = this;
    this.connections++;
    s.attach(c);
    if (o.pauseOnConnect === true) s.pause();
    process.nextTick(() => this.emit('connection', s));
  }

  private emitCloseIfDrained(): void {
    if (this.listener !== null || this.connections > 0) return;
    process.nextTick(() => this.emit('close'));
  }
}
