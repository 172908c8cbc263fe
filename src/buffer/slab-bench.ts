/**
 * `npm run bench:slab`: whether slabs that TieredPool.trim() drops leave RSS, with glibc's mmap
 * threshold as Node starts (dynamic) and pinned as the daemon pins it. Prints the measurement of
 * slab-rss.ts both ways; slab.ts records what it showed and what follows from it.
 */
import { glibcVersion, measureSlabRss, type SlabRss } from './slab-rss.js';

function show(title: string, m: SlabRss): void {
  console.log(title);
  console.log(`  start rss ${m.startMiB.toFixed(0)} MiB`);
  m.rounds.forEach((r, i) => {
    console.log(
      `  round ${i}: filled rss ${r.filledMiB.toFixed(0)} MiB; trimmed ${r.trimmed} slabs, ` +
        `${r.liveMiB.toFixed(0)} MiB of slabs left; rss ${r.afterMiB.toFixed(0)} MiB`,
    );
  });
}

console.log(`glibc ${glibcVersion() ?? 'none'}, Node ${process.version}`);
show('as started (dynamic mmap threshold):', measureSlabRss({}));
show('GLIBC_TUNABLES=glibc.malloc.mmap_threshold=524288 (threshold pinned):', measureSlabRss({ GLIBC_TUNABLES: 'glibc.malloc.mmap_threshold=524288' }));
