// TUN offloads against the real kernel (root: creating interfaces needs CAP_NET_ADMIN). Without root
// these skip and say why, except under CI=true, where they must run.
//
// The test plays a TCP peer by hand at the far end of the TUN (NET.2); the kernel is the other end
// (NET.1, the TUN's own address):
//
//   TSO read:  node:net client --connect NET.2--> kernel TCP --TSO super-packets--> TUN read --split-->
//              segments checked here; SYN-ACK and ACKs written back by hand through the TUN.
//   GRO write: SYN, ACK and 40 data segments written by hand (one write: GRO makes one super-packet)
//              --> TUN --> kernel TCP --> node:net server on NET.1 counts the bytes.
import { strict as assert } from 'node:assert';
import { execFileSync } from 'node:child_process';
import net from 'node:net';
import dgram from 'node:dgram';
import { test } from 'node:test';
import type { PacketBuffer } from '../buffer/packet-buffer.js';
import { TieredPool } from '../buffer/tiered-pool.js';
import { native, nativeError, openTunQueue } from '../native/index.js';
import { LinuxTun } from './linux.js';
import { buildPacket, get16, get32, ipChecksumOk, pattern, transportChecksumOk, type PacketSpec } from './offload-testing.js';
import { TCP_ACK, TCP_PSH, TCP_SYN } from '../net/ip-header.js';
import type { TunEvent, TunHandler } from './tun.js';

const IN_CI = process.env['CI'] === 'true';
const isRoot = process.getuid?.() === 0;
const why = native === null ? `native shim not loaded: ${nativeError}` : !isRoot ? 'needs root (CAP_NET_ADMIN) to create TUN interfaces' : null;
const skip = IN_CI || why === null ? false : why;

const TAG = process.pid % 10000;
const NET = [10, 214, process.pid % 250];
const LOCAL = [...NET, 1];
const PEER = [...NET, 2];
const dotted = (a: number[]): string => a.join('.');

function ip(...args: string[]): string {
  return execFileSync('ip', args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
}

function tryIp(...args: string[]): void {
  try {
    ip(...args);
  } catch {
    /* absent */
  }
}

async function waitFor(what: string, pred: () => boolean, timeoutMs = 5000): Promise<void> {
  const until = Date.now() + timeoutMs;
  while (!pred()) {
    if (Date.now() > until) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 5));
  }
}

/** Copies every packet read (buffers released at once), and lets a test react to each batch. */
class Collector implements TunHandler {
  packets: Uint8Array[] = [];
  batches = 0;
  onBatch: ((batch: Uint8Array[]) => void) | null = null;
  onPackets(bufs: PacketBuffer[], count: number): void {
    const batch: Uint8Array[] = [];
    for (let i = 0; i < count; i++) {
      batch.push(bufs[i]!.data().slice());
      bufs[i]!.release();
    }
    this.batches++;
    this.packets.push(...batch);
    this.onBatch?.(batch);
  }
  onEvent(_event: TunEvent): void {}
}

function send(tun: LinuxTun, pool: TieredPool, packets: Uint8Array[]): void {
  const bufs = packets.map((p) => {
    const b = pool.get(p.length + 48)!;
    b.bytes.set(p, b.start);
    b.end = b.start + p.length;
    return b;
  });
  tun.write(bufs, bufs.length);
}

/** TCP between the kernel's side (LOCAL) and ours (PEER), IPv4. */
function isTcp(p: Uint8Array, dstPort: number): boolean {
  return p[0]! >> 4 === 4 && p[9] === 6 && get16(p, 22) === dstPort && p[19] === PEER[3] && p[16] === PEER[0];
}

const MSS_OPTION = [2, 4, 0x05, 0x64]; // MSS 1380

function setUp(name: string): { tun: LinuxTun; pool: TieredPool; h: Collector } {
  const tun = LinuxTun.create(name, { offload: true });
  ip('addr', 'add', `${dotted(LOCAL)}/24`, 'dev', name);
  ip('link', 'set', name, 'up');
  const pool = new TieredPool();
  const h = new Collector();
  tun.open(h, pool);
  return { tun, pool, h };
}

