/**
 * Tunnel: sockets through WireGuard without root (DESIGN.md "The netstack"; issue 8 point 2). One
 * wg-quick configuration makes a Device whose Tun is a NetStack holding the interface's `Address =`
 * list, a bind (the native batched one when the shim loaded, node:dgram otherwise, or one given), and
 * a resolver for the interface's `DNS =`. What a program gets is in Node's shapes: net.Socket-like
 * connections from connect(), net.Server-like servers from createServer() on the tunnel's addresses,
 * dgram-like UDP sockets from createSocket(), http/https agents and an undici dispatcher for fetch,
 * lookup() through the tunnel's DNS, ping() (ICMP/ICMPv6 echo), stats(), and close().
 *
 * wg-quick keys a Tunnel acts on: Address (required: the stack's addresses), MTU (default 1420), DNS
 * (servers and search domains, used by lookup()), ListenPort, PrivateKey, FwMark and the peers (the
 * device's). Table, SaveConfig and the Pre/Post hooks configure a kernel interface and do not apply.
 */
import type { Clock } from '../base/clock.js';
import { systemClock } from '../base/clock.js';
import { silentLogger, type Logger } from '../base/logger.js';
import { TieredPool } from '../buffer/tiered-pool.js';
import type { Bind } from '../conn/bind.js';
import { defaultBind } from '../conn/default.js';
import { formatIp, parseIp } from '../net/address.js';
import { NetStack } from '../netstack/stack.js';
import type { PingOptions } from '../netstack/ping.js';
import type { UdpSocket, UdpSocketType, RemoteInfo } from '../netstack/udp-socket.js';
import type { LookupFunction } from 'node:net';
import { TimerWheel } from '../netstack/timer-wheel.js';
import { Tcp, type TcpOptions, type TcpStats } from '../netstack/tcp/tcp.js';
import { TcpSocket, type TcpConnectOptions, type TcpSocketOptions } from '../netstack/tcp-socket.js';
import { TcpServer, type TcpServerOptions } from '../netstack/tcp-server.js';
import { TunnelHttpAgent, TunnelHttpsAgent, tunnelDispatcher, type TunnelDispatcherOptions } from './http.js';
import type { Dispatcher } from 'undici';
import { queryOverTcp } from './dns-tcp.js';
import { ConfigError, parseConfig, type WgConfig } from '../config/wg-quick.js';
import { Device } from '../device/device.js';
import { lookupAddresses, type LookupOptions } from './lookup.js';
import { DnsResolver } from './dns-resolver.js';
import { IdleMemory } from './idle-memory.js';

export interface TunnelOptions {
  /** The UDP back end (default: the native batched bind when the shim loaded, else node:dgram). */
  bind?: Bind;
  /** Packet memory (default: a TieredPool of the standard tiers). */
  pool?: TieredPool;
  logger?: Logger;
  /** Injected time, for tests (default: the system clock). */
  clock?: Clock;
  /** Names answered without asking DNS, as /etc/hosts entries: name -> address(es). */
  hosts?: Readonly<Record<string, string | readonly string[]>>;
  /** DNS through the tunnel: per-try timeout and rounds over the servers. */
  dns?: { timeoutMs?: number; attempts?: number };
  /** TCP: congestion control ('bbr', the default, 'cubic' or 'newreno'), buffer bounds, connection limits. */
  tcp?: Omit<TcpOptions, 'wheel' | 'secrets'>;
  /**
   * Give memory back when traffic stops (idle-memory.ts: free slabs, a full GC, malloc_trim), once per
   * quiet spell. Default true; false for a program that manages its process's memory itself.
   */
  releaseMemory?: boolean;
}

/** tunnel.connect's options: net.connect's, with host names resolved through the tunnel. */
export type TunnelConnectOptions = TcpConnectOptions & TcpSocketOptions;

export interface TunnelPeerStats {
  publicKey: string;
  endpoint: string | null;
  /** Milliseconds since the epoch of the last handshake; 0 before the first. */
  lastHandshake: number;
  rxBytes: number;
  txBytes: number;
}

