/**
 * The rig of the rootless benchmark (rootless.ts): two namespaces joined by veth, a WireGuard peer with
 * the kernel's TCP/IP stack behind it in one, and in the other whichever client side a row measures.
 *
 *   namespace wgrl-c-PID (client side)                 namespace wgrl-p-PID (peer side)
 *   one of: wgts daemon on TUN + kernel TCP,            peer on TUN wgrpPID 10.89.0.2/24
 *           a Tunnel in a Node process,                 bulk-serve.ts: source :5001, sink :5002,
 *           wgts proxy (SOCKS5, TCPClientTunnel),         echo :5003 (kernel TCP)
 *           onetun (port forwards)
 *   tunnel address 10.89.0.1, one key for all
 *   veth0 198.19.2.1/24  <----------- veth ----------->  veth0 198.19.2.2/24, UDP 51820
 *
 * The peer is upstream wireguard-go when installed (BENCH_ROOTLESS_PEER=wgts picks a wgts daemon):
 * it is the reference implementation, it is not the code under test (a change to wgts moves only the
 * client side of every row), and with its offloads and goroutines it is not the bottleneck. Every
 * client side uses the same key and address, so the peer stays up for the whole run; each start
 * makes a fresh handshake and the peer follows the new endpoint (roaming).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { keyToBase64 } from '../crypto/keys.js';
import { generatePrivateKey, publicKey } from '../crypto/x25519.js';
import { nsExec, peerBinaries, sh, startPeerDaemon, stopChild, type PeerBinary } from '../device/_netns.js';
import { MMAP_THRESHOLD_TUNABLE, YOUNG_GENERATION_FLAG } from '../cli/reexec.js';
import { ECHO_PORT, SINK_PORT, SOURCE_PORT } from './bulk-serve.js';
import type { ClientJob } from './bulk-client.js';

export const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const NS_C = `wgrl-c-${process.pid}`;
const NS_P = `wgrl-p-${process.pid}`;
// The UAPI socket directory is shared by every namespace: interface names carry the pid.
const IF_P = `wgrp${process.pid}`.slice(0, 15);
const IF_C = `wgrc${process.pid}`.slice(0, 15);
const OUTER_C = '198.19.2.1';
const OUTER_P = '198.19.2.2';
export const INNER_C = '10.89.0.1';
export const INNER_P = '10.89.0.2';
/**
 * onetun has a key and address of its own: boringtun (under onetun) writes TAI64N labels from
 * 2^62 + 37 where wireguard-go and wgts use 2^62 + 10, so after an onetun handshake the peer takes
 * every other client's initiation as a replay (WireGuard paper 5.1) for 27 seconds.
 */
const INNER_ONETUN = '10.89.0.3';
const PEER_PORT = 51820;
const MTU = 1420;
const SOCKS_PORT = 1080;
/** TCPClientTunnel / onetun local ports: base + the target's port (5001 -> 15001 / 16001). */
const PROXY_FORWARD_BASE = 10_000;
const ONETUN_FORWARD_BASE = 11_000;
const START_WAIT_MS = 10_000;
/** The kernel's default (and a veth's) gso_max_segs. */
const GSO_MAX_SEGS = 65535;

export { ECHO_PORT, SINK_PORT, SOURCE_PORT };

export function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}

/** VmRSS (now) or VmHWM (peak) of a process, in MiB; NaN once it is gone. */
export function rssMiB(pid: number, field: 'VmRSS' | 'VmHWM' = 'VmRSS'): number {
  try {
    const m = new RegExp(`${field}:\\s+(\\d+) kB`).exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
    return m === null ? NaN : Number(m[1]) / 1024;
  } catch {
    return NaN;
  }
}

/** User + system CPU seconds of a process so far. */
export function cpuSeconds(pid: number): number {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return (Number(f[11]) + Number(f[12])) / 100;
  } catch {
    return NaN;
  }
}

/** A process under test: its pid for /proc, and how to stop it. */
export interface Proc {
  readonly pid: number;
  stop(): Promise<void>;
}

/** A child whose stdout lines can be awaited one by one. */
export class LineChild implements Proc {
  readonly child: ChildProcess;
  private readonly lines: string[] = [];
  private waiter: ((line: string | null) => void) | null = null;
  private ended = false;
  stderr = '';

  constructor(child: ChildProcess) {
    this.child = child;
    createInterface({ input: child.stdout! }).on('line', (l) => {
      if (this.waiter !== null) {
        const w = this.waiter;
        this.waiter = null;
        w(l);
      } else this.lines.push(l);
    });
    child.stderr?.on('data', (d: Buffer) => (this.stderr = (this.stderr + d.toString()).slice(-4000)));
    child.once('exit', () => {
      this.ended = true;
      // Let the last lines arrive before telling a waiter the process is gone.
      setTimeout(() => this.waiter?.(null), 100);
    });
  }