test('TSO: the kernel hands over super-packets, read splits them into valid MTU-sized segments', { skip }, async (t) => {
  const name = `wgoff${TAG}a`;
  const { tun, pool, h } = setUp(name);
  const port = 20000 + (process.pid % 20000);
  const data = pattern(512 * 1024, 5);
  const received = new Map<number, Uint8Array>();
  let clientIsn = -1;
  let clientPort = 0;
  const ourIsn = 0x10000000;
  const reply = (flags: number, seq: number, ack: number, options: number[] = []): Uint8Array =>
    buildPacket({ srcAddr: PEER, dstAddr: LOCAL, sport: port, dport: clientPort, seq, ack, flags, options, id: 1 });
  let nextByte = 0; // bytes of `data` received in order
  h.onBatch = (batch) => {
    let ackNeeded = false;
    for (const p of batch) {
      if (!isTcp(p, port)) continue;
      const flags = p[33]!;
      if ((flags & TCP_SYN) !== 0) {
        clientIsn = get32(p, 24);
        clientPort = get16(p, 20);
        send(tun, pool, [reply(TCP_SYN | TCP_ACK, ourIsn, (clientIsn + 1) >>> 0, MSS_OPTION)]);
        continue;
      }
      const payload = p.subarray(20 + (p[32]! >> 4) * 4);
      if (payload.length === 0) continue;
      received.set((get32(p, 24) - clientIsn - 1) >>> 0, p);
      ackNeeded = true;
    }
    while (received.has(nextByte)) {
      const p = received.get(nextByte)!;
      nextByte += p.length - 20 - (p[32]! >> 4) * 4;
    }
    if (ackNeeded) send(tun, pool, [reply(TCP_ACK, ourIsn + 1, (clientIsn + 1 + nextByte) >>> 0)]);
  };
  const client = net.connect({ host: dotted(PEER), port, localAddress: dotted(LOCAL) });
  client.on('error', () => {});
  try {
    await new Promise<void>((resolve, reject) => {
      client.once('connect', resolve);
      client.once('error', reject);
    });
    client.write(data);
    await waitFor('all data through the TUN', () => nextByte === data.length, 10000);
    const segments = [...received.values()];
    for (const p of segments) {
      assert.ok(p.length <= tun.mtu(), `a segment of ${p.length} bytes fits the MTU`);
      assert.ok(ipChecksumOk(p), 'IPv4 header checksum');
      assert.ok(transportChecksumOk(p), 'TCP checksum');
      assert.equal(get16(p, 2), p.length, 'IPv4 total length');
    }
    // Reassemble by sequence number: exactly the bytes written.
    const got = new Uint8Array(data.length);
    for (const [off, p] of received) {
      const payload = p.subarray(20 + (p[32]! >> 4) * 4);
      got.set(payload.subarray(0, Math.min(payload.length, data.length - off)), off);
    }
    assert.ok(Buffer.from(got).equals(Buffer.from(data)), 'the stream arrived intact');
    assert.ok(tun.offloadActive, 'the kernel took the offload flags');
    assert.ok(tun.tsoSuperPackets > 0, `super-packets were read (${tun.tsoSuperPackets} made ${tun.tsoSegments} segments)`);
    assert.equal(tun.readErrors + tun.readDropped, 0);
    t.diagnostic(`${tun.tsoSuperPackets} super-packets split into ${tun.tsoSegments} segments; ${segments.length} data segments in all`);
  } finally {
    client.destroy();
    tun.close();
    tryIp('link', 'del', name);
  }
  assert.equal(pool.outstanding, 0, 'every buffer came back');
});

const LOCAL6 = [0xfd, 0x77, 0, process.pid % 250, ...Array<number>(11).fill(0), 1];
const PEER6 = [...LOCAL6.slice(0, 15), 2];
const hex6 = (a: number[]): string => a.reduce((t, b, i) => t + (i % 2 === 0 ? (i > 0 ? ':' : '') : '') + b.toString(16).padStart(2, '0'), '');

/** TCP from the kernel's side to our port `dstPort`, either family; offsets of the TCP header. */
function tcpTo(p: Uint8Array, dstPort: number, v6: boolean): number {
  const ipLen = v6 ? 40 : 20;
  if (v6 ? p[0]! >> 4 !== 6 || p[6] !== 6 : p[0]! >> 4 !== 4 || p[9] !== 6) return -1;
  return get16(p, ipLen + 2) === dstPort ? ipLen : -1;
}

