/**
 * Where slab memory comes from: one small function, so a native shim that maps slabs itself
 * (mmap/munmap behind an external ArrayBuffer) can replace it without touching pool policy
 * (DESIGN.md, "Packet memory", point 1). TieredPool takes it as its `allocateSlab` option.
 *
 * Measured (`npm run bench:slab` prints it; Node 20.20, glibc 2.36, x86-64): does a dropped 1 MiB ArrayBuffer
 * leave RSS? Node backs ArrayBuffers with calloc/malloc, so it depends on glibc:
 * - At first, 1 MiB is above glibc's mmap threshold (128 KiB), the slab is its own mapping, and
 *   dropping it (after GC) unmaps it: 64 slabs allocated and dropped, RSS 107 -> 43 MiB.
 * - But freeing an mmap'd chunk raises the dynamic threshold to that chunk's size (up to 32 MiB).
 *   From then on slabs come from the brk heap. A heap slab only leaves RSS if it sits at the top of
 *   the heap; one freed below a live slab stays resident. With 1 in 16 slabs kept live (what a pool
 *   does: a few slabs stay busy while others go idle), round 1 of 64 x 1 MiB ended at 96 MiB RSS for
 *   8 MiB live; round 2 at 100 MiB for 12 MiB live. Same with 4 MiB slabs (255 MiB RSS for 32 MiB live).
 * - Pinning the threshold disables the dynamic rise: with GLIBC_TUNABLES=glibc.malloc.mmap_threshold=524288
 *   (or MALLOC_MMAP_THRESHOLD_=524288) in the environment at process start, the same runs end at
 *   51 and 55 MiB: dropped slabs leave RSS every time.
 * Through TieredPool (slab-rss.ts: 3 rounds of 64 slabs filled, all but 1 in 16 released, trim()):
 * RSS after trim 59, 109, 111 MiB for 4, 7, 10 MiB of live slabs; pinned: 59, 64, 67 MiB. slab.test.ts
 * asserts the pinned case: each trim() gives back most of what it dropped.
 * So: dropping slabs gives memory back only while slabs are mmap'd. Until the native shim maps slabs
 * itself, a long-running daemon should start Node with the glibc threshold pinned (the tunable must
 * be set before the process starts; it cannot be changed from JS).
 */

/**
 * A new zero-filled slab of `bytes` bytes. Throws RangeError when the allocation fails; the pool
 * catches that on its miss path and returns null.
 */
export function allocateSlab(bytes: number): ArrayBuffer {
  return new ArrayBuffer(bytes);
}

/** True when this process pinned glibc's mmap threshold, so dropped slabs reliably leave RSS. */
export function mmapThresholdPinned(): boolean {
  const env = process.env;
  const tunables = env['GLIBC_TUNABLES'];
  return (
    env['MALLOC_MMAP_THRESHOLD_'] !== undefined ||
    (tunables !== undefined && tunables.includes('glibc.malloc.mmap_threshold='))
  );
}
