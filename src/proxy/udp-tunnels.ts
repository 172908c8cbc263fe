/**
 * Static UDP forwards, which wireproxy lacks (windtf's wireproxy has the client direction as
 * [UDPProxyTunnel], read here as a UDPClientTunnel):
 *
 * - [UDPClientTunnel] BindAddress -> Target: a UDP socket on this host; each sender (address, port)
 *   gets a socket through the tunnel toward Target, and what Target answers goes back to that sender.
 * - [UDPServerTunnel] ListenPort -> Target: a UDP socket on the tunnel's address (per address family the
 *   interface has); each sender inside the WireGuard network gets a socket on this host toward Target.
 *
 * Sessions end after InactivityTimeout seconds without traffic (0: only when evicted by newer ones;
 * udp-sessions.ts). Only Target's answers are passed back. Nothing queues without bound: datagrams that
 * arrive while a session's target name resolves are held up to a small count, and a reply that would
 * grow the listener's send queue past its cap is dropped (UDP may drop; memory may not grow).
 */
import dgram from 'node:dgram';
import { isIP } from 'node:net';
import type net from 'node:net';
import type { Clock } from '../base/clock.js';
import type { Logger } from '../base/logger.js';
import { formatHostPort, type HostPort } from '../net/host-port.js';
import { listenUdp } from './listen.js';
import type { ListenerStats } from './listener-stats.js';
import { systemLookup, type Lookup } from './resolver.js';
import { unmapped } from './socks5-udp.js';
import type { TunnelLike, TunnelUdpSocket, UdpRemoteInfo } from './tunnel-like.js';
import { UdpSessionTable, type UdpSession } from './udp-sessions.js';

/** Datagrams a session holds while its target's name resolves. */
const MAX_HELD_DATAGRAMS = 16;
/** Bytes waiting in a listening socket's send queue before replies are dropped. */
const MAX_SEND_QUEUE_BYTES = 1024 * 1024;

export interface UdpTunnelOptions {
  tunnel: TunnelLike;
  stats: ListenerStats;
  logger: Logger;
  target: HostPort;
  inactivityTimeoutSec: number;
  clock?: Clock;
  maxSessions?: number;
}

/** What a session sends by: a dgram socket on this host or one through the tunnel. */
type DatagramSocket = Pick<TunnelUdpSocket, 'send' | 'close' | 'on'>;

/**
 * One sender's session: its outbound socket, made once the target's address is known, and the path
 * back. `reply` returns false when the answer was dropped.
 */
class ForwardSession implements UdpSession {
  private sock: DatagramSocket | null = null;
  private address: string | null = null;
  private held: Buffer[] = [];
  private closed = false;

  constructor(
    private readonly opts: UdpTunnelOptions,
    resolve: Promise<string>,
    private readonly open: (family: 4 | 6) => DatagramSocket,
    private readonly reply: (msg: Buffer) => boolean,
    private readonly onFail: () => void,
  ) {
    resolve.then(
      (address) => {
        if (this.closed) return;
        this.address = address;
        const sock = this.open(isIP(address) === 6 ? 6 : 4);
        this.sock = sock;
        sock.on('message', (msg, rinfo) => this.fromTarget(msg, rinfo));
        sock.on('error', (err) => this.opts.logger.verbose?.(`UDP forward to ${address}: ${err.message}`));
        const held = this.held;
        this.held = [];
        for (const m of held) this.send(m);
      },
      (err: Error) => {
        this.opts.stats.failed++;
        this.opts.logger.error?.(`UDP tunnel to ${formatHostPort(this.opts.target.host, this.opts.target.port)}: ${err.message}`);
        this.onFail();
      },
    );
  }

  send(msg: Buffer): void {
    const stats = this.opts.stats;
    if (this.sock === null) {
      if (this.held.length >= MAX_HELD_DATAGRAMS) stats.dropped++;
      else this.held.push(msg);
      return;
    }
    this.sock.send(msg, this.opts.target.port, this.address!, (err) => {
      if (err) stats.failed++;
    });
  }

  private fromTarget(msg: Buffer, rinfo: UdpRemoteInfo): void {
    const stats = this.opts.stats;
    if (rinfo.port !== this.opts.target.port || unmapped(rinfo.address) !== this.address) {
      stats.dropped++;
      return;
    }
    if (!this.reply(msg)) {
      stats.dropped++;
      return;
    }
    stats.datagramsOut++;
    stats.bytesOut += msg.length;
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.held = [];
    this.sock?.close();
  }
}

/** Count a datagram in; the session table is keyed by sender. */
function countIn(stats: ListenerStats, msg: Buffer): void {
  stats.datagramsIn++;
  stats.bytesIn += msg.length;
}

