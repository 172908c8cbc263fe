// ICMP and ICMPv6 (RFC 792, RFC 1122 §3.2.2, RFC 4443): echo replies, errors delivered to the transport
// that sent the quoted packet, errors sent (port unreachable, reassembly time exceeded) rate-limited and
// never in answer to an error.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { PacketBuffer } from '../buffer/packet-buffer.js';
import { checksum, checksumReference, pseudoHeaderSumOf } from '../net/checksum.js';
import { ICMP_ERROR_BURST, ICMP_ERRORS_PER_SECOND } from './icmp.js';
import { IPV4_MF } from './ipv4.js';
import { REASSEMBLY_TIMEOUT_V4_MS } from './reassembly.js';
import { IPPROTO_TCP, type IcmpError, type IpInfo, type Transport } from './transport.js';
import { Harness, bytes, icmp, ip, ipv4, ipv6, udp, udpPacket } from './_testing.js';

class ErrorRecorder implements Transport {
  readonly errors: Array<{ kind: string; mtu: number; family: number; src: Uint8Array; dst: Uint8Array; ports: Uint8Array }> = [];
  constructor(readonly protocol: number) {}
  receive(buf: PacketBuffer, _ip: IpInfo): void {
    buf.release();
  }
  icmpError(err: IcmpError): void {
    this.errors.push({ kind: err.kind, mtu: err.mtu, family: err.family, src: err.src.slice(), dst: err.dst.slice(), ports: err.bytes.slice(err.at, err.at + 4) });
  }
  onWritable(): void {}
  close(): void {}
}

/** Checks an outbound ICMP/ICMPv6 packet's checksums; returns [type, code, the message]. */
function parseOut(p: Uint8Array): [number, number, Uint8Array] {
  if (p[0]! >>> 4 === 4) {
    assert.equal(checksumReference(p, 0, 20, 0), 0xffff, 'IPv4 header checksum');
    assert.equal(p[9], 1);
    const m = p.subarray(20);
    assert.equal(checksum(m, 0, m.length, 0), 0xffff, 'ICMP checksum');
    return [m[0]!, m[1]!, m];
  }
  assert.equal(p[6], 58);
  const m = p.subarray(40);
  assert.equal(checksum(m, 0, m.length, pseudoHeaderSumOf(p.subarray(8, 24), p.subarray(24, 40), 58, m.length)), 0xffff, 'ICMPv6 checksum');
  return [m[0]!, m[1]!, m];
}

function closeClean(h: Harness): void {
  h.stack.close();
  h.take();
  assert.equal(h.pool.outstanding, 0, 'buffers leaked');
}

test('echo requests are answered with the same identifier, sequence and data, both families', () => {
  const h = new Harness();
  const data = bytes(56, 4);
  h.inject(ipv4('10.0.0.2', '10.0.0.1', 1, icmp('10.0.0.2', '10.0.0.1', 8, 0, 0x12340007, data)));
  h.inject(ipv6('fd00::2', 'fd00::1', 58, icmp('fd00::2', 'fd00::1', 128, 0, 0x43210009, data)));
  const [r4, r6] = h.take();
  const [t4, c4, m4] = parseOut(r4!);
  assert.deepEqual([t4, c4], [0, 0]);
  assert.deepEqual(r4!.subarray(12, 16), ip('10.0.0.1'));
  assert.deepEqual(r4!.subarray(16, 20), ip('10.0.0.2'));
  assert.deepEqual(m4.subarray(4, 8), Uint8Array.of(0x12, 0x34, 0, 7));
  assert.deepEqual(m4.subarray(8), data);
  const [t6, , m6] = parseOut(r6!);
  assert.equal(t6, 129);
  assert.deepEqual(r6!.subarray(24, 40), ip('fd00::2'));
  assert.deepEqual(m6.subarray(4, 8), Uint8Array.of(0x43, 0x21, 0, 9));
  assert.deepEqual(m6.subarray(8), data);
  assert.equal(h.stack.counters.echoReplies, 2);
  // Echo replies, redirects, neighbor discovery: nothing to do.
  h.inject(ipv4('10.0.0.2', '10.0.0.1', 1, icmp('10.0.0.2', '10.0.0.1', 0, 0, 1, data)));
  h.inject(ipv4('10.0.0.2', '10.0.0.1', 1, icmp('10.0.0.2', '10.0.0.1', 5, 0, 0, bytes(28))));
  h.inject(ipv6('fd00::2', 'fd00::1', 58, icmp('fd00::2', 'fd00::1', 135, 0, 0, bytes(16))));
  assert.equal(h.take().length, 0);
  assert.equal(h.stack.counters.icmpIgnored, 3);
  closeClean(h);
});

