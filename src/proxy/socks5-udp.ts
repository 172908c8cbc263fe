/**
 * SOCKS5 UDP ASSOCIATE (RFC 1928 §7): a UDP relay socket per association, bound to the address of
 * this host that the client's TCP connection arrived on (not the wildcard: the relay is no more exposed
 * than the listener), and a UDP socket through the tunnel per address family, made when first needed.
 *
 * - From the client: datagrams with the §7 header (RSV FRAG ATYP DST.ADDR DST.PORT DATA), accepted
 *   only from the control connection's IP address and from the port the request named (or, if it
 *   named none, the first port heard from). FRAG != 0 is dropped: §7 lets an implementation without
 *   reassembly do so. Domain names resolve as CONNECT's do, through a small per-association cache.
 * - To the client: each datagram from the tunnel gets the header naming its source.
 * - The association ends with its TCP connection (§7), in either direction.
 *
 * Bounded: drops are counted, never queued without limit (the relay socket's send queue, lookups in
 * flight and the name cache all have caps).
 */
import dgram from 'node:dgram';
import { isIP } from 'node:net';
import type net from 'node:net';
import type { Logger } from '../base/logger.js';
import type { ListenerStats } from './listener-stats.js';
import type { Resolver } from './resolver.js';
import { buildUdpDatagram, parseUdpDatagram } from './socks5-protocol.js';
import type { TunnelLike, TunnelUdpSocket, UdpRemoteInfo } from './tunnel-like.js';

export interface UdpAssociationLimits {
  /** Bytes waiting in the relay socket's send queue before datagrams to the client are dropped. */
  maxSendQueueBytes: number;
  /** Names kept resolved per association. */
  maxNames: number;
  /** Datagrams held while their destination name resolves. */
  maxPendingLookups: number;
}

export const DEFAULT_UDP_LIMITS: UdpAssociationLimits = {
  maxSendQueueBytes: 256 * 1024,
  maxNames: 64,
  maxPendingLookups: 32,
};

export interface UdpAssociationOptions {
  control: net.Socket;
  /** DST.ADDR and DST.PORT of the request: where the client will send from (zeros: not known). */
  clientHost: string;
  clientPort: number;
  tunnel: TunnelLike;
  resolver: Resolver;
  stats: ListenerStats;
  logger: Logger;
  limits: Partial<UdpAssociationLimits>;
}

/** "::ffff:a.b.c.d" as a dual-stack socket reports an IPv4 peer is that IPv4 address. */
export function unmapped(address: string): string {
  return address.startsWith('::ffff:') && isIP(address.slice(7)) === 4 ? address.slice(7) : address;
}

export class UdpAssociation {
  private readonly opts: UdpAssociationOptions;
  private readonly limits: UdpAssociationLimits;
  private readonly relay: dgram.Socket;
  private readonly clientIp: string;
  private clientPort: number;
  private v4: TunnelUdpSocket | null = null;
  private v6: TunnelUdpSocket | null = null;
  private readonly names = new Map<string, string>();
  private pendingLookups = 0;
  private closed = false;

  private constructor(opts: UdpAssociationOptions, relay: dgram.Socket) {
    this.opts = opts;
    this.limits = { ...DEFAULT_UDP_LIMITS, ...opts.limits };
    this.relay = relay;
    this.clientIp = unmapped(opts.control.remoteAddress ?? '');
    this.clientPort = opts.clientPort;
  }

  /** Bind the relay socket on the control connection's local address. */
  static open(opts: UdpAssociationOptions): Promise<UdpAssociation> {
    const local = unmapped(opts.control.localAddress ?? '');
    const family = isIP(local);
    if (family === 0) return Promise.reject(new Error('the control connection has no local address'));
    const relay = dgram.createSocket({ type: family === 4 ? 'udp4' : 'udp6' });
    return new Promise((resolve, reject) => {
      relay.once('error', reject);
      relay.bind({ port: 0, address: local }, () => {
        relay.off('error', reject);
        resolve(new UdpAssociation(opts, relay));
      });
    });
  }

