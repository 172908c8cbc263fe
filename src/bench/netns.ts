/**
 * `npm run bench`: wgts against wireguard-go (and boringtun where installed), side by side in one run.
 *
 *   namespace wgbench-a                         namespace wgbench-b
 *   iperf3 client                               iperf3 server
 *   wgba0 10.88.0.1/24 (daemon under test)       wgbb0 10.88.0.2/24 (same daemon)
 *   veth0 198.19.0.1/24  <------- veth ------->  veth0 198.19.0.2/24
 *
 * Tunnel MTU 1420. For each round, each implementation and each of 1 and 32 TCP streams: fresh daemons
 * in both namespaces (so peak RSS is per run), a 10 s iperf3 run, then the numbers: Gbit/s received,
 * retransmits, CPU seconds of both daemons (utime+stime from /proc), Gbit per CPU-second, RSS of the
 * larger daemon idle before the load (VmRSS, after the handshake), at its peak (VmHWM) and 30 s after
 * the load stopped (VmRSS: what the daemon gave back), and for wgts the GC count and pause time it
 * reports on exit (its whole life: start-up, the load, and the idle trim after it), and the worse
 * daemon's pauses that began during the iperf3 run as a share of the run. Rounds alternate the implementations so drift on a shared machine hits all alike; the
 * table quotes medians and same-run ratios against wireguard-go, and is written to BENCHMARKS.md.
 *
 * The wgts daemon is started as a user would start it, with no Node flags or glibc tunables: it sets
 * its own (cli/reexec.ts).
 *
 * The flood row: one TCP stream for BENCH_SECONDS alone, then again while a sender in namespace a
 * (flood.ts, from its own address 198.19.0.3) sends handshake initiations with a valid mac1 and random
 * contents to b's daemon at BENCH_FLOOD_RATE a second, then alone again; per implementation the
 * stream's kept fraction (under the flood over the mean of the two runs alone around it, so a machine
 * whose load drifts during the round biases it less), the flood's achieved rate, the cookie replies
 * that came back a second, and the growth of b's RSS (its largest VmRSS sampled during the flood less
 * its VmRSS before).
 *
 * Root only. Environment: BENCH_SECONDS (default 10), BENCH_ROUNDS (default 3), BENCH_STREAMS
 * ("1,32"; "none" for no stream rows), BENCH_IMPLS (comma list of labels to run; "wgts-threads0", the
 * wgts daemon with WGTS_CRYPTO_THREADS=0, runs only when named), BENCH_FLOOD_RATE
 * (default 50000; 0 for no flood row), BENCH_FLOOD_IMPLS (default "wgts,wireguard-go"),
 * BENCH_AFTER_SECONDS (default 30).
 */
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { homedir, tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { generatePrivateKey, publicKey } from '../crypto/x25519.js';
import { keyToBase64 } from '../crypto/keys.js';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const SECONDS = Number(process.env.BENCH_SECONDS ?? 10);
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 3);
const STREAMS = process.env.BENCH_STREAMS === 'none' ? [] : (process.env.BENCH_STREAMS ?? '1,32').split(',').map(Number);
const AFTER_SECONDS = Number(process.env.BENCH_AFTER_SECONDS ?? 30);
const FLOOD_RATE = Number(process.env.BENCH_FLOOD_RATE ?? 50_000);
const FLOOD_IMPLS = (process.env.BENCH_FLOOD_IMPLS ?? 'wgts,wireguard-go').split(',');
/** The flood's source: a second address on namespace a's veth, so it is not the tunnel's endpoint. */
const FLOOD_FROM = '198.19.0.3';
/** The flood starts this long before the stream, so the responder is under load when it begins. */
const FLOOD_LEAD_MS = 1000;
const RSS_SAMPLE_MS = 200;
const NS_A = 'wgbench-a';
const NS_B = 'wgbench-b';
/** Interface names differ per namespace: the UAPI socket directory is shared by all namespaces. */
const IF_A = 'wgba0';
const IF_B = 'wgbb0';

interface Impl {
  label: string;
  argv: (ifname: string) => string[];
  env: Record<string, string>;
  isWgts: boolean;
}

/** The label of the wgts daemon with WGTS_CRYPTO_THREADS=0. */
const NO_THREADS = 'wgts-threads0';

