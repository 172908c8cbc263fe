/**
 * Benchmark: a packet buffer per packet from TieredPool (get + release) against a fresh allocation
 * per packet (Buffer.allocUnsafe, new Uint8Array), with GC count and pause time per run from
 * PerformanceObserver 'gc' entries. `npm run bench:buffer` (node dist/buffer/bench.js).
 *
 * Each run does N operations after a warm-up. An operation takes a buffer of the next size, writes a
 * byte into it and keeps it in a ring of `depth` in-flight slots, releasing (or dropping) the one it
 * displaces: depth 1 is get-then-release, depth 256 models packets in flight across a batch.
 * Sizes: all 1420 (one MTU packet), or a mix (80% 40..1500, 15% 1501..9000, 5% 9001..65535).
 * Measures performance only; no test asserts on it.
 */

import { PerformanceObserver, type PerformanceEntry } from 'node:perf_hooks';
import { TieredPool } from './tiered-pool.js';
import type { PacketBuffer } from './packet-buffer.js';

const N = 5_000_000;
const WARMUP = 200_000;
const SIZE_TABLE = 4096; // power of two: index with & (SIZE_TABLE - 1)

let gcCount = 0;
let gcTotalMs = 0;
let gcMaxMs = 0;
const observer = new PerformanceObserver((list) => {
  const entries: PerformanceEntry[] = list.getEntries();
  for (let i = 0; i < entries.length; i++) {
    const d = entries[i]!.duration;
    gcCount++;
    gcTotalMs += d;
    if (d > gcMaxMs) gcMaxMs = d;
  }
});
observer.observe({ entryTypes: ['gc'] });

function fixedSizes(size: number): Int32Array {
  return new Int32Array(SIZE_TABLE).fill(size);
}

function mixedSizes(): Int32Array {
  const out = new Int32Array(SIZE_TABLE);
  let seed = 0x2545f491;
  const next = (n: number): number => {
    seed ^= seed << 13;
    seed ^= seed >>> 17;
    seed ^= seed << 5;
    return (seed >>> 0) % n;
  };
  for (let i = 0; i < SIZE_TABLE; i++) {
    const r = next(100);
    out[i] = r < 80 ? 40 + next(1461) : r < 95 ? 1501 + next(7500) : 9001 + next(56535);
  }
  return out;
}

function runPool(pool: TieredPool, sizes: Int32Array, depth: number, n: number): number {
  const mask = SIZE_TABLE - 1;
  const ringMask = depth - 1;
  const ring: (PacketBuffer | null)[] = new Array<PacketBuffer | null>(depth).fill(null);
  let sink = 0;
  for (let i = 0; i < n; i++) {
    const slot = i & ringMask;
    const old = ring[slot]!;
    if (old !== null) old.release();
    const b = pool.get(sizes[i & mask]!)!;
    b.bytes[b.start] = i;
    b.end = b.start + 1;
    sink = (sink + b.bytes[b.start]!) & 0xffff;
    ring[slot] = b;
  }
  for (let s = 0; s < depth; s++) {
    const b = ring[s]!;
    if (b !== null) b.release();
  }
  return sink;
}

function runAllocUnsafe(sizes: Int32Array, depth: number, n: number): number {
  const mask = SIZE_TABLE - 1;
  const ringMask = depth - 1;
  const ring: (Buffer | null)[] = new Array<Buffer | null>(depth).fill(null);
  let sink = 0;
  for (let i = 0; i < n; i++) {
    const b = Buffer.allocUnsafe(sizes[i & mask]!);
    b[0] = i;
    sink = (sink + b[0]!) & 0xffff;
    ring[i & ringMask] = b;
  }
  return sink;
}

function runUint8Array(sizes: Int32Array, depth: number, n: number): number {
  const mask = SIZE_TABLE - 1;
  const ringMask = depth - 1;
  const ring: (Uint8Array | null)[] = new Array<Uint8Array | null>(depth).fill(null);
  let sink = 0;
  for (let i = 0; i < n; i++) {
    const b = new Uint8Array(sizes[i & mask]!);
    b[0] = i;
    sink = (sink + b[0]!) & 0xffff;
    ring[i & ringMask] = b;
  }
  return sink;
}

