// The IP layer of NetStack: the Tun contract, dispatch to transports with the checksum verified, the
// headers it writes, batching, backpressure, fragmentation out, loopback, and every malformed packet
// dropped and counted without a throw. Each test ends with the pool at zero outstanding buffers.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { PacketBuffer } from '../buffer/packet-buffer.js';
import { checksum, checksumReference, pseudoHeaderSumOf } from '../net/checksum.js';
import type { NetStackCounters } from './counters.js';
import { NH_DEST_OPTIONS, NH_FRAGMENT, NH_NONE, writeIpv6FragmentHeader } from './ipv6.js';
import { NETSTACK_BATCH } from './stack.js';
import { IPPROTO_TCP, IPPROTO_UDP, type IcmpError, type IpInfo, type Transport } from './transport.js';
import { Harness, bytes, ip, ipv4, ipv6, settle, udp, udpPacket, wire } from './_testing.js';

/** A transport that records what reaches it and releases at once. */
class Recorder implements Transport {
  readonly segments: Array<{ data: Uint8Array; family: number; src: Uint8Array; dst: Uint8Array; ttl: number }> = [];
  readonly errors: Array<{ kind: string; mtu: number; ports: Uint8Array }> = [];
  writable = 0;
  closed = 0;
  constructor(readonly protocol: number) {}
  receive(buf: PacketBuffer, ip: IpInfo): void {
    this.segments.push({ data: buf.bytes.slice(buf.start, buf.end), family: ip.family, src: ip.src.slice(), dst: ip.dst.slice(), ttl: ip.ttl });
    buf.release();
  }
  icmpError(err: IcmpError): void {
    this.errors.push({ kind: err.kind, mtu: err.mtu, ports: err.bytes.slice(err.at, err.at + 4) });
  }
  onWritable(): void {
    this.writable++;
  }
  close(): void {
    this.closed++;
  }
}

/** A TCP-looking segment (20-byte header, ports, data offset 5) with its checksum. */
function tcpSegment(src: string, dst: string, data: Uint8Array): Uint8Array {
  const s = new Uint8Array(20 + data.length);
  s[0] = 0x30;
  s[1] = 0x39;
  s[2] = 0x00;
  s[3] = 0x50;
  s[12] = 0x50;
  s.set(data, 20);
  const sum = ~checksum(s, 0, s.length, pseudoHeaderSumOf(ip(src), ip(dst), IPPROTO_TCP, s.length)) & 0xffff;
  s[16] = sum >>> 8;
  s[17] = sum & 0xff;
  return s;
}

function closeClean(h: Harness): void {
  h.stack.close();
  h.take();
  assert.equal(h.pool.outstanding, 0, 'buffers leaked');
}

test('the Tun contract: up on open, closed on close, writes after close released', () => {
  const h = new Harness({ mtu: 1400, name: 'ns0' });
  assert.equal(h.stack.name, 'ns0');
  assert.equal(h.stack.mtu(), 1400);
  assert.deepEqual(h.events, ['up']);
  assert.throws(() => h.stack.open(h, h.pool), /already open/);
  h.stack.close();
  assert.deepEqual(h.events, ['up', 'closed']);
  h.inject(udpPacket('10.0.0.2', '10.0.0.1', 1, 2, bytes(4)));
  assert.equal(h.stack.counters.closed, 1);
  assert.equal(h.pool.outstanding, 0);
});

test('options are checked: addresses, MTU (1280 with IPv6), TTL', () => {
  assert.throws(() => new Harness({ addresses: ['10.0.0.300/24'] }), RangeError);
  assert.throws(() => new Harness({ addresses: ['fd00::1/64'], mtu: 1000 }), /1280/);
  assert.throws(() => new Harness({ addresses: ['10.0.0.1/24'], mtu: 500 }), RangeError);
  assert.throws(() => new Harness({ ttl: 0 }), RangeError);
  const h = new Harness({ addresses: ['10.0.0.1/24'], mtu: 600 });
  assert.equal(h.stack.mtu(), 600);
  closeClean(h);
});