function impls(): Impl[] {
  const list: Impl[] = [
    {
      label: 'wgts',
      argv: (i) => [process.execPath, join(ROOT, 'dist/cli/main.js'), '-f', i],
      env: {},
      isWgts: true,
    },
  ];
  const gobin = join(process.env.GOPATH ?? join(homedir(), 'go'), 'bin', 'wireguard');
  if (existsSync(gobin)) list.push({ label: 'wireguard-go', argv: (i) => [gobin, '-f', i], env: {}, isWgts: false });
  if (existsSync('/usr/bin/wireguard-go')) list.push({ label: 'wireguard-go-debian', argv: (i) => ['/usr/bin/wireguard-go', '-f', i], env: {}, isWgts: false });
  const bt = join(homedir(), '.cargo', 'bin', 'boringtun-cli');
  if (existsSync(bt)) list.push({ label: 'boringtun', argv: (i) => [bt, '-f', '--disable-drop-privileges', '--log', '/dev/null', i], env: {}, isWgts: false });
  const only = process.env.BENCH_IMPLS?.split(',');
  if (only === undefined) return list;
  // Only when named: the wgts daemon with its crypto threads off, against the default in the same run.
  if (only.includes(NO_THREADS)) list.push({ ...list[0]!, label: NO_THREADS, env: { WGTS_CRYPTO_THREADS: '0' } });
  return list.filter((x) => only.includes(x.label));
}

function sh(args: string[], input?: string): string {
  return execFileSync(args[0]!, args.slice(1), { encoding: 'utf8', input, stdio: ['pipe', 'pipe', 'pipe'] });
}

function ns(name: string, args: string[]): string {
  return sh(['ip', 'netns', 'exec', name, ...args]);
}

function quiet(args: string[]): void {
  try {
    sh(args);
  } catch {
    /* already gone */
  }
}

function setupNamespaces(): void {
  teardown();
  sh(['ip', 'netns', 'add', NS_A]);
  sh(['ip', 'netns', 'add', NS_B]);
  sh(['ip', 'link', 'add', 'veth0', 'netns', NS_A, 'type', 'veth', 'peer', 'name', 'veth0', 'netns', NS_B]);
  ns(NS_A, ['ip', 'addr', 'add', '198.19.0.1/24', 'dev', 'veth0']);
  ns(NS_A, ['ip', 'addr', 'add', `${FLOOD_FROM}/24`, 'dev', 'veth0']);
  ns(NS_B, ['ip', 'addr', 'add', '198.19.0.2/24', 'dev', 'veth0']);
  for (const n of [NS_A, NS_B]) {
    ns(n, ['ip', 'link', 'set', 'veth0', 'up']);
    ns(n, ['ip', 'link', 'set', 'lo', 'up']);
  }
}

function teardown(): void {
  quiet(['ip', 'netns', 'del', NS_A]);
  quiet(['ip', 'netns', 'del', NS_B]);
}

async function startDaemon(impl: Impl, name: string, ifname: string, gcFile: string): Promise<ChildProcess> {
  const sock = `/var/run/wireguard/${ifname}.sock`;
  const argv = impl.argv(ifname);
  const child = spawn('ip', ['netns', 'exec', name, ...argv], {
    env: { ...process.env, ...impl.env, WG_PROCESS_FOREGROUND: '1', LOG_LEVEL: 'error', WGTS_GC_STATS: gcFile },
    stdio: ['ignore', 'ignore', 'inherit'],
  });
  for (let i = 0; i < 200; i++) {
    if (existsSync(sock)) break;
    await sleep(25);
  }
  if (!existsSync(sock)) throw new Error(`${impl.label} did not start in ${name}`);
  return child;
}

function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}

/** The daemon's own pid (ip netns exec execs it, so the child pid is the daemon's). */
function cpuSeconds(pid: number): number {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  const ticks = Number(fields[11]) + Number(fields[12]);
  return ticks / 100;
}

/** VmHWM (peak) or VmRSS (now) of a process, in MiB. */
function rssMiB(pid: number, field: 'VmHWM' | 'VmRSS'): number {
  const m = new RegExp(`${field}:\\s+(\\d+) kB`).exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  return m === null ? NaN : Number(m[1]) / 1024;
}