for (const v6 of [false, true]) {
  test(`GRO: the kernel accepts a written ${v6 ? 'IPv6' : 'IPv4'} super-packet and delivers its bytes to a socket`, { skip }, async () => {
    const name = `wgoff${TAG}${v6 ? 'f' : 'b'}`;
    const { tun, pool, h } = setUp(name);
    if (v6) ip('-6', 'addr', 'add', `${hex6(LOCAL6)}/64`, 'dev', name, 'nodad');
    const port = 20000 + ((process.pid + 7) % 20000);
    const chunks: Buffer[] = [];
    const accepted: net.Socket[] = [];
    const server = net.createServer((s) => {
      accepted.push(s);
      s.on('data', (d: Buffer) => chunks.push(d));
      s.on('error', () => {});
    });
    await new Promise<void>((r) => server.listen(port, v6 ? hex6(LOCAL6) : dotted(LOCAL), r));
    const cport = 41000;
    const isn = 0x20000000;
    const ours = (o: PacketSpec): Uint8Array =>
      buildPacket({ v6, srcAddr: v6 ? PEER6 : PEER, dstAddr: v6 ? LOCAL6 : LOCAL, sport: cport, dport: port, id: 1, ...o });
    const isSynAck = (p: Uint8Array): boolean => {
      const t = tcpTo(p, cport, v6);
      return t > 0 && p[t + 13] === (TCP_SYN | TCP_ACK);
    };
    try {
      send(tun, pool, [ours({ flags: TCP_SYN, seq: isn, ack: 0, options: MSS_OPTION })]);
      await waitFor('the SYN-ACK', () => h.packets.some(isSynAck));
      const synAck = h.packets.find(isSynAck)!;
      const t = tcpTo(synAck, cport, v6);
      const ack = (get32(synAck, t + 4) + 1) >>> 0;
      send(tun, pool, [ours({ flags: TCP_ACK, seq: isn + 1, ack })]);
      const SEGMENTS = 40;
      const SIZE = 1000;
      const data = pattern(SEGMENTS * SIZE, 9);
      const segments: Uint8Array[] = [];
      for (let k = 0; k < SEGMENTS; k++) {
        const flags = k === SEGMENTS - 1 ? TCP_ACK | TCP_PSH : TCP_ACK;
        segments.push(ours({ flags, seq: isn + 1 + k * SIZE, ack, id: 2 + k, payload: data.subarray(k * SIZE, (k + 1) * SIZE) }));
      }
      send(tun, pool, segments);
      assert.equal(tun.groSuperPackets, 1, 'one super-packet written');
      assert.equal(tun.groPackets, SEGMENTS, 'made of every segment');
      assert.equal(tun.writeErrors + tun.writeDropped, 0, 'the kernel took it');
      await waitFor('the bytes at the server', () => chunks.reduce((a, c) => a + c.length, 0) >= data.length);
      assert.ok(Buffer.concat(chunks).equals(Buffer.from(data)), 'the server read exactly what was sent');
      // The kernel acknowledged all of it.
      const end = (isn + 1 + data.length) >>> 0;
      await waitFor('the ACK of the whole run', () => h.packets.some((p) => tcpTo(p, cport, v6) > 0 && get32(p, tcpTo(p, cport, v6) + 8) === end));
    } finally {
      for (const s of accepted) s.destroy(); // its peer is this test: no FIN will ever come
      server.close();
      tun.close();
      tryIp('link', 'del', name);
    }
    assert.equal(pool.outstanding, 0, 'every buffer came back');
  });
}

test('fromFd: an IFF_VNET_HDR queue is spoken to with virtio headers, with or without offloads', { skip }, async () => {
  for (const offload of [false, true]) {
    const name = `wgoff${TAG}${offload ? 'd' : 'c'}`;
    const q = openTunQueue(name, true);
    const tun = LinuxTun.fromFd(q.fd, undefined, { offload });
    const pool = new TieredPool();
    try {
      assert.equal(tun.offloadActive, offload);
      ip('addr', 'add', `${dotted(LOCAL)}/24`, 'dev', name);
      ip('link', 'set', name, 'up');
      const h = new Collector();
      tun.open(h, pool);
      const sock = dgram.createSocket('udp4');
      const payload = pattern(3000, 1); // fragmented by the kernel: plain frames either way
      await new Promise<void>((r) => sock.send(payload, 9999, dotted(PEER), () => r()));
      await new Promise<void>((r) => sock.send(payload.subarray(0, 100), 9999, dotted(PEER), () => r()));
      sock.close();
      const isSmall = (p: Uint8Array): boolean => p[9] === 17 && get16(p, 2) === 128;
      await waitFor('the datagram', () => h.packets.some(isSmall));
      const p = h.packets.find(isSmall)!;
      assert.ok(ipChecksumOk(p) && transportChecksumOk(p), 'UDP checksum verifies (completed when NEEDS_CSUM)');
      assert.ok(Buffer.from(p.subarray(28)).equals(Buffer.from(payload.subarray(0, 100))));
    } finally {
      tun.close();
      tryIp('link', 'del', name);
    }
    assert.equal(pool.outstanding, 0);
  }
});
