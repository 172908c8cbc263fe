/**
 * The rootless rows of `npm run bench` (issue 8 point 4, issue 9 point 6): one TCP stream through the
 * tunnel without root, in both directions, against the same stream through a wgts daemon and the
 * kernel's TCP, and against onetun; then memory with 1,000 idle connections and over a soak.
 *
 * Topology and peer: rootless-rig.ts. The transfer is the same on every path: one connection from the
 * client namespace to the kernel's TCP behind the peer (bulk-serve.ts), bytes counted where they
 * arrive, from the first for BENCH_SECONDS (the client counts downloads, the kernel's sink uploads).
 * The client is one program for every path (bulk-client.ts); the paths are
 *
 * - kernel: a wgts daemon on a TUN, the client on the kernel's TCP (what a root user gets);
 * - Tunnel: the client opens a Tunnel in its own process and connects through it (the library);
 * - proxy TCPClientTunnel / proxy SOCKS5: `wgts proxy` (foreground, as a user starts it), the client on
 *   the kernel's TCP to its local port, or to its SOCKS5 port with a CONNECT first;
 * - onetun: its port forwards, the client to its local port (skipped with a word when not installed);
 * - Tunnel, 1% loss and kernel, 1% loss: the same with 1% of the tunnel's datagrams dropped each way
 *   by iptables, one datagram at a time (rootless-rig.ts). Dropping datagrams one by one needs the
 *   veth to split GSO batches, which costs the senders CPU on its own, so "Tunnel (veth GSO off)" and
 *   "kernel (veth GSO off)" are the same veth without the drop: "of no loss (same veth)" is a lossy
 *   round's figure over that, "of no loss (GSO on)" over the plain path's. BENCH_LOSS_SPLIT=0 keeps
 *   the batches whole instead: 1% of them dropped, in bursts (then only the GSO-on ratio means
 *   anything; the "veth GSO off" rows are not split either).
 *
 * Rounds alternate the order of the paths and of the directions, so drift on a shared machine hits
 * all alike; the table quotes medians and per-round ratios' medians. CPU s is the process under
 * test's user+system time over the transfer (the daemon, the Tunnel's process with its client, the
 * proxy, onetun); a process that passes BENCH_RSS_CAP_MIB (default 2048) is killed and its row says so.
 *
 * Memory rows, once per run, each in a fresh process: RSS (VmRSS) idle after the handshake, with
 * BENCH_IDLE_CONNECTIONS (1,000) connections to the echo service open and idle, and
 * BENCH_AFTER_SECONDS (30) after they were closed; for a Tunnel's process, for the proxy (the
 * connections are SOCKS5 CONNECTs from another process), and for onetun. Then the proxy soak: for
 * BENCH_SOAK_SECONDS (600) 8 clients open a SOCKS5 connection, echo 1 KiB and close it, one after
 * another, while the proxy's RSS is sampled each second: growth is the median of the last tenth of
 * the samples less the median of the second tenth (the first is warm-up).
 *
 * Root only. `npm run bench` runs this after the daemon rows (netns.ts); `npm run bench:rootless` runs it
 * alone; BENCH_ROOTLESS=0 skips it. Environment: BENCH_SECONDS (10), BENCH_ROUNDS (3), BENCH_ROOTLESS_PATHS (comma list of
 * path labels), BENCH_ROOTLESS_PEER (wireguard-go | wgts), BENCH_ROOTLESS_NODE_FLAGS (Node flags for
 * the Tunnel's process and the proxy), BENCH_TUNNEL_CONGESTION (bbr | cubic | newreno: the Tunnel's TCP
 * congestion control, default its own), BENCH_IDLE_CONNECTIONS, BENCH_AFTER_SECONDS, BENCH_SOAK_SECONDS
 * (0: no soak), BENCH_ROOTLESS_MEMORY=0 (no memory rows), BENCH_WRITE=0 (do not append to BENCHMARKS.md).
 */
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { availableParallelism, tmpdir } from 'node:os';
import { join } from 'node:path';
import { which } from '../device/_netns.js';
import type { ClientJob } from './bulk-client.js';
import type { SinkReport } from './bulk-serve.js';
import { cpuSeconds, ECHO_PORT, INNER_P, onetunPath, Rig, ROOT, rssMiB, SINK_PORT, sleep, SOURCE_PORT, type LineChild, type Proc } from './rootless-rig.js';
import { fmt, median, ratioMedian } from './stats.js';

