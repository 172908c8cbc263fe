/**
 * Packets waiting for a session (paper 6.2: data sent while no usable keypair exists is queued until a
 * handshake completes), one queue per peer: a ring, oldest dropped first past MAX_STAGED_PACKETS, as
 * wireguard-go's staged queue.
 *
 * The ring starts empty and doubles as packets arrive, up to the bound: a peer that only ever stages a
 * keepalive or a ping holds a few slots, not a whole batch's worth (issue: 10,000 idle peers at a
 * 128-slot array each were ~10 MB).
 */
import type { PacketBuffer } from '../buffer/packet-buffer.js';
import { MAX_STAGED_PACKETS } from './constants.js';

/** Slots the ring starts with when the first packet comes. */
const FIRST_SLOTS = 4;

export class StagedPackets {
  private ring: (PacketBuffer | null)[];
  private head: number;
  private count: number;

  constructor() {
    this.ring = [];
    this.head = 0;
    this.count = 0;
  }

  get length(): number {
    return this.count;
  }

  /** Slots held now (grows by doubling up to MAX_STAGED_PACKETS). */
  get capacity(): number {
    return this.ring.length;
  }

  /** Queue `buf`; returns the oldest packet it displaced (the caller releases it), or null. */
  push(buf: PacketBuffer): PacketBuffer | null {
    let dropped: PacketBuffer | null = null;
    if (this.count === this.ring.length) {
      if (this.ring.length < MAX_STAGED_PACKETS) this.grow();
      else dropped = this.shift();
    }
    const ring = this.ring;
    ring[(this.head + this.count) % ring.length] = buf;
    this.count++;
    return dropped;
  }

  /** The oldest packet, taken off the queue, or null. */
  shift(): PacketBuffer | null {
    if (this.count === 0) return null;
    const ring = this.ring;
    const buf = ring[this.head]!;
    ring[this.head] = null;
    this.head = (this.head + 1) % ring.length;
    this.count--;
    return buf;
  }

  /** Release every packet unsent. */
  releaseAll(): void {
    for (let b = this.shift(); b !== null; b = this.shift()) b.release();
  }

  /** Double the ring (control of its size, not per packet: at most log2(MAX_STAGED_PACKETS) times). */
  private grow(): void {
    const old = this.ring;
    const size = Math.min(MAX_STAGED_PACKETS, old.length === 0 ? FIRST_SLOTS : old.length * 2);
    const ring = new Array<PacketBuffer | null>(size).fill(null);
    for (let i = 0; i < this.count; i++) ring[i] = old[(this.head + i) % old.length]!;
    this.ring = ring;
    this.head = 0;
  }
}
