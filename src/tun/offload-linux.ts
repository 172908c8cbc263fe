/**
 * LinuxTun's data path when its queue speaks virtio_net_hdr (IFF_VNET_HDR): the read side splits
 * what the kernel hands over (offload-tso.ts), the write side coalesces (offload-gro.ts). Kept apart
 * from linux.ts, which owns the fd, its lifecycle and the plain path, and calls in here per batch.
 *
 * Reading, one readiness (DESIGN.md "Data path": "a TSO super-packet is split into tier-sized packets
 * and its 64 KiB buffer goes straight back"):
 * - take read slots of VNET_READ_BYTES from the Source (the 69632 tier: only this reader knows a read
 *   may hold a 64 KiB super-packet; buffer/read-slots.ts sizes how many), one readBatch into them;
 * - per frame, per segment: a buffer sized for that segment from the Source (the 2 KiB tier for an
 *   MTU-sized one), the segment written into it with headroom and tailroom for sealing in place;
 * - every read slot goes back to the pool; none is held between readinesses;
 * - segments go to the handler in batches of at most `batch` (the device stages at most that many
 *   per peer), so a 64 KiB super-packet of 45 segments and one of 1300 tiny ones are both fine.
 * A Source that runs dry mid-frame drops the rest of what was read (counted in readDropped) and
 * stops reading until resume(): TCP resends what a full budget could not take.
 *
 * Writing: per chunk of at most `batch` packets, coalesce into frames, one writeBatch (writeCounted,
 * which the plain path shares), then the arena's frames go back and the arena is reset. The caller
 * releases its own buffers afterwards.
 *
 * Measured: two wgts daemons in namespaces over veth, iperf3 TCP 5 s (tunnel MTU 1420), alternating
 * runs on a shared 4-vCPU VM. One stream: offload 1.33-2.10 Gbit/s (median ~1.8), 0 retransmits;
 * plain 0.75-1.10 (median ~0.88). -R: 2.05 vs 0.89. -P 4: 2.31 vs 1.09. The kernel's TCP sent
 * ~46 segments per super-packet; GRO wrote ~32 packets per super-packet.
 */
import { endianness } from 'node:os';
import type { Arena } from '../buffer/arena.js';
import { ReadSlots } from '../buffer/read-slots.js';
import { HEADROOM_BYTES, MAX_DATAGRAM_BYTES, TAILROOM_BYTES } from '../buffer/constants.js';
import type { PacketBuffer, Source } from '../buffer/packet-buffer.js';
import { E_AGAIN, E_BADFD, E_IO, NativeError, SlabBatch, closeFd, openTunQueue, requireNative, type NativeBinding, type TunQueue } from '../native/index.js';
import { GroCoalescer } from './offload-gro.js';
import { TUN_OFFLOADS_TCP, TUN_OFFLOADS_UDP, VIRTIO_NET_HDR_LEN } from './offload-header.js';
import { TsoSplitter } from './offload-tso.js';
import type { TunHandler } from './tun.js';

/**
 * Most frames read per readiness: each may be 64 KiB, so 8 is up to 512 KiB and ~360 MTU-sized
 * segments, handed on in chunks. wireguard-go reads one frame per Read call; more per readiness
 * saves event-loop turns. 8 rather than 16: the slots then come from one 1 MiB slab of the large
 * tier (15 chunks); with 16 each daemon held 3 slabs instead of 2 in the iperf3 run (3.1 MB), for
 * no throughput difference we could see through the noise.
 */
export const VNET_READ_SLOTS = 8;
/**
 * Fewest read slots taken when traffic is light: 2, not buffer/read-slots.ts's 8 for small slots,
 * because each is a 68 KiB chunk; two still read a super-packet and the next without a refill.
 */
export const VNET_MIN_READ_SLOTS = 2;
/** A read slot: headroom, the virtio header and the largest packet (69632-tier: 65561 bytes fit). */
export const VNET_READ_BYTES = HEADROOM_BYTES + VIRTIO_NET_HDR_LEN + MAX_DATAGRAM_BYTES;

/** Counters the path bumps; LinuxTun owns them, so they show in its stats. */
export interface VnetCounters {
  /** Reads that failed, and frames too malformed to split. */
  readErrors: number;
  /** Packets read from the kernel but not delivered (the Source ran dry mid-frame). */
  readDropped: number;
  /** Super-packets read (GSO frames) and the segments they made. */
  tsoSuperPackets: number;
  tsoSegments: number;
  /** Packets dropped on write (full kernel queue, interface gone, or no room to frame them). */
  writeDropped: number;
  /** Packets the kernel refused on write. */
  writeErrors: number;
  /** Super-packets written (GRO) and the packets merged into them. */
  groSuperPackets: number;
  groPackets: number;
}