const SECONDS = Number(process.env.BENCH_SECONDS ?? 10);
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 3);
const ONLY = process.env.BENCH_ROOTLESS_PATHS?.split(',');
const NODE_FLAGS = (process.env.BENCH_ROOTLESS_NODE_FLAGS ?? '').split(' ').filter((f) => f !== '');
const IDLE_CONNECTIONS = Number(process.env.BENCH_IDLE_CONNECTIONS ?? 1000);
const AFTER_SECONDS = Number(process.env.BENCH_AFTER_SECONDS ?? 30);
const SOAK_SECONDS = Number(process.env.BENCH_SOAK_SECONDS ?? 600);
const MEMORY = process.env.BENCH_ROOTLESS_MEMORY !== '0';
const RSS_CAP_MIB = Number(process.env.BENCH_RSS_CAP_MIB ?? 2048);
/** A process just started settles (JIT, first GCs) this long before its idle RSS is read. */
const IDLE_SETTLE_MS = 5000;
/** After the connections are open, this long before their RSS is read. */
const OPEN_SETTLE_MS = 2000;
const SOAK_CLIENTS = 8;
const RSS_SAMPLE_MS = 250;

type Direction = 'down' | 'up';

/** What a path is: how the client gets through. */
interface Route {
  label: string;
  /** Starts what the client goes through (null: the client's own process is the one under test). */
  start(rig: Rig): Promise<Proc | null>;
  job(dir: Direction): ClientJob;
  /** Why it cannot run here, or null. */
  missing(): string | null;
}

/**
 * A route as measured: on the plain veth, on the veth that splits GSO batches (gso_max_segs 1, which
 * dropping datagrams one by one needs), or on that veth with 1% dropped.
 */
interface Path extends Route {
  /** The veth splits GSO batches. */
  gsoOff: boolean;
  /** For the lossy rows: the same route on the split veth without drops, and on the plain veth. */
  lossOf: string | null;
  plainOf: string | null;
}

const SPLIT = ' (veth GSO off)';
const KERNEL = 'kernel';

function variant(r: Route, v: 'plain' | 'split' | 'loss'): Path {
  if (v === 'plain') return { ...r, gsoOff: false, lossOf: null, plainOf: null };
  if (v === 'split') return { ...r, label: r.label + SPLIT, gsoOff: true, lossOf: null, plainOf: null };
  return { ...r, label: `${r.label} 1% loss`, gsoOff: true, lossOf: r.label + SPLIT, plainOf: r.label };
}

function netJob(host: string, port: number, dir: Direction): ClientJob {
  return { mode: dir, via: 'net', host, port, seconds: SECONDS };
}

const targetPort = (dir: Direction): number => (dir === 'down' ? SOURCE_PORT : SINK_PORT);

function paths(rig: Rig): Path[] {
  const none = (): null => null;
  const kernel: Route = {
    label: KERNEL,
    start: (r) => r.startDaemon(),
    job: (dir) => netJob(INNER_P, targetPort(dir), dir),
    missing: none,
  };
  const tunnel: Route = {
    label: 'Tunnel',
    start: async () => null,
    job: (dir) => ({ mode: dir, via: 'tunnel', host: INNER_P, port: targetPort(dir), config: rig.tunnelConfig, seconds: SECONDS }),
    missing: none,
  };
  const proxyForward: Route = {
    label: 'proxy TCPClientTunnel',
    start: (r) => r.startProxy(NODE_FLAGS),
    job: (dir) => netJob('127.0.0.1', Rig.forwardPort('proxy', targetPort(dir)), dir),
    missing: none,
  };
  const proxySocks: Route = {
    label: 'proxy SOCKS5',
    start: (r) => r.startProxy(NODE_FLAGS),
    job: (dir) => ({ mode: dir, via: 'socks5', socks: Rig.socks, host: INNER_P, port: targetPort(dir), seconds: SECONDS }),
    missing: none,
  };
  const onetun: Route = {
    label: 'onetun',
    start: async (r) => (await r.startOnetun())!,
    job: (dir) => netJob('127.0.0.1', Rig.forwardPort('onetun', targetPort(dir)), dir),
    missing: () => (onetunPath() === null ? 'onetun is not installed (cargo install onetun)' : null),
  };
  const all: Path[] = [
    ...[kernel, tunnel, proxyForward, proxySocks, onetun].map((r) => variant(r, 'plain')),
    variant(tunnel, 'split'),
    variant(kernel, 'split'),
    variant(tunnel, 'loss'),
    variant(kernel, 'loss'),
  ];
  return ONLY === undefined ? all : all.filter((p) => ONLY.includes(p.label));
}

