/**
 * AeadQueue: AEAD batches sealed or opened in submission order, big ones on the shim's crypto
 * threads (native/aead-threads.ts) so that crypto overlaps the event loop's next batch of I/O
 * (DESIGN.md, "More cores"), small ones inline.
 *
 * A user (one direction of a device) takes an entry, fills its AeadBatch and its context (whatever
 * it needs when the batch is done: the buffers, the peer), and submits it. `done(entry)` is called
 * for every entry in the order they were submitted, on the event loop: at once for an inline batch
 * with nothing ahead of it, otherwise when the batch and every one before it have finished. So
 * per-peer packet order (and the order counters were assigned in) is the order of submission.
 *
 * - Inline: with no threads, or for a batch of at most INLINE_MAX_PACKETS (a thread hand-off costs
 *   a few microseconds, more than sealing a handful of packets). An inline batch that has batches
 *   in flight ahead of it waits its turn, already done.
 * - Bounded: `depth` entries. take() with none free blocks the event loop until the oldest batch is
 *   done (the event loop's thread works through queued batches meanwhile) and delivers it: how far
 *   the readers may run ahead of the threads.
 * - Re-entered: a done() whose work comes back to this queue (in one process, a device's packets
 *   may reach the other device and come back within one call) may take() and submit(): with no entry
 *   free, an extra one is made that runs inline, and its batch waits its turn behind the one being
 *   delivered. At most MAX_ENTRIES in all.
 *
 * From submit() until done() the entry's buffers belong to the thread: nothing reads or writes them.
 * The keys are copied into the job at submit() and the copy here is wiped at once.
 */
import { availableParallelism } from 'node:os';
import { AEAD_THREADS_MAX, MAX_BATCH } from '../native/binding.js';
import { AeadThreads, type AeadJobSink } from '../native/aead-threads.js';
import { AEAD_KEY_BYTES } from '../native/aead-batch.js';
import { SlabBatch } from '../native/slab-batch.js';
import { AeadBatch, openBatch, sealBatch } from './aead.js';
import { describeAeadBatch } from './aead-native.js';

/** Batches of at most this many packets are sealed or opened inline. */
export const INLINE_MAX_PACKETS = 8;
/**
 * Entries per queue: one on a thread, one queued behind it, one being filled. Every entry holds up
 * to a batch of packets in flight, so depth is memory: 8 held ~1,150 buffers at the peak of a
 * 32-stream run (peak RSS ~65.6 MiB), 3 ~660 (~62 MiB), for no throughput difference through the
 * noise.
 */
export const AEAD_QUEUE_DEPTH = 3;
/** Most entries a queue may grow to when done() comes back to it (see the file's notes). */
const MAX_ENTRIES = 64;


/**
 * Crypto threads from WGTS_CRYPTO_THREADS (a whole number, 0 = off), else one fewer than the cores
 * (the event loop keeps one). @throws RangeError naming the variable when it is not a number 0..64.
 */
export function defaultCryptoThreads(env: NodeJS.ProcessEnv = process.env): number {
  const text = env['WGTS_CRYPTO_THREADS'];
  if (text === undefined || text === '') return Math.min(AEAD_THREADS_MAX, Math.max(0, availableParallelism() - 1));
  if (!/^[0-9]{1,2}$/.test(text) || Number(text) > AEAD_THREADS_MAX) {
    throw new RangeError(`WGTS_CRYPTO_THREADS must be a whole number 0..${AEAD_THREADS_MAX}, got ${JSON.stringify(text)}`);
  }
  return Number(text);
}

const FREE = 0;
const IN_FLIGHT = 1;
const DONE = 2;

/** One batch and its user's context, recycled for the queue's life. */
export class AeadEntry<C> {
  readonly batch: AeadBatch;
  readonly context: C;
  /** The windows as the threads see them; holds the slabs until the job is done. */
  readonly windows: SlabBatch;
  /** The crypto thread job slot (-1: none, inline only). */
  readonly job: number;
  state: number;

  constructor(capacity: number, context: C, job: number) {
    this.batch = new AeadBatch(capacity);
    this.context = context;
    this.windows = new SlabBatch(capacity);
    this.job = job;
    this.state = FREE;
  }
}

export class AeadQueue<C> implements AeadJobSink {
  readonly open: boolean;
  /** Threads in use (0: everything inline). */
  readonly threads: number;
  private readonly entries: AeadEntry<C>[];
  private readonly capacity: number;
  private readonly makeContext: () => C;
  private readonly done: (entry: AeadEntry<C>) => void;
  private readonly pool: AeadThreads | null;
  /** Entries by job slot id, for the threads' reports. */
  private readonly byJob: (AeadEntry<C> | null)[];
  /** Submitted entries not yet delivered, oldest first: a ring over `entries.length`. */
  private readonly ring: (AeadEntry<C> | null)[];
  private head = 0;
  private length = 0;
  private readonly free: AeadEntry<C>[] = [];
  private delivering = false;
  private readonly keyTable = new Uint8Array(MAX_BATCH * AEAD_KEY_BYTES);
  private readonly keyIndex = new Int32Array(MAX_BATCH);
  /** Batches run on the threads and inline, for the stats. */
  threaded = 0;
  inline = 0;