export interface TunnelStats {
  peers: TunnelPeerStats[];
  /** The netstack's traffic and drop counters. */
  netstack: Record<string, number>;
  /** The device's drop counters. */
  device: Record<string, number>;
  pool: { outstanding: number; peakOutstanding: number; slabs: number; reservedBytes: number };
  udpSockets: number;
  tcp: TcpStats;
}

export type { LookupOptions, PingOptions };

export class Tunnel {
  /** The WireGuard device: UAPI (ipcGet/ipcSet) and events ('handshake', 'endpoint', ...). */
  readonly device: Device;
  /** The TCP/IP stack the device's packets go through. */
  readonly netstack: NetStack;
  /** The configuration the tunnel was opened with. */
  readonly config: WgConfig;
  /** TCP over the netstack, and the one timer wheel its connections share. */
  readonly tcp: Tcp;
  private readonly wheel: TimerWheel;
  private resolver: DnsResolver | null = null;
  private readonly hosts: Map<string, string[]>;
  private readonly tcpSockets = new Set<TcpSocket>();
  private readonly servers = new Set<TcpServer>();
  private readonly dispatchers: Dispatcher[] = [];
  private httpAgentValue: TunnelHttpAgent | null = null;
  private httpsAgentValue: TunnelHttpsAgent | null = null;
  private dispatcherValue: Dispatcher | null = null;
  private closing: Promise<void> | null = null;
  private idleMemory: IdleMemory | null = null;
  /** Node's lookup-function shape over lookup(), for sockets and agents that take one. */
  readonly lookupFunction: LookupFunction;

  private constructor(device: Device, netstack: NetStack, wheel: TimerWheel, tcp: Tcp, config: WgConfig, hosts: Map<string, string[]>) {
    this.device = device;
    this.netstack = netstack;
    this.wheel = wheel;
    this.tcp = tcp;
    this.config = config;
    this.hosts = hosts;
    this.lookupFunction = (hostname, options, callback) => {
      const family = options.family === 4 || options.family === 'IPv4' ? 4 : options.family === 6 || options.family === 'IPv6' ? 6 : 0;
      this.lookup(hostname, { family }).then(
        (list) => {
          if (options.all === true) callback(null, list.map((address) => ({ address, family: address.includes(':') ? 6 : 4 })));
          else callback(null, list[0]!, list[0]!.includes(':') ? 6 : 4);
        },
        (err: NodeJS.ErrnoException) => callback(err, '', 0),
      );
    };
  }

  /**
   * Bring a tunnel up from wg-quick text (or a parsed configuration): the device configured, its
   * socket bound, peers started.
   * @throws ConfigError for a bad file or one without Address; what binding the port throws
   */
  static async open(config: string | WgConfig, options: TunnelOptions = {}): Promise<Tunnel> {
    const cfg = typeof config === 'string' ? parseConfig(config) : config;
    if (cfg.interface.addresses.length === 0) {
      throw new ConfigError(0, 'Address', 'a Tunnel needs at least one interface Address (its own address inside the tunnel)');
    }
    const logger = options.logger ?? silentLogger;
    const clock = options.clock ?? systemClock;
    // The device writes only packets that opened under WireGuard's AEAD: their checksums need no second check.
    const netstack = new NetStack({ addresses: cfg.interface.addresses, mtu: cfg.interface.mtu, clock, logger, name: 'tunnel', trustChecksums: true });
    const wheel = new TimerWheel(clock);
    const tcp = new Tcp(netstack, { ...options.tcp, wheel });
    netstack.register(tcp);
    const device = new Device({ tun: netstack, bind: options.bind ?? defaultBind(logger), pool: options.pool ?? new TieredPool(), logger, clock });
    try {
      await device.configure(cfg);
      await device.up();
    } catch (err) {
      await device.close();
      wheel.close();
      throw err;
    }
    const tunnel = new Tunnel(device, netstack, wheel, tcp, cfg, hostTable(options.hosts ?? {}));
    if (options.releaseMemory !== false) {
      tunnel.idleMemory = new IdleMemory({ pool: device.pool });
      tunnel.idleMemory.start();
    }
    const servers = cfg.interface.dns.filter((d) => parseIp(d) !== null);
    if (servers.length > 0) {
      tunnel.resolver = new DnsResolver({
        servers,
        search: cfg.interface.dns.filter((d) => parseIp(d) === null),
        udp: (type) => tunnel.createSocket(type),
        tcp: (server, query, timeoutMs) => queryOverTcp(tunnel.connect({ port: 53, host: server }), query, timeoutMs),
        clock,
        timeoutMs: options.dns?.timeoutMs,
        attempts: options.dns?.attempts,
      });
    }
    return tunnel;
  }