interface Sample {
  path: string;
  dir: Direction;
  round: number;
  gbps: number;
  cpu: number;
  peakMiB: number;
  retransmits: number;
  /** The Tunnel's TCP: loss recoveries entered and retransmission timeouts (RFC 6675, RFC 6298). */
  recoveries: number;
  rtos: number;
  /** D-SACKs the Tunnel's TCP received: retransmissions the receiver already had (RFC 2883). */
  dsacks: number;
  /** Why the figure is missing or partial, if it is. */
  note: string;
}

/** Watches a process's RSS while a transfer runs; kills it past the cap. */
function rssWatch(pid: number): { stop(): { peak: number; killed: boolean } } {
  let peak = rssMiB(pid);
  let killed = false;
  const t = setInterval(() => {
    const now = rssMiB(pid);
    if (!(now <= peak)) peak = Number.isNaN(now) ? peak : now;
    if (now > RSS_CAP_MIB && !killed) {
      killed = true;
      process.kill(pid, 'SIGKILL');
    }
  }, RSS_SAMPLE_MS);
  return {
    stop: () => {
      clearInterval(t);
      return { peak, killed };
    },
  };
}

async function transfer(rig: Rig, path: Path, dir: Direction, under: Proc | null, round: number): Promise<Sample> {
  // Node flags under test go to the process under test: the client itself when it holds the Tunnel.
  const client = await rig.client(path.job(dir), under === null ? NODE_FLAGS : []);
  const watched = under ?? client;
  const cpu0 = cpuSeconds(watched.pid);
  const watch = rssWatch(watched.pid);
  const waitMs = (SECONDS + 30) * 1000;
  const s: Sample = { path: path.label, dir, round, gbps: NaN, cpu: NaN, peakMiB: NaN, retransmits: NaN, recoveries: NaN, rtos: NaN, dsacks: NaN, note: '' };
  let report: { retransmits?: number; rtoTimeouts?: number; fastRecoveries?: number; dsacks?: number; cpu?: number } = {};
  try {
    // Downloads are counted by the client, uploads by the kernel's sink.
    const line = await (dir === 'down' ? client : rig.server!).next(waitMs);
    s.cpu = cpuSeconds(watched.pid) - cpu0;
    if (line === null) {
      s.note = dir === 'down' ? `no result: ${client.stderr.trim().split('\n').pop() ?? ''}` : 'the sink reported nothing';
    } else {
      const r = JSON.parse(line) as SinkReport & { retransmits?: number; cpu?: number };
      s.gbps = r.ms > 0 ? (r.bytes * 8) / (r.ms * 1e6) : 0;
      report = r;
    }
    if (dir === 'up') {
      const end = await client.next(10_000);
      if (end !== null) report = JSON.parse(end) as typeof report;
      else {
        s.note = 'the client did not end';
        console.log(client.stderr);
      }
    }
  } finally {
    const w = watch.stop();
    s.peakMiB = w.peak;
    if (w.killed) s.note = `killed at ${RSS_CAP_MIB} MiB RSS`;
    await client.stop();
  }
  // The Tunnel's process reports its own CPU time (it may have exited before /proc was read).
  if (under === null && report.cpu !== undefined) s.cpu = report.cpu;
  s.retransmits = report.retransmits ?? NaN;
  s.recoveries = report.fastRecoveries ?? NaN;
  s.rtos = report.rtoTimeouts ?? NaN;
  s.dsacks = report.dsacks ?? NaN;
  return s;
}