  /**
   * `open`: this queue opens (true) or seals. `threads`: crypto threads to use (0: none; where the
   * shim is absent or has no job slots left, inline too). `capacity` (<= MAX_BATCH) is each batch's.
   */
  constructor(open: boolean, threads: number, capacity: number, makeContext: () => C, done: (entry: AeadEntry<C>) => void, depth = AEAD_QUEUE_DEPTH) {
    if (!Number.isInteger(capacity) || capacity < 1 || capacity > MAX_BATCH) throw new RangeError(`capacity must be 1..${MAX_BATCH}, got ${capacity}`);
    this.open = open;
    this.capacity = capacity;
    this.makeContext = makeContext;
    this.done = done;
    this.pool = threads > 0 ? AeadThreads.open(threads, depth, this) : null;
    this.threads = this.pool === null ? 0 : AeadThreads.running;
    const n = this.pool === null ? 1 : depth;
    this.entries = [];
    this.byJob = [];
    this.ring = new Array<AeadEntry<C> | null>(MAX_ENTRIES).fill(null);
    for (let i = 0; i < n; i++) {
      const job = this.pool === null ? -1 : this.pool.jobs[i]!;
      const e = new AeadEntry<C>(capacity, makeContext(), job);
      this.entries.push(e);
      this.free.push(e);
      if (job >= 0) this.byJob[job] = e;
    }
  }

  /** Batches submitted and not yet delivered. */
  get pending(): number {
    return this.length;
  }

  /**
   * A free entry (its batch empty, count 0). With none free, blocks until the oldest submitted batch
   * is done and delivers it (and any done behind it) first; from within done(), makes an extra one.
   * @throws Error when done() re-entered this queue past MAX_ENTRIES.
   */
  take(): AeadEntry<C> {
    while (this.free.length === 0) {
      if (this.delivering) {
        if (this.entries.length >= MAX_ENTRIES) throw new Error(`AeadQueue: more than ${MAX_ENTRIES} batches in flight`);
        const e = new AeadEntry<C>(this.capacity, this.makeContext(), -1);
        this.entries.push(e);
        return e;
      }
      const head = this.ring[this.head]!;
      if (head.state === IN_FLIGHT) this.pool!.wait(head.job);
      this.deliver();
    }
    return this.free.pop()!;
  }

  /** Seals or opens the entry's batch; done(entry) follows in submission order. */
  submit(e: AeadEntry<C>): void {
    const b = e.batch;
    if (this.pool === null || e.job < 0 || b.count <= INLINE_MAX_PACKETS) {
      if (this.open) openBatch(b);
      else sealBatch(b);
      this.inline++;
      e.state = DONE;
      this.push(e);
      this.deliver();
      return;
    }
    const keys = describeAeadBatch(b, 0, b.count, this.keyTable, this.keyIndex, e.windows);
    e.state = IN_FLIGHT;
    this.push(e);
    this.pool.submit(e.job, this.open, this.keyTable, this.keyIndex, b.counters, e.windows, b.results, b.count);
    this.keyTable.fill(0, 0, keys);
    this.threaded++;
  }

  /** Blocks until every submitted batch is done, and delivers them. */
  drain(): void {
    while (this.length > 0) {
      const head = this.ring[this.head]!;
      if (head.state === IN_FLIGHT) this.pool!.wait(head.job);
      this.deliver();
      if (this.delivering) return; // called from done(): the outer delivery carries on
    }
  }

  /** Drains, then gives the job slots back (the last user stops the threads). */
  close(): void {
    this.drain();
    this.pool?.close();
  }

  /** From the threads: job `job` has finished. */
  aeadJobFinished(job: number): void {
    const e = this.byJob[job];
    if (e === null || e === undefined || e.state !== IN_FLIGHT) return;
    e.state = DONE;
    this.deliver();
  }

  private push(e: AeadEntry<C>): void {
    const n = this.ring.length;
    this.ring[(this.head + this.length) % n] = e;
    this.length++;
  }

  /** Hands done entries to done(), oldest first, up to the first still in flight. */
  private deliver(): void {
    if (this.delivering) return;
    this.delivering = true;
    const n = this.ring.length;
    while (this.length > 0) {
      const e = this.ring[this.head]!;
      if (e.state !== DONE) break;
      this.ring[this.head] = null;
      this.head = (this.head + 1) % n;
      this.length--;
      this.done(e);
      e.state = FREE;
      e.batch.clear();
      e.windows.clear();
      this.free.push(e);
    }
    this.delivering = false;
  }

}
