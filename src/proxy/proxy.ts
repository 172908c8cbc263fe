/**
 * `wgts proxy` once its tunnel is open: every section of the configuration started as a listener over
 * one TunnelLike, the endpoint refresher (dynamic DNS), and what the info server shows: /metrics (the
 * device's peers and pool, each listener's connections and bytes, the process) and /readyz: with
 * CheckAlive, 200 while every listed address answers its pings (check-alive.ts); without, 200 while a
 * peer's handshake is fresh (within REJECT_AFTER_TIME, so its session can carry data).
 *
 * Start is all or nothing: if one listener cannot start (its address is taken, its TLS files cannot be
 * read), the ones already started are closed and the error names the section's file and line.
 */
import fs from 'node:fs';
import type net from 'node:net';
import { systemClock, type Clock } from '../base/clock.js';
import type { Logger } from '../base/logger.js';
import { REJECT_AFTER_TIME_MS } from '../device/constants.js';
import { MetricsText, peersFromUapi, writeDeviceMetrics, writeProcessMetrics } from '../ipc/metrics.js';
import type { GcMeter } from '../base/gc-meter.js';
import { formatHostPort } from '../net/host-port.js';
import { parseCidr } from '../net/address.js';
import { CheckAlive } from './check-alive.js';
import { ProxyConfigError, type ListenerSection, type ProxyConfig } from './config.js';
import { Credentials } from './credentials.js';
import { EndpointRefresher } from './endpoint-refresh.js';
import { HttpProxyListener, type HttpProxyOptions } from './http-proxy.js';
import { ListenerStats } from './listener-stats.js';
import { writeListenerMetrics, writeTunnelMetrics } from './proxy-metrics.js';
import { Resolver, type Lookup } from './resolver.js';
import { SniListener } from './sni-proxy.js';
import { Socks5Listener } from './socks5-server.js';
import { runStdioTunnel, TcpClientTunnel, TcpServerTunnel } from './tcp-tunnels.js';
import type { TunnelLike } from './tunnel-like.js';
import { UdpClientTunnel, UdpServerTunnel } from './udp-tunnels.js';

export interface ProxyOptions {
  logger: Logger;
  /** [STDIOTunnel]'s streams (default: this process's stdin and stdout). */
  stdio?: { input: NodeJS.ReadableStream; output: NodeJS.WritableStream };
  /** Per-listener connection limit (default MAX_CONNECTIONS_PER_LISTENER). */
  maxConnections?: number;
  /** This host's resolver (tests inject one). */
  systemLookup?: Lookup;
  /** Re-resolves a named peer endpoint (tests inject one). */
  resolveEndpoint?: (endpoint: string) => Promise<string>;
  /** Counts garbage collections for /metrics. */
  gc?: GcMeter | null;
  /** Time for CheckAlive's rounds (tests inject a FakeClock; default the system clock). */
  clock?: Clock;
}

interface Running {
  close(): Promise<void>;
}

export class Proxy {
  readonly config: ProxyConfig;
  readonly tunnel: TunnelLike;
  readonly stats: ListenerStats[] = [];
  /** Settles when the [STDIOTunnel] connection has ended (null without one). */
  stdioDone: Promise<void> | null = null;
  private readonly running: Running[] = [];
  private readonly refresher: EndpointRefresher;
  private readonly checkAlive: CheckAlive | null;
  private readonly gc: GcMeter | null;

  private constructor(config: ProxyConfig, tunnel: TunnelLike, options: ProxyOptions) {
    this.config = config;
    this.tunnel = tunnel;
    this.gc = options.gc ?? null;
    this.refresher = new EndpointRefresher(tunnel.device, config.wg.peers, options.logger, options.resolveEndpoint);
    this.checkAlive = config.checkAlive.length === 0 ? null : new CheckAlive(tunnel, config.checkAlive, config.checkAliveIntervalSec, options.clock ?? systemClock, options.logger);
  }

  /**
   * Start every section over `tunnel` (open already).
   * @throws ProxyConfigError naming the section whose listener could not start; nothing is left running
   */
  static async start(config: ProxyConfig, tunnel: TunnelLike, options: ProxyOptions): Promise<Proxy> {
    const p = new Proxy(config, tunnel, options);
    const families = new Set(config.wg.interface.addresses.map((a) => parseCidr(a).family));
    const resolver = new Resolver({
      tunnelLookup: config.wg.interface.dns.length > 0 ? (n) => tunnel.lookup(n) : null,
      system: options.systemLookup,
      strategy: config.resolveStrategy,
      hasIpv4: families.has(4),
      hasIpv6: families.has(6),
    });
    try {
      for (const section of config.listeners) {
        if (section.kind !== 'stdio') await p.startListener(section, resolver, [...families], options);
      }
    } catch (err) {
      await p.close();
      throw err;
    }
    p.refresher.start();
    p.checkAlive?.start();
    const stdio = config.listeners.find((l) => l.kind === 'stdio');
    if (stdio !== undefined && stdio.kind === 'stdio') {
      const io = options.stdio ?? { input: process.stdin, output: process.stdout };
      p.stdioDone = runStdioTunnel({ tunnel, resolver, logger: options.logger, target: stdio.target, ...io });
    }
    return p;
  }

