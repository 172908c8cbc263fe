// Slab memory: allocateSlab itself, and a printed (not asserted) measurement of whether slabs that
// trim() drops really leave RSS on this Node and libc. slab.ts records the result and what it means.
// The measurement runs in fresh child processes, once as started and once with glibc's mmap
// threshold pinned, so neither the test runner nor other tests disturb the heap.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { allocateSlab, mmapThresholdPinned } from './slab.js';

test('allocateSlab returns a zero-filled ArrayBuffer of the size asked', () => {
  const ab = allocateSlab(1 << 20);
  assert.equal(ab.byteLength, 1 << 20);
  const v = new Uint8Array(ab);
  assert.equal(v[0], 0);
  assert.equal(v[v.length - 1], 0);
  assert.equal(typeof mmapThresholdPinned(), 'boolean');
});

// Three rounds of: fill 64 one-MiB slabs, release all chunks but one in every 16th slab (a pool
// where a few slabs stay busy), trim, collect garbage, read RSS.
const MEASURE = `
import v8 from 'node:v8';
import vm from 'node:vm';
const { TieredPool } = await import(process.env.WGTS_POOL_URL);
v8.setFlagsFromString('--expose-gc');
const gc = vm.runInNewContext('gc');
const MiB = 1 << 20;
const settle = async () => { for (let i = 0; i < 3; i++) { gc(); await new Promise((r) => setTimeout(r, 20)); } };
const rss = () => Math.round(process.memoryUsage().rss / MiB);
let now = 0;
const pool = new TieredPool({ tiers: [2048], slabBytes: MiB, idleSlabMs: 1, clock: () => now, debug: false });
const kept = [];
const out = [];
await settle();
out.push('start rss ' + rss() + ' MiB');
for (let round = 0; round < 3; round++) {
  const bufs = [];
  for (let i = 0; i < 64 * 512; i++) { const b = pool.get(2048); b.bytes.fill(1); bufs.push(b); }
  const filled = rss();
  for (let i = 0; i < bufs.length; i++) { if (i % (16 * 512) === 0) kept.push(bufs[i]); else bufs[i].release(); }
  bufs.length = 0;
  now += 10;
  const dropped = pool.trim();
  await settle();
  const s = pool.stats();
  out.push('round ' + round + ': filled rss ' + filled + ' MiB; trimmed ' + dropped + ' slabs, ' + s.slabs +
    ' slabs (' + Math.round(s.reservedBytes / MiB) + ' MiB) left; rss ' + rss() + ' MiB');
}
console.log(out.join('\\n'));
`;

function measure(extraEnv: Record<string, string>): string {
  const r = spawnSync(process.execPath, ['--input-type=module', '-e', MEASURE], {
    env: { ...process.env, ...extraEnv, WGTS_POOL_URL: new URL('./tiered-pool.js', import.meta.url).href },
    encoding: 'utf8',
    timeout: 60_000,
  });
  return r.status === 0 ? r.stdout.trim() : `measurement failed (status ${r.status}): ${r.stderr.trim()}`;
}

test('measurement (printed, not asserted): do dropped 1 MiB slabs leave RSS?', () => {
  console.log(`# glibc ${glibcVersion()}, Node ${process.version}`);
  console.log('# as started (dynamic mmap threshold):\n' + indent(measure({})));
  console.log(
    '# GLIBC_TUNABLES=glibc.malloc.mmap_threshold=524288 (threshold pinned):\n' +
      indent(measure({ GLIBC_TUNABLES: 'glibc.malloc.mmap_threshold=524288' })),
  );
});

function glibcVersion(): string {
  const report = process.report.getReport() as { header?: { glibcVersionRuntime?: string } };
  return report.header?.glibcVersionRuntime ?? 'unknown';
}

function indent(s: string): string {
  return s
    .split('\n')
    .map((l) => '#   ' + l)
    .join('\n');
}
