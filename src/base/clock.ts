/**
 * Time, injected. Timers, the rate limiter and key expiry read a Clock passed in, so tests step a
 * FakeClock instead of sleeping (STYLE.md "Tests"). Two readings: a monotonic one for every protocol
 * deadline, and wall time only where the protocol needs it (TAI64N, last-handshake time for `wg`).
 */

export interface Clock {
  /** Monotonic milliseconds (fractions allowed). */
  now(): number;
  /** Milliseconds since the Unix epoch. */
  wallNow(): number;
  /** Run `fn` once after `ms`; returns a handle for cancel(). */
  schedule(fn: () => void, ms: number): unknown;
  cancel(handle: unknown): void;
}

export const systemClock: Clock = {
  now: () => performance.now(),
  wallNow: () => performance.timeOrigin + performance.now(),
  schedule(fn, ms) {
    const t = setTimeout(fn, ms);
    t.unref();
    return t;
  },
  cancel(handle) {
    clearTimeout(handle as ReturnType<typeof setTimeout>);
  },
};

interface FakeTask {
  at: number;
  seq: number;
  fn: () => void;
  cancelled: boolean;
}

/** A clock that moves only when told to: advance(ms) runs every task that falls due, in order. */
export class FakeClock implements Clock {
  private t: number;
  private readonly wallBase: number;
  private seq = 0;
  private tasks: FakeTask[] = [];

  constructor(startMs = 1_000_000, wallBase = Date.UTC(2026, 0, 1)) {
    this.t = startMs;
    this.wallBase = wallBase;
  }

  now(): number {
    return this.t;
  }

  wallNow(): number {
    return this.wallBase + this.t;
  }

  schedule(fn: () => void, ms: number): unknown {
    const task: FakeTask = { at: this.t + Math.max(0, ms), seq: this.seq++, fn, cancelled: false };
    this.tasks.push(task);
    return task;
  }

  cancel(handle: unknown): void {
    (handle as FakeTask).cancelled = true;
  }

  /** Pending (not cancelled) tasks. */
  get pending(): number {
    let n = 0;
    for (const t of this.tasks) if (!t.cancelled) n++;
    return n;
  }

  /** Move time forward by `ms`, running due tasks at their own time, earliest first. */
  advance(ms: number): void {
    const end = this.t + ms;
    for (;;) {
      let next: FakeTask | null = null;
      for (const task of this.tasks) {
        if (task.cancelled || task.at > end) continue;
        if (next === null || task.at < next.at || (task.at === next.at && task.seq < next.seq)) next = task;
      }
      if (next === null) break;
      this.tasks = this.tasks.filter((x) => x !== next && !x.cancelled);
      if (next.at > this.t) this.t = next.at;
      next.fn();
    }
    this.t = end;
  }
}

/**
 * A re-armable one-shot timer over a Clock. mod() is called on the data path (once per batch), so a
 * later deadline does not re-schedule: the pending task sees the moved deadline when it fires and
 * sleeps again. Only an earlier deadline costs a cancel and a schedule.
 */
export class Timer {
  private handle: unknown = null;
  private scheduledAt = 0;
  private deadline = 0;
  private armed = false;
  private readonly fire: () => void;

  constructor(
    private readonly clock: Clock,
    private readonly fn: () => void,
  ) {
    this.fire = () => {
      this.handle = null;
      if (!this.armed) return;
      const now = this.clock.now();
      if (now < this.deadline) {
        this.scheduledAt = this.deadline;
        this.handle = this.clock.schedule(this.fire, this.deadline - now);
        return;
      }
      this.armed = false;
      this.fn();
    };
  }

  /** Arm (or re-arm) to fire `ms` from now. */
  mod(ms: number): void {
    const deadline = this.clock.now() + ms;
    this.deadline = deadline;
    this.armed = true;
    if (this.handle !== null && this.scheduledAt <= deadline) return;
    if (this.handle !== null) this.clock.cancel(this.handle);
    this.scheduledAt = deadline;
    this.handle = this.clock.schedule(this.fire, ms);
  }

  /** Disarm. Lazy: a pending task stays scheduled and finds the timer disarmed, so del-then-mod is cheap. */
  del(): void {
    this.armed = false;
  }

  /** Disarm and cancel the scheduled task (device down, peer removed): nothing keeps a reference. */
  stop(): void {
    this.armed = false;
    if (this.handle !== null) {
      this.clock.cancel(this.handle);
      this.handle = null;
    }
  }

  get pending(): boolean {
    return this.armed;
  }
}
