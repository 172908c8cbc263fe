/**
 * GC accounting for `npm run bench`: with WGTS_GC_STATS=FILE the daemon counts garbage collections and
 * their pause time and writes {"count", "ms", "pauses"} to FILE when it shuts down, pauses being the
 * first PAUSE_LOG as [Unix ms, ms] (the bench counts those inside its load window). Off (no observer)
 * otherwise.
 */
import { writeFileSync } from 'node:fs';
import { GcMeter } from '../base/gc-meter.js';

/** Pauses logged with their time: a 10 s run at full load sees a few dozen. */
const PAUSE_LOG = 4096;

export interface GcStats {
  /** Write the totals to the file (if configured) and stop observing. */
  flush(): void;
}

export function gcStatsFromEnv(env: NodeJS.ProcessEnv): GcStats {
  const file = env['WGTS_GC_STATS'];
  if (file === undefined || file === '') return { flush: () => {} };
  const meter = new GcMeter(PAUSE_LOG);
  return {
    flush() {
      meter.stop();
      try {
        const pauses: [number, number][] = [];
        for (let i = 0; i < meter.logged; i++) pauses.push([meter.starts[i]!, meter.durations[i]!]);
        writeFileSync(file, JSON.stringify({ count: meter.count, ms: meter.ms, pauses }) + '\n');
      } catch {
        /* a benchmark aid: never a reason to fail shutdown */
      }
    },
  };
}