  /** The interface addresses, as configured ("10.0.0.2/24"). */
  get addresses(): string[] {
    return this.config.interface.addresses.slice();
  }

  /**
   * A UDP socket on the tunnel, as dgram.createSocket makes one: 'udp4' or 'udp6' (IPv6-only), with an
   * optional 'message' listener. Host names given to send/connect resolve through lookup().
   */
  createSocket(type: UdpSocketType | { type: UdpSocketType; recvBufferSize?: number; sendBufferSize?: number }, listener?: (msg: Buffer, rinfo: RemoteInfo) => void): UdpSocket {
    this.checkOpen();
    const opts = typeof type === 'string' ? { type } : type;
    const sock = this.netstack.createUdpSocket({
      ...opts,
      lookup: async (host, family) => (await this.lookup(host, { family }))[0]!,
    });
    if (listener !== undefined) sock.on('message', listener);
    return sock;
  }

  /**
   * A TCP connection through the tunnel, as net.connect makes one: connect(port, host?, listener?) or
   * connect({ port, host, localAddress?, localPort?, family?, noDelay?, keepAlive?, timeout? },
   * listener?). Host names resolve through lookup(). Nagle is off unless noDelay is false.
   */
  connect(options: TunnelConnectOptions | number, host?: string | (() => void), listener?: () => void): TcpSocket {
    this.checkOpen();
    const opts: TunnelConnectOptions = typeof options === 'number' ? { port: options, host: typeof host === 'string' ? host : undefined } : options;
    const cb = typeof host === 'function' ? host : listener;
    const sock = new TcpSocket(this.tcp, opts);
    this.track(sock);
    sock.connect({ ...opts, lookup: opts.lookup ?? this.lookupFunction }, cb);
    return sock;
  }

  /**
   * A TCP server on the tunnel's addresses, as net.createServer makes one; listen(port, host?) takes
   * '::' or nothing for every address of both families, '0.0.0.0' for IPv4 only, or one address.
   */
  createServer(options?: TcpServerOptions | ((socket: TcpSocket) => void), listener?: (socket: TcpSocket) => void): TcpServer {
    this.checkOpen();
    const server = new TcpServer(this.tcp, options ?? {}, listener);
    this.servers.add(server);
    server.on('connection', (s: TcpSocket) => this.track(s));
    server.once('close', () => this.servers.delete(server));
    return server;
  }

  /** An http.Agent whose connections go through the tunnel: http.get(url, { agent: tunnel.httpAgent }). */
  get httpAgent(): TunnelHttpAgent {
    this.checkOpen();
    this.httpAgentValue ??= new TunnelHttpAgent(this);
    return this.httpAgentValue;
  }

  /** An https.Agent whose TLS runs over connections through the tunnel. */
  get httpsAgent(): TunnelHttpsAgent {
    this.checkOpen();
    this.httpsAgentValue ??= new TunnelHttpsAgent(this);
    return this.httpsAgentValue;
  }

  /** An undici Dispatcher through the tunnel: fetch(url, { dispatcher: tunnel.dispatcher }). */
  get dispatcher(): Dispatcher {
    this.checkOpen();
    this.dispatcherValue ??= this.createDispatcher();
    return this.dispatcherValue;
  }

  /** A dispatcher with its own TLS options (a private CA, say) or undici Agent options. */
  createDispatcher(options: TunnelDispatcherOptions = {}): Dispatcher {
    this.checkOpen();
    const d = tunnelDispatcher(this, options);
    this.dispatchers.push(d);
    return d;
  }