/**
 * Virtio header fields are read little-endian (offload-header.ts): the order a TUN uses on a
 * little-endian host. A big-endian host would need TUNSETVNETLE; it gets no offloads instead.
 */
export const VNET_SUPPORTED = endianness() === 'LE';

/**
 * Opens queue `name` with IFF_VNET_HDR and asks for offloads. When the kernel refuses them, the
 * queue is opened again plain (IFF_VNET_HDR cannot be cleared on an attached fd) and flags are 0.
 * @throws NativeError as openTunQueue.
 */
export function openVnetQueue(name: string): { queue: TunQueue; flags: number } {
  const native = requireNative('a kernel TUN');
  const queue = openTunQueue(name, true);
  const flags = negotiateOffloads(native, queue.fd, true);
  if (flags > 0) return { queue, flags };
  closeFd(queue.fd);
  return { queue: openTunQueue(name, false), flags: 0 };
}

/**
 * An adopted queue opened with IFF_VNET_HDR: sets it up, with offloads only when `want`. Returns
 * the TUN_F_* bits in force. @throws Error on a big-endian host; NativeError (TUNSETVNETHDRSZ).
 */
export function adoptVnetQueue(fd: number, name: string, want: boolean): number {
  if (!VNET_SUPPORTED) throw new Error(`cannot adopt TUN ${name}: IFF_VNET_HDR queues need a little-endian host`);
  const flags = negotiateOffloads(requireNative('a kernel TUN'), fd, want);
  if (flags < 0) throw new NativeError(flags, 'ioctl(TUNSETVNETHDRSZ)', name);
  return flags;
}

/**
 * Sets a virtio-header queue up: 10-byte headers (TUNSETVNETHDRSZ: an adopted queue may have been
 * set otherwise), then, when `want`, TCP offloads, with UDP segmentation on top where the kernel has
 * it (Linux 6.2+); otherwise none, so the kernel segments and checksums before handing over.
 * Returns the TUN_F_* bits in force (0: none), or -errno when the header size could not be set.
 */
export function negotiateOffloads(native: NativeBinding, fd: number, want: boolean): number {
  const r = native.tunSetVnetHdrSize(fd, VIRTIO_NET_HDR_LEN);
  if (r < 0) return r;
  if (want) {
    if (native.tunSetOffload(fd, TUN_OFFLOADS_TCP | TUN_OFFLOADS_UDP) === 0) return TUN_OFFLOADS_TCP | TUN_OFFLOADS_UDP;
    if (native.tunSetOffload(fd, TUN_OFFLOADS_TCP) === 0) return TUN_OFFLOADS_TCP;
  }
  native.tunSetOffload(fd, 0); // best effort: an adopted queue may have had offloads on
  return 0;
}

export class VnetPath {
  /** The last read() ran out of buffers: reading should stop until resume(). */
  starved = false;
  private readonly native: NativeBinding;
  private readonly fd: number;
  private readonly batch: number;
  /** Coalesce on write (the kernel took our offload flags); plain headers only otherwise. */
  private readonly gso: boolean;
  private readonly splitter = new TsoSplitter();
  private readonly gro: GroCoalescer;
  /** Read slots, all given back after each read (a held 68 KiB chunk would pin memory for nothing). */
  private readonly slots = new ReadSlots(VNET_READ_SLOTS, VNET_MIN_READ_SLOTS);
  private readonly reads: SlabBatch;
  private readonly lengths: Int32Array;
  private readonly out: PacketBuffer[];
  private readonly writes: SlabBatch;
  /** False once the owner closed: stop handing packets on mid-read. */
  private readonly alive: () => boolean;

  constructor(native: NativeBinding, fd: number, batch: number, gso: boolean, arena: Arena, alive: () => boolean) {
    this.native = native;
    this.fd = fd;
    this.batch = batch;
    this.gso = gso;
    this.gro = new GroCoalescer(arena, batch);
    this.reads = new SlabBatch(VNET_READ_SLOTS);
    this.lengths = new Int32Array(VNET_READ_SLOTS);
    this.out = new Array<PacketBuffer>(batch);
    this.writes = new SlabBatch(batch);
    this.alive = alive;
  }

