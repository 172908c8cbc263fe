/**
 * Test support: two TCP transports joined by an in-process link through a fake IP layer (no
 * netstack/IP code needed), on a FakeClock and one TimerWheel, with loss, duplication, reordering and
 * bursts injected per direction. Segments travel in pool buffers as they would through the real
 * stack, and the link verifies each segment's checksum over the pseudo-header, as the IP layer does
 * before handing a segment up.
 */
import { FakeClock } from '../../base/clock.js';
import { HEADROOM_BYTES, TAILROOM_BYTES, TieredPool } from '../../buffer/index.js';
import type { PacketBuffer } from '../../buffer/packet-buffer.js';
import { checksum, checksumReference } from '../../net/checksum.js';
import { TimerWheel } from '../timer-wheel.js';
import type { IpFamily, IpInfo, IpOutput } from '../transport.js';
import { Tcp, type TcpOptions } from './tcp.js';
import { TcpSecrets } from './secrets.js';
import { Segment, finishChecksum, parseSegment, pseudoHeaderBase, writeHeader } from './header.js';

/** Room a real IP layer keeps in front of the transport header (IPv6's 40 bytes). */
const IP_HEADER_ROOM = 40;

/** What happens to packets in one direction. Probabilities per packet; all default 0. */
export interface LinkFaults {
  loss?: number;
  /** Bursts: once a loss happens, the next burst - 1 packets are lost too. */
  burst?: number;
  duplicate?: number;
  /** A packet held back and delivered after the next batch. */
  reorder?: number;
  /** Drop packets for which this returns true (after the random faults). */
  filter?: ((seg: Uint8Array) => boolean) | null;
}

/** A deterministic PRNG (xorshift32), so a failing run repeats. */
export class Rng {
  private s: number;
  constructor(seed: number) {
    this.s = seed >>> 0 || 1;
  }
  next(): number {
    let x = this.s;
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    this.s = x >>> 0;
    return this.s / 0x1_0000_0000;
  }
}

/** One side's IP layer: sends into the link toward the other side. */
export class FakeIp implements IpOutput {
  peer: FakeIp | null = null;
  tcp: Tcp | null = null;
  faults: LinkFaults = {};
  mtu: number;
  readonly address: Uint8Array;
  readonly address6: Uint8Array;
  /** Packets sent (after faults), dropped by faults, delivered. */
  sent = 0;
  dropped = 0;
  delivered = 0;
  /** While true, alloc() refuses (a pool at its budget, a paused device); resume() ends it. */
  refusing = false;
  refused = 0;
  /** Optional tap on every segment this side sends (before faults). */
  tap: ((seg: Uint8Array, info: IpInfo) => void) | null = null;
  private readonly pending: PacketBuffer[] = [];
  private readonly pendingInfo: IpInfo[] = [];
  private held: PacketBuffer[] = [];
  private heldInfo: IpInfo[] = [];
  private scheduled = false;
  private burstLeft = 0;

  constructor(
    readonly link: Link,
    last: number,
    mtu: number,
  ) {
    this.mtu = mtu;
    this.address = Uint8Array.from([10, 0, 0, last]);
    this.address6 = Uint8Array.from([0xfd, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, last]);
  }

  maxTransportBytes(family: IpFamily): number {
    return this.mtu - (family === 4 ? 20 : 40);
  }

  alloc(_family: IpFamily, transportBytes: number): PacketBuffer | null {
    if (this.refusing) {
      this.refused++;
      return null;
    }
    const buf = this.link.pool.get(HEADROOM_BYTES + IP_HEADER_ROOM + transportBytes + TAILROOM_BYTES);
    if (buf === null) return null;
    buf.start += IP_HEADER_ROOM;
    buf.end = buf.start;
    return buf;
  }