test('segments reach the transport of their protocol with checksum verified and the window trimmed', () => {
  const h = new Harness();
  const tcp = new Recorder(IPPROTO_TCP);
  h.stack.register(tcp);
  assert.throws(() => h.stack.register(new Recorder(IPPROTO_TCP)), /already/);
  assert.throws(() => h.stack.register(new Recorder(1)), /already/);
  const seg = tcpSegment('10.0.0.2', '10.0.0.1', bytes(100));
  h.inject(ipv4('10.0.0.2', '10.0.0.1', IPPROTO_TCP, seg, { ttl: 9 }));
  const seg6 = tcpSegment('fd00::2', 'fd00::1', bytes(7));
  h.inject(ipv6('fd00::2', 'fd00::1', IPPROTO_TCP, seg6));
  assert.equal(tcp.segments.length, 2);
  assert.deepEqual(tcp.segments[0]!.data, seg);
  assert.equal(tcp.segments[0]!.family, 4);
  assert.deepEqual(tcp.segments[0]!.src, ip('10.0.0.2'));
  assert.deepEqual(tcp.segments[0]!.dst, ip('10.0.0.1'));
  assert.equal(tcp.segments[0]!.ttl, 9);
  assert.deepEqual(tcp.segments[1]!.data, seg6);
  assert.deepEqual(tcp.segments[1]!.src, ip('fd00::2'));
  const bad = seg.slice();
  bad[30] ^= 0xff;
  h.inject(ipv4('10.0.0.2', '10.0.0.1', IPPROTO_TCP, bad));
  h.inject(ipv4('10.0.0.2', '10.0.0.1', IPPROTO_TCP, seg.subarray(0, 19)));
  assert.equal(tcp.segments.length, 2);
  assert.equal(h.stack.counters.badTransportChecksum, 1);
  assert.equal(h.stack.counters.badTransportLength, 1);
  closeClean(h);
  assert.equal(tcp.closed, 1);
});

test('trustChecksums (packets a WireGuard device opened): TCP and UDP sums are not checked, lengths still are', () => {
  const h = new Harness({ trustChecksums: true });
  const tcp = new Recorder(IPPROTO_TCP);
  h.stack.register(tcp);
  const bad = tcpSegment('10.0.0.2', '10.0.0.1', bytes(100)).slice();
  bad[30] ^= 0xff;
  h.inject(ipv4('10.0.0.2', '10.0.0.1', IPPROTO_TCP, bad));
  assert.equal(tcp.segments.length, 1, 'taken without its checksum checked');
  assert.deepEqual(tcp.segments[0]!.data, bad);
  h.inject(ipv4('10.0.0.2', '10.0.0.1', IPPROTO_TCP, bad.subarray(0, 19)));
  h.inject(ipv4('10.0.0.2', '10.0.0.1', IPPROTO_UDP, Uint8Array.of(0, 1, 0, 2, 0, 40, 0, 0)));
  assert.equal(tcp.segments.length, 1);
  assert.equal(h.stack.counters.badTransportLength, 2);
  assert.equal(h.stack.counters.badTransportChecksum, 0);
  closeClean(h);
});

test('malformed packets of every kind are dropped and counted, never thrown', () => {
  const h = new Harness();
  h.stack.register(new Recorder(IPPROTO_TCP));
  const good = udpPacket('10.0.0.2', '10.0.0.1', 1000, 2000, bytes(20));
  const cases: Array<[string, Uint8Array, keyof NetStackCounters]> = [
    ['empty', new Uint8Array(0), 'badVersion'],
    ['version 5', Uint8Array.of(0x50, 0, 0, 20), 'badVersion'],
    ['IPv4 header cut', good.subarray(0, 12), 'badHeader'],
    ['IPv6 header cut', ipv6('fd00::2', 'fd00::1', 17, bytes(4)).subarray(0, 30), 'badHeader'],
    ['not for us', udpPacket('10.0.0.2', '10.0.0.7', 1, 2, bytes(1)), 'notForUs'],
    ['UDP shorter than its header', ipv4('10.0.0.2', '10.0.0.1', IPPROTO_UDP, bytes(5)), 'badTransportLength'],
    ['UDP length past the packet', ipv4('10.0.0.2', '10.0.0.1', IPPROTO_UDP, Uint8Array.of(0, 1, 0, 2, 0, 40, 0, 0)), 'badTransportLength'],
    ['UDP checksum', (() => { const p = good.slice(); p[p.length - 1] ^= 1; return p; })(), 'badTransportChecksum'],
    ['IPv6 UDP without checksum', ipv6('fd00::2', 'fd00::1', IPPROTO_UDP, Uint8Array.of(0, 1, 0, 2, 0, 8, 0, 0)), 'badTransportChecksum'],
    ['TCP too short', ipv4('10.0.0.2', '10.0.0.1', IPPROTO_TCP, bytes(12)), 'badTransportLength'],
    ['ICMP too short', ipv4('10.0.0.2', '10.0.0.1', 1, bytes(4)), 'badTransportLength'],
    ['ICMP checksum', ipv4('10.0.0.2', '10.0.0.1', 1, Uint8Array.of(8, 0, 0, 0, 0, 1, 0, 1)), 'badTransportChecksum'],
  ];
  for (const [name, p, reason] of cases) {
    const before = h.stack.counters[reason] as number;
    assert.doesNotThrow(() => h.inject(p), name);
    assert.equal(h.stack.counters[reason], before + 1, `${name}: counted as ${String(reason)}`);
  }
  // Random bytes: nothing throws, everything is released.
  let seed = 1;
  for (let i = 0; i < 2000; i++) {
    const p = new Uint8Array(1 + (i % 97));
    for (let k = 0; k < p.length; k++) {
      seed = (Math.imul(seed, 1103515245) + 12345) >>> 0;
      p[k] = seed >>> 24;
    }
    if (i % 2 === 0) p[0] = (p[0]! & 0x0f) | 0x40;
    h.inject(p);
  }
  assert.equal(h.take().length, 0, 'no answer to garbage');
  closeClean(h);
});