type Runner = (sizes: Int32Array, depth: number, n: number) => number;

interface Row {
  name: string;
  sizes: string;
  depth: number;
  nsPerOp: number;
  gcs: number;
  gcTotalMs: number;
  gcMaxMs: number;
}

/** Lets queued 'gc' performance entries reach the observer. */
async function flushGcEntries(): Promise<void> {
  await new Promise<void>((resolve) => setImmediate(resolve));
  await new Promise<void>((resolve) => setTimeout(resolve, 20));
}

let sinkTotal = 0;

async function measure(name: string, sizesName: string, sizes: Int32Array, depth: number, run: Runner): Promise<Row> {
  sinkTotal += run(sizes, depth, WARMUP);
  await flushGcEntries();
  gcCount = 0;
  gcTotalMs = 0;
  gcMaxMs = 0;
  const t0 = process.hrtime.bigint();
  sinkTotal += run(sizes, depth, N);
  const elapsed = Number(process.hrtime.bigint() - t0);
  await flushGcEntries();
  return { name, sizes: sizesName, depth, nsPerOp: elapsed / N, gcs: gcCount, gcTotalMs, gcMaxMs };
}

async function measurePool(
  name: string,
  sizesName: string,
  sizes: Int32Array,
  depth: number,
  clock: () => number,
): Promise<Row> {
  const pool = new TieredPool({ debug: false, clock });
  const row = await measure(name, sizesName, sizes, depth, (z, k, n) => runPool(pool, z, k, n));
  const leaked = pool.close();
  if (leaked !== 0) throw new Error(`bench: ${leaked} buffers outstanding`);
  return row;
}

function pad(s: string, n: number, right = false): string {
  return right ? s.padStart(n) : s.padEnd(n);
}

async function main(): Promise<void> {
  const small = fixedSizes(1420);
  const mix = mixedSizes();
  const rows: Row[] = [];
  const started = Date.now();
  // Depth 256 (packets in flight) for every allocator; depth 1 only where it is cheap to run, so the
  // whole bench stays under 30 s (new Uint8Array zero-fills and dominates the time).
  rows.push(await measurePool('TieredPool get+release', '1420', small, 1, Date.now));
  // At depth 1 every release empties the slab, so the pool reads its clock each time; a stubbed
  // clock shows what that read costs.
  rows.push(await measurePool('TieredPool, clock stubbed', '1420', small, 1, () => 0));
  rows.push(await measure('Buffer.allocUnsafe', '1420', small, 1, runAllocUnsafe));
  const sets: [string, Int32Array][] = [
    ['1420', small],
    ['mix', mix],
  ];
  for (let c = 0; c < sets.length; c++) {
    const [name, sizes] = sets[c]!;
    rows.push(await measurePool('TieredPool get+release', name, sizes, 256, Date.now));
    rows.push(await measure('Buffer.allocUnsafe', name, sizes, 256, runAllocUnsafe));
    rows.push(await measure('new Uint8Array', name, sizes, 256, runUint8Array));
  }
  observer.disconnect();

  console.log(`wgts buffer bench: Node ${process.version}, N = ${N} ops per run after ${WARMUP} warm-up`);
  console.log(
    pad('allocator', 28) + pad('sizes', 6) + pad('depth', 6, true) + pad('ns/op', 10, true) +
      pad('GCs', 7, true) + pad('GC total ms', 13, true) + pad('GC max ms', 11, true),
  );
  for (let i = 0; i < rows.length; i++) {
    const r = rows[i]!;
    console.log(
      pad(r.name, 28) + pad(r.sizes, 6) + pad(String(r.depth), 6, true) + pad(r.nsPerOp.toFixed(1), 10, true) +
        pad(String(r.gcs), 7, true) + pad(r.gcTotalMs.toFixed(1), 13, true) + pad(r.gcMaxMs.toFixed(2), 11, true),
    );
  }
  console.log(`total ${((Date.now() - started) / 1000).toFixed(1)} s (sink ${sinkTotal & 0xff})`);
}

await main();