  address(): net.AddressInfo {
    return this.relay.address();
  }

  /** Relay until the control connection ends. */
  start(): void {
    const control = this.opts.control;
    this.relay.on('message', (msg, rinfo) => this.fromClient(msg, rinfo));
    this.relay.on('error', (err) => this.opts.logger.verbose?.(`socks5 udp relay: ${err.message}`));
    // §7: the association lives as long as its TCP connection. Anything the client sends there is ignored.
    control.on('data', () => undefined);
    control.once('end', () => control.end());
    control.once('close', () => this.close());
    if (control.destroyed) this.close();
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.relay.close();
    this.v4?.close();
    this.v6?.close();
    this.v4 = null;
    this.v6 = null;
    this.names.clear();
  }

  private fromClient(msg: Buffer, rinfo: dgram.RemoteInfo): void {
    const stats = this.opts.stats;
    if (unmapped(rinfo.address) !== this.clientIp) {
      stats.dropped++;
      return;
    }
    if (this.clientPort === 0) this.clientPort = rinfo.port;
    else if (rinfo.port !== this.clientPort) {
      stats.dropped++;
      return;
    }
    const d = parseUdpDatagram(msg);
    if (typeof d === 'string') {
      stats.dropped++;
      this.opts.logger.verbose?.(`socks5 udp from ${rinfo.address}:${rinfo.port}: dropped (${d})`);
      return;
    }
    stats.datagramsIn++;
    stats.bytesIn += msg.length;
    const data = msg.subarray(d.dataAt);
    const { host, port } = d.addr;
    if (isIP(host) !== 0) {
      this.toTunnel(host, port, data);
      return;
    }
    const known = this.names.get(host);
    if (known !== undefined) {
      this.toTunnel(known, port, data);
      return;
    }
    if (this.pendingLookups >= this.limits.maxPendingLookups) {
      stats.dropped++;
      return;
    }
    this.pendingLookups++;
    this.opts.resolver.resolve(host).then(
      (addrs) => {
        this.pendingLookups--;
        if (this.closed) return;
        if (this.names.size >= this.limits.maxNames) this.names.delete(this.names.keys().next().value!);
        this.names.set(host, addrs[0]!);
        this.toTunnel(addrs[0]!, port, data);
      },
      () => {
        this.pendingLookups--;
        stats.failed++;
      },
    );
  }

  private toTunnel(address: string, port: number, data: Buffer): void {
    if (this.closed) return;
    const sock = this.socketFor(isIP(address) === 6 ? 6 : 4);
    sock.send(data, port, address, (err) => {
      if (err) this.opts.stats.failed++;
    });
  }

  private socketFor(family: 4 | 6): TunnelUdpSocket {
    const existing = family === 4 ? this.v4 : this.v6;
    if (existing !== null) return existing;
    const sock = this.opts.tunnel.createSocket(family === 4 ? 'udp4' : 'udp6');
    sock.on('message', (msg, rinfo) => this.toClient(msg, rinfo));
    sock.on('error', (err) => this.opts.logger.verbose?.(`socks5 udp through the tunnel: ${err.message}`));
    if (family === 4) this.v4 = sock;
    else this.v6 = sock;
    return sock;
  }

  private toClient(msg: Buffer, rinfo: UdpRemoteInfo): void {
    const stats = this.opts.stats;
    if (this.closed || this.clientPort === 0 || this.relay.getSendQueueSize() > this.limits.maxSendQueueBytes) {
      stats.dropped++;
      return;
    }
    const out = buildUdpDatagram(unmapped(rinfo.address), rinfo.port, msg);
    stats.datagramsOut++;
    stats.bytesOut += out.length;
    this.relay.send(out, this.clientPort, this.clientIp);
  }
}