async function runPath(rig: Rig, path: Path, round: number, dirs: Direction[]): Promise<Sample[]> {
  const out: Sample[] = [];
  const drop = path.lossOf !== null;
  if (path.gsoOff) rig.loss(true, drop);
  const dropped0 = drop ? rig.dropped() : 0;
  let under: Proc | null = null;
  try {
    under = await path.start(rig);
    for (const dir of dirs) {
      // A process killed at the RSS cap in one direction is started again for the other.
      if (under !== null && Number.isNaN(rssMiB(under.pid))) under = await path.start(rig);
      const s = await transfer(rig, path, dir, under, round);
      out.push(s);
      const extra = Number.isNaN(s.retransmits) ? '' : `, ${s.retransmits} retransmits (${s.dsacks} reported duplicate by D-SACK), ${s.recoveries} recoveries, ${s.rtos} RTOs`;
      console.log(`round ${round + 1} ${path.label} ${dir}: ${fmt(s.gbps)} Gbit/s, ${fmt(s.cpu)} CPU s, ${fmt(s.peakMiB, 1)} MiB peak${extra}${s.note ? ` (${s.note})` : ''}`);
    }
  } finally {
    await under?.stop();
    if (drop) console.log(`  ${rig.dropped() - dropped0} datagrams dropped`);
    if (path.gsoOff) rig.loss(false);
  }
  return out;
}

interface MemorySample {
  label: string;
  idle: number;
  open: number;
  after: number;
  connections: number;
}

/** Idle RSS, with `count` connections open through `via`, and AFTER_SECONDS after they closed. */
async function memoryRow(rig: Rig, label: string, under: Proc | null, job: ClientJob): Promise<MemorySample> {
  const client = await rig.client(job, under === null ? NODE_FLAGS : []);
  const pid = (under ?? client).pid;
  try {
    await sleep(IDLE_SETTLE_MS);
    const idle = rssMiB(pid);
    client.send('open');
    const opened = await client.expect(/^open \d+$/, 120_000, `${label}: opening ${job.count} connections`);
    await sleep(OPEN_SETTLE_MS);
    const open = rssMiB(pid);
    client.send('close');
    await client.expect(/^closed$/, 120_000, `${label}: closing`);
    await sleep(AFTER_SECONDS * 1000);
    const after = rssMiB(pid);
    client.send('exit');
    const m: MemorySample = { label, idle, open, after, connections: Number(opened.split(' ')[1]) };
    console.log(`${label}: RSS idle ${fmt(m.idle, 1)} MiB, ${m.connections} connections ${fmt(m.open, 1)} MiB, ${AFTER_SECONDS} s after ${fmt(m.after, 1)} MiB`);
    return m;
  } finally {
    await client.stop();
  }
}

async function memoryRows(rig: Rig): Promise<MemorySample[]> {
  const hold = (via: ClientJob['via'], host: string, port: number): ClientJob => ({ mode: 'hold', via, host, port, count: IDLE_CONNECTIONS, config: rig.tunnelConfig, socks: Rig.socks });
  const out: MemorySample[] = [];
  out.push(await memoryRow(rig, 'Tunnel (its process)', null, hold('tunnel', INNER_P, ECHO_PORT)));
  const proxy = await rig.startProxy(NODE_FLAGS);
  try {
    out.push(await memoryRow(rig, 'wgts proxy (SOCKS5)', proxy, hold('socks5', INNER_P, ECHO_PORT)));
  } finally {
    await proxy.stop();
  }
  const onetun = await rig.startOnetun();
  if (onetun !== null) {
    try {
      out.push(await memoryRow(rig, 'onetun', onetun, hold('net', '127.0.0.1', Rig.forwardPort('onetun', ECHO_PORT))));
    } finally {
      await onetun.stop();
    }
  }
  return out;
}

interface SoakResult {
  seconds: number;
  done: number;
  failed: number;
  idle: number;
  early: number;
  late: number;
  max: number;
}