test('an IPv4 UDP datagram without a checksum (zero) is accepted', async () => {
  const h = new Harness();
  const sock = h.stack.createUdpSocket('udp4');
  sock.bind(5000);
  const got = new Promise<Buffer>((r) => sock.once('message', (m) => r(m)));
  h.inject(ipv4('10.0.0.2', '10.0.0.1', IPPROTO_UDP, Uint8Array.of(0, 9, 0x13, 0x88, 0, 10, 0, 0, 7, 7)));
  assert.deepEqual([...(await got)], [7, 7]);
  closeClean(h);
});

test('headers written: IPv4 with DF for TCP only, ID changing, checksum valid; IPv6', () => {
  const h = new Harness({ ttl: 77 });
  const out = (family: 4 | 6, protocol: number, n: number): Uint8Array => {
    const buf = h.stack.alloc(family, n)!;
    buf.bytes.fill(0xab, buf.start, buf.start + n);
    buf.end = buf.start + n;
    const [src, dst] = family === 4 ? [ip('10.0.0.1'), ip('10.0.0.2')] : [ip('fd00::1'), ip('fd00::2')];
    assert.ok(h.stack.send(buf, family, src, dst, protocol, 0));
    return h.take()[0]!;
  };
  const t = out(4, IPPROTO_TCP, 40);
  assert.equal(t.length, 60);
  assert.equal(t[0], 0x45);
  assert.equal((t[6]! << 8) | t[7]!, 0x4000, 'DF on TCP');
  assert.equal(t[8], 77);
  assert.equal(t[9], IPPROTO_TCP);
  assert.equal(checksumReference(t, 0, 20, 0), 0xffff);
  const u = out(4, IPPROTO_UDP, 40);
  assert.equal((u[6]! << 8) | u[7]!, 0, 'no DF on UDP');
  assert.notEqual((u[4]! << 8) | u[5]!, (t[4]! << 8) | t[5]!, 'identification changes');
  const s = out(6, IPPROTO_UDP, 12);
  assert.equal(s.length, 52);
  assert.equal(s[0]! >>> 4, 6);
  assert.equal((s[4]! << 8) | s[5]!, 12);
  assert.equal(s[6], IPPROTO_UDP);
  assert.equal(s[7], 77);
  assert.equal(h.stack.maxTransportBytes(4, ip('10.0.0.2')), 1400);
  assert.equal(h.stack.maxTransportBytes(6, ip('fd00::2')), 1380);
  closeClean(h);
});

test('buffers from alloc keep room for the WireGuard header in front and padding and tag behind', () => {
  const h = new Harness();
  const buf = h.stack.alloc(6, 1380)!;
  assert.ok(buf.start - buf.base >= 16 + 40);
  assert.ok(buf.limit - buf.start >= 1380 + 32);
  buf.release();
  closeClean(h);
});

test('TCP past the path MTU is refused, not fragmented', () => {
  const h = new Harness();
  const buf = h.stack.alloc(4, 2000)!;
  buf.end = buf.start + 2000;
  assert.equal(h.stack.send(buf, 4, ip('10.0.0.1'), ip('10.0.0.2'), IPPROTO_TCP, 0), false);
  assert.equal(h.stack.counters.cannotSend, 1);
  closeClean(h);
});

test('UDP past the path MTU leaves in fragments that a second stack reassembles, both families', async () => {
  const a = new Harness({ addresses: ['10.0.0.1/24', 'fd00::1/64'], mtu: 1280 });
  const b = new Harness({ addresses: ['10.0.0.2/24', 'fd00::2/64'], mtu: 1280 });
  wire(a, b);
  for (const [type, dst] of [['udp4', '10.0.0.2'], ['udp6', 'fd00::2']] as const) {
    const rx = b.stack.createUdpSocket(type);
    rx.bind(9000);
    const tx = a.stack.createUdpSocket(type);
    const data = Buffer.from(bytes(9000, 5));
    const got = new Promise<Buffer>((r) => rx.once('message', (m) => r(m)));
    tx.send(data, 9000, dst);
    assert.deepEqual(await got, data);
    rx.close();
    tx.close();
  }
  assert.ok(a.stack.counters.fragmentsSent >= 16);
  assert.equal(b.stack.counters.reassembled, 2);
  await settle();
  closeClean(a);
  closeClean(b);
});

