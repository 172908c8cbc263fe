/**
 * A connection's three wheel timers (RFC 9293 §3.10.8 "timeouts", as Linux multiplexes them):
 *
 * - the retransmission timer, whose meaning (RTO, tail loss probe, RACK reorder, persist, idle trim)
 *   the sender keeps (sender.ts RtxKind);
 * - the delayed-ACK timer (RFC 9293 §3.8.6.3);
 * - one timer for the long waits, by kind: keepalive (RFC 1122 §4.2.3.6: after the idle time,
 *   keepCount probes keepInterval apart), the orphaned FIN-WAIT-2 timeout, and TIME-WAIT's 2 MSL.
 *
 * This owns the timers and the keepalive settings and count; what a firing means for the connection
 * is the connection's (it gets onRtx, onDelack, onLongWait).
 */
import type { TimerWheel } from '../timer-wheel.js';
import { WheelTimer } from '../timer-wheel.js';
import { DELACK_MS, KEEPALIVE_IDLE_MS, KEEPALIVE_INTERVAL_MS, KEEPALIVE_PROBES } from './constants.js';

export const enum WaitKind {
  NONE = 0,
  KEEPALIVE = 1,
  FIN_WAIT_2 = 2,
  TIME_WAIT = 3,
}

/** What the timers call back. */
export interface TimerOwner {
  onRtx(): void;
  onDelack(): void;
  onLongWait(kind: WaitKind): void;
  /** Around work that may send (the stack's re-entrancy guard). */
  enter(): void;
  leave(): void;
}

export class ConnTimers {
  private readonly wheel: TimerWheel;
  private readonly rtx: WheelTimer;
  private readonly delack: WheelTimer;
  private readonly wait: WheelTimer;
  /** What the long-wait timer is armed for. */
  waitKind: WaitKind;
  // Keepalive settings (socket.setKeepAlive) and probes sent without an answer.
  keepAlive: boolean;
  keepIdleMs: number;
  keepIntervalMs: number;
  keepCount: number;
  keepProbes: number;

  constructor(wheel: TimerWheel, owner: TimerOwner) {
    this.wheel = wheel;
    this.rtx = new WheelTimer(() => {
      owner.enter();
      owner.onRtx();
      owner.leave();
    });
    this.delack = new WheelTimer(() => owner.onDelack());
    this.wait = new WheelTimer(() => {
      const kind = this.waitKind;
      this.waitKind = WaitKind.NONE;
      owner.enter();
      owner.onLongWait(kind);
      owner.leave();
    });
    this.waitKind = WaitKind.NONE;
    this.keepAlive = false;
    this.keepIdleMs = KEEPALIVE_IDLE_MS;
    this.keepIntervalMs = KEEPALIVE_INTERVAL_MS;
    this.keepCount = KEEPALIVE_PROBES;
    this.keepProbes = 0;
  }

  armRtx(deadline: number): void {
    this.wheel.armAt(this.rtx, deadline);
  }

  cancelRtx(): void {
    this.wheel.cancel(this.rtx);
  }

  /** Arm the delayed ACK unless it is armed already (its deadline never moves later). */
  armDelack(): void {
    if (!this.delack.armed) this.wheel.arm(this.delack, DELACK_MS);
  }

  cancelDelack(): void {
    if (this.delack.armed) this.wheel.cancel(this.delack);
  }

  armWait(kind: WaitKind, deadline: number): void {
    this.waitKind = kind;
    this.wheel.armAt(this.wait, deadline);
  }

  cancelWait(): void {
    this.waitKind = WaitKind.NONE;
    this.wheel.cancel(this.wait);
  }

  /** A segment arrived at `now`: keepalive starts counting idle time again. */
  segmentArrived(now: number): void {
    this.keepProbes = 0;
    if (this.keepAlive && this.waitKind === WaitKind.KEEPALIVE) this.armWait(WaitKind.KEEPALIVE, now + this.keepIdleMs);
  }

  /** Keepalive on (from `lastRecv`) or off. */
  setKeepAlive(enable: boolean, idleMs: number, lastRecv: number, synchronized: boolean): void {
    this.keepAlive = enable;
    if (idleMs > 0) this.keepIdleMs = idleMs;
    if (!enable) {
      if (this.waitKind === WaitKind.KEEPALIVE) this.cancelWait();
      return;
    }
    if (this.waitKind === WaitKind.NONE && synchronized) {
      this.keepProbes = 0;
      this.armWait(WaitKind.KEEPALIVE, lastRecv + this.keepIdleMs);
    }
  }

  /** The connection is established: keepalive, if on, starts. */
  established(now: number): void {
    if (this.keepAlive) this.armWait(WaitKind.KEEPALIVE, now + this.keepIdleMs);
  }

  /**
   * RFC 1122 §4.2.3.6, when the keepalive timer fires: 'probe' (one more), 'fail' (keepCount went
   * unanswered), or 'wait' (not idle long enough, or data in flight has its own timer; re-armed).
   */
  keepaliveDue(now: number, lastRecv: number, busy: boolean): 'probe' | 'fail' | 'wait' {
    const idle = now - lastRecv;
    const due = this.keepProbes === 0 ? this.keepIdleMs : this.keepIntervalMs;
    if (busy || idle < due) {
      this.armWait(WaitKind.KEEPALIVE, Math.max(now, lastRecv + this.keepIdleMs) + (idle < due ? 0 : this.keepIntervalMs));
      return 'wait';
    }
    if (this.keepProbes >= this.keepCount) return 'fail';
    this.keepProbes++;
    this.armWait(WaitKind.KEEPALIVE, now + this.keepIntervalMs);
    return 'probe';
  }

  /** Stop the retransmission and delayed-ACK timers, and the long wait unless it is TIME-WAIT's. */
  stop(keepTimeWait: boolean): void {
    this.wheel.cancel(this.rtx);
    this.wheel.cancel(this.delack);
    if (!keepTimeWait || this.waitKind !== WaitKind.TIME_WAIT) this.cancelWait();
  }
}