async function soak(rig: Rig): Promise<SoakResult> {
  const proxy = await rig.startProxy(NODE_FLAGS);
  const samples: number[] = [];
  let client: LineChild | null = null;
  try {
    await sleep(IDLE_SETTLE_MS);
    const idle = rssMiB(proxy.pid);
    client = await rig.client({ mode: 'soak', via: 'socks5', socks: Rig.socks, host: INNER_P, port: ECHO_PORT, seconds: SOAK_SECONDS, concurrency: SOAK_CLIENTS });
    const t = setInterval(() => samples.push(rssMiB(proxy.pid)), 1000);
    const line = await client.next((SOAK_SECONDS + 60) * 1000);
    clearInterval(t);
    const r = line === null ? { done: NaN, failed: NaN } : (JSON.parse(line) as { done: number; failed: number });
    const tenth = Math.max(1, Math.floor(samples.length / 10));
    const res: SoakResult = {
      seconds: SOAK_SECONDS,
      done: r.done,
      failed: r.failed,
      idle,
      early: median(samples.slice(tenth, 2 * tenth)),
      late: median(samples.slice(-tenth)),
      max: Math.max(...samples),
    };
    console.log(`soak ${SOAK_SECONDS} s: ${r.done} connections (${r.failed} failed), RSS idle ${fmt(idle, 1)}, second tenth ${fmt(res.early, 1)}, last tenth ${fmt(res.late, 1)}, max ${fmt(res.max, 1)} MiB`);
    return res;
  } finally {
    await client?.stop();
    await proxy.stop();
  }
}

function throughputTable(samples: Sample[], list: Path[]): string {
  const lines = [
    '| path | direction | Gbit/s | vs kernel path | vs onetun | of no loss (same veth) | of no loss (GSO on) | CPU s (process under test) | peak RSS MiB | retransmits (Tunnel TCP) | notes |',
    '|---|---|---|---|---|---|---|---|---|---|---|',
  ];
  const pick = (label: string, dir: Direction): Sample[] => samples.filter((s) => s.path === label && s.dir === dir);
  for (const p of list) {
    for (const dir of ['down', 'up'] as const) {
      const mine = pick(p.label, dir);
      if (mine.length === 0) continue;
      const vs = (label: string | null): string => (label === null || label === p.label ? '' : fmt(ratioMedian(mine, pick(label, dir), (s) => s.gbps)));
      const notes = [...new Set(mine.map((s) => s.note).filter((n) => n !== ''))].join('; ');
      lines.push(
        `| ${p.label} | ${dir === 'down' ? 'download' : 'upload'} | ${fmt(median(mine.map((s) => s.gbps)))} | ${p.lossOf === null ? vs(p.gsoOff ? KERNEL + SPLIT : KERNEL) : ''} | ${p.gsoOff ? '' : vs('onetun')} | ${vs(p.lossOf)} | ${vs(p.plainOf)} | ` +
          `${fmt(median(mine.map((s) => s.cpu)))} | ${fmt(median(mine.map((s) => s.peakMiB)), 1)} | ${fmt(median(mine.map((s) => s.retransmits)), 0)} | ${notes} |`,
      );
    }
  }
  return lines.join('\n');
}

function memoryTable(rows: MemorySample[]): string {
  const lines = [
    `| process | idle RSS MiB | with ${IDLE_CONNECTIONS} idle connections MiB | KiB per connection | ${AFTER_SECONDS} s after they closed MiB | after - idle MiB |`,
    '|---|---|---|---|---|---|',
  ];
  for (const m of rows) {
    lines.push(`| ${m.label} | ${fmt(m.idle, 1)} | ${fmt(m.open, 1)} | ${fmt(((m.open - m.idle) * 1024) / m.connections, 1)} | ${fmt(m.after, 1)} | ${fmt(m.after - m.idle, 1)} |`);
  }
  return lines.join('\n');
}

function soakTable(s: SoakResult): string {
  return [
    '| proxy soak | connections | failed | RSS idle MiB | RSS second tenth MiB | RSS last tenth MiB | growth MiB | max MiB |',
    '|---|---|---|---|---|---|---|---|',
    `| ${s.seconds} s, ${SOAK_CLIENTS} clients | ${s.done} | ${s.failed} | ${fmt(s.idle, 1)} | ${fmt(s.early, 1)} | ${fmt(s.late, 1)} | ${fmt(s.late - s.early, 1)} | ${fmt(s.max, 1)} |`,
  ].join('\n');
}

