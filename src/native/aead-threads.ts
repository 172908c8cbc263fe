/**
 * The shim's crypto threads (native/src/aead-threads.c): AEAD batches sealed and opened off the event
 * loop. One pool per process (per Node environment), started by its first user and stopped when the
 * last one closes; each user (a direction of a device) holds its own job slots and is told when one
 * of its jobs has finished.
 *
 * Contract with a user (STYLE.md, "JS owns every byte"): from submit() until the job is reported
 * finished, the windows' bytes, the results array and the SlabBatch describing the windows (whose
 * table keeps the slabs alive) are the thread's: JS does not read or write them. Keys, key indices
 * and counters are copied at submit(), so the caller may wipe and reuse its arrays at once.
 *
 * Jobs finish in any order; finished(job) is called on the event loop, once per job, from libuv's
 * wake-up, or from wait() before it returns. Putting jobs back in order is the user's business
 * (crypto/aead-queue.ts).
 */
import { AEAD_JOBS_MAX, AEAD_THREADS_MAX, type NativeBinding } from './binding.js';
import { NativeError } from './errno.js';
import { native } from './load.js';
import type { SlabBatch } from './slab-batch.js';

/** Told when one of its jobs has finished: its results are final and its memory is the caller's again. */
export interface AeadJobSink {
  aeadJobFinished(job: number): void;
}

/** The process-wide pool: started with the first user, stopped with the last. */
class Pool {
  readonly native: NativeBinding;
  readonly threads: number;
  readonly doneIds = new Int32Array(AEAD_JOBS_MAX);
  /** The ids being reported: a sink may call wait() or close() while it is told (which may refill doneIds). */
  private readonly reporting = new Int32Array(AEAD_JOBS_MAX);
  private reportDepth = 0;
  /**
   * Finished in the shim's eyes (its slot already free there) but not told to its sink yet: a sink
   * told earlier in the same report may wait() for one of these, which must count as finished.
   */
  readonly untold = new Uint8Array(AEAD_JOBS_MAX);
  /** Who owns each job slot (null: free). */
  readonly owners: (AeadJobSink | null)[] = new Array<AeadJobSink | null>(AEAD_JOBS_MAX).fill(null);
  users = 0;

  constructor(n: NativeBinding, threads: number) {
    this.native = n;
    this.threads = threads;
    const r = n.aeadThreadsStart(threads, AEAD_JOBS_MAX, this.doneIds, (count) => this.report(count));
    if (r < 0) throw new NativeError(r, 'pthread_create', `${threads} crypto threads`);
  }

  /** Tells the owners of doneIds[0, count) their jobs finished. */
  report(count: number): void {
    // A copy first: the sinks' work may stop the pool, which reports into doneIds again.
    const ids = this.reportDepth === 0 ? this.reporting : new Int32Array(count);
    for (let i = 0; i < count; i++) {
      ids[i] = this.doneIds[i]!;
      this.untold[ids[i]!] = 1;
    }
    this.reportDepth++;
    try {
      for (let i = 0; i < count; i++) if (this.untold[ids[i]!] !== 0) this.finished(ids[i]!);
    } finally {
      this.reportDepth--;
    }
  }

  /** Tells the owner of `job` that it finished (once: a job told is no longer untold). */
  finished(job: number): void {
    this.untold[job] = 0;
    const sink = this.owners[job];
    if (sink !== null && sink !== undefined) sink.aeadJobFinished(job);
  }
}

let pool: Pool | null = null;

/**
 * A user's handle on the crypto threads: its own job slots (`jobs`), submit(), wait() and close().
 * Not for concurrent use by two owners; one event loop.
 */
export class AeadThreads {
  /** The job slot ids this user may submit, each at most once until it is reported finished. */
  readonly jobs: Int32Array;
  private pool: Pool | null;

  private constructor(p: Pool, jobs: Int32Array) {
    this.pool = p;
    this.jobs = jobs;
  }

  /** Threads the running pool has (0 when none runs). */
  static get running(): number {
    return pool === null ? 0 : pool.threads;
  }

  /**
   * Takes `slots` job slots for `sink`, starting the pool with `threads` threads if none runs (a
   * running pool keeps its number). Null where the shim is not loaded or too few slots are free.
   * @throws RangeError for threads outside 1..AEAD_THREADS_MAX or slots outside 1..AEAD_JOBS_MAX;
   *   NativeError when the threads cannot be started.
   */
  static open(threads: number, slots: number, sink: AeadJobSink): AeadThreads | null {
    if (!Number.isInteger(threads) || threads < 1 || threads > AEAD_THREADS_MAX) {
      throw new RangeError(`crypto threads must be 1..${AEAD_THREADS_MAX}, got ${threads}`);
    }
    if (!Number.isInteger(slots) || slots < 1 || slots > AEAD_JOBS_MAX) {
      throw new RangeError(`crypto job slots must be 1..${AEAD_JOBS_MAX}, got ${slots}`);
    }
    if (native === null) return null;
    const p = pool ?? new Pool(native, threads);
    pool = p;
    const jobs = new Int32Array(slots);
    let n = 0;
    for (let id = 0; id < AEAD_JOBS_MAX && n < slots; id++) if (p.owners[id] === null) jobs[n++] = id;
    if (n < slots) {
      if (p.users === 0) stopPool(p);
      return null;
    }
    for (let i = 0; i < slots; i++) p.owners[jobs[i]!] = sink;
    p.users++;
    return new AeadThreads(p, jobs);
  }

  /**
   * Queues job `job` (one of `jobs`, not outstanding): seal (open false) or open windows 0..count-1
   * in place with aeadSeal's arguments. The windows, `results` and `windows` itself stay untouched
   * until the job is reported finished.
   */
  submit(job: number, open: boolean, keys: Uint8Array, keyIndex: Int32Array, counters: Float64Array, windows: SlabBatch, results: Int32Array, count: number): void {
    const p = this.live();
    p.native.aeadThreadsSubmit(job, open, keys, keyIndex, counters, windows.slabs, windows.slabIndex, windows.offsets, windows.sizes, results, count);
  }

  /**
   * Blocks the event loop until job `job` has finished (the event loop's thread runs queued jobs
   * meanwhile) and reports it to its sink before returning. Other jobs that finished are reported
   * from the next wake-up, as usual. Nothing happens for a job that is not outstanding.
   */
  wait(job: number): void {
    const p = this.live();
    if (p.untold[job] !== 0 || p.native.aeadThreadsWait(job) > 0) p.finished(job);
  }

  /**
   * Gives the slots back; the last user stops the threads (after they finish what is queued). The
   * caller waits for its own outstanding jobs first.
   */
  close(): void {
    const p = this.pool;
    if (p === null) return;
    this.pool = null;
    for (let i = 0; i < this.jobs.length; i++) p.owners[this.jobs[i]!] = null;
    if (--p.users === 0) stopPool(p);
  }

  private live(): Pool {
    if (this.pool === null) throw new Error('crypto threads handle is closed');
    return this.pool;
  }
}

function stopPool(p: Pool): void {
  if (pool === p) pool = null;
  const n = p.native.aeadThreadsStop();
  p.report(n);
}
