/**
 * Reassembly of inbound fragments: IPv4 (RFC 791 §3.2, "Fragmentation and Reassembly") and the IPv6
 * Fragment header (RFC 8200 §4.5), which a peer's kernel produces for UDP datagrams larger than its
 * path to us.
 *
 * A datagram is identified by (source, destination, protocol, Identification) for IPv4 and by
 * (source, destination, Identification) for IPv6. Its fragments are held as received, in their own
 * buffers; when the pieces cover [0, total) the datagram is copied once into one pool buffer whose
 * window is the upper-layer bytes, and the fragments go back to the pool.
 *
 * Rules:
 * - A fragment that is not the last must carry a multiple of 8 bytes (RFC 8200 §4.5; the offset unit
 *   of both versions); a datagram may not pass 65535 bytes; the last fragment fixes the total, and a
 *   fragment past it or a second, different total drops the datagram.
 * - Overlapping fragments drop the whole datagram, silently (RFC 5722 §4 for IPv6; Linux does the same
 *   for IPv4 since overlaps serve only evasion). An exact duplicate is dropped alone.
 * - Bounded in datagrams (MAX_DATAGRAMS), fragments per datagram, bytes held (the capacity of the
 *   buffers, which is what memory they pin) and time (REASSEMBLY_TIMEOUT_V4_MS / _V6_MS from the first
 *   fragment's arrival). Making room pushes out the oldest datagram.
 * - A datagram that times out holding its first fragment is reported, so the stack can send ICMP Time
 *   Exceeded, code 1 (RFC 792; RFC 8200 §4.5).
 */
import { Timer, type Clock } from '../base/clock.js';
import { HEADROOM_BYTES, type PacketBuffer, type Source } from '../buffer/packet-buffer.js';
import type { NetStackCounters } from './counters.js';
import { IPV6_FRAGMENT_HEADER_BYTES, IPV6_HEADER_BYTES } from './ipv6.js';
import { addressAt } from './bytes.js';
import type { RxInfo } from './rx-info.js';
import type { IpFamily } from './transport.js';

/** Datagrams in reassembly at once. Ours: Linux allows 4 MiB of fragments; a tunnel endpoint less. */
export const MAX_DATAGRAMS = 32;
/** Fragments held per datagram: 64 KiB at a 1280-byte MTU is 54 of them. */
export const MAX_FRAGMENTS = 64;
/** Buffer capacity held across all datagrams. */
export const MAX_REASSEMBLY_BYTES = 2 << 20;
/** RFC 791 suggests 15 s as a lower bound; Linux's ipfrag_time is 30 s. */
export const REASSEMBLY_TIMEOUT_V4_MS = 30_000;
/** RFC 8200 §4.5: 60 seconds from the first-arriving fragment. */
export const REASSEMBLY_TIMEOUT_V6_MS = 60_000;
const MAX_PACKET_BYTES = 65535;

/** What reassembly needs from the stack. */
export interface ReassemblyHost {
  readonly clock: Clock;
  readonly counters: NetStackCounters;
  /** Where reassembled datagrams are built; null before the device opened the stack. */
  bufferSource(): Source | null;
  /**
   * A datagram timed out while holding its first fragment, whose packet as received is
   * buf.bytes[headerAt, buf.end); `protocol` is the datagram's. Called before the buffer is released.
   */
  reassemblyTimedOut(family: IpFamily, buf: PacketBuffer, headerAt: number, protocol: number): void;
}

class Datagram {
  used = false;
  family: IpFamily = 4;
  id = 0;
  /** IPv4: the protocol (part of the key). IPv6: the first fragment's Next Header, once it came. */
  protocol = -1;
  readonly src = new Uint8Array(16);
  readonly dst = new Uint8Array(16);
  readonly bufs: (PacketBuffer | null)[] = new Array<PacketBuffer | null>(MAX_FRAGMENTS).fill(null);
  readonly offsets = new Int32Array(MAX_FRAGMENTS);
  readonly lengths = new Int32Array(MAX_FRAGMENTS);
  /** Where the IP header of each fragment starts in its buffer (for the Time Exceeded quote). */
  readonly headers = new Int32Array(MAX_FRAGMENTS);
  count = 0;
  /** Upper-layer length, known once the last fragment came; -1 before. */
  total = -1;
  received = 0;
  held = 0;
  arrived = 0;
  deadline = 0;
}

