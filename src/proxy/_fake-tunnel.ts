/**
 * Test harness (not part of the public API): a TunnelLike whose "tunnel" is this host's loopback, built
 * on Node's own net and dgram, so the proxy's protocol handling is tested without a netstack. Servers
 * "on the tunnel address" listen on 127.0.0.1; names resolve from a table; chosen hosts fail to connect
 * with a chosen error code (the Tunnel's codes); the device is a stand-in that records UAPI sets.
 */
import dgram from 'node:dgram';
import { EventEmitter } from 'node:events';
import net from 'node:net';
import { TieredPool } from '../buffer/tiered-pool.js';
import type { Device } from '../device/device.js';
import type { DeviceLike, TunnelConnectOptions, TunnelLike, TunnelServer, TunnelSocket, TunnelUdpSocket } from './tunnel-like.js';

export class FakeDevice extends EventEmitter<{ 'handshake-failed': [publicKey: string] }> implements DeviceLike {
  readonly pool = new TieredPool();
  /** What ipcGet answers. */
  uapi = '';
  /** Bodies given to ipcSet, in order. */
  readonly sets: string[] = [];

  ipcGet(): string {
    return this.uapi;
  }

  async ipcSet(text: string): Promise<void> {
    this.sets.push(text);
  }
}

export class FakeTunnel implements TunnelLike {
  readonly device = new FakeDevice();
  /** lookup() answers from here; other names fail with ENOTFOUND. */
  readonly names = new Map<string, string[]>();
  /** connect() to these hosts fails with this error code. */
  readonly failures = new Map<string, string>();
  /** Every connect() asked for, in order, as "host:port". */
  readonly connects: string[] = [];
  readonly lookups: string[] = [];
  /** ping() answers for these addresses (in 1 ms) and times out for any other, at once. */
  readonly answering = new Set<string>();
  /** Every ping() asked for, in order. */
  readonly pings: string[] = [];
  private readonly servers = new Set<net.Server>();
  private readonly udp = new Set<dgram.Socket>();

  connect(options: TunnelConnectOptions): TunnelSocket {
    const { port, host } = options;
    this.connects.push(`${host}:${port}`);
    const code = this.failures.get(host);
    if (code !== undefined) {
      const s = new net.Socket({ allowHalfOpen: true });
      process.nextTick(() => s.destroy(Object.assign(new Error(`connect ${code} ${host}:${port}`), { code })));
      return s;
    }
    return net.connect(options);
  }

  createServer(options: { allowHalfOpen?: boolean }, listener: (socket: TunnelSocket) => void): TunnelServer {
    const s = net.createServer(options, listener);
    this.servers.add(s);
    const wrapper: TunnelServer = {
      listen(port, callback) {
        s.listen(port, '127.0.0.1', callback);
        return wrapper;
      },
      close(callback) {
        s.close(callback);
        return wrapper;
      },
      on(event, l) {
        s.on(event, l);
        return wrapper;
      },
    };
    return wrapper;
  }

  createSocket(type: 'udp4' | 'udp6'): TunnelUdpSocket {
    const s = dgram.createSocket(type);
    this.udp.add(s);
    s.on('close', () => this.udp.delete(s));
    const loopback = type === 'udp4' ? '127.0.0.1' : '::1';
    // Also what send() calls to bind implicitly (with an options object): the socket sits on the
    // loopback "tunnel" address.
    const original = s.bind.bind(s) as (options: dgram.BindOptions, callback?: () => void) => dgram.Socket;
    const bind = (port?: number | dgram.BindOptions | (() => void), callback?: () => void): dgram.Socket => {
      if (typeof port === 'function') return original({ port: 0, address: loopback }, port);
      if (typeof port === 'object') return original({ ...port, address: loopback }, callback);
      return original({ port: port ?? 0, address: loopback }, callback);
    };
    return Object.assign(s, { bind }) as unknown as TunnelUdpSocket;
  }

  async lookup(name: string): Promise<string[]> {
    this.lookups.push(name);
    const a = this.names.get(name);
    if (a === undefined) throw Object.assign(new Error(`queryA ENOTFOUND ${name}`), { code: 'ENOTFOUND' });
    return a;
  }

  async ping(address: string): Promise<number> {
    this.pings.push(address);
    if (this.answering.has(address)) return 1;
    throw Object.assign(new Error(`ping ETIMEDOUT ${address}`), { code: 'ETIMEDOUT' });
  }

  async close(): Promise<void> {
    for (const s of this.servers) s.close();
    for (const s of this.udp) s.close();
  }
}

/** A TCP server on 127.0.0.1 that echoes what it receives; resolves with it and its port. */
export async function echoServer(): Promise<{ server: net.Server; port: number }> {
  const server = net.createServer({ allowHalfOpen: true }, (s) => {
    s.on('error', () => undefined);
    s.pipe(s);
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return { server, port: (server.address() as net.AddressInfo).port };
}

/** A UDP server on 127.0.0.1 that echoes each datagram with a prefix. */
export async function udpEchoServer(prefix = 'echo:'): Promise<{ socket: dgram.Socket; port: number }> {
  const socket = dgram.createSocket('udp4');
  socket.on('message', (msg, r) => socket.send(Buffer.concat([Buffer.from(prefix), msg]), r.port, r.address));
  await new Promise<void>((r) => socket.bind(0, '127.0.0.1', r));
  return { socket, port: socket.address().port };
}

/** A TCP port on 127.0.0.1 that was free a moment ago (for listeners that need a fixed port). */
export async function freePort(): Promise<number> {
  const s = net.createServer();
  await new Promise<void>((r) => s.listen(0, '127.0.0.1', r));
  const { port } = s.address() as net.AddressInfo;
  await new Promise((r) => s.close(r));
  return port;
}

/** Everything `s` sends until it ends. */
export function readAll(s: NodeJS.ReadableStream): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    s.on('data', (c: Buffer) => chunks.push(c));
    s.on('end', () => resolve(Buffer.concat(chunks)));
    s.on('error', reject);
  });
}

// The real Device satisfies the narrow interface the proxy uses (checked when this file compiles).
const deviceIsDeviceLike: DeviceLike = null as unknown as Device;
void deviceIsDeviceLike;
