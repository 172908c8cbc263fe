/**
 * Memory back after load (DESIGN.md, "Packet memory", point 7: give memory back). A daemon that carried
 * traffic and then went quiet for QUIET_MS gives back, once per quiet spell, what the load left:
 *
 *  1. every wholly free slab of the packet pool, at once rather than after the pool's idle period
 *     (IDLE_SLAB_MS, meant for slabs a busy daemon may want again soon);
 *  2. a full garbage collection, which frees those slabs' ArrayBuffers (their own mappings, the
 *     daemon pins glibc's mmap threshold: buffer/slab.ts) and compacts V8's old generation;
 *  3. malloc_trim(0): the free pages of glibc's heaps.
 *
 * "Quiet" is read off the pool: no buffer taken since the last check. A keepalive every 25 s or a
 * handshake every 2 minutes makes a quiet spell end and start again, which costs one more release
 * (a few milliseconds of GC on an idle daemon).
 *
 * Measured (two daemons, iperf3 32 streams for 10 s, RSS before, at the end and after; BENCHMARKS.md):
 * see the table's "RSS 30 s after" column against the idle RSS.
 */
import v8 from 'node:v8';
import vm from 'node:vm';
import type { TieredPool } from '../buffer/tiered-pool.js';
import { native } from '../native/load.js';

/** Quiet this long after traffic: the load is over. */
export const QUIET_MS = 2000;
/** How often traffic is looked for. */
export const CHECK_MS = 500;

export interface IdleMemoryOptions {
  pool: TieredPool;
  /** A full GC; default: V8's, exposed at run time. */
  gc?: () => void;
  /** glibc's malloc_trim(0); default: the shim's (nothing without it). */
  mallocTrim?: () => void;
  /** Milliseconds; default Date.now. */
  clock?: () => number;
}

/** V8's gc(), made available without a command-line flag (it is looked up once, at first use). */
function v8Gc(): () => void {
  const g = (globalThis as { gc?: () => void }).gc;
  if (typeof g === 'function') return g;
  v8.setFlagsFromString('--expose-gc');
  return vm.runInNewContext('gc') as () => void;
}

export class IdleMemory {
  /** Releases done so far. */
  releases = 0;
  private readonly pool: TieredPool;
  private gc: (() => void) | null;
  private readonly trimHeap: () => void;
  private readonly clock: () => number;
  private lastGets: number;
  private quietSince: number;
  /** Traffic was seen since the last release. */
  private busy = false;
  private timer: ReturnType<typeof setInterval> | null = null;

  constructor(options: IdleMemoryOptions) {
    this.pool = options.pool;
    this.gc = options.gc ?? null;
    this.trimHeap = options.mallocTrim ?? (() => native?.mallocTrim());
    this.clock = options.clock ?? Date.now;
    this.lastGets = this.pool.gets;
    this.quietSince = this.clock();
  }

  /** Checks every CHECK_MS from an unref'd timer. */
  start(): void {
    if (this.timer !== null) return;
    this.timer = setInterval(() => this.check(), CHECK_MS);
    this.timer.unref();
  }

  stop(): void {
    if (this.timer !== null) clearInterval(this.timer);
    this.timer = null;
  }

  /** One look at the pool: note traffic, or release once the quiet has lasted QUIET_MS. */
  check(): void {
    const now = this.clock();
    const gets = this.pool.gets;
    if (gets !== this.lastGets) {
      this.lastGets = gets;
      this.quietSince = now;
      this.busy = true;
      return;
    }
    if (this.busy && now - this.quietSince >= QUIET_MS) {
      this.busy = false;
      this.release(now);
    }
  }

  private release(now: number): void {
    this.releases++;
    this.pool.trim(now, 0);
    this.gc ??= v8Gc();
    this.gc();
    this.trimHeap();
  }
}
