/**
 * Test harness for the netstack (not part of the public API): IP/UDP/ICMP packet builders with correct
 * checksums, a stack opened on a debug pool whose outbound packets are captured, and a wire joining two
 * stacks directly (no WireGuard in between).
 */
import { TieredPool } from '../buffer/tiered-pool.js';
import type { PacketBuffer } from '../buffer/packet-buffer.js';
import { FakeClock } from '../base/clock.js';
import { checksum, pseudoHeaderSumOf, setIpv4HeaderChecksum } from '../net/checksum.js';
import { parseIp } from '../net/address.js';
import type { TunEvent, TunHandler } from '../tun/tun.js';
import { NetStack, type NetStackOptions } from './stack.js';

export function ip(text: string): Uint8Array {
  const a = parseIp(text);
  if (a === null) throw new Error(`bad address ${text}`);
  return a;
}

function put16(b: Uint8Array, at: number, v: number): void {
  b[at] = (v >>> 8) & 0xff;
  b[at + 1] = v & 0xff;
}

export interface Ip4Fields {
  id?: number;
  /** Flags and offset field as on the wire (DF 0x4000, MF 0x2000, offset in 8-byte units). */
  frag?: number;
  ttl?: number;
  /** Options bytes (a multiple of 4). */
  options?: Uint8Array;
}

/** An IPv4 packet around `payload` (the upper layer, already complete). */
export function ipv4(src: string, dst: string, protocol: number, payload: Uint8Array, f: Ip4Fields = {}): Uint8Array {
  const opt = f.options ?? new Uint8Array(0);
  const ihl = 20 + opt.length;
  const p = new Uint8Array(ihl + payload.length);
  p[0] = 0x40 | (ihl >>> 2);
  put16(p, 2, p.length);
  put16(p, 4, f.id ?? 1);
  put16(p, 6, f.frag ?? 0);
  p[8] = f.ttl ?? 64;
  p[9] = protocol;
  p.set(ip(src), 12);
  p.set(ip(dst), 16);
  p.set(opt, 20);
  setIpv4HeaderChecksum(p, 0, ihl);
  p.set(payload, ihl);
  return p;
}

/** An IPv6 packet: `ext` is the extension header bytes, `nh` the first Next Header. */
export function ipv6(src: string, dst: string, nh: number, payload: Uint8Array, ext: Uint8Array = new Uint8Array(0)): Uint8Array {
  const p = new Uint8Array(40 + ext.length + payload.length);
  p[0] = 0x60;
  put16(p, 4, ext.length + payload.length);
  p[6] = nh;
  p[7] = 64;
  p.set(ip(src), 8);
  p.set(ip(dst), 24);
  p.set(ext, 40);
  p.set(payload, 40 + ext.length);
  return p;
}

/** A UDP datagram (header + data) with its checksum for src -> dst. */
export function udp(src: string, dst: string, sport: number, dport: number, data: Uint8Array): Uint8Array {
  const u = new Uint8Array(8 + data.length);
  put16(u, 0, sport);
  put16(u, 2, dport);
  put16(u, 4, u.length);
  u.set(data, 8);
  const sum = ~checksum(u, 0, u.length, pseudoHeaderSumOf(ip(src), ip(dst), 17, u.length)) & 0xffff || 0xffff;
  put16(u, 6, sum);
  return u;
}

/** An ICMP (IPv4) or ICMPv6 message with its checksum: type, code, the 4-byte rest of header, body. */
export function icmp(src: string, dst: string, type: number, code: number, rest: number, body: Uint8Array): Uint8Array {
  const v6 = src.includes(':');
  const m = new Uint8Array(8 + body.length);
  m[0] = type;
  m[1] = code;
  m[4] = (rest >>> 24) & 0xff;
  m[5] = (rest >>> 16) & 0xff;
  m[6] = (rest >>> 8) & 0xff;
  m[7] = rest & 0xff;
  m.set(body, 8);
  const initial = v6 ? pseudoHeaderSumOf(ip(src), ip(dst), 58, m.length) : 0;
  put16(m, 2, ~checksum(m, 0, m.length, initial) & 0xffff);
  return m;
}

/** A UDP packet in IP of the family of `src`. */
export function udpPacket(src: string, dst: string, sport: number, dport: number, data: Uint8Array): Uint8Array {
  const u = udp(src, dst, sport, dport, data);
  return src.includes(':') ? ipv6(src, dst, 17, u) : ipv4(src, dst, 17, u);
}

export function bytes(n: number, seed = 1): Uint8Array {
  const out = new Uint8Array(n);
  for (let i = 0; i < n; i++) out[i] = (seed * 31 + i * 7) & 0xff;
  return out;
}

/** A NetStack opened on a debug pool, its outbound packets captured (copied) in `out`. */
export class Harness implements TunHandler {
  readonly pool = new TieredPool({ debug: true });
  readonly clock: FakeClock;
  readonly stack: NetStack;
  readonly out: Uint8Array[] = [];
  readonly events: TunEvent[] = [];
  /** Where outbound packets go instead of `out` (a wire to another stack). */
  forward: ((bufs: PacketBuffer[], count: number) => void) | null = null;

  constructor(options: Partial<NetStackOptions> = {}) {
    this.clock = (options.clock as FakeClock | undefined) ?? new FakeClock();
    this.stack = new NetStack({ addresses: ['10.0.0.1/24', 'fd00::1/64'], ...options, clock: this.clock });
    this.stack.open(this, this.pool);
  }

  onPackets(bufs: PacketBuffer[], count: number): void {
    if (this.forward !== null) {
      this.forward(bufs, count);
      return;
    }
    for (let i = 0; i < count; i++) {
      this.out.push(bufs[i]!.bytes.slice(bufs[i]!.start, bufs[i]!.end));
      bufs[i]!.release();
    }
  }

  onEvent(event: TunEvent): void {
    this.events.push(event);
  }

  /** Write packets into the stack as the device would, each in a pool buffer. */
  inject(...packets: Uint8Array[]): void {
    const bufs: PacketBuffer[] = [];
    for (const p of packets) {
      const buf = this.pool.get(p.length + 64)!;
      buf.bytes.set(p, buf.start);
      buf.end = buf.start + p.length;
      bufs.push(buf);
    }
    this.stack.write(bufs, bufs.length);
  }

  /** Hand gathered packets out now, and return and forget what came out. */
  take(): Uint8Array[] {
    this.stack.flush();
    return this.out.splice(0);
  }
}

/** Two harnesses whose stacks hear each other: what one sends the other receives, copied. */
export function wire(a: Harness, b: Harness): void {
  const hop = (to: Harness) => (bufs: PacketBuffer[], count: number): void => {
    const copies: PacketBuffer[] = [];
    for (let i = 0; i < count; i++) {
      const src = bufs[i]!;
      const buf = to.pool.get(src.end - src.start + 64)!;
      buf.bytes.set(src.bytes.subarray(src.start, src.end), buf.start);
      buf.end = buf.start + (src.end - src.start);
      src.release();
      copies.push(buf);
    }
    to.stack.write(copies, copies.length);
  };
  a.forward = hop(b);
  b.forward = hop(a);
}

/** Let the event loop run `turns` times (batches flush on setImmediate). */
export async function settle(turns = 10): Promise<void> {
  for (let i = 0; i < turns; i++) await new Promise<void>((r) => setImmediate(r));
}
