/**
 * The session table of a UDP forward: one entry per remote (address, port) that has sent to the
 * listener, holding the socket its datagrams leave by, so replies find their way back. UDP has no
 * close, so entries end by inactivity (InactivityTimeout, when set) or by eviction: the table is capped
 * and the least recently active entry makes room for a new one.
 *
 * Time is injected (a Clock); the sweep runs on one timer per table, not a timer per session.
 */
import type { Clock } from '../base/clock.js';
import { systemClock } from '../base/clock.js';

export interface UdpSession {
  /** Release the session's sockets. */
  close(): void;
}

/** Sessions one UDP forward keeps at once. */
export const MAX_UDP_SESSIONS = 1024;

interface Entry<S> {
  session: S;
  lastActiveMs: number;
}

export class UdpSessionTable<S extends UdpSession> {
  private readonly entries = new Map<string, Entry<S>>();
  private readonly clock: Clock;
  private readonly timeoutMs: number;
  private readonly max: number;
  private timer: unknown = null;
  /** Sessions closed to make room or for inactivity. */
  evicted = 0;
  expired = 0;

  /** `timeoutSec` 0 keeps sessions until evicted. */
  constructor(timeoutSec: number, options: { clock?: Clock; max?: number } = {}) {
    this.clock = options.clock ?? systemClock;
    this.timeoutMs = timeoutSec * 1000;
    this.max = options.max ?? MAX_UDP_SESSIONS;
    if (this.timeoutMs > 0) this.scheduleSweep();
  }

  get size(): number {
    return this.entries.size;
  }

  /** The session for `key`, marked active; made by `create` (after evicting the stalest if full) when absent. */
  get(key: string, create: () => S): S {
    const now = this.clock.now();
    const e = this.entries.get(key);
    if (e !== undefined) {
      e.lastActiveMs = now;
      // Re-insert: Map order is then least recently active first.
      this.entries.delete(key);
      this.entries.set(key, e);
      return e.session;
    }
    if (this.entries.size >= this.max) {
      const [oldKey, old] = this.entries.entries().next().value!;
      this.entries.delete(oldKey);
      old.session.close();
      this.evicted++;
    }
    const session = create();
    this.entries.set(key, { session, lastActiveMs: now });
    return session;
  }

  /** Mark `key` active (a reply went through it) without reordering. */
  touch(key: string): void {
    const e = this.entries.get(key);
    if (e !== undefined) e.lastActiveMs = this.clock.now();
  }

  delete(key: string): void {
    const e = this.entries.get(key);
    if (e === undefined) return;
    this.entries.delete(key);
    e.session.close();
  }

  /** Close the sessions idle for the timeout or longer. */
  sweep(): void {
    if (this.timeoutMs <= 0) return;
    const now = this.clock.now();
    for (const [key, e] of this.entries) {
      if (now - e.lastActiveMs < this.timeoutMs) continue;
      this.entries.delete(key);
      e.session.close();
      this.expired++;
    }
  }

  /** A sweep every tenth of the timeout (at most every 10 s): sessions end within 1.1 x the timeout. */
  private scheduleSweep(): void {
    this.timer = this.clock.schedule(() => {
      this.sweep();
      if (this.timer !== null) this.scheduleSweep();
    }, Math.min(Math.max(this.timeoutMs / 10, 100), 10_000));
  }

  close(): void {
    if (this.timer !== null) this.clock.cancel(this.timer);
    this.timer = null;
    for (const e of this.entries.values()) e.session.close();
    this.entries.clear();
  }
}