  /**
   * One readiness: reads frames, splits them, hands the packets to `handler`. Returns readBatch's
   * result: frames read (0: nothing there, or no buffers: see `starved`), or -errno.
   */
  read(source: Source, handler: TunHandler, counters: VnetCounters): number {
    this.starved = false;
    const held = this.slots.fill(source, VNET_READ_BYTES);
    if (held === 0) {
      this.starved = true;
      return 0;
    }
    const slots = this.slots.slots;
    const reads = this.reads;
    for (let i = 0; i < held; i++) {
      const buf = slots[i]!;
      reads.set(i, buf.bytes, buf.start, buf.limit - buf.start);
    }
    const n = this.native.readBatch(this.fd, reads.slabs, reads.slabIndex, reads.offsets, reads.sizes, this.lengths, held);
    reads.clear();
    let m = 0;
    if (n > 0) {
      m = this.split(n, source, handler, counters);
      for (let i = 0; i < n; i++) slots[i]!.release();
      this.slots.taken(n);
    }
    this.slots.release(0);
    if (m > 0) handler.onPackets(this.out, m);
    return n;
  }

  /** Splits frames 0..n-1 into `out`, handing on full batches; returns how many are left in `out`. */
  private split(n: number, source: Source, handler: TunHandler, counters: VnetCounters): number {
    const slots = this.slots.slots;
    const splitter = this.splitter;
    const out = this.out;
    const batch = this.batch;
    let m = 0;
    for (let i = 0; i < n; i++) {
      const frame = slots[i]!;
      const segments = splitter.begin(frame.bytes, frame.start, frame.start + this.lengths[i]!);
      if (segments === 0) {
        counters.readErrors++;
        continue;
      }
      if (this.starved) {
        counters.readDropped += segments;
        continue;
      }
      if (splitter.hdr.gsoType !== 0) {
        counters.tsoSuperPackets++;
        counters.tsoSegments += segments;
      }
      for (let k = 0; k < segments; k++) {
        const buf = source.get(HEADROOM_BYTES + splitter.segmentLength(k) + TAILROOM_BYTES);
        if (buf === null) {
          this.starved = true;
          counters.readDropped += segments - k;
          break;
        }
        buf.end = buf.start + splitter.writeSegment(k, buf.bytes, buf.start);
        out[m++] = buf;
        if (m === batch) {
          handler.onPackets(out, m);
          m = 0;
          if (!this.alive()) return 0; // closed by the handler: what is left was read for nobody
        }
      }
    }
    return m;
  }

  /** Frames and writes bufs[0..count); does not release them (the caller does). */
  write(bufs: PacketBuffer[], count: number, counters: VnetCounters): void {
    const gro = this.gro;
    const writes = this.writes;
    const packets = gro.framePackets;
    let i = 0;
    while (i < count) {
      const m = Math.min(this.batch, count - i);
      const f = gro.coalesce(bufs, i, m, this.gso);
      let framed = 0;
      for (let j = 0; j < f; j++) {
        const frame = gro.frames[j]!;
        writes.set(j, frame.bytes, frame.start, frame.end - frame.start);
        const p = packets[j]!;
        framed += p;
        if (p > 1) {
          counters.groSuperPackets++;
          counters.groPackets += p;
        }
      }
      counters.writeDropped += m - framed;
      writeCounted(this.native, this.fd, writes, f, packets, counters);
      gro.finish(f);
      i += m;
    }
  }
}

/**
 * One writeBatch of windows 0..count-1 of `writes` (then cleared), counting what did not go:
 * a full kernel queue or a gone interface (EAGAIN, EBADFD, EIO) drops the rest, since a TUN
 * write queue would only add latency to what TCP resends; any other error refuses that window
 * alone (malformed) and the rest may be fine. `packets[j]` is how many packets window j carries
 * (null: one each). Shared by the plain path and this one.
 */
export function writeCounted(native: NativeBinding, fd: number, writes: SlabBatch, count: number, packets: Int32Array | null, counters: Pick<VnetCounters, 'writeDropped' | 'writeErrors'>): void {
  let j = 0;
  while (j < count) {
    const r = native.writeBatch(fd, writes.slabs, writes.slabIndex, writes.offsets, writes.sizes, j, count);
    if (r > 0) {
      j += r;
    } else if (r === E_AGAIN || r === E_BADFD || r === E_IO) {
      for (; j < count; j++) counters.writeDropped += packets === null ? 1 : packets[j]!;
      break;
    } else {
      counters.writeErrors += packets === null ? 1 : packets[j]!;
      j++;
    }
  }
  writes.clear();
}