  send(buf: PacketBuffer, family: IpFamily, src: Uint8Array, dst: Uint8Array, _protocol: number, ttl: number): boolean {
    const info: IpInfo = { family, src: src.slice(), dst: dst.slice(), ttl: ttl || 64, tos: 0 };
    if (this.tap !== null) this.tap(buf.bytes.subarray(buf.start, buf.end), info);
    const f = this.faults;
    const rng = this.link.rng;
    if (this.burstLeft > 0) {
      this.burstLeft--;
      this.dropped++;
      buf.release();
      return true;
    }
    if (f.loss !== undefined && f.loss > 0 && rng.next() < f.loss) {
      this.burstLeft = (f.burst ?? 1) - 1;
      this.dropped++;
      buf.release();
      return true;
    }
    if (f.filter && f.filter(buf.bytes.subarray(buf.start, buf.end))) {
      this.dropped++;
      buf.release();
      return true;
    }
    this.sent++;
    if (f.duplicate !== undefined && f.duplicate > 0 && rng.next() < f.duplicate) {
      const copy = this.link.pool.get(buf.end - buf.start + HEADROOM_BYTES + TAILROOM_BYTES)!;
      copy.bytes.set(buf.bytes.subarray(buf.start, buf.end), copy.start);
      copy.end = copy.start + (buf.end - buf.start);
      this.enqueue(copy, info);
    }
    if (f.reorder !== undefined && f.reorder > 0 && rng.next() < f.reorder) {
      this.held.push(buf);
      this.heldInfo.push(info);
      this.schedule();
      return true;
    }
    this.enqueue(buf, info);
    return true;
  }

  /** Buffers again: tell TCP, as the IP layer does on the device's resume(). */
  resume(): void {
    this.refusing = false;
    this.tcp?.onWritable();
  }

  isLocal(address: Uint8Array): boolean {
    const own = address.length === 4 ? this.address : this.address6;
    for (let i = 0; i < own.length; i++) if (own[i] !== address[i]) return false;
    return true;
  }

  sourceFor(family: IpFamily): Uint8Array | null {
    return family === 4 ? this.address : this.address6;
  }

  /** Packets in flight toward the peer. */
  get inFlight(): number {
    return this.pending.length + this.held.length;
  }

  private enqueue(buf: PacketBuffer, info: IpInfo): void {
    if (this.link.sync) {
      // Straight into the peer, inside the sender's call (re-entrancy test).
      this.up(buf, info);
      return;
    }
    this.pending.push(buf);
    this.pendingInfo.push(info);
    this.schedule();
  }

  private schedule(): void {
    if (this.scheduled) return;
    this.scheduled = true;
    this.link.clock.schedule(() => this.deliver(), this.link.delayMs);
  }

  /** One batch toward the peer, as a device batch: every packet synchronously. */
  private deliver(): void {
    this.scheduled = false;
    const bufs = this.pending.splice(0);
    const infos = this.pendingInfo.splice(0);
    // Held-back packets go after this batch (reordered past it).
    const late = this.held;
    const lateInfo = this.heldInfo;
    this.held = [];
    this.heldInfo = [];
    for (let i = 0; i < late.length; i++) {
      bufs.push(late[i]!);
      infos.push(lateInfo[i]!);
    }
    for (let i = 0; i < bufs.length; i++) this.up(bufs[i]!, infos[i]!);
  }

  private up(buf: PacketBuffer, info: IpInfo): void {
    const peer = this.peer!;
    if (peer.tcp === null || !verifyChecksum(buf, info)) {
      this.link.badChecksums += peer.tcp === null ? 0 : 1;
      buf.release();
      return;
    }
    this.delivered++;
    peer.tcp.receive(buf, info);
  }
}

function verifyChecksum(buf: PacketBuffer, info: IpInfo): boolean {
  const len = buf.end - buf.start;
  const pseudo = checksumReference(info.dst, 0, info.dst.length, checksumReference(info.src, 0, info.src.length, 6 + len));
  return checksum(buf.bytes, buf.start, buf.end, pseudo) === 0xffff;
}

