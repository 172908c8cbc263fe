/**
 * Counts garbage collections and their pause time from construction until stop(), through Node's
 * performance timeline ('gc' entries). For benchmarks and the daemon's WGTS_GC_STATS report: the
 * data path's promise is no garbage per packet, and this is how it is checked.
 *
 * With a log capacity it also keeps the first that many pauses (when, as Unix milliseconds, and how
 * long), so a benchmark can count the pauses inside its load window apart from those of start-up and
 * of the idle trim after it.
 */
import { PerformanceObserver, performance } from 'node:perf_hooks';

export class GcMeter {
  /** Collections seen, and their summed duration in milliseconds. */
  count = 0;
  ms = 0;
  /** Pause i began at starts[i] (Unix ms) and lasted durations[i] ms, for i < logged. */
  readonly starts: Float64Array;
  readonly durations: Float64Array;
  logged = 0;
  private readonly observer: PerformanceObserver;

  constructor(logCapacity = 0) {
    this.starts = new Float64Array(logCapacity);
    this.durations = new Float64Array(logCapacity);
    this.observer = new PerformanceObserver((list) => {
      for (const e of list.getEntries()) {
        this.count++;
        this.ms += e.duration;
        if (this.logged < this.starts.length) {
          this.starts[this.logged] = performance.timeOrigin + e.startTime;
          this.durations[this.logged] = e.duration;
          this.logged++;
        }
      }
    });
    this.observer.observe({ entryTypes: ['gc'] });
  }

  /** Stops counting; the totals stay. */
  stop(): void {
    this.observer.disconnect();
  }
}