  get pid(): number {
    return this.child.pid!;
  }

  /** The next stdout line, or null if the process ends (or `ms` passes) first. */
  next(ms: number): Promise<string | null> {
    const l = this.lines.shift();
    if (l !== undefined) return Promise.resolve(l);
    if (this.ended) return Promise.resolve(null);
    return new Promise((resolve) => {
      const t = setTimeout(() => {
        this.waiter = null;
        resolve(null);
      }, ms);
      this.waiter = (line) => {
        clearTimeout(t);
        resolve(line);
      };
    });
  }

  /** Lines until one matching `want`; throws with the process's stderr if it never comes. */
  async expect(want: RegExp, ms: number, what: string): Promise<string> {
    const end = Date.now() + ms;
    for (;;) {
      const l = await this.next(Math.max(1, end - Date.now()));
      if (l === null) throw new Error(`${what}: no ${want} (${this.stderr.trim() || 'no stderr'})`);
      if (want.test(l)) return l;
    }
  }

  send(line: string): void {
    this.child.stdin?.write(line + '\n');
  }

  stop(): Promise<void> {
    return stopChild(this.child);
  }
}

function spawnIn(ns: string, argv: string[], env: Record<string, string> = {}): ChildProcess {
  return spawn('ip', ['netns', 'exec', ns, ...argv], { env: { ...process.env, ...env }, stdio: ['pipe', 'pipe', 'pipe'] });
}

export interface Keys {
  client: string;
  clientPublic: string;
  onetun: string;
  onetunPublic: string;
  peer: string;
  peerPublic: string;
}

/** The two namespaces, the peer and the kernel services behind it. */
export class Rig {
  readonly keys: Keys;
  readonly dir: string;
  readonly peerLabel: string;
  private peer: ChildProcess | null = null;
  server: LineChild | null = null;
  private lossOn = false;
  private gsoOff = false;

  constructor(dir: string) {
    this.dir = dir;
    const [c, o, p] = [generatePrivateKey(), generatePrivateKey(), generatePrivateKey()];
    this.keys = {
      client: keyToBase64(c),
      clientPublic: keyToBase64(publicKey(c)),
      onetun: keyToBase64(o),
      onetunPublic: keyToBase64(publicKey(o)),
      peer: keyToBase64(p),
      peerPublic: keyToBase64(publicKey(p)),
    };
    this.peerLabel = Rig.peerBinary().label;
  }

  static peerBinary(): PeerBinary {
    const want = process.env.BENCH_ROOTLESS_PEER ?? 'wireguard-go';
    const upstream = peerBinaries().find((b) => b.label === 'wireguard-go (upstream)');
    if (want !== 'wgts' && upstream !== undefined) return upstream;
    return { label: 'wgts', path: process.execPath, args: (i) => [YOUNG_GENERATION_FLAG, join(ROOT, 'dist/cli/main.js'), '-f', i] };
  }

  async up(seconds: number): Promise<void> {
    this.down();
    sh('ip', ['netns', 'add', NS_C]);
    sh('ip', ['netns', 'add', NS_P]);
    sh('ip', ['link', 'add', 'veth0', 'netns', NS_C, 'type', 'veth', 'peer', 'name', 'veth0', 'netns', NS_P]);
    for (const [ns, addr] of [[NS_C, OUTER_C], [NS_P, OUTER_P]] as const) {
      nsExec(ns, 'ip', ['addr', 'add', `${addr}/24`, 'dev', 'veth0']);
      nsExec(ns, 'ip', ['link', 'set', 'veth0', 'up']);
      nsExec(ns, 'ip', ['link', 'set', 'lo', 'up']);
    }
    this.peer = await startPeerDaemon(Rig.peerBinary(), NS_P, IF_P);
    writeFileSync(join(this.dir, 'peer.key'), this.keys.peer + '\n', { mode: 0o600 });
    nsExec(NS_P, 'wg', [
      'set', IF_P, 'private-key', join(this.dir, 'peer.key'), 'listen-port', String(PEER_PORT),
      'peer', this.keys.clientPublic, 'allowed-ips', `${INNER_C}/32`,
      'peer', this.keys.onetunPublic, 'allowed-ips', `${INNER_ONETUN}/32`,
    ]);
    nsExec(NS_P, 'ip', ['addr', 'add', `${INNER_P}/24`, 'dev', IF_P]);
    nsExec(NS_P, 'ip', ['link', 'set', IF_P, 'mtu', String(MTU), 'up']);
    this.server = new LineChild(spawnIn(NS_P, [process.execPath, join(ROOT, 'dist/bench/bulk-serve.js'), INNER_P, String(seconds)]));
    await this.server.expect(/^ready$/, START_WAIT_MS, 'bulk-serve');
    this.writeConfigs();
  }