export class UdpClientTunnel {
  private readonly opts: UdpTunnelOptions & { resolve: (host: string) => Promise<string[]> };
  private readonly sessions: UdpSessionTable<ForwardSession>;
  private socket: dgram.Socket | null = null;

  /** `resolve` is the Resolver's: the target's name resolves as the tunnel's destinations do. */
  constructor(opts: UdpTunnelOptions & { resolve: (host: string) => Promise<string[]> }) {
    this.opts = opts;
    this.sessions = new UdpSessionTable(opts.inactivityTimeoutSec, { clock: opts.clock, max: opts.maxSessions });
  }

  /** Listen on `bind`; a name (localhost) binds its first address, as Go's ResolveUDPAddr picks one. */
  async listen(bind: HostPort): Promise<net.AddressInfo> {
    const host = bind.family !== 0 || bind.host === '' ? bind.host : (await systemLookup(bind.host))[0]!;
    const socket = dgram.createSocket({ type: isIP(host) === 4 ? 'udp4' : 'udp6' });
    this.socket = socket;
    socket.on('message', (msg, rinfo) => this.fromClient(socket, msg, rinfo));
    const addr = await listenUdp(socket, { host, port: bind.port, family: isIP(host) === 4 ? 4 : isIP(host) === 6 ? 6 : 0 });
    socket.on('error', (err) => this.opts.logger.error?.(`UDPClientTunnel ${formatHostPort(addr.address, addr.port)}: ${err.message}`));
    return addr;
  }

  async close(): Promise<void> {
    this.sessions.close();
    const s = this.socket;
    this.socket = null;
    if (s !== null) await new Promise<void>((r) => s.close(() => r()));
  }

  private fromClient(socket: dgram.Socket, msg: Buffer, rinfo: dgram.RemoteInfo): void {
    const { stats, tunnel, target } = this.opts;
    countIn(stats, msg);
    const key = `${rinfo.address}|${rinfo.port}`;
    const session = this.sessions.get(key, () =>
      new ForwardSession(
        this.opts,
        this.opts.resolve(target.host).then((a) => a[0]!),
        (family) => tunnel.createSocket(family === 4 ? 'udp4' : 'udp6'),
        (reply) => {
          if (socket.getSendQueueSize() > MAX_SEND_QUEUE_BYTES) return false;
          this.sessions.touch(key);
          socket.send(reply, rinfo.port, rinfo.address);
          return true;
        },
        () => this.sessions.delete(key),
      ),
    );
    session.send(msg);
  }
}

export class UdpServerTunnel {
  private readonly opts: UdpTunnelOptions & { lookup?: Lookup };
  private readonly sessions: UdpSessionTable<ForwardSession>;
  private readonly sockets: TunnelUdpSocket[] = [];

  constructor(opts: UdpTunnelOptions & { lookup?: Lookup }) {
    this.opts = opts;
    this.sessions = new UdpSessionTable(opts.inactivityTimeoutSec, { clock: opts.clock, max: opts.maxSessions });
  }

  /** Listen on `port` of the tunnel's address, for each family the interface has an address in. */
  async listen(port: number, families: readonly (4 | 6)[]): Promise<void> {
    for (const family of families) {
      const sock = this.opts.tunnel.createSocket(family === 4 ? 'udp4' : 'udp6');
      this.sockets.push(sock);
      sock.on('message', (msg, rinfo) => this.fromTunnel(sock, msg, rinfo));
      await new Promise<void>((resolve, reject) => {
        sock.on('error', reject);
        sock.bind(port, () => resolve());
      });
    }
  }

  async close(): Promise<void> {
    this.sessions.close();
    for (const s of this.sockets.splice(0)) s.close();
  }

  private fromTunnel(sock: TunnelUdpSocket, msg: Buffer, rinfo: UdpRemoteInfo): void {
    const { stats, target, logger } = this.opts;
    countIn(stats, msg);
    const key = `${rinfo.address}|${rinfo.port}`;
    const lookup = this.opts.lookup ?? systemLookup;
    const session = this.sessions.get(key, () =>
      new ForwardSession(
        this.opts,
        isIP(target.host) !== 0 ? Promise.resolve(target.host) : lookup(target.host).then((a) => a[0]!),
        (family) => {
          const local = dgram.createSocket(family === 4 ? 'udp4' : 'udp6');
          local.on('error', (err) => logger.verbose?.(`UDPServerTunnel: ${err.message}`));
          return local as unknown as DatagramSocket;
        },
        (reply) => {
          this.sessions.touch(key);
          sock.send(reply, rinfo.port, rinfo.address);
          return true;
        },
        () => this.sessions.delete(key),
      ),
    );
    session.send(msg);
  }
}