test('a reassembled IPv6 datagram may carry Destination Options before its UDP header', async () => {
  const h = new Harness();
  const sock = h.stack.createUdpSocket('udp6');
  sock.bind(53);
  const dgram = udp('fd00::2', 'fd00::1', 1234, 53, bytes(2000));
  const dst = new Uint8Array(8);
  dst[0] = IPPROTO_UDP;
  const whole = new Uint8Array(8 + dgram.length);
  whole.set(dst);
  whole.set(dgram, 8);
  const f1 = new Uint8Array(8);
  writeIpv6FragmentHeader(f1, 0, NH_DEST_OPTIONS, 0, true, 99);
  const f2 = new Uint8Array(8);
  writeIpv6FragmentHeader(f2, 0, NH_DEST_OPTIONS, 1232, false, 99);
  const got = new Promise<Buffer>((r) => sock.once('message', (m) => r(m)));
  h.inject(ipv6('fd00::2', 'fd00::1', NH_FRAGMENT, whole.subarray(1232), f2), ipv6('fd00::2', 'fd00::1', NH_FRAGMENT, whole.subarray(0, 1232), f1));
  assert.deepEqual([...(await got)], [...bytes(2000)]);
  closeClean(h);
});

test('packets gather into one batch per turn, and leave at once when the batch fills', async () => {
  const h = new Harness();
  const sock = h.stack.createUdpSocket('udp4');
  sock.bind(1);
  const batches: number[] = [];
  h.forward = (bufs, n) => {
    batches.push(n);
    for (let i = 0; i < n; i++) bufs[i]!.release();
  };
  for (let i = 0; i < 3; i++) sock.send(bytes(10), 7, '10.0.0.2');
  assert.deepEqual(batches, []);
  await settle(2);
  assert.deepEqual(batches, [3]);
  for (let i = 0; i < NETSTACK_BATCH + 1; i++) sock.send(bytes(10), 7, '10.0.0.2');
  assert.deepEqual(batches, [3, NETSTACK_BATCH], 'a full batch leaves without waiting');
  await settle(2);
  assert.deepEqual(batches, [3, NETSTACK_BATCH, 1]);
  sock.close();
  closeClean(h);
});

test('backpressure: paused, alloc refuses; on resume every transport hears onWritable', () => {
  const h = new Harness();
  const r = new Recorder(IPPROTO_TCP);
  h.stack.register(r);
  h.stack.pause();
  assert.equal(h.stack.alloc(4, 100), null);
  assert.equal(h.stack.counters.noBuffer, 1);
  h.stack.resume();
  assert.equal(r.writable, 1);
  h.stack.resume();
  assert.equal(r.writable, 1, 'told once per refusal');
  closeClean(h);
});

test('packets to our own address loop back', async () => {
  const h = new Harness();
  const rx = h.stack.createUdpSocket('udp6');
  rx.bind(7000);
  const tx = h.stack.createUdpSocket('udp6');
  const got = new Promise<[Buffer, { address: string; port: number }]>((r) => rx.once('message', (m, i) => r([m, i])));
  tx.send('to myself', 7000, 'fd00::1');
  const [msg, from] = await got;
  assert.equal(msg.toString(), 'to myself');
  assert.equal(from.address, 'fd00::1');
  assert.equal(from.port, tx.address().port);
  assert.equal(h.take().length, 0, 'nothing went to the device');
  rx.close();
  tx.close();
  closeClean(h);
});

test('a protocol nobody handles: ICMP protocol unreachable (v4), Parameter Problem code 1 (v6); No Next Header is silent', () => {
  const h = new Harness();
  h.inject(ipv4('10.0.0.2', '10.0.0.1', 253, bytes(8)));
  h.inject(ipv6('fd00::2', 'fd00::1', 253, bytes(8)));
  h.inject(ipv6('fd00::2', 'fd00::1', NH_NONE, bytes(0)));
  const out = h.take();
  assert.equal(out.length, 2);
  assert.equal(out[0]![9], 1);
  assert.deepEqual([out[0]![20], out[0]![21]], [3, 2]);
  assert.equal(out[1]![6], 58);
  assert.deepEqual([out[1]![40], out[1]![41]], [4, 1]);
  assert.equal((out[1]![46]! << 8) | out[1]![47]!, 6, 'the pointer names the Next Header byte');
  assert.equal(h.stack.counters.noProtocol, 3);
  closeClean(h);
});
