/**
 * `npm run bench:peers`: what idle peers cost, wgts against wireguard-go in one run.
 *
 * Daemon mode (root): for each implementation and each peer count, a fresh daemon in a namespace of
 * its own, started as wg-quick starts it (detached), given a private key and its link up; then one
 * `wg setconf` of N peers, each with a /32, a /128 and an endpoint (`wg addconf` in 500-peer chunks
 * where the daemon refuses one request that large). Reported: the time, VmRSS before, right after,
 * and after BENCH_SETTLE_SECONDS idle (the runtimes give memory back in the background: V8's memory
 * reducer, Go's scavenger), and RSS per peer after and settled.
 *
 * In-process mode (`node --expose-gc dist/bench/peers.js --in-process N`, no root): one Device on a
 * memory TUN and the Linux bind, N peers set through ipcSet in 500-peer requests, heap and RSS growth
 * per peer after a full collection.
 *
 * Environment: BENCH_PEERS (default "10000,100000"), BENCH_SETTLE_SECONDS (default 30), BENCH_IMPLS
 * (comma list of labels).
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { homedir, tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { randomBytes } from 'node:crypto';
import { generatePrivateKey } from '../crypto/x25519.js';
import { keyToBase64, keyToHex } from '../crypto/keys.js';
import { formatIp } from '../net/address.js';
import { YOUNG_GENERATION_FLAG } from '../cli/reexec.js';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const COUNTS = (process.env['BENCH_PEERS'] ?? '10000,100000').split(',').map(Number);
const SETTLE_S = Number(process.env['BENCH_SETTLE_SECONDS'] ?? 30);
const CHUNK = 500;

interface Impl {
  label: string;
  /** The command that starts the daemon detached, as wg-quick does. */
  argv: (ifname: string) => string[];
}

function impls(): Impl[] {
  const list: Impl[] = [{ label: 'wgts', argv: (i) => [process.execPath, join(ROOT, 'dist/cli/main.js'), i] }];
  const gobin = join(process.env['GOPATH'] ?? join(homedir(), 'go'), 'bin', 'wireguard');
  if (existsSync(gobin)) list.push({ label: 'wireguard-go', argv: (i) => [gobin, i] });
  if (existsSync('/usr/bin/wireguard-go')) list.push({ label: 'wireguard-go-debian', argv: (i) => ['/usr/bin/wireguard-go', i] });
  const only = process.env['BENCH_IMPLS']?.split(',');
  return only === undefined ? list : list.filter((x) => only.includes(x.label));
}

/** Peer i's lines in a wg(8) configuration file: a /32, a /128 and an endpoint. */
function peerLines(i: number): string {
  const v6 = new Uint8Array(16);
  v6[0] = 0xfd;
  v6[13] = (i >> 16) & 255;
  v6[14] = (i >> 8) & 255;
  v6[15] = i & 255;
  return (
    `[Peer]\nPublicKey = ${randomBytes(32).toString('base64')}\n` +
    `AllowedIPs = 10.${(i >> 16) & 255}.${(i >> 8) & 255}.${i & 255}/32, ${formatIp(v6)}/128\n` +
    `Endpoint = 192.0.2.${1 + (i % 250)}:${1024 + Math.floor(i / 250)}\n\n`
  );
}

function rssKiB(pid: number): number {
  const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  return m === null ? NaN : Number(m[1]);
}

function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}

interface Row {
  impl: string;
  peers: number;
  how: string;
  seconds: number;
  before: number;
  after: number;
  settled: number;
}

