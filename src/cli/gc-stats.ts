/**
 * GC accounting for `npm run bench`: with WGTS_GC_STATS=FILE the daemon counts garbage collections and
 * their pause time and writes {"count", "ms"} to FILE when it shuts down. Off (no observer) otherwise.
 */
import { writeFileSync } from 'node:fs';
import { PerformanceObserver } from 'node:perf_hooks';

export interface GcStats {
  /** Write the totals to the file (if configured) and stop observing. */
  flush(): void;
}

export function gcStatsFromEnv(env: NodeJS.ProcessEnv): GcStats {
  const file = env['WGTS_GC_STATS'];
  if (file === undefined || file === '') return { flush: () => {} };
  let count = 0;
  let ms = 0;
  const obs = new PerformanceObserver((list) => {
    for (const e of list.getEntries()) {
      count++;
      ms += e.duration;
    }
  });
  obs.observe({ entryTypes: ['gc'] });
  return {
    flush() {
      obs.disconnect();
      try {
        writeFileSync(file, JSON.stringify({ count, ms }) + '\n');
      } catch {
        /* a benchmark aid: never a reason to fail shutdown */
      }
    },
  };
}