export interface LinkOptions {
  mtu?: number;
  delayMs?: number;
  seed?: number;
  tcp?: Partial<TcpOptions>;
  /** Separate options for side B. */
  tcpB?: Partial<TcpOptions>;
  /** Deliver each packet synchronously inside send() (a loop with no queue): tests re-entrancy. */
  sync?: boolean;
}

/** Two stacks (a at 10.0.0.1 / fd00::1, b at 10.0.0.2 / fd00::2) over one link. */
export class Link {
  readonly clock: FakeClock;
  readonly wheel: TimerWheel;
  readonly pool: TieredPool;
  readonly rng: Rng;
  readonly delayMs: number;
  readonly sync: boolean;
  readonly a: FakeIp;
  readonly b: FakeIp;
  readonly tcpA: Tcp;
  readonly tcpB: Tcp;
  badChecksums = 0;

  constructor(options: LinkOptions = {}) {
    this.clock = new FakeClock(1_000_000);
    this.wheel = new TimerWheel(this.clock);
    this.pool = new TieredPool({ debug: true });
    this.rng = new Rng(options.seed ?? 1);
    this.delayMs = options.delayMs ?? 1;
    this.sync = options.sync === true;
    const mtu = options.mtu ?? 1420;
    this.a = new FakeIp(this, 1, mtu);
    this.b = new FakeIp(this, 2, mtu);
    this.a.peer = this.b;
    this.b.peer = this.a;
    const seedA = new Uint8Array(24).fill(1);
    const seedB = new Uint8Array(24).fill(2);
    this.tcpA = new Tcp(this.a, { wheel: this.wheel, secrets: new TcpSecrets(seedA), ...options.tcp });
    this.tcpB = new Tcp(this.b, { wheel: this.wheel, secrets: new TcpSecrets(seedB), ...(options.tcpB ?? options.tcp) });
    this.a.tcp = this.tcpA;
    this.b.tcp = this.tcpB;
  }

  /** Let microtasks (the stacks' end-of-batch flushes) and Node callbacks run. */
  async settle(): Promise<void> {
    await new Promise<void>((r) => setImmediate(r));
  }

  /**
   * Step the clock `stepMs` at a time, settling between steps, until `done()` or `maxMs` of simulated
   * time passed. Returns whether done() became true.
   */
  async run(done: () => boolean, maxMs = 60_000, stepMs = 1): Promise<boolean> {
    const end = this.clock.now() + maxMs;
    await this.settle();
    while (!done()) {
      if (this.clock.now() >= end) return false;
      this.clock.advance(stepMs);
      await this.settle();
    }
    return true;
  }

  /** Close both stacks; returns the pool's outstanding buffers (must be 0). */
  async close(): Promise<number> {
    this.tcpA.close();
    this.tcpB.close();
    // Let scheduled deliveries drain into the closed stacks (which release them).
    for (let i = 0; i < 10 && (this.a.inFlight > 0 || this.b.inFlight > 0); i++) {
      this.clock.advance(this.delayMs + 1);
      await this.settle();
    }
    this.wheel.close();
    return this.pool.outstanding;
  }
}

/** A segment as a scripted peer writes it or reads it off the wire. */
export interface RawSegment {
  srcPort: number;
  dstPort: number;
  seq: number;
  ack: number;
  flags: number;
  window: number;
  data: Uint8Array;
  mss?: number;
  wscale?: number;
  sackPermitted?: boolean;
  /** [TSval, TSecr] */
  ts?: [number, number];
  sack?: [number, number][];
}

/**
 * A scripted peer at 10.0.0.2 / fd00::2 facing the real stack `tcpA` of a Link: it records every
 * segment the stack sends and injects hand-written ones (checksummed, in pool buffers).
 */