test('a big ping comes in fragments and its reply leaves in fragments', () => {
  const h = new Harness({ addresses: ['10.0.0.1/24'], mtu: 1280 });
  const msg = icmp('10.0.0.2', '10.0.0.1', 8, 0, 0x00010001, bytes(3000));
  h.inject(
    ipv4('10.0.0.2', '10.0.0.1', 1, msg.subarray(0, 1256), { id: 5, frag: IPV4_MF }),
    ipv4('10.0.0.2', '10.0.0.1', 1, msg.subarray(1256, 2512), { id: 5, frag: IPV4_MF | (1256 / 8) }),
    ipv4('10.0.0.2', '10.0.0.1', 1, msg.subarray(2512), { id: 5, frag: 2512 / 8 }),
  );
  const out = h.take();
  assert.equal(out.length, 3);
  const reply = new Uint8Array(msg.length);
  for (const f of out) {
    assert.ok(f.length <= 1280);
    const off = (((f[6]! << 8) | f[7]!) & 0x1fff) * 8;
    reply.set(f.subarray(20), off);
  }
  assert.equal(reply[0], 0);
  assert.equal(checksum(reply, 0, reply.length, 0), 0xffff);
  assert.deepEqual(reply.subarray(8), msg.subarray(8));
  closeClean(h);
});

test('port unreachable for UDP to a closed port quotes the datagram; rate-limited by a token bucket', () => {
  const h = new Harness();
  const p4 = udpPacket('10.0.0.2', '10.0.0.1', 40000, 9, bytes(10));
  h.inject(p4);
  const [u4] = h.take();
  const [t, c, m] = parseOut(u4!);
  assert.deepEqual([t, c], [3, 3]);
  assert.deepEqual(m.subarray(8), p4, 'the whole offending packet, header first');
  h.inject(udpPacket('fd00::2', 'fd00::1', 40000, 9, bytes(10)));
  const [u6] = h.take();
  assert.deepEqual(parseOut(u6!).slice(0, 2), [1, 4]);
  // The bucket: what is left of the burst now, then ICMP_ERRORS_PER_SECOND per second.
  for (let i = 0; i < 50; i++) h.inject(udpPacket('10.0.0.2', '10.0.0.1', 40000, 9, bytes(10)));
  assert.equal(h.take().length, ICMP_ERROR_BURST - 2);
  assert.equal(h.stack.counters.icmpRateLimited, 50 - (ICMP_ERROR_BURST - 2));
  h.clock.advance(100);
  for (let i = 0; i < 50; i++) h.inject(udpPacket('10.0.0.2', '10.0.0.1', 40000, 9, bytes(10)));
  assert.equal(h.take().length, ICMP_ERRORS_PER_SECOND / 10);
  closeClean(h);
});

test('a long datagram is quoted up to 576 bytes (IPv4) / 1280 (IPv6) in all', () => {
  const h = new Harness();
  h.inject(udpPacket('10.0.0.2', '10.0.0.1', 1, 9, bytes(1200)));
  h.inject(udpPacket('fd00::2', 'fd00::1', 1, 9, bytes(1300)));
  const [a, b] = h.take();
  assert.equal(a!.length, 576);
  assert.equal(b!.length, 1280);
  closeClean(h);
});

test('reassembly time exceeded is sent for a lost fragment, never for an ICMP error', () => {
  const h = new Harness();
  const d = udp('10.0.0.2', '10.0.0.1', 1, 2, bytes(2000));
  h.inject(ipv4('10.0.0.2', '10.0.0.1', 17, d.subarray(0, 1000), { id: 1, frag: IPV4_MF }));
  // An ICMP error that came fragmented and never completed: no error about it.
  const e = icmp('10.0.0.2', '10.0.0.1', 3, 1, 0, bytes(1500));
  h.inject(ipv4('10.0.0.2', '10.0.0.1', 1, e.subarray(0, 1000), { id: 2, frag: IPV4_MF }));
  h.clock.advance(REASSEMBLY_TIMEOUT_V4_MS);
  const out = h.take();
  assert.equal(out.length, 1);
  const [t, c, m] = parseOut(out[0]!);
  assert.deepEqual([t, c], [11, 1]);
  assert.equal((m[8 + 6]! << 8) | m[8 + 7]!, IPV4_MF, 'the quote is the first fragment');
  closeClean(h);
});

