/**
 * CheckAlive, wireproxy's health check ([Interface] CheckAlive = addresses, CheckAliveInterval =
 * seconds, default 5): every interval, one echo request through the tunnel to each address (ICMP or
 * ICMPv6 from the tunnel's own stack, Tunnel.ping), each waiting at most the interval for its reply.
 * /readyz is 200 only while every address has answered within the last interval plus 2 s of leeway
 * (wireproxy's rule, so a reply that takes a little while does not flap the check), 503 otherwise,
 * and its body gives each address's last answer in Unix seconds (0: never), as wireproxy's does.
 *
 * An address that stops answering is logged once, and once again when it answers again, rather than
 * every interval.
 */
import type { Clock } from '../base/clock.js';
import type { Logger } from '../base/logger.js';
import type { TunnelLike } from './tunnel-like.js';

/** Leeway on top of the interval before a silent address makes the proxy unready (wireproxy's 2 s). */
export const CHECK_ALIVE_LEEWAY_MS = 2000;

export class CheckAlive {
  private readonly tunnel: Pick<TunnelLike, 'ping'>;
  private readonly addresses: readonly string[];
  private readonly intervalMs: number;
  private readonly clock: Clock;
  private readonly logger: Logger;
  /** Wall-clock ms of each address's last reply; 0 before the first. */
  private readonly lastReply = new Map<string, number>();
  private readonly failing = new Set<string>();
  private timer: unknown = null;
  private running = false;

  constructor(tunnel: Pick<TunnelLike, 'ping'>, addresses: readonly string[], intervalSec: number, clock: Clock, logger: Logger) {
    this.tunnel = tunnel;
    this.addresses = addresses;
    this.intervalMs = intervalSec * 1000;
    this.clock = clock;
    this.logger = logger;
    for (const a of addresses) this.lastReply.set(a, 0);
  }

  /** Ping now and every interval until stop(). */
  start(): void {
    if (this.running) return;
    this.running = true;
    this.round();
  }

  stop(): void {
    this.running = false;
    if (this.timer !== null) this.clock.cancel(this.timer);
    this.timer = null;
  }

  /** Ready while every address answered within the interval and the leeway before `nowMs` (wall clock). */
  readiness(nowMs: number = this.clock.wallNow()): { ok: boolean; lastReply: Record<string, number> } {
    const lastReply: Record<string, number> = {};
    let ok = true;
    for (const [address, at] of this.lastReply) {
      lastReply[address] = Math.floor(at / 1000);
      if (at === 0 || nowMs - at > this.intervalMs + CHECK_ALIVE_LEEWAY_MS) ok = false;
    }
    return { ok, lastReply };
  }

  private round(): void {
    if (!this.running) return;
    for (const address of this.addresses) {
      this.tunnel.ping(address, { timeout: this.intervalMs }).then(
        () => this.answered(address),
        (err: Error) => this.silent(address, err),
      );
    }
    this.timer = this.clock.schedule(() => this.round(), this.intervalMs);
  }

  private answered(address: string): void {
    if (!this.running) return;
    this.lastReply.set(address, this.clock.wallNow());
    if (this.failing.delete(address)) this.logger.error?.(`CheckAlive: ${address} answers again`);
  }

  private silent(address: string, err: Error): void {
    if (!this.running || this.failing.has(address)) return;
    this.failing.add(address);
    this.logger.error?.(`CheckAlive: no answer from ${address}: ${(err as NodeJS.ErrnoException).code ?? err.message}`);
  }
}