  down(): void {
    if (this.lossOn || this.gsoOff) this.loss(false);
    this.server?.child.kill('SIGKILL');
    this.server = null;
    this.peer?.kill('SIGKILL');
    this.peer = null;
    for (const ns of [NS_C, NS_P]) {
      try {
        sh('ip', ['netns', 'del', ns]);
      } catch {
        /* absent */
      }
    }
    for (const i of [IF_P, IF_C]) sh('rm', ['-f', `/var/run/wireguard/${i}.sock`]);
  }

  /**
   * Drop 1% of the tunnel's datagrams each way, one by one: iptables -m statistic on INPUT at each
   * end (the peer's datagrams as they reach the client namespace, the client's as they reach the
   * peer's). Both ends send with UDP GSO, and a GSO batch crosses the veth whole, so a rule would drop
   * a whole batch of up to 64 datagrams at once (at OUTPUT, or at INPUT on the far side); with the
   * veth's gso_max_segs at 1 the kernel splits each batch before the veth and INPUT sees datagrams.
   * That split alone costs the sender (the far side's per-datagram receive runs in its send call), so
   * `drop` false sets it without the rule: the loss-free baseline the lossy rows are compared with.
   */
  loss(on: boolean, drop = true): void {
    const op = on ? '-A' : '-D';
    const rule = ['-m', 'statistic', '--mode', 'random', '--probability', '0.01', '-j', 'DROP'];
    // BENCH_LOSS_SPLIT=0 leaves GSO batches whole: the rule then drops 1% of batches (still 1% of the
    // datagrams on average, in bursts of a batch) and the senders pay no split.
    if (process.env.BENCH_LOSS_SPLIT !== '0') {
      for (const ns of [NS_C, NS_P]) nsExec(ns, 'ip', ['link', 'set', 'dev', 'veth0', 'gso_max_segs', on ? '1' : String(GSO_MAX_SEGS)]);
    }
    if ((on && drop) || (!on && this.lossOn)) {
      nsExec(NS_P, 'iptables', [op, 'INPUT', '-p', 'udp', '--dport', String(PEER_PORT), ...rule]);
      nsExec(NS_C, 'iptables', [op, 'INPUT', '-p', 'udp', '--sport', String(PEER_PORT), ...rule]);
    }
    this.lossOn = on && drop;
    this.gsoOff = on;
  }

  /** Datagrams the loss rules dropped so far, both ways. */
  dropped(): number {
    let n = 0;
    for (const ns of [NS_C, NS_P]) {
      const out = nsExec(ns, 'iptables', ['-L', 'INPUT', '-v', '-n', '-x']);
      for (const m of out.matchAll(/^\s*(\d+)\s+\d+\s+DROP/gm)) n += Number(m[1]);
    }
    return n;
  }

  private wgQuick(extra: string): string {
    return (
      `[Interface]\nPrivateKey = ${this.keys.client}\nAddress = ${INNER_C}/32\nMTU = ${MTU}\n\n` +
      `[Peer]\nPublicKey = ${this.keys.peerPublic}\nEndpoint = ${OUTER_P}:${PEER_PORT}\nAllowedIPs = ${INNER_P}/32\nPersistentKeepalive = 25\n` +
      extra
    );
  }

  get tunnelConfig(): string {
    return join(this.dir, 'tunnel.conf');
  }

  get proxyConfig(): string {
    return join(this.dir, 'proxy.conf');
  }

  /** The Tunnel's wg-quick file and the proxy's wireproxy file (up() writes them). */
  writeConfigs(): void {
    writeFileSync(this.tunnelConfig, this.wgQuick(''), { mode: 0o600 });
    let sections = `\n[Socks5]\nBindAddress = 127.0.0.1:${SOCKS_PORT}\n`;
    for (const port of [SOURCE_PORT, SINK_PORT, ECHO_PORT]) {
      sections += `\n[TCPClientTunnel]\nBindAddress = 127.0.0.1:${PROXY_FORWARD_BASE + port}\nTarget = ${INNER_P}:${port}\n`;
    }
    writeFileSync(this.proxyConfig, this.wgQuick(sections), { mode: 0o600 });
  }

