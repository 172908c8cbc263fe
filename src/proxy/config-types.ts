/**
 * The shapes a `wgts proxy` configuration is read into (config.ts reads them): the WireGuard part, each
 * listener section, and the error that names the file, line and key at fault.
 */
import type { WgConfig } from '../config/wg-quick.js';
import type { HostPort } from '../net/host-port.js';

/** Where a section or key was written. */
export interface Place {
  file: string;
  line: number;
}

export interface Socks5Section {
  kind: 'socks5';
  at: Place;
  bind: HostPort;
  /** Both set, or both null: username/password authentication (RFC 1929) is on when set. */
  username: string | null;
  password: string | null;
}

export interface HttpSection {
  kind: 'http';
  at: Place;
  bind: HostPort;
  username: string | null;
  password: string | null;
  /** Both set: the proxy speaks TLS to its clients. Absolute paths. */
  certFile: string | null;
  keyFile: string | null;
}

export interface SniSection {
  kind: 'sni';
  at: Place;
  bind: HostPort;
}

export interface TcpClientTunnelSection {
  kind: 'tcp-client';
  at: Place;
  bind: HostPort;
  target: HostPort;
}

export interface TcpServerTunnelSection {
  kind: 'tcp-server';
  at: Place;
  listenPort: number;
  target: HostPort;
}

export interface StdioTunnelSection {
  kind: 'stdio';
  at: Place;
  target: HostPort;
}

export interface UdpClientTunnelSection {
  kind: 'udp-client';
  at: Place;
  bind: HostPort;
  target: HostPort;
  /** Seconds a client's session lives without traffic; 0: until evicted by newer ones. */
  inactivityTimeoutSec: number;
}

export interface UdpServerTunnelSection {
  kind: 'udp-server';
  at: Place;
  listenPort: number;
  target: HostPort;
  inactivityTimeoutSec: number;
}

export type ListenerSection =
  | Socks5Section
  | HttpSection
  | SniSection
  | TcpClientTunnelSection
  | TcpServerTunnelSection
  | StdioTunnelSection
  | UdpClientTunnelSection
  | UdpServerTunnelSection;

export type ResolveStrategy = 'auto' | 'ipv4' | 'ipv6';

export interface ProxyConfig {
  /** The file read (as given). */
  file: string;
  /** The file that held [Interface] and [Peer]. */
  wgFile: string;
  /** The WireGuard part, wireproxy's defaults applied. Peer endpoints may still name hosts. */
  wg: WgConfig;
  /** wireproxy's CheckAlive addresses (canonical text) and interval. */
  checkAlive: string[];
  checkAliveIntervalSec: number;
  resolveStrategy: ResolveStrategy;
  listeners: ListenerSection[];
  /** Keys read and ignored, as "file:line: Key ..." notes for the log (wg-quick keys without meaning here). */
  notes: string[];
}

/** A configuration that cannot be used: names the file, the line (0: the file as a whole) and the key. */
export class ProxyConfigError extends Error {
  readonly file: string;
  readonly line: number;
  readonly key: string;
  constructor(file: string, line: number, key: string, reason: string) {
    super(`${file}${line > 0 ? `:${line}` : ''}: ${key === '' ? '' : `${key}: `}${reason}`);
    this.name = 'ProxyConfigError';
    this.file = file;
    this.line = line;
    this.key = key;
  }
}