export class Reassembler {
  private readonly slots: Datagram[] = [];
  private active = 0;
  private heldBytes = 0;
  private readonly timer: Timer;
  /** Deadline the timer is armed for (Infinity when idle). */
  private armedFor = Infinity;

  constructor(private readonly host: ReassemblyHost) {
    for (let i = 0; i < MAX_DATAGRAMS; i++) this.slots.push(new Datagram());
    this.timer = new Timer(host.clock, () => this.expire());
  }

  /** Datagrams in progress and bytes they hold (for tests and stats). */
  get pending(): number {
    return this.active;
  }

  get bytesHeld(): number {
    return this.heldBytes;
  }

  /**
   * Take one fragment (rx describes it; buf is ours from here). Returns the reassembled datagram when
   * this fragment completed it, with rx updated to describe it (payload window, protocol, headerAt -1);
   * null otherwise.
   */
  add(buf: PacketBuffer, rx: RxInfo): PacketBuffer | null {
    const c = this.host.counters;
    const off = rx.fragOffset;
    const len = rx.payloadEnd - rx.payloadAt;
    // The reassembled packet may not pass 65535: IPv4 counts its header, IPv6 the unfragmentable part.
    const overhead = rx.family === 4 ? rx.payloadAt - rx.headerAt : rx.payloadAt - rx.headerAt - IPV6_HEADER_BYTES - IPV6_FRAGMENT_HEADER_BYTES;
    if ((rx.moreFragments && (len === 0 || (len & 7) !== 0)) || off + len + overhead > MAX_PACKET_BYTES) {
      c.badFragment++;
      buf.release();
      return null;
    }
    let dg = this.find(rx);
    if (dg === null) dg = this.open(rx);
    const end = off + len;
    for (let i = 0; i < dg.count; i++) {
      const o = dg.offsets[i]!;
      const oe = o + dg.lengths[i]!;
      if (o === off && oe === end) {
        c.duplicateFragment++;
        buf.release();
        return null;
      }
      if (off < oe && o < end) {
        c.reassemblyOverlap++;
        buf.release();
        this.drop(dg);
        return null;
      }
    }
    if (!rx.moreFragments) {
      if (dg.total >= 0 && dg.total !== end) {
        c.badFragment++;
        buf.release();
        this.drop(dg);
        return null;
      }
      dg.total = end;
    }
    if ((dg.total >= 0 && end > dg.total) || (!rx.moreFragments && this.beyond(dg, end))) {
      c.badFragment++;
      buf.release();
      this.drop(dg);
      return null;
    }
    if (dg.count === MAX_FRAGMENTS || !this.makeRoom(dg, buf.capacity)) {
      c.reassemblyOverflow++;
      buf.release();
      this.drop(dg);
      return null;
    }
    const i = dg.count++;
    dg.bufs[i] = buf;
    dg.offsets[i] = off;
    dg.lengths[i] = len;
    dg.headers[i] = rx.headerAt;
    buf.start = rx.payloadAt;
    buf.end = rx.payloadEnd;
    dg.received += len;
    dg.held += buf.capacity;
    this.heldBytes += buf.capacity;
    if (off === 0 && dg.family === 6) dg.protocol = rx.protocol;
    if (dg.total < 0 || dg.received !== dg.total) return null;
    return this.assemble(dg, rx);
  }

  /** Release everything held (stack closing). */
  close(): void {
    for (let i = 0; i < MAX_DATAGRAMS; i++) if (this.slots[i]!.used) this.drop(this.slots[i]!);
    this.timer.stop();
    this.armedFor = Infinity;
  }

  private find(rx: RxInfo): Datagram | null {
    for (let i = 0; i < MAX_DATAGRAMS; i++) {
      const dg = this.slots[i]!;
      if (!dg.used || dg.id !== rx.fragId || dg.family !== rx.family) continue;
      if (rx.family === 4 && dg.protocol !== rx.protocol) continue;
      if (addressAt(rx.src, dg.src, 0) && addressAt(rx.dst, dg.dst, 0)) return dg;
    }
    return null;
  }

