/**
 * An in-process TUN: the embedding program writes IP packets into the tunnel and receives the packets
 * that come out of it. No root, no kernel: for tests, the demo and programs that speak IP themselves
 * (a userspace TCP/IP stack, say).
 *
 * Writes are gathered into batches and handed to the device once per event-loop turn (or when a batch
 * fills), so the device sees the same batch shape as from a kernel TUN.
 */
import type { PacketBuffer, Source } from '../buffer/packet-buffer.js';
import { DEFAULT_MTU, type Tun, type TunHandler } from './tun.js';

/** Packets handed to the device in one batch. */
export const MEMORY_TUN_BATCH = 64;

export interface MemoryTunOptions {
  name?: string;
  mtu?: number;
}

export class MemoryTun implements Tun {
  readonly name: string;
  private mtuValue: number;
  private handler: TunHandler | null = null;
  private source: Source | null = null;
  private readonly pending: PacketBuffer[] = new Array<PacketBuffer>(MEMORY_TUN_BATCH);
  private pendingCount = 0;
  private scheduled = false;
  private paused = false;
  private closed = false;
  private readonly flushFn: () => void;
  /**
   * Called with each packet that leaves the tunnel toward the program. The view is valid only during
   * the call (its memory goes back to the pool right after): copy what you keep.
   */
  onPacket: ((packet: Uint8Array) => void) | null = null;
  /** Called when writes refused by backpressure may be retried. */
  onDrain: (() => void) | null = null;
  private wantDrain = false;

  constructor(options: MemoryTunOptions = {}) {
    this.name = options.name ?? 'memtun';
    this.mtuValue = options.mtu ?? DEFAULT_MTU;
    this.flushFn = () => {
      this.scheduled = false;
      this.flush();
    };
  }

  mtu(): number {
    return this.mtuValue;
  }

  /** Change the MTU, as `ip link set mtu` would on a kernel TUN. */
  setMtu(mtu: number): void {
    if (!Number.isInteger(mtu) || mtu < 576 || mtu > 65535) throw new RangeError(`MTU must be 576..65535, got ${mtu}`);
    this.mtuValue = mtu;
    this.handler?.onEvent('mtu');
  }

  open(handler: TunHandler, source: Source): void {
    if (this.handler !== null) throw new Error(`TUN ${this.name} is already open`);
    this.handler = handler;
    this.source = source;
    handler.onEvent('up');
  }

  /**
   * Send an IP packet into the tunnel (as if the OS routed it to this interface). Copies it. Returns
   * false when it was not taken — backpressure (wait for onDrain) or no device — like a stream's write.
   * Throws RangeError for a packet larger than the MTU.
   */
  writePacket(packet: Uint8Array): boolean {
    if (packet.length > this.mtuValue) throw new RangeError(`packet of ${packet.length} bytes exceeds the MTU ${this.mtuValue}`);
    if (this.closed || this.source === null || this.paused) {
      this.wantDrain = true;
      return false;
    }
    const buf = this.source.get(packet.length);
    if (buf === null) {
      this.paused = true;
      this.wantDrain = true;
      return false;
    }
    buf.bytes.set(packet, buf.start);
    buf.end = buf.start + packet.length;
    this.pending[this.pendingCount++] = buf;
    if (this.pendingCount === MEMORY_TUN_BATCH) this.flush();
    else if (!this.scheduled) {
      this.scheduled = true;
      setImmediate(this.flushFn);
    }
    return true;
  }

  /** Hand pending packets to the device now rather than at the end of this turn. */
  flush(): void {
    const n = this.pendingCount;
    if (n === 0) return;
    this.pendingCount = 0;
    if (this.handler === null) {
      for (let i = 0; i < n; i++) this.pending[i]!.release();
      return;
    }
    this.handler.onPackets(this.pending, n);
  }

  /** Tun side: packets from the device to the program. */
  write(bufs: PacketBuffer[], count: number): void {
    const cb = this.onPacket;
    for (let i = 0; i < count; i++) {
      const buf = bufs[i]!;
      if (cb !== null && !this.closed) cb(buf.bytes.subarray(buf.start, buf.end));
      buf.release();
    }
  }

  pause(): void {
    this.paused = true;
  }

  resume(): void {
    this.paused = false;
    if (this.wantDrain) {
      this.wantDrain = false;
      this.onDrain?.();
    }
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    for (let i = 0; i < this.pendingCount; i++) this.pending[i]!.release();
    this.pendingCount = 0;
    this.handler?.onEvent('closed');
  }
}
