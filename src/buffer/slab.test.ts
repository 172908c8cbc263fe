// Slab memory: allocateSlab itself, and that slabs trim() drops really leave RSS with glibc's mmap
// threshold pinned, as the daemon pins it (slab.ts records why it must; `npm run bench:slab` prints
// the measurement both ways). The measurement runs in a fresh child process (slab-rss.ts), so
// neither the test runner nor other tests disturb its heap.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { allocateSlab, mmapThresholdPinned } from './slab.js';
import { glibcVersion, measureSlabRss } from './slab-rss.js';

test('allocateSlab returns a zero-filled ArrayBuffer of the size asked', () => {
  const ab = allocateSlab(1 << 20);
  assert.equal(ab.byteLength, 1 << 20);
  const v = new Uint8Array(ab);
  assert.equal(v[0], 0);
  assert.equal(v[v.length - 1], 0);
  assert.equal(typeof mmapThresholdPinned(), 'boolean');
});

/**
 * What each round must give back of the slabs trim() dropped. Measured: 57..67 MiB given back for
 * 55..60 MiB dropped with the threshold pinned; 18 MiB for 58 with it dynamic, from round 1 on (the
 * case this guards against). The RSS moves by tens of MiB either way, so the bound is no knife edge.
 */
const GIVEN_BACK_FRACTION = 0.75;

test('with the mmap threshold pinned (as the daemon starts), slabs that trim() drops leave RSS', { skip: glibcVersion() === null ? 'not glibc: the tunable is glibc\'s' : false }, () => {
  // The value cli/daemonize.ts sets for the detached daemon.
  const m = measureSlabRss({ GLIBC_TUNABLES: 'glibc.malloc.mmap_threshold=524288' });
  assert.equal(m.rounds.length, 3);
  for (const [i, r] of m.rounds.entries()) {
    // The round really filled its slabs (64 MiB), so what trim() gives back can be seen...
    assert.ok(r.filledMiB - m.startMiB >= 48, `round ${i}: filling 64 MiB of slabs raised RSS only ${r.filledMiB - m.startMiB} MiB`);
    assert.ok(r.trimmed >= 48, `round ${i}: trim() dropped ${r.trimmed} slabs`);
    // ...and most of the dropped slabs' bytes left the process.
    const givenBack = r.filledMiB - r.afterMiB;
    assert.ok(
      givenBack >= GIVEN_BACK_FRACTION * r.trimmed,
      `round ${i}: trim() dropped ${r.trimmed} MiB of slabs but RSS fell only ${givenBack.toFixed(1)} MiB (${r.filledMiB.toFixed(1)} -> ${r.afterMiB.toFixed(1)})`,
    );
  }
});
