/**
 * FdPoll: readiness of a raw fd (a TUN queue, a UDP socket) on the event loop, through the shim's
 * uv_poll_t. One callback, installed once, receives every readiness; start/stop change what is
 * watched without a new handle. libuv reports an error condition on the fd (EPOLLERR, e.g. a TUN
 * whose interface was deleted) as a negative status and stops watching.
 */
import { POLL_READABLE, POLL_WRITABLE, type NativeBinding, type PollHandle } from './binding.js';
import { NativeError } from './errno.js';
import { requireNative } from './load.js';

export { POLL_READABLE, POLL_WRITABLE };

/** Called with status 0 and the ready events (POLL_READABLE | POLL_WRITABLE), or a negative errno. */
export type PollCallback = (status: number, events: number) => void;

export class FdPoll {
  private readonly native: NativeBinding;
  private handle: PollHandle | null;
  private watching: number;
  /** What the fd is, for error messages ("tun wg0", "udp6 [::]:51820"). */
  readonly subject: string;

  /** @throws NativeError when libuv refuses the fd (EBADF, or a file that cannot be polled). */
  constructor(fd: number, callback: PollCallback, subject: string) {
    this.native = requireNative('FdPoll');
    this.subject = subject;
    const h = this.native.pollOpen(fd, callback);
    if (typeof h === 'number') throw new NativeError(h, 'uv_poll_init', subject);
    this.handle = h;
    this.watching = 0;
  }

  /** Watch for `events` (replacing what was watched). @throws NativeError; Error after close. */
  start(events: number): void {
    if (this.handle === null) throw new Error(`poll on ${this.subject} is closed`);
    if (events === this.watching) return;
    const r = this.native.pollStart(this.handle, events);
    if (r < 0) throw new NativeError(r, 'uv_poll_start', this.subject);
    this.watching = events;
  }

  /** Stop watching; the handle stays open for a later start(). */
  stop(): void {
    if (this.handle === null || this.watching === 0) return;
    this.native.pollStop(this.handle);
    this.watching = 0;
  }

  /** Events being watched (0 when stopped). */
  get events(): number {
    return this.watching;
  }

  /**
   * After an error status libuv has stopped the handle by itself; call this so a later start()
   * really restarts it.
   */
  markStopped(): void {
    this.watching = 0;
  }

  /** Whether this handle alone keeps the event loop alive (default true). */
  ref(on: boolean): void {
    if (this.handle !== null) this.native.pollRef(this.handle, on);
  }

  /** Idempotent. Close the fd only after this: libuv must stop watching it first. */
  close(): void {
    if (this.handle === null) return;
    this.native.pollClose(this.handle);
    this.handle = null;
    this.watching = 0;
  }
}
