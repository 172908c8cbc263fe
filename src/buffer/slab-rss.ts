/**
 * Do slabs that TieredPool.trim() drops leave RSS? (slab.ts records the answer and why it depends on
 * glibc's mmap threshold.) Measured in a fresh child process, so neither a test runner nor other work
 * disturbs its heap: three rounds of 64 one-MiB slabs filled, every chunk released but one in every
 * 16th slab (a pool where a few slabs stay busy), trim(), garbage collected, RSS read. Used by
 * slab.test.ts (which asserts it for the threshold pinned, as the daemon runs) and slab-bench.ts
 * (which prints both ways).
 */
import { spawnSync } from 'node:child_process';

export interface SlabRssRound {
  /** RSS with the round's 64 slabs filled, MiB. */
  filledMiB: number;
  /** Slabs trim() dropped, and the bytes of slabs still held after it. */
  trimmed: number;
  liveMiB: number;
  /** RSS after trim() and garbage collection, MiB. */
  afterMiB: number;
}

export interface SlabRss {
  startMiB: number;
  rounds: SlabRssRound[];
}

const CHILD = `
import v8 from 'node:v8';
import vm from 'node:vm';
const { TieredPool } = await import(process.env.WGTS_POOL_URL);
v8.setFlagsFromString('--expose-gc');
const gc = vm.runInNewContext('gc');
const MiB = 1 << 20;
const settle = async () => { for (let i = 0; i < 3; i++) { gc(); await new Promise((r) => setTimeout(r, 20)); } };
const rss = () => process.memoryUsage().rss / MiB;
let now = 0;
const pool = new TieredPool({ tiers: [2048], slabBytes: MiB, idleSlabMs: 1, clock: () => now, debug: false });
const kept = [];
await settle();
const out = { startMiB: rss(), rounds: [] };
for (let round = 0; round < 3; round++) {
  const bufs = [];
  for (let i = 0; i < 64 * 512; i++) { const b = pool.get(2048); b.bytes.fill(1); bufs.push(b); }
  const filledMiB = rss();
  for (let i = 0; i < bufs.length; i++) { if (i % (16 * 512) === 0) kept.push(bufs[i]); else bufs[i].release(); }
  bufs.length = 0;
  now += 10;
  const trimmed = pool.trim();
  await settle();
  out.rounds.push({ filledMiB, trimmed, liveMiB: pool.stats().reservedBytes / MiB, afterMiB: rss() });
}
console.log(JSON.stringify(out));
`;

/** Runs the measurement in a child with `extraEnv` added to its environment. @throws if the child fails. */
export function measureSlabRss(extraEnv: Record<string, string>): SlabRss {
  const r = spawnSync(process.execPath, ['--input-type=module', '-e', CHILD], {
    env: { ...process.env, ...extraEnv, WGTS_POOL_URL: new URL('./tiered-pool.js', import.meta.url).href },
    encoding: 'utf8',
    timeout: 60_000,
  });
  if (r.status !== 0) throw new Error(`slab RSS measurement failed (status ${r.status ?? r.signal}): ${r.stderr.trim()}`);
  return JSON.parse(r.stdout) as SlabRss;
}

/** The glibc the process runs on ("2.36"), or null (musl, or not Linux). */
export function glibcVersion(): string | null {
  const report = process.report.getReport() as { header?: { glibcVersionRuntime?: string } };
  return report.header?.glibcVersionRuntime ?? null;
}