  private open(rx: RxInfo): Datagram {
    let dg: Datagram | null = null;
    for (let i = 0; i < MAX_DATAGRAMS && dg === null; i++) if (!this.slots[i]!.used) dg = this.slots[i]!;
    if (dg === null) {
      dg = this.oldest(null)!;
      this.host.counters.reassemblyOverflow++;
      this.drop(dg);
    }
    const now = this.host.clock.now();
    dg.used = true;
    dg.family = rx.family;
    dg.id = rx.fragId;
    dg.protocol = rx.family === 4 ? rx.protocol : -1;
    for (let k = 0; k < rx.src.length; k++) {
      dg.src[k] = rx.src[k]!;
      dg.dst[k] = rx.dst[k]!;
    }
    dg.count = 0;
    dg.total = -1;
    dg.received = 0;
    dg.held = 0;
    dg.arrived = now;
    dg.deadline = now + (rx.family === 4 ? REASSEMBLY_TIMEOUT_V4_MS : REASSEMBLY_TIMEOUT_V6_MS);
    this.active++;
    if (dg.deadline < this.armedFor) {
      this.armedFor = dg.deadline;
      this.timer.mod(dg.deadline - now);
    }
    return dg;
  }

  /** Whether any fragment held reaches past `end`. */
  private beyond(dg: Datagram, end: number): boolean {
    for (let i = 0; i < dg.count; i++) if (dg.offsets[i]! + dg.lengths[i]! > end) return true;
    return false;
  }

  /** Push out the oldest other datagrams until `bytes` more fit; false when they cannot. */
  private makeRoom(keep: Datagram, bytes: number): boolean {
    while (this.heldBytes + bytes > MAX_REASSEMBLY_BYTES) {
      const victim = this.oldest(keep);
      if (victim === null) return false;
      this.host.counters.reassemblyOverflow++;
      this.drop(victim);
    }
    return true;
  }

  private oldest(except: Datagram | null): Datagram | null {
    let best: Datagram | null = null;
    for (let i = 0; i < MAX_DATAGRAMS; i++) {
      const dg = this.slots[i]!;
      if (dg.used && dg !== except && (best === null || dg.arrived < best.arrived)) best = dg;
    }
    return best;
  }

  private assemble(dg: Datagram, rx: RxInfo): PacketBuffer | null {
    const source = this.host.bufferSource();
    const out = source === null ? null : source.get(HEADROOM_BYTES + dg.total);
    if (out === null) {
      this.host.counters.noBuffer++;
      this.drop(dg);
      return null;
    }
    const at = out.start;
    for (let i = 0; i < dg.count; i++) {
      const f = dg.bufs[i]!;
      out.bytes.set(f.bytes.subarray(f.start, f.end), at + dg.offsets[i]!);
    }
    out.end = at + dg.total;
    rx.protocol = dg.protocol;
    rx.headerAt = -1;
    rx.payloadAt = out.start;
    rx.payloadEnd = out.end;
    rx.nextHeaderAt = -1;
    rx.fragment = false;
    rx.moreFragments = false;
    rx.fragOffset = 0;
    this.host.counters.reassembled++;
    this.drop(dg);
    return out;
  }

  /** Release a datagram's fragments and free its slot. */
  private drop(dg: Datagram): void {
    for (let i = 0; i < dg.count; i++) {
      dg.bufs[i]!.release();
      dg.bufs[i] = null;
    }
    this.heldBytes -= dg.held;
    dg.count = 0;
    dg.held = 0;
    dg.used = false;
    this.active--;
  }

  private expire(): void {
    const now = this.host.clock.now();
    let next = Infinity;
    for (let i = 0; i < MAX_DATAGRAMS; i++) {
      const dg = this.slots[i]!;
      if (!dg.used) continue;
      if (dg.deadline > now) {
        if (dg.deadline < next) next = dg.deadline;
        continue;
      }
      this.host.counters.reassemblyTimeout++;
      for (let k = 0; k < dg.count; k++) {
        if (dg.offsets[k] === 0) this.host.reassemblyTimedOut(dg.family, dg.bufs[k]!, dg.headers[k]!, dg.protocol);
      }
      this.drop(dg);
    }
    this.armedFor = next;
    if (next !== Infinity) this.timer.mod(next - now);
  }
}
