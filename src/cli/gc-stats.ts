/**
 * GC accounting for `npm run bench`: with WGTS_GC_STATS=FILE the daemon counts garbage collections and
 * their pause time and writes {"count", "ms"} to FILE when it shuts down. Off (no observer) otherwise.
 */
import { writeFileSync } from 'node:fs';
import { GcCounter } from '../ipc/metrics.js';

export interface GcStats {
  /** Write the totals to the file (if configured) and stop observing. */
  flush(): void;
}

export function gcStatsFromEnv(env: NodeJS.ProcessEnv): GcStats {
  const file = env['WGTS_GC_STATS'];
  if (file === undefined || file === '') return { flush: () => {} };
  const gc = new GcCounter();
  return {
    flush() {
      gc.stop();
      try {
        writeFileSync(file, JSON.stringify({ count: gc.count, ms: gc.pauseMs }) + '\n');
      } catch {
        /* a benchmark aid: never a reason to fail shutdown */
      }
    },
  };
}