test('errors quoting our packets reach their transport; Packet Too Big lowers the path MTU', () => {
  const h = new Harness();
  const tcp = new ErrorRecorder(IPPROTO_TCP);
  h.stack.register(tcp);
  // What we "sent": a TCP segment from 10.0.0.1:5000 to 10.0.0.9:80 (the quote needs 8 bytes).
  const quoted4 = ipv4('10.0.0.1', '10.0.0.9', IPPROTO_TCP, Uint8Array.of(0x13, 0x88, 0, 80, 0, 0, 0, 1, 0, 0, 0, 0), { frag: 0x4000 });
  h.inject(ipv4('10.0.0.9', '10.0.0.1', 1, icmp('10.0.0.9', '10.0.0.1', 3, 4, 1300, quoted4)));
  assert.equal(tcp.errors.length, 1);
  assert.deepEqual(tcp.errors[0], { kind: 'packet-too-big', mtu: 1300, family: 4, src: ip('10.0.0.1'), dst: ip('10.0.0.9'), ports: Uint8Array.of(0x13, 0x88, 0, 80) });
  assert.equal(h.stack.maxTransportBytes(4, ip('10.0.0.9')), 1280);
  // An old router's Fragmentation Needed without an MTU: the plateau below the quoted length.
  const quotedBig = ipv4('10.0.0.1', '10.0.0.8', IPPROTO_TCP, bytes(1180), { frag: 0x4000 });
  h.inject(ipv4('10.0.0.8', '10.0.0.1', 1, icmp('10.0.0.8', '10.0.0.1', 3, 4, 0, quotedBig.subarray(0, 28))));
  assert.equal(tcp.errors[1]!.mtu, 1006);
  h.inject(ipv4('10.0.0.9', '10.0.0.1', 1, icmp('10.0.0.9', '10.0.0.1', 3, 3, 0, quoted4)));
  h.inject(ipv4('10.0.0.9', '10.0.0.1', 1, icmp('10.0.0.9', '10.0.0.1', 3, 1, 0, quoted4)));
  h.inject(ipv4('10.0.0.9', '10.0.0.1', 1, icmp('10.0.0.9', '10.0.0.1', 11, 0, 0, quoted4)));
  assert.deepEqual(tcp.errors.slice(2).map((e) => e.kind), ['port-unreachable', 'unreachable', 'ttl-exceeded']);
  const quoted6 = ipv6('fd00::1', 'fd00::9', IPPROTO_TCP, Uint8Array.of(0x13, 0x88, 0, 80, 0, 0, 0, 1));
  h.inject(ipv6('fd00::9', 'fd00::1', 58, icmp('fd00::9', 'fd00::1', 2, 0, 1300, quoted6)));
  h.inject(ipv6('fd00::9', 'fd00::1', 58, icmp('fd00::9', 'fd00::1', 1, 4, 0, quoted6)));
  h.inject(ipv6('fd00::9', 'fd00::1', 58, icmp('fd00::9', 'fd00::1', 4, 1, 6, quoted6)));
  assert.deepEqual(tcp.errors.slice(5).map((e) => [e.kind, e.family]), [['packet-too-big', 6], ['port-unreachable', 6], ['unreachable', 6]]);
  assert.equal(tcp.errors[5]!.mtu, 1300);
  assert.equal(h.stack.maxTransportBytes(6, ip('fd00::9')), 1260);
  assert.equal(h.stack.counters.icmpErrorsReceived, 8);
  closeClean(h);
});

test('errors that do not quote one of our packets are ignored', () => {
  const h = new Harness();
  const tcp = new ErrorRecorder(IPPROTO_TCP);
  h.stack.register(tcp);
  const notOurs = ipv4('10.0.0.5', '10.0.0.9', IPPROTO_TCP, bytes(8));
  h.inject(ipv4('10.0.0.9', '10.0.0.1', 1, icmp('10.0.0.9', '10.0.0.1', 3, 3, 0, notOurs)));
  const cut = ipv4('10.0.0.1', '10.0.0.9', IPPROTO_TCP, bytes(8)).subarray(0, 24);
  h.inject(ipv4('10.0.0.9', '10.0.0.1', 1, icmp('10.0.0.9', '10.0.0.1', 3, 3, 0, cut)));
  const laterFragment = ipv4('10.0.0.1', '10.0.0.9', IPPROTO_TCP, bytes(8), { frag: 100 });
  h.inject(ipv4('10.0.0.9', '10.0.0.1', 1, icmp('10.0.0.9', '10.0.0.1', 3, 3, 0, laterFragment)));
  const otherProtocol = ipv4('10.0.0.1', '10.0.0.9', 200, bytes(8));
  h.inject(ipv4('10.0.0.9', '10.0.0.1', 1, icmp('10.0.0.9', '10.0.0.1', 3, 3, 0, otherProtocol)));
  assert.equal(tcp.errors.length, 0);
  assert.equal(h.stack.counters.icmpIgnored, 4);
  assert.equal(h.take().length, 0, 'an error is never answered');
  closeClean(h);
});
