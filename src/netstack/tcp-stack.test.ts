// TCP over the real IP layer: two NetStacks wired back to back (the IP layer checks headers and
// checksums, adds IP headers, batches for the device), on one FakeClock and one timer wheel per
// stack, with faults on the wire: loss, bursts, duplication, reordering, in both families; a path
// narrower than the interfaces answered by ICMP Packet Too Big / Fragmentation Needed (RFC 1191,
// RFC 8201) that TCP follows down; ICMP unreachables failing a connect in Node's codes.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { FakeClock } from '../base/clock.js';
import type { PacketBuffer } from '../buffer/packet-buffer.js';
import { Harness, icmp, ipv4, ipv6 } from './_testing.js';
import { TimerWheel } from './timer-wheel.js';
import { Tcp } from './tcp/tcp.js';
import { Rng } from './tcp/_testing.js';
import { TcpSocket } from './tcp-socket.js';
import { TcpServer } from './tcp-server.js';

interface Wire {
  loss?: number;
  burst?: number;
  duplicate?: number;
  reorder?: number;
  /** Packets above this size are dropped and answered with ICMP (the router's MTU). */
  pathMtu?: number;
  /** Answer a SYN with this ICMP instead of delivering it: [type, code] for IPv4. */
  rejectSyn?: [number, number];
}

interface Pair {
  clock: FakeClock;
  a: Harness;
  b: Harness;
  tcpA: Tcp;
  tcpB: Tcp;
  wire: { ab: Wire; ba: Wire };
  run(done: () => boolean, maxMs: number): Promise<boolean>;
  close(): Promise<void>;
}

function addressText(b: Uint8Array, at: number, len: number): string {
  if (len === 4) return `${b[at]}.${b[at + 1]}.${b[at + 2]}.${b[at + 3]}`;
  const g: string[] = [];
  for (let i = 0; i < 16; i += 2) g.push(((b[at + i]! << 8) | b[at + i + 1]!).toString(16));
  return g.join(':');
}

function pair(seed: number): Pair {
  const clock = new FakeClock();
  const a = new Harness({ clock, addresses: ['10.0.0.1/24', 'fd00::1/64'] });
  const b = new Harness({ clock, addresses: ['10.0.0.2/24', 'fd00::2/64'] });
  const tcpA = new Tcp(a.stack, { wheel: new TimerWheel(clock) });
  const tcpB = new Tcp(b.stack, { wheel: new TimerWheel(clock) });
  a.stack.register(tcpA);
  b.stack.register(tcpB);
  const rng = new Rng(seed);
  const wire = { ab: {} as Wire, ba: {} as Wire };
  const held: [Harness, PacketBuffer][] = [];
  const hop = (from: Harness, to: Harness, w: () => Wire) => {
    let burst = 0;
    return (bufs: PacketBuffer[], count: number): void => {
      const f = w();
      const out: PacketBuffer[] = [];
      const icmps: Uint8Array[] = [];
      for (let i = 0; i < count; i++) {
        const src = bufs[i]!;
        const len = src.end - src.start;
        const v6 = src.bytes[src.start]! >>> 4 === 6;
        const proto = v6 ? src.bytes[src.start + 6]! : src.bytes[src.start + 9]!;
        const tcpAt = src.start + (v6 ? 40 : 20);
        const isSyn = proto === 6 && (src.bytes[tcpAt + 13]! & 0x12) === 0x02;
        if ((f.pathMtu !== undefined && len > f.pathMtu) || (f.rejectSyn !== undefined && isSyn)) {
          // A router's ICMP back to the sender, quoting the packet (RFC 792 / RFC 4443).
          const quote = src.bytes.slice(src.start, src.start + Math.min(len, v6 ? 1232 : 28));
          const me = v6 ? 'fd00::fe' : '10.0.0.254';
          const to = addressText(src.bytes, src.start + (v6 ? 8 : 12), v6 ? 16 : 4);
          let pkt: Uint8Array;
          if (v6) pkt = ipv6(me, to, 58, icmp(me, to, f.rejectSyn ? 1 : 2, f.rejectSyn ? f.rejectSyn[1] : 0, f.rejectSyn ? 0 : f.pathMtu!, quote));
          else pkt = ipv4(me, to, 1, icmp(me, to, f.rejectSyn ? f.rejectSyn[0] : 3, f.rejectSyn ? f.rejectSyn[1] : 4, f.rejectSyn ? 0 : f.pathMtu!, quote));
          src.release();
          icmps.push(pkt);
          continue;
        }
        if (burst > 0 || (f.loss !== undefined && rng.next() < f.loss)) {
          burst = burst > 0 ? burst - 1 : (f.burst ?? 1) - 1;
          src.release();
          continue;
        }
        const copy = (): PacketBuffer => {
          const buf = to.pool.get(len + 64)!;
          buf.bytes.set(src.bytes.subarray(src.start, src.end), buf.start);
          buf.end = buf.start + len;
          return buf;
        };
        if (f.duplicate !== undefined && rng.next() < f.duplicate) out.push(copy());
        if (f.reorder !== undefined && rng.next() < f.reorder) held.push([to, copy()]);
        else out.push(copy());
        src.release();
      }
      // Held packets go after this batch: reordered past it.
      for (let i = held.length - 1; i >= 0; i--) {
        if (held[i]![0] === to) {
          out.push(held[i]![1]);
          held.splice(i, 1);
        }
      }
      // Delivered on a later turn, as a device delivers (never inside the sender's flush).
      if (out.length > 0 || icmps.length > 0) {
        setImmediate(() => {
          if (out.length > 0) to.stack.write(out, out.length);
          for (const pkt of icmps) from.inject(pkt);
        });
      }
    };
  };
  a.forward = hop(a, b, () => wire.ab);
  b.forward = hop(b, a, () => wire.ba);
  return {
    clock,
    a,
    b,
    tcpA,
    tcpB,
    wire,
    async run(done, maxMs) {
      const end = clock.now() + maxMs;
      for (;;) {
        await new Promise<void>((r) => setImmediate(r));
        if (done()) return true;
        if (clock.now() >= end) return false;
        clock.advance(1);
      }
    },
    async close() {
      await new Promise<void>((r) => setImmediate(r));
      a.stack.close();
      b.stack.close();
      for (const [, buf] of held) buf.release();
      await new Promise<void>((r) => setImmediate(r));
      assert.equal(a.pool.outstanding, 0, 'A leaked buffers');
      assert.equal(b.pool.outstanding, 0, 'B leaked buffers');
    },
  };
}

