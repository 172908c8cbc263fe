/**
 * Counts garbage collections and their pause time from construction until stop(), through Node's
 * performance timeline ('gc' entries). For benchmarks and the daemon's WGTS_GC_STATS report: the
 * data path's promise is no garbage per packet, and this is how it is checked.
 */
import { PerformanceObserver } from 'node:perf_hooks';

export class GcMeter {
  /** Collections seen, and their summed duration in milliseconds. */
  count = 0;
  ms = 0;
  private readonly observer: PerformanceObserver;

  constructor() {
    this.observer = new PerformanceObserver((list) => {
      for (const e of list.getEntries()) {
        this.count++;
        this.ms += e.duration;
      }
    });
    this.observer.observe({ entryTypes: ['gc'] });
  }

  /** Stops counting; the totals stay. */
  stop(): void {
    this.observer.disconnect();
  }
}
