/**
 * Memory back after load (DESIGN.md, "Packet memory": give idle memory back), for a process that holds
 * a Tunnel (and so for `wgts proxy`) and for the daemon: once traffic has stopped for QUIET_MS, once per
 * quiet spell,
 *
 *  1. every wholly free slab of the packet pool is dropped at once (not after the pool's idle period,
 *     which is for slabs a busy tunnel may want again soon);
 *  2. a full garbage collection frees what closed connections left on V8's heap and the ArrayBuffers
 *     of their receive chunks and send rings;
 *  3. malloc_trim(0) gives the free pages of glibc's heaps back to the kernel.
 *
 * Step 3 is the one that shows: a connection's buffers are small ArrayBuffers, which glibc carves from
 * its main heap, and freed among allocations still live they stay resident for good (glibc returns
 * only the heap's top on its own). Measured with 1,000 connections opened through a Tunnel, echoed and
 * closed: RSS 59 MiB idle, 72 MiB 30 s after the close with a GC and no trim, the heap segment 4 -> 12.5
 * MiB; 64 MiB after malloc_trim(0). Without the shim (not Linux, not glibc) step 3 does nothing. For
 * the daemon, whose slabs are their own mappings (it pins glibc's mmap threshold: buffer/slab.ts), step
 * 2 is what frees the slabs' ArrayBuffers; BENCHMARKS.md's "RSS 30 s after" column against the idle RSS.
 *
 * "Quiet" is read off the pool: no buffer taken since the last check. A keepalive every 25 s ends a
 * quiet spell and starts another, which costs one more release (a few milliseconds of GC).
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
  /** Milliseconds; default performance.now. */
  clock?: () => number;
}

/** V8's gc(), made available without a command-line flag (looked up once, at the first release). */
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
    this.clock = options.clock ?? (() => performance.now());
    this.lastGets = this.pool.gets;
    this.quietSince = this.clock();
  }

  /** Checks every CHECK_MS from an unref'd timer (it never keeps the process alive). */
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
      this.release();
    }
  }

  private release(): void {
    this.releases++;
    // The pool's own clock dates its slabs; with no idle time asked, every wholly free one goes.
    this.pool.trim(undefined, 0);
    this.gc ??= v8Gc();
    this.gc();
    this.trimHeap();
  }
}