async function main(): Promise<void> {
  if (process.env.BENCH_ROOTLESS === '0') return;
  if (process.getuid?.() !== 0) {
    console.error('the rootless rows of npm run bench need root (network namespaces for the peer)');
    process.exit(1);
  }
  for (const tool of ['ip', 'wg', 'iptables', 'ss', 'ping']) {
    if (which(tool) === null) {
      console.error(`the rootless rows of npm run bench need ${tool}`);
      process.exit(1);
    }
  }
  const dir = mkdtempSync(join(tmpdir(), 'wgts-rootless-'));
  const rig = new Rig(dir);
  const list = paths(rig).filter((p) => {
    const why = p.missing();
    if (why !== null) console.log(`${p.label}: skipped, ${why}`);
    return why === null;
  });
  const samples: Sample[] = [];
  let memory: MemorySample[] = [];
  let soaked: SoakResult | null = null;
  const stop = (): void => {
    rig.down();
    rmSync(dir, { recursive: true, force: true });
  };
  process.once('SIGINT', () => {
    stop();
    process.exit(130);
  });
  try {
    await rig.up(SECONDS);
    console.log(`rootless rows: peer ${rig.peerLabel}, ${SECONDS} s a transfer, ${ROUNDS} rounds`);
    for (let r = 0; r < ROUNDS; r++) {
      const order = r % 2 === 0 ? list : [...list].reverse();
      const dirs: Direction[] = r % 2 === 0 ? ['down', 'up'] : ['up', 'down'];
      for (const p of order) samples.push(...(await runPath(rig, p, r, dirs)));
    }
    if (MEMORY) memory = await memoryRows(rig);
    if (SOAK_SECONDS > 0) soaked = await soak(rig);
  } finally {
    stop();
  }
  const tables = [throughputTable(samples, list)];
  if (memory.length > 0) tables.push(memoryTable(memory));
  if (soaked !== null) tables.push(soakTable(soaked));
  const text = tables.join('\n\n');
  console.log('\n' + text);
  if (process.env.BENCH_WRITE === '0') return;
  const date = new Date().toISOString().slice(0, 10);
  const skipped = paths(rig).filter((p) => p.missing() !== null).map((p) => `${p.label} skipped: ${p.missing()}`);
  const section =
    `\n## ${date}: Rootless: Tunnel and proxy\n\n` +
    `Command: \`npm run bench\` (rootless rows: BENCH_SECONDS=${SECONDS}, BENCH_ROUNDS=${ROUNDS}, BENCH_SOAK_SECONDS=${SOAK_SECONDS}` +
    `${NODE_FLAGS.length > 0 ? `, BENCH_ROOTLESS_NODE_FLAGS="${NODE_FLAGS.join(' ')}"` : ''}); peer: ${rig.peerLabel} in a namespace with the kernel's TCP behind it; ` +
    `medians of ${ROUNDS} alternating rounds; ratios are per round, then the median. ${skipped.join('; ')}\n` +
    `Machine: ${availableParallelism()} cores, Node ${process.version}; the kernel's TCP congestion control: ${kernelCongestion()}; ` +
    `the Tunnel's: ${process.env.BENCH_TUNNEL_CONGESTION ?? 'bbr (its default)'}.\n\n${text}\n`;
  const file = join(ROOT, 'BENCHMARKS.md');
  const head = existsSync(file) ? readFileSync(file, 'utf8') : '# Benchmarks\n';
  writeFileSync(file, head + section);
  console.log(`\nappended to ${file}`);
}

/** The host's default TCP congestion control (namespaces inherit it): the kernel rows' sender. */
function kernelCongestion(): string {
  try {
    return readFileSync('/proc/sys/net/ipv4/tcp_congestion_control', 'utf8').trim();
  } catch {
    return 'unknown';
  }
}

main().catch((err: unknown) => {
  console.error(err);
  process.exit(1);
});