export class RawPeer {
  readonly link: Link;
  readonly out: RawSegment[] = [];
  private readonly seg = new Segment();

  constructor(options: LinkOptions = {}) {
    this.link = new Link(options);
    this.link.b.tcp = null;
    this.link.a.tap = (b) => this.out.push(this.parse(b));
  }

  get tcp(): Tcp {
    return this.link.tcpA;
  }

  /** Segments sent since the last take(), oldest first. */
  take(): RawSegment[] {
    return this.out.splice(0);
  }

  inject(s: Partial<RawSegment> & { srcPort: number; dstPort: number }, family: IpFamily = 4): void {
    const opts: number[] = [];
    if (s.mss !== undefined) opts.push(2, 4, s.mss >>> 8, s.mss & 0xff);
    if (s.wscale !== undefined) opts.push(1, 3, 3, s.wscale);
    if (s.sackPermitted) opts.push(1, 1, 4, 2);
    if (s.ts !== undefined) {
      const [v, e] = s.ts;
      opts.push(1, 1, 8, 10, v >>> 24, (v >>> 16) & 0xff, (v >>> 8) & 0xff, v & 0xff, e >>> 24, (e >>> 16) & 0xff, (e >>> 8) & 0xff, e & 0xff);
    }
    if (s.sack !== undefined && s.sack.length > 0) {
      opts.push(1, 1, 5, 2 + 8 * s.sack.length);
      for (const [l, r] of s.sack) opts.push(l >>> 24, (l >>> 16) & 0xff, (l >>> 8) & 0xff, l & 0xff, r >>> 24, (r >>> 16) & 0xff, (r >>> 8) & 0xff, r & 0xff);
    }
    while (opts.length % 4 !== 0) opts.push(0);
    const data = s.data ?? new Uint8Array(0);
    const hdr = 20 + opts.length;
    const buf = this.link.pool.get(HEADROOM_BYTES + IP_HEADER_ROOM + hdr + data.length + TAILROOM_BYTES)!;
    buf.start += IP_HEADER_ROOM;
    const b = buf.bytes;
    const at = buf.start;
    writeHeader(b, at, s.srcPort, s.dstPort, (s.seq ?? 0) >>> 0, (s.ack ?? 0) >>> 0, s.flags ?? 0x10, s.window ?? 65535, hdr);
    for (let i = 0; i < opts.length; i++) b[at + 20 + i] = opts[i]!;
    b.set(data, at + hdr);
    buf.end = at + hdr + data.length;
    const src = family === 4 ? this.link.b.address : this.link.b.address6;
    const dst = family === 4 ? this.link.a.address : this.link.a.address6;
    finishChecksum(b, at, buf.end, pseudoHeaderBase(src, dst, 6));
    this.link.tcpA.receive(buf, { family, src, dst, ttl: 64, tos: 0 });
  }

  private parse(b: Uint8Array): RawSegment {
    const seg = this.seg;
    parseSegment(seg, b, 0, b.length);
    const out: RawSegment = {
      srcPort: seg.srcPort,
      dstPort: seg.dstPort,
      // Unsigned, as the tests write them (the engine holds int32, seq.ts).
      seq: seg.seq >>> 0,
      ack: seg.ack >>> 0,
      flags: seg.flags,
      window: seg.window,
      data: b.slice(seg.dataAt, seg.dataEnd),
    };
    if (seg.mss > 0) out.mss = seg.mss;
    if (seg.wscale >= 0) out.wscale = seg.wscale;
    if (seg.sackPermitted) out.sackPermitted = true;
    if (seg.hasTimestamp) out.ts = [seg.tsVal >>> 0, seg.tsEcr >>> 0];
    if (seg.sackCount > 0) {
      out.sack = [];
      for (let i = 0; i < seg.sackCount; i++) out.sack.push([seg.sack[2 * i]! >>> 0, seg.sack[2 * i + 1]! >>> 0]);
    }
    return out;
  }
}