  /**
   * The addresses of `name`: numeric addresses and `hosts` entries answered at once, "localhost" as the
   * tunnel's own addresses, anything else through the tunnel's DNS servers (the config's DNS =), or
   * through the system resolver when the config names none. Only families the tunnel has an address
   * of come back (getaddrinfo's AI_ADDRCONFIG); IPv4 first unless `order: 'ipv6first'`.
   * @throws (rejects) Node's dns errors: ENOTFOUND, EAI_AGAIN
   */
  lookup(name: string, options: LookupOptions = {}): Promise<string[]> {
    return lookupAddresses(name, options, {
      has4: this.netstack.addresses.has(4),
      has6: this.netstack.addresses.has(6),
      own: (family) => this.netstack.addresses.list(family).map(formatIp),
      hosts: this.hosts,
      resolver: this.resolver,
    });
  }

  /**
   * One ICMP or ICMPv6 echo request through the tunnel to `host` (an address, or a name resolved as
   * lookup() does, its first address); resolves with the round trip in ms.
   * @throws (rejects) ETIMEDOUT without a reply in `timeout` ms (default 5000), EHOSTUNREACH when an
   * ICMP error answers, ENETUNREACH without an address of the family, ENOBUFS past 64 waiting
   * requests; lookup's errors for a name
   */
  async ping(host: string, options: PingOptions = {}): Promise<number> {
    this.checkOpen();
    const address = parseIp(host) !== null ? host : (await this.lookup(host))[0]!;
    // The stack's timers leave the process free to exit (the system clock unrefs them); a ping the
    // program awaits holds it, as a pending socket operation does.
    const hold = setTimeout(() => {}, 0x7fffffff);
    try {
      return await this.netstack.ping(address, options);
    } finally {
      clearTimeout(hold);
    }
  }

  stats(): TunnelStats {
    const pool = this.device.pool.stats();
    const peers: TunnelPeerStats[] = [];
    for (const p of this.device.peers.values()) {
      peers.push({ publicKey: p.publicKeyBase64, endpoint: p.endpoint?.toString() ?? null, lastHandshake: p.lastHandshakeWallMs, rxBytes: p.rxBytes, txBytes: p.txBytes });
    }
    return {
      peers,
      netstack: this.netstack.counters.snapshot(),
      device: this.device.drops.snapshot(),
      pool: { outstanding: pool.outstanding, peakOutstanding: pool.peakOutstanding, slabs: pool.slabs, reservedBytes: pool.reservedBytes },
      udpSockets: this.netstack.udp.size,
      tcp: this.tcp.stats(),
    };
  }

  /**
   * Close every socket, stop the device and release its socket and buffers. Resolves when all is
   * released; calling it again returns the same promise.
   */
  close(): Promise<void> {
    if (this.closing === null) this.closing = this.shutdown();
    return this.closing;
  }

  get closed(): boolean {
    return this.closing !== null;
  }

  private async shutdown(): Promise<void> {
    this.idleMemory?.stop();
    this.resolver?.close();
    this.httpAgentValue?.destroy();
    this.httpsAgentValue?.destroy();
    await Promise.all(this.dispatchers.map((d) => d.destroy().catch(() => {})));
    // Our own sockets end quietly (no 'error' for a program that did not listen for one); what is left
    // in the stack (TIME-WAIT, half-open) is released when the device closes the netstack.
    for (const s of this.servers) s.close();
    for (const s of this.tcpSockets) s.destroy();
    await this.device.close(); // closes the netstack, which closes its UDP sockets
    this.wheel.close();
    // Sockets emit 'close' on the next tick; let them, so a caller sees them closed once we resolve.
    await new Promise<void>((r) => setImmediate(r));
  }

  private track(s: TcpSocket): void {
    this.tcpSockets.add(s);
    s.once('close', () => this.tcpSockets.delete(s));
  }

  private checkOpen(): void {
    if (this.closing !== null) throw new Error('Tunnel is closed');
  }
}

function hostTable(hosts: Readonly<Record<string, string | readonly string[]>>): Map<string, string[]> {
  const out = new Map<string, string[]>();
  for (const [name, value] of Object.entries(hosts)) {
    const list = typeof value === 'string' ? [value] : [...value];
    for (const a of list) {
      if (parseIp(a) === null) throw new RangeError(`hosts: ${JSON.stringify(name)} maps to ${JSON.stringify(a)}, which is not a numeric address`);
    }
    out.set(name.toLowerCase().replace(/\.$/, ''), list.map((a) => formatIp(parseIp(a)!)));
  }
  return out;
}