  private async startListener(section: Exclude<ListenerSection, { kind: 'stdio' }>, resolver: Resolver, families: (4 | 6)[], options: ProxyOptions): Promise<void> {
    const { tunnel } = this;
    const { logger, maxConnections } = options;
    const onTunnel = section.kind === 'tcp-server' || section.kind === 'udp-server';
    const where = onTunnel ? `tunnel:${section.listenPort}` : formatHostPort(section.bind.host, section.bind.port);
    const stats = new ListenerStats(section.kind, where);
    let listener: Running;
    let listen: () => Promise<net.AddressInfo | void>;
    switch (section.kind) {
      case 'socks5': {
        const l = new Socks5Listener({ tunnel, resolver, stats, logger, maxConnections, credentials: credentialsOf(section) });
        [listener, listen] = [l, () => l.listen(section.bind)];
        break;
      }
      case 'http': {
        const l = makeHttpListener(section, { tunnel, resolver, stats, logger, maxConnections, credentials: credentialsOf(section) });
        [listener, listen] = [l, () => l.listen(section.bind)];
        break;
      }
      case 'sni': {
        const l = new SniListener({ tunnel, resolver, stats, logger, maxConnections });
        [listener, listen] = [l, () => l.listen(section.bind)];
        break;
      }
      case 'tcp-client': {
        const l = new TcpClientTunnel({ tunnel, resolver, stats, logger, maxConnections, target: section.target });
        [listener, listen] = [l, () => l.listen(section.bind)];
        break;
      }
      case 'tcp-server': {
        const l = new TcpServerTunnel({ tunnel, stats, logger, maxConnections, target: section.target, lookup: options.systemLookup });
        [listener, listen] = [l, () => l.listen(section.listenPort)];
        break;
      }
      case 'udp-client': {
        const l = new UdpClientTunnel({ tunnel, stats, logger, target: section.target, inactivityTimeoutSec: section.inactivityTimeoutSec, resolve: (h) => resolver.resolve(h) });
        [listener, listen] = [l, () => l.listen(section.bind)];
        break;
      }
      case 'udp-server': {
        const l = new UdpServerTunnel({ tunnel, stats, logger, target: section.target, inactivityTimeoutSec: section.inactivityTimeoutSec, lookup: options.systemLookup });
        [listener, listen] = [l, () => l.listen(section.listenPort, families)];
        break;
      }
    }
    this.running.push(listener);
    try {
      const bound = await listen();
      if (bound !== undefined) stats.address = formatHostPort(bound.address, bound.port);
    } catch (err) {
      throw new ProxyConfigError(section.at.file, section.at.line, onTunnel ? 'ListenPort' : 'BindAddress', `cannot listen on ${where}: ${(err as Error).message}`);
    }
    this.stats.push(stats);
    logger.verbose?.(`${section.kind} listening on ${stats.address}`);
  }

  /** The exposition for /metrics. */
  metrics(): string {
    const m = new MetricsText();
    writeDeviceMetrics(m, this.tunnel.device, Date.now());
    writeListenerMetrics(m, this.stats.map((s) => s.snapshot()));
    if (this.tunnel.stats !== undefined) writeTunnelMetrics(m, this.tunnel.stats());
    writeProcessMetrics(m, this.gc);
    return m.text();
  }

  /**
   * /readyz: with CheckAlive, ready while every listed address answers (check-alive.ts), the body
   * giving each one's last reply in Unix seconds; without, ready while some peer's last handshake is
   * younger than REJECT_AFTER_TIME. Either way the body gives each peer's handshake age.
   */
  readiness(nowMs = Date.now()): { ok: boolean; body: string } {
    const peers: Record<string, number | null> = {};
    let fresh = false;
    for (const p of peersFromUapi(this.tunnel.device.ipcGet())) {
      const age = p.lastHandshakeMs === null ? null : Math.max(0, Math.round((nowMs - p.lastHandshakeMs) / 1000));
      peers[p.publicKey] = age;
      if (age !== null && age * 1000 < REJECT_AFTER_TIME_MS) fresh = true;
    }
    if (this.checkAlive === null) return { ok: fresh, body: JSON.stringify({ ready: fresh, handshakeAgeSeconds: peers }) + '\n' };
    const alive = this.checkAlive.readiness(nowMs);
    return { ok: alive.ok, body: JSON.stringify({ ready: alive.ok, checkAlive: alive.lastReply, handshakeAgeSeconds: peers }) + '\n' };
  }

  /** Stop every listener and the refresher (the tunnel is the caller's to close). */
  async close(): Promise<void> {
    this.refresher.stop();
    this.checkAlive?.stop();
    await Promise.all(this.running.splice(0).map((r) => r.close()));
  }
}

function credentialsOf(s: { username: string | null; password: string | null }): Credentials | null {
  return s.username === null ? null : new Credentials(s.username, s.password ?? '');
}

/** An [http] listener, its TLS files read first: a file that cannot be read or used is named. */
function makeHttpListener(s: Extract<ListenerSection, { kind: 'http' }>, opts: Omit<HttpProxyOptions, 'tls'>): HttpProxyListener {
  if (s.certFile === null || s.keyFile === null) return new HttpProxyListener({ ...opts, tls: null });
  const read = (file: string, key: string): Buffer => {
    try {
      return fs.readFileSync(file);
    } catch (err) {
      throw new ProxyConfigError(s.at.file, s.at.line, key, `cannot read '${file}': ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`);
    }
  };
  const tls = { cert: read(s.certFile, 'CertFile'), key: read(s.keyFile, 'KeyFile') };
  try {
    return new HttpProxyListener({ ...opts, tls });
  } catch (err) {
    throw new ProxyConfigError(s.at.file, s.at.line, 'CertFile', `'${s.certFile}' and '${s.keyFile}' are not a usable certificate and key: ${(err as Error).message}`);
  }
}