interface Sample {
  impl: string;
  streams: number;
  gbps: number;
  retrans: number;
  cpu: number;
  idleMiB: number;
  rssMiB: number;
  afterMiB: number;
  gcCount: number;
  gcMs: number;
  /** The worse daemon's GC pauses as a share of the run (0..1). */
  gcShare: number;
}

interface GcReport {
  gcCount: number;
  gcMs: number;
  gcShare: number;
}

/** The wall-clock window of a load (Unix ms; NaN when not marked), for counting the GC pauses inside it. */
interface LoadWindow {
  from: number;
  to: number;
}

interface Running {
  da: ChildProcess;
  db: ChildProcess;
  server: ChildProcess;
  /** b's public key, base64: the flood needs it for a valid mac1. */
  publicB: string;
  gcA: string;
  gcB: string;
}

/** Fresh daemons of `impl` in both namespaces, configured as each other's peer, and an iperf3 server in b. */
async function startPair(impl: Impl, dir: string): Promise<Running> {
  const ka = generatePrivateKey();
  const kb = generatePrivateKey();
  writeFileSync(join(dir, 'a.key'), keyToBase64(ka));
  writeFileSync(join(dir, 'b.key'), keyToBase64(kb));
  const gcA = join(dir, 'gc-a.json');
  const gcB = join(dir, 'gc-b.json');
  rmSync(gcA, { force: true });
  rmSync(gcB, { force: true });
  const da = await startDaemon(impl, NS_A, IF_A, gcA);
  ns(NS_A, ['wg', 'set', IF_A, 'private-key', join(dir, 'a.key'), 'listen-port', '51820', 'peer', keyToBase64(publicKey(kb)), 'allowed-ips', '10.88.0.2/32', 'endpoint', '198.19.0.2:51820']);
  const db = await startDaemon(impl, NS_B, IF_B, gcB);
  ns(NS_B, ['wg', 'set', IF_B, 'private-key', join(dir, 'b.key'), 'listen-port', '51820', 'peer', keyToBase64(publicKey(ka)), 'allowed-ips', '10.88.0.1/32', 'endpoint', '198.19.0.1:51820']);
  for (const [n, ifname, addr] of [[NS_A, IF_A, '10.88.0.1/24'], [NS_B, IF_B, '10.88.0.2/24']] as const) {
    ns(n, ['ip', 'addr', 'add', addr, 'dev', ifname]);
    ns(n, ['ip', 'link', 'set', ifname, 'mtu', '1420', 'up']);
  }
  const server = spawn('ip', ['netns', 'exec', NS_B, 'iperf3', '-s', '-B', '10.88.0.2'], { stdio: 'ignore' });
  await sleep(300);
  ns(NS_A, ['ping', '-c', '1', '-W', '5', '10.88.0.2']);
  return { da, db, server, publicB: keyToBase64(publicKey(kb)), gcA, gcB };
}

/**
 * Stops both daemons and the server; for wgts, the GC count and pause time they reported, and the
 * worse daemon's pauses inside `load` as a share of it (NaN when it was not marked).
 */
async function stopPair(impl: Impl, r: Running, load: LoadWindow): Promise<GcReport> {
  r.server.kill();
  for (const d of [r.da, r.db]) {
    const exited = new Promise((res) => d.once('exit', res));
    d.kill('SIGTERM');
    await Promise.race([exited, sleep(5000)]);
    d.kill('SIGKILL');
  }
  quiet(['rm', '-f', `/var/run/wireguard/${IF_A}.sock`, `/var/run/wireguard/${IF_B}.sock`]);
  if (!impl.isWgts) return { gcCount: NaN, gcMs: NaN, gcShare: NaN };
  let gcCount = 0;
  let gcMs = 0;
  let gcShare = 0;
  for (const f of [r.gcA, r.gcB]) {
    if (!existsSync(f)) continue;
    const g = JSON.parse(readFileSync(f, 'utf8')) as { count: number; ms: number; pauses: [number, number][] };
    gcCount += g.count;
    gcMs += g.ms;
    let inLoad = 0;
    for (const [t, ms] of g.pauses) if (t >= load.from && t < load.to) inLoad += ms;
    gcShare = Math.max(gcShare, inLoad / (load.to - load.from));
  }
  return { gcCount, gcMs, gcShare: Number.isNaN(load.from) ? NaN : gcShare };
}