function pattern(n: number, seed: number): Buffer {
  const b = Buffer.allocUnsafe(n);
  let x = seed;
  for (let i = 0; i < n; i++) {
    x = (Math.imul(x, 1103515245) + 12345) >>> 0;
    b[i] = x >>> 24;
  }
  return b;
}

function sha(b: Buffer): string {
  return createHash('sha256').update(b).digest('hex');
}

/** Upload `up` and download `down` over one connection to `host`; returns what each side got. */
async function exchange(p: Pair, host: string, up: Buffer, down: Buffer, maxMs = 120_000): Promise<{ gotUp: Buffer; gotDown: Buffer }> {
  const serverGot: Buffer[] = [];
  const clientGot: Buffer[] = [];
  let serverDone = false;
  let clientDone = false;
  const srv = new TcpServer(p.tcpB, (s) => {
    s.on('data', (d: Buffer) => serverGot.push(d));
    s.on('close', () => (serverDone = true));
    s.end(down);
  });
  srv.listen(9000);
  const c = new TcpSocket(p.tcpA);
  c.on('data', (d: Buffer) => clientGot.push(d));
  c.on('close', () => (clientDone = true));
  c.connect(9000, host, () => c.end(up));
  assert.ok(await p.run(() => serverDone && clientDone, maxMs), 'both sides closed');
  srv.close();
  return { gotUp: Buffer.concat(serverGot), gotDown: Buffer.concat(clientGot) };
}

const cases: { name: string; wire: Wire; host: string; seed: number }[] = [
  { name: 'IPv4, clean', wire: {}, host: '10.0.0.2', seed: 1 },
  { name: 'IPv6, clean', wire: {}, host: 'fd00::2', seed: 2 },
  { name: 'IPv4, 1% loss', wire: { loss: 0.01 }, host: '10.0.0.2', seed: 3 },
  { name: 'IPv6, 5% loss', wire: { loss: 0.05 }, host: 'fd00::2', seed: 4 },
  { name: 'IPv4, bursts of 4 at 1%', wire: { loss: 0.01, burst: 4 }, host: '10.0.0.2', seed: 5 },
  { name: 'IPv6, 2% duplication, 3% reordering, 1% loss', wire: { duplicate: 0.02, reorder: 0.03, loss: 0.01 }, host: 'fd00::2', seed: 6 },
];

for (const c of cases) {
  test(`TCP over two NetStacks, ${c.name}: every byte both ways`, async () => {
    const p = pair(c.seed);
    p.wire.ab = c.wire;
    p.wire.ba = c.wire;
    const up = pattern(800_000, c.seed);
    const down = pattern(1_200_000, c.seed + 7);
    const { gotUp, gotDown } = await exchange(p, c.host, up, down);
    assert.equal(sha(gotUp), sha(up));
    assert.equal(sha(gotDown), sha(down));
    if (c.wire.loss !== undefined) assert.ok(p.tcpA.stats().retransmits + p.tcpB.stats().retransmits > 0);
    assert.equal(p.a.stack.counters.badChecksum ?? 0, 0);
    await p.close();
  });
}

for (const [family, host] of [['IPv4', '10.0.0.2'], ['IPv6', 'fd00::2']] as const) {
  test(`${family} path MTU: a narrower path answers with ICMP; TCP lowers its segments and completes`, async () => {
    const p = pair(11);
    p.wire.ab = { pathMtu: 1280 };
    p.wire.ba = { pathMtu: 1280 };
    const up = pattern(300_000, 9);
    const down = pattern(300_000, 10);
    const { gotUp, gotDown } = await exchange(p, host, up, down);
    assert.ok(gotUp.equals(up));
    assert.ok(gotDown.equals(down));
    assert.ok(p.a.stack.pathMtu.get(family === 'IPv4' ? 4 : 6, new Uint8Array(family === 'IPv4' ? [10, 0, 0, 2] : [0xfd, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 2]), 1420) <= 1280);
    await p.close();
  });
}

for (const [name, type, code, want] of [
  ['port unreachable', 3, 3, 'ECONNREFUSED'],
  ['host unreachable', 3, 1, 'EHOSTUNREACH'],
] as const) {
  test(`connect answered by ICMP ${name} fails with ${want}`, async () => {
    const p = pair(12);
    p.wire.ab = { rejectSyn: [type, code] };
    const s = new TcpSocket(p.tcpA);
    let err: NodeJS.ErrnoException | null = null;
    s.on('error', (e) => (err = e));
    s.connect(80, '10.0.0.2');
    assert.ok(await p.run(() => err !== null, 5000));
    assert.equal(err!.code, want);
    await p.close();
  });
}