  /** A bulk-client.ts process in the client namespace, started and ready. */
  async client(job: ClientJob, nodeFlags: readonly string[] = []): Promise<LineChild> {
    const c = new LineChild(spawnIn(NS_C, [process.execPath, ...nodeFlags, join(ROOT, 'dist/bench/bulk-client.js'), JSON.stringify(job)]));
    await c.expect(/^ready$/, START_WAIT_MS + 5000, `bulk-client ${job.via} ${job.mode}`);
    return c;
  }

  /** A wgts daemon on a TUN in the client namespace: the kernel path. */
  async startDaemon(): Promise<Proc> {
    // The Node flag and the tunable as the detaching daemon sets them for itself (cli/daemonize.ts).
    const argv = [process.execPath, YOUNG_GENERATION_FLAG, join(ROOT, 'dist/cli/main.js'), '-f', IF_C];
    const d = new LineChild(spawnIn(NS_C, argv, { WG_PROCESS_FOREGROUND: '1', LOG_LEVEL: 'error', GLIBC_TUNABLES: MMAP_THRESHOLD_TUNABLE }));
    const sock = `/var/run/wireguard/${IF_C}.sock`;
    const end = Date.now() + START_WAIT_MS;
    while (!existsSync(sock) && Date.now() < end && d.child.exitCode === null) await sleep(25);
    if (!existsSync(sock)) {
      await d.stop();
      throw new Error(`the wgts daemon did not start: ${d.stderr.trim()}`);
    }
    writeFileSync(join(this.dir, 'client.key'), this.keys.client + '\n', { mode: 0o600 });
    nsExec(NS_C, 'wg', ['set', IF_C, 'private-key', join(this.dir, 'client.key'), 'peer', this.keys.peerPublic, 'allowed-ips', `${INNER_P}/32`, 'endpoint', `${OUTER_P}:${PEER_PORT}`]);
    nsExec(NS_C, 'ip', ['addr', 'add', `${INNER_C}/24`, 'dev', IF_C]);
    nsExec(NS_C, 'ip', ['link', 'set', IF_C, 'mtu', String(MTU), 'up']);
    nsExec(NS_C, 'ping', ['-c', '1', '-W', '5', INNER_P]);
    return d;
  }

  /** `wgts proxy` in the client namespace (foreground, as a user runs it), listening. */
  async startProxy(nodeFlags: readonly string[] = []): Promise<LineChild> {
    const p = new LineChild(spawnIn(NS_C, [process.execPath, ...nodeFlags, join(ROOT, 'dist/cli/main.js'), 'proxy', '-c', this.proxyConfig]));
    await this.waitListening(SOCKS_PORT, p);
    return p;
  }

  /** onetun forwarding the same three ports, or null when it is not installed. */
  async startOnetun(): Promise<LineChild | null> {
    const bin = onetunPath();
    if (bin === null) return null;
    const forwards = [SOURCE_PORT, SINK_PORT, ECHO_PORT].map((p) => `127.0.0.1:${ONETUN_FORWARD_BASE + p}:${INNER_P}:${p}:TCP`);
    const o = new LineChild(
      spawnIn(NS_C, [
        bin,
        ...forwards,
        '--endpoint-addr', `${OUTER_P}:${PEER_PORT}`,
        '--endpoint-public-key', this.keys.peerPublic,
        '--private-key', this.keys.onetun,
        '--source-peer-ip', INNER_ONETUN,
        '--keep-alive', '25',
        '--max-transmission-unit', String(MTU),
        '--log', 'error',
      ]),
    );
    await this.waitListening(ONETUN_FORWARD_BASE + SOURCE_PORT, o);
    return o;
  }

  /** The local port in front of `port` for a forwarder ('proxy' or 'onetun'). */
  static forwardPort(kind: 'proxy' | 'onetun', port: number): number {
    return (kind === 'proxy' ? PROXY_FORWARD_BASE : ONETUN_FORWARD_BASE) + port;
  }

  static get socks(): string {
    return `127.0.0.1:${SOCKS_PORT}`;
  }

  private async waitListening(port: number, who: LineChild): Promise<void> {
    const end = Date.now() + START_WAIT_MS;
    while (Date.now() < end) {
      if (nsExec(NS_C, 'ss', ['-Htln', `sport = :${port}`]).includes(String(port))) return;
      if (who.child.exitCode !== null) break;
      await sleep(50);
    }
    await who.stop();
    throw new Error(`nothing listens on ${port}: ${who.stderr.trim()}`);
  }
}

export function onetunPath(): string | null {
  const p = join(process.env.CARGO_HOME ?? join(homedir(), '.cargo'), 'bin', 'onetun');
  return existsSync(p) ? p : null;
}