/** The output of a child process once it exits. */
function collect(child: ChildProcess): Promise<string> {
  let out = '';
  child.stdout!.setEncoding('utf8');
  child.stdout!.on('data', (d: string) => (out += d));
  return new Promise((res, rej) => {
    child.once('error', rej);
    child.once('exit', (code) => (code === 0 ? res(out) : rej(new Error(`${child.spawnargs.join(' ')} exited with ${code}`))));
  });
}

/** One iperf3 run from a to b (async, so RSS can be sampled meanwhile): Gbit/s received, retransmits. */
async function iperf(streams: number): Promise<{ gbps: number; retrans: number }> {
  const child = spawn('ip', ['netns', 'exec', NS_A, 'iperf3', '-c', '10.88.0.2', '-t', String(SECONDS), '-P', String(streams), '-J'], {
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  const j = JSON.parse(await collect(child)) as { end: { sum_received: { bits_per_second: number }; sum_sent: { retransmits?: number } } };
  return { gbps: j.end.sum_received.bits_per_second / 1e9, retrans: j.end.sum_sent.retransmits ?? 0 };
}

/**
 * Runs `measure` against a fresh pair of `impl` daemons, which are stopped however it ends; `measure`
 * may mark its load window for the GC share.
 */
async function withPair<T>(impl: Impl, dir: string, measure: (r: Running, load: LoadWindow) => Promise<T>): Promise<[T, GcReport]> {
  const r = await startPair(impl, dir);
  const load: LoadWindow = { from: NaN, to: NaN };
  let result: T;
  try {
    result = await measure(r, load);
  } catch (err) {
    await stopPair(impl, r, load);
    throw err;
  }
  return [result, await stopPair(impl, r, load)];
}

async function runOne(impl: Impl, streams: number, dir: string): Promise<Sample> {
  const [run, gc] = await withPair(impl, dir, async (r, load) => {
    const rss = (field: 'VmHWM' | 'VmRSS'): number => Math.max(rssMiB(r.da.pid!, field), rssMiB(r.db.pid!, field));
    const idle = rss('VmRSS');
    const cpu0 = cpuSeconds(r.da.pid!) + cpuSeconds(r.db.pid!);
    load.from = Date.now();
    const { gbps, retrans } = await iperf(streams);
    load.to = Date.now();
    const cpu = cpuSeconds(r.da.pid!) + cpuSeconds(r.db.pid!) - cpu0;
    const peak = rss('VmHWM');
    await sleep(AFTER_SECONDS * 1000);
    return { gbps, retrans, cpu, idle, peak, after: rss('VmRSS') };
  });
  return { impl: impl.label, streams, gbps: run.gbps, retrans: run.retrans, cpu: run.cpu, idleMiB: run.idle, rssMiB: run.peak, afterMiB: run.after, ...gc };
}

interface FloodSample {
  impl: string;
  /** One stream alone (the mean of a run before the flood and one after), then under the flood. */
  gbpsAlone: number;
  gbpsFlood: number;
  /** What the flood sender achieved, and the cookie replies that reached it, per second. */
  floodRate: number;
  cookieRate: number;
  rssBeforeMiB: number;
  rssGrowthMiB: number;
}

async function runFlood(impl: Impl, dir: string): Promise<FloodSample> {
  const [sample] = await withPair(impl, dir, async (r) => {
    const alone = await iperf(1);
    const pid = r.db.pid!;
    const rssBefore = rssMiB(pid, 'VmRSS');
    let rssMax = rssBefore;
    const sampler = setInterval(() => {
      rssMax = Math.max(rssMax, rssMiB(pid, 'VmRSS'));
    }, RSS_SAMPLE_MS);
    const flood = spawn(
      'ip',
      ['netns', 'exec', NS_A, process.execPath, join(ROOT, 'dist/bench/flood.js'), '--to', '198.19.0.2:51820', '--from', FLOOD_FROM, '--public-key', r.publicB, '--rate', String(FLOOD_RATE)],
      { stdio: ['ignore', 'pipe', 'inherit'] },
    );
    const report = collect(flood);
    let under: { gbps: number; retrans: number };
    try {
      await sleep(FLOOD_LEAD_MS);
      under = await iperf(1);
    } finally {
      flood.kill('SIGTERM');
      clearInterval(sampler);
    }
    rssMax = Math.max(rssMax, rssMiB(pid, 'VmRSS'));
    const f = JSON.parse(await report) as { rate: number; cookieRate: number };
    const after = await iperf(1);
    return {
      impl: impl.label,
      gbpsAlone: (alone.gbps + after.gbps) / 2,
      gbpsFlood: under.gbps,
      floodRate: f.rate,
      cookieRate: f.cookieRate,
      rssBeforeMiB: rssBefore,
      rssGrowthMiB: rssMax - rssBefore,
    };
  });
  return sample;
}

function median(xs: number[]): number {
  const s = xs.filter((x) => !Number.isNaN(x)).sort((a, b) => a - b);
  if (s.length === 0) return NaN;
  const m = s.length >> 1;
  return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
}

function fmt(x: number, d = 2): string {
  return Number.isNaN(x) ? '-' : x.toFixed(d);
}

async function main(): Promise<void> {
  if (process.getuid?.() !== 0) {
    console.error('npm run bench needs root (network namespaces, TUN devices)');
    process.exit(1);
  }
  for (const tool of ['iperf3', 'wg', 'ip']) {
    try {
      sh(['sh', '-c', `command -v ${tool}`]);
    } catch {
      console.error(`npm run bench needs ${tool}`);
      process.exit(1);
    }
  }
  const list = impls();
  const dir = mkdtempSync(join(tmpdir(), 'wgts-bench-'));
  const samples: Sample[] = [];
  const floods: FloodSample[] = [];
  const floodList = FLOOD_RATE > 0 ? list.filter((x) => FLOOD_IMPLS.includes(x.label)) : [];
  setupNamespaces();
  try {
    for (let r = 0; r < ROUNDS; r++) {
      for (const streams of STREAMS) {
        for (const impl of r % 2 === 0 ? list : [...list].reverse()) {
          const s = await runOne(impl, streams, dir);
          samples.push(s);
          console.log(`round ${r + 1} ${impl.label} P${streams}: ${fmt(s.gbps)} Gbit/s, ${s.retrans} retr, ${fmt(s.cpu)} CPU s, RSS ${fmt(s.idleMiB, 1)} idle / ${fmt(s.rssMiB, 1)} peak / ${fmt(s.afterMiB, 1)} after MiB${impl.isWgts ? `, GC ${s.gcCount} x ${fmt(s.gcMs, 0)} ms, ${fmt(s.gcShare * 100)}% of the run` : ''}`);
        }
      }
      for (const impl of r % 2 === 0 ? floodList : [...floodList].reverse()) {
        const f = await runFlood(impl, dir);
        floods.push(f);
        console.log(
          `round ${r + 1} ${impl.label} flood: ${fmt(f.gbpsAlone)} -> ${fmt(f.gbpsFlood)} Gbit/s (kept ${fmt(f.gbpsFlood / f.gbpsAlone)}), ` +
            `flood ${fmt(f.floodRate, 0)}/s, cookie replies ${fmt(f.cookieRate, 0)}/s, RSS ${fmt(f.rssBeforeMiB, 1)} MiB +${fmt(f.rssGrowthMiB, 1)} MiB`,
        );
      }
    }
  } finally {
    teardown();
    rmSync(dir, { recursive: true, force: true });
  }
  const lines: string[] = [];
  lines.push(`| streams | implementation | Gbit/s | retransmits | CPU s (both daemons) | Gbit per CPU-s | idle RSS MiB | peak RSS MiB | RSS ${AFTER_SECONDS} s after MiB | GC count (life) | GC pause ms (life) | GC pause % during run | Gbit/s vs wireguard-go | Gbit/CPU-s vs wireguard-go | peak RSS vs wireguard-go |`);
  lines.push('|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|');
  for (const streams of STREAMS) {
    const med = (label: string, f: (s: Sample) => number): number => median(samples.filter((s) => s.impl === label && s.streams === streams).map(f));
    // Same-run ratios: each round's wgts over that round's wireguard-go, then the median of those.
    const ratio = (label: string, f: (s: Sample) => number): number => {
      const mine = samples.filter((s) => s.impl === label && s.streams === streams);
      const ref = samples.filter((s) => s.impl === 'wireguard-go' && s.streams === streams);
      return median(mine.map((s, i) => (ref[i] === undefined ? NaN : f(s) / f(ref[i]!))));
    };
    for (const impl of list) {
      const eff = (s: Sample): number => (s.gbps * SECONDS) / s.cpu;
      lines.push(
        `| ${streams} | ${impl.label} | ${fmt(med(impl.label, (s) => s.gbps))} | ${fmt(med(impl.label, (s) => s.retrans), 0)} | ${fmt(med(impl.label, (s) => s.cpu))} | ${fmt(med(impl.label, eff))} | ${fmt(med(impl.label, (s) => s.idleMiB), 1)} | ${fmt(med(impl.label, (s) => s.rssMiB), 1)} | ${fmt(med(impl.label, (s) => s.afterMiB), 1)} | ${fmt(med(impl.label, (s) => s.gcCount), 0)} | ${fmt(med(impl.label, (s) => s.gcMs), 0)} | ${fmt(med(impl.label, (s) => s.gcShare * 100), 2)} | ${fmt(ratio(impl.label, (s) => s.gbps))} | ${fmt(ratio(impl.label, eff))} | ${fmt(ratio(impl.label, (s) => s.rssMiB))} |`,
      );
    }
  }
  const floodLines: string[] = [];
  if (floodList.length > 0) {
    floodLines.push('| implementation | Gbit/s alone | Gbit/s under flood | kept | flood sent/s | cookie replies/s | RSS before MiB | RSS growth MiB |');
    floodLines.push('|---|---|---|---|---|---|---|---|');
    for (const impl of floodList) {
      const mine = floods.filter((f) => f.impl === impl.label);
      const med = (g: (f: FloodSample) => number): number => median(mine.map(g));
      floodLines.push(
        `| ${impl.label} | ${fmt(med((f) => f.gbpsAlone))} | ${fmt(med((f) => f.gbpsFlood))} | ${fmt(med((f) => f.gbpsFlood / f.gbpsAlone))} | ` +
          `${fmt(med((f) => f.floodRate), 0)} | ${fmt(med((f) => f.cookieRate), 0)} | ${fmt(med((f) => f.rssBeforeMiB), 1)} | ${fmt(med((f) => f.rssGrowthMiB), 1)} |`,
      );
    }
  }
  const table = (STREAMS.length > 0 ? lines.join('\n') : '') + (floodLines.length > 0 ? '\n\n' + floodLines.join('\n') : '');
  console.log('\n' + table);
  const date = new Date().toISOString().slice(0, 10);
  const section =
    `\n## ${date}: iperf3 through the tunnel, namespaces joined by veth\n\n` +
    `Command: \`npm run bench\` (BENCH_SECONDS=${SECONDS}, BENCH_ROUNDS=${ROUNDS}, streams ${STREAMS.join(' and ') || 'none'}, ` +
    `flood ${FLOOD_RATE}/s${floodList.length > 0 ? ` against ${floodList.map((x) => x.label).join(' and ')}` : ''}); ` +
    `medians of ${ROUNDS} alternating rounds; ratios are per-round wgts / wireguard-go (upstream), then the median. ` +
    (floodList.length > 0
      ? `Flood rows: one stream alone, under ${FLOOD_RATE} handshake initiations a second (valid mac1, random contents, one source) ` +
        `aimed at the receiving daemon, and alone again; kept = under flood / the mean alone; RSS growth = that daemon's largest VmRSS during the flood less its VmRSS before.`
      : '') +
    `\n` +
    `Machine: ${sh(['nproc']).trim()} cores, Node ${process.version}.\n\n${table}\n`;
  const file = join(ROOT, 'BENCHMARKS.md');
  const head = existsSync(file) ? readFileSync(file, 'utf8') : '# Benchmarks\n\nNumbers from a shared, noisy machine: read the medians and the same-run ratios, not single absolutes.\n';
  writeFileSync(file, head + section);
  console.log(`\nappended to ${file}`);
}

main().catch((err: unknown) => {
  teardown();
  console.error(err);
  process.exit(1);
});