async function runDaemon(impl: Impl, peers: number, dir: string): Promise<Row> {
  const ns = `wgpeers-${process.pid}`;
  const ifname = `wgp${process.pid}`;
  const sh = (args: string[]): string => execFileSync(args[0]!, args.slice(1), { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'], maxBuffer: 1 << 28 });
  const inNs = (args: string[]): string => sh(['ip', 'netns', 'exec', ns, ...args]);
  sh(['ip', 'netns', 'add', ns]);
  try {
    inNs(['ip', 'link', 'set', 'lo', 'up']);
    spawnSync('ip', ['netns', 'exec', ns, ...impl.argv(ifname)], { env: { ...process.env, LOG_LEVEL: 'error' }, stdio: 'ignore' });
    const pids = sh(['ip', 'netns', 'pids', ns]).trim().split('\n').filter((x) => x !== '');
    if (pids.length !== 1) throw new Error(`${impl.label}: expected one daemon in ${ns}, found ${pids.length}`);
    const pid = Number(pids[0]);
    writeFileSync(join(dir, 'key'), keyToBase64(generatePrivateKey()) + '\n', { mode: 0o600 });
    inNs(['wg', 'set', ifname, 'private-key', join(dir, 'key'), 'listen-port', '51820']);
    inNs(['ip', 'link', 'set', ifname, 'up']);
    await sleep(2000);
    const before = rssKiB(pid);
    const chunks: string[] = [];
    for (let c = 0; c < peers; c += CHUNK) {
      let text = '';
      for (let i = c; i < Math.min(peers, c + CHUNK); i++) text += peerLines(i);
      chunks.push(text);
    }
    writeFileSync(join(dir, 'all.conf'), `[Interface]\nListenPort = 51820\n\n${chunks.join('')}`);
    const t0 = performance.now();
    // addconf keeps the private key set above; one request when the daemon takes one that large.
    let how = 'one addconf';
    const one = spawnSync('ip', ['netns', 'exec', ns, 'wg', 'addconf', ifname, join(dir, 'all.conf')], { stdio: 'ignore' });
    if (one.status !== 0) {
      how = `addconf x${chunks.length}`;
      for (const text of chunks) {
        writeFileSync(join(dir, 'chunk.conf'), text);
        // wireguard-go refuses peers past its MaxPeers (65,536): the row says how many it took.
        if (spawnSync('ip', ['netns', 'exec', ns, 'wg', 'addconf', ifname, join(dir, 'chunk.conf')], { stdio: 'ignore' }).status !== 0) break;
      }
    }
    const seconds = (performance.now() - t0) / 1000;
    const after = rssKiB(pid);
    await sleep(SETTLE_S * 1000);
    const settled = rssKiB(pid);
    const shown = inNs(['wg', 'show', ifname, 'peers']).trim().split('\n').length;
    if (shown !== peers) how += `, refused past ${shown} peers`;
    return { impl: impl.label, peers: shown, how, seconds, before, after, settled };
  } finally {
    for (const p of sh(['ip', 'netns', 'pids', ns]).trim().split('\n').filter((x) => x !== '')) {
      try {
        process.kill(Number(p), 'SIGTERM');
      } catch {
        /* gone */
      }
    }
    await sleep(500);
    spawnSync('ip', ['netns', 'del', ns]);
    rmSync(`/var/run/wireguard/${ifname}.sock`, { force: true });
  }
}

function perPeer(kib: number, base: number, peers: number): string {
  return ((kib - base) * 1024 / peers).toFixed(0);
}

async function daemons(): Promise<void> {
  if (process.getuid?.() !== 0) throw new Error('bench:peers needs root (namespaces, TUN devices)');
  const dir = mkdtempSync(join(tmpdir(), 'wgts-peers-'));
  const rows: Row[] = [];
  try {
    for (const peers of COUNTS) {
      for (const impl of impls()) {
        const r = await runDaemon(impl, peers, dir);
        rows.push(r);
        console.log(
          `${r.impl} ${r.peers} peers (${r.how}): ${r.seconds.toFixed(2)} s; RSS ${(r.before / 1024).toFixed(0)} -> ` +
            `${(r.after / 1024).toFixed(0)} MiB, settled ${(r.settled / 1024).toFixed(0)} MiB; ` +
            `per peer ${perPeer(r.after, r.before, r.peers)} B, settled ${perPeer(r.settled, r.before, r.peers)} B`,
        );
      }
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
  console.log('\n| implementation | peers | configured by | seconds | RSS before (MiB) | after | settled | B/peer after | B/peer settled |');
  console.log('|---|---|---|---|---|---|---|---|---|');
  for (const r of rows) {
    console.log(
      `| ${r.impl} | ${r.peers} | ${r.how} | ${r.seconds.toFixed(2)} | ${(r.before / 1024).toFixed(0)} | ${(r.after / 1024).toFixed(0)} | ` +
        `${(r.settled / 1024).toFixed(0)} | ${perPeer(r.after, r.before, r.peers)} | ${perPeer(r.settled, r.before, r.peers)} |`,
    );
  }
  console.log(`\nSettled: after ${SETTLE_S} s idle. wgts runs with ${YOUNG_GENERATION_FLAG} (src/cli/reexec.ts).`);
}

async function inProcess(peers: number): Promise<void> {
  const gc = (globalThis as { gc?: () => void }).gc;
  if (gc === undefined) throw new Error('run with node --expose-gc');
  const { Device } = await import('../device/device.js');
  const { MemoryTun } = await import('../tun/memory.js');
  const { LinuxBind } = await import('../conn/linux.js');
  const dev = new Device({ tun: new MemoryTun({ name: 'peers' }), bind: new LinuxBind({ ipv4Address: '127.0.0.1', ipv6: false }) });
  await dev.ipcSet(`private_key=${keyToHex(generatePrivateKey())}\nlisten_port=0\n`);
  await dev.up();
  const requests: string[] = [];
  for (let c = 0; c < peers; c += CHUNK) {
    let text = '';
    for (let i = c; i < Math.min(peers, c + CHUNK); i++) {
      const v6 = `fd00::${((i >> 16) & 255).toString(16)}:${(i & 0xffff).toString(16)}`;
      text += `public_key=${randomBytes(32).toString('hex')}\nendpoint=192.0.2.${1 + (i % 250)}:${1024 + Math.floor(i / 250)}\n`;
      text += `allowed_ip=10.${(i >> 16) & 255}.${(i >> 8) & 255}.${i & 255}/32\nallowed_ip=${v6}/128\n`;
    }
    requests.push(text);
  }
  gc();
  const m0 = process.memoryUsage();
  for (const r of requests) await dev.ipcSet(r);
  requests.length = 0;
  gc();
  await sleep(100);
  gc();
  const m1 = process.memoryUsage();
  const per = (k: 'rss' | 'heapUsed'): string => ((m1[k] - m0[k]) / peers).toFixed(0);
  console.log(`in-process, ${peers} peers: heap ${per('heapUsed')} B a peer, RSS ${per('rss')} B a peer (${process.execArgv.join(' ')})`);
  await dev.close();
}

const inProcessAt = process.argv.indexOf('--in-process');
if (inProcessAt >= 0) await inProcess(Number(process.argv[inProcessAt + 1] ?? 10000));
else await daemons();
