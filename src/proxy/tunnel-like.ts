/**
 * What the proxy uses of a Tunnel (tunnel/, DESIGN.md "The netstack"), and nothing more: sockets in
 * Node's own shapes through the tunnel, its DNS, echo requests (CheckAlive), and its Device for events
 * and UAPI. The Tunnel
 * satisfies these interfaces structurally; the unit tests run the proxy over a stand-in built on Node's
 * own net and dgram on the loopback interface (_fake-tunnel.ts).
 *
 * Error contract (the Tunnel's, issue 8): a failed connect() emits 'error' with `code` ECONNREFUSED
 * (RST), ETIMEDOUT (no answer), EHOSTUNREACH / ENETUNREACH (ICMP unreachable, no route, no handshake),
 * and a live connection may end with ECONNRESET. The proxy maps them to SOCKS5 and HTTP replies.
 */
import type { Duplex } from 'node:stream';
import type { MetricsDevice } from '../ipc/metrics.js';
import type { TunnelCounters } from './proxy-metrics.js';

/** A connection through the tunnel: a net.Socket-like Duplex that emits 'connect' once established. */
export interface TunnelSocket extends Duplex {
  readonly localAddress?: string | undefined;
  readonly localPort?: number | undefined;
  readonly remoteAddress?: string | undefined;
  readonly remotePort?: number | undefined;
  setNoDelay(noDelay?: boolean): this;
}

/** A listening socket on the tunnel's address (its own address, not this host's). */
export interface TunnelServer {
  listen(port: number, callback?: () => void): this;
  close(callback?: (err?: Error) => void): this;
  on(event: 'error', listener: (err: Error) => void): this;
}

export interface UdpRemoteInfo {
  address: string;
  port: number;
  family: string;
}

/** A dgram-like UDP socket whose datagrams travel through the tunnel. */
export interface TunnelUdpSocket {
  bind(port?: number, callback?: () => void): this;
  send(msg: Uint8Array, port: number, address: string, callback?: (err: Error | null) => void): void;
  close(callback?: () => void): void;
  on(event: 'message', listener: (msg: Buffer, rinfo: UdpRemoteInfo) => void): this;
  on(event: 'error', listener: (err: Error) => void): this;
}

/** The Device under the tunnel, as far as the proxy needs it: UAPI, events, its pool and counters. */
export interface DeviceLike extends MetricsDevice {
  ipcSet(text: string): Promise<void>;
  on(event: 'handshake-failed', listener: (publicKey: string) => void): this;
  off(event: 'handshake-failed', listener: (publicKey: string) => void): this;
}

/** net.connect's options, as far as the proxy sets them. */
export interface TunnelConnectOptions {
  port: number;
  /** An IP literal: the proxy resolves names itself (resolver.ts). */
  host: string;
  /** true keeps our side open after the peer's FIN (relay.ts passes half-closes on). */
  allowHalfOpen?: boolean;
  noDelay?: boolean;
}

export interface TunnelLike {
  connect(options: TunnelConnectOptions): TunnelSocket;
  createServer(options: { allowHalfOpen?: boolean }, listener: (socket: TunnelSocket) => void): TunnelServer;
  createSocket(type: 'udp4' | 'udp6'): TunnelUdpSocket;
  /** Addresses for `name` from the DNS servers the tunnel's configuration names (DNS=). */
  lookup(name: string): Promise<string[]>;
  /** One ICMP/ICMPv6 echo request to an address through the tunnel: the round trip in ms, or ETIMEDOUT etc. */
  ping(address: string, options?: { timeout?: number }): Promise<number>;
  close(): Promise<void>;
  readonly device: DeviceLike;
  /** Counters of the tunnel's own stack, for /metrics (a stand-in may have none). */
  stats?(): TunnelCounters;
}
