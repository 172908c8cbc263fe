// GRO on the TUN write side (offload-gro.ts), one row per case as wireguard-go's offload test does:
// which packets end up in which frame, in which order; then each frame's bytes: a super-packet's
// virtio header and partial checksum, and that splitting it again (TsoSplitter) gives back exactly
// the packets that went in; a plain frame's zero header in the packet's own headroom.
import { strict as assert } from 'node:assert';
import { test } from 'node:test';
import { Arena } from '../buffer/arena.js';
import { PacketBuffer, type BufferOrigin } from '../buffer/packet-buffer.js';
import { TieredPool } from '../buffer/tiered-pool.js';
import { pseudoHeaderSum } from '../net/checksum.js';
import { GroCoalescer } from './offload-gro.js';
import {
  VIRTIO_NET_HDR_F_NEEDS_CSUM,
  VIRTIO_NET_HDR_GSO_TCPV4,
  VIRTIO_NET_HDR_GSO_TCPV6,
  VIRTIO_NET_HDR_LEN,
  VirtioNetHdr,
  readVirtioNetHdr,
} from './offload-header.js';
import { buildPacket, get16, ipChecksumOk, ipHeaderLen, type PacketSpec } from './offload-testing.js';
import { IPPROTO_TCP, TCP_ACK, TCP_CWR, TCP_ECE, TCP_FIN, TCP_PSH, TCP_RST, TCP_SYN, TCP_URG } from '../net/ip-header.js';
import { TsoSplitter } from './offload-tso.js';

const MSS = 1000;

/** Segment k of a flow: seq 1000 + k * MSS, MSS bytes, IPv4 ID 100 + k; `o` overrides. */
function seg(k: number, o: PacketSpec = {}): PacketSpec {
  return { seq: 1000 + k * MSS, payload: MSS, fill: k, id: 100 + k, ...o };
}

function bufOf(pool: TieredPool, p: Uint8Array): PacketBuffer {
  const b = pool.get(p.length + 48)!;
  b.bytes.set(p, b.start);
  b.end = b.start + p.length;
  return b;
}

interface GroCase {
  name: string;
  packets: PacketSpec[];
  /** Packet indices per frame, in frame order. */
  frames: number[][];
}

const v6 = (o: PacketSpec = {}): PacketSpec => ({ v6: true, ...o });
const range = (a: number, b: number): number[] => Array.from({ length: b - a }, (_, i) => a + i);

const CASES: GroCase[] = [
  { name: 'a run of in-order segments', packets: [seg(0), seg(1), seg(2), seg(3)], frames: [[0, 1, 2, 3]] },
  { name: 'IPv6: a run of in-order segments', packets: [seg(0, v6()), seg(1, v6()), seg(2, v6())], frames: [[0, 1, 2]] },
  { name: 'a short last segment joins, and ends the run', packets: [seg(0), seg(1), seg(2, { payload: 300 }), seg(3, { seq: 1000 + 2 * MSS + 300 })], frames: [[0, 1, 2], [3]] },
  { name: 'PSH joins as the last segment', packets: [seg(0), seg(1, { flags: TCP_ACK | TCP_PSH }), seg(2)], frames: [[0, 1], [2]] },
  { name: 'PSH on the first: nothing joins it', packets: [seg(0, { flags: TCP_ACK | TCP_PSH }), seg(1)], frames: [[0], [1]] },
  { name: 'a gap in sequence numbers', packets: [seg(0), seg(1), seg(3)], frames: [[0, 1], [2]] },
  { name: 'out of order: no prepending', packets: [seg(1), seg(0)], frames: [[0], [1]] },
  { name: 'a retransmission', packets: [seg(0), seg(1), seg(1)], frames: [[0, 1], [2]] },
  { name: 'FIN ends the run and is not merged', packets: [seg(0), seg(1, { flags: TCP_ACK | TCP_FIN }), seg(2)], frames: [[0], [1], [2]] },
  { name: 'SYN', packets: [seg(0), seg(1, { flags: TCP_SYN | TCP_ACK })], frames: [[0], [1]] },
  { name: 'RST', packets: [seg(0), seg(1, { flags: TCP_RST | TCP_ACK })], frames: [[0], [1]] },
  { name: 'URG', packets: [seg(0), seg(1, { flags: TCP_URG | TCP_ACK })], frames: [[0], [1]] },
  { name: 'ECE and CWR', packets: [seg(0), seg(1, { flags: TCP_ECE | TCP_ACK }), seg(2, { flags: TCP_CWR | TCP_ACK })], frames: [[0], [1], [2]] },
  { name: 'different ACKs', packets: [seg(0, { ack: 1 }), seg(1, { ack: 2 })], frames: [[0], [1]] },
  { name: 'a pure ACK of the flow ends its run (order kept)', packets: [seg(0), seg(1), seg(2, { payload: 0 }), seg(2)], frames: [[0, 1], [2], [3]] },
  { name: 'different flows (ports)', packets: [seg(0), seg(1, { sport: 40001 })], frames: [[0], [1]] },
  { name: 'different flows (addresses)', packets: [seg(0), seg(1, { src: 9 })], frames: [[0], [1]] },
  { name: 'IPv4 and IPv6 with the same ports', packets: [seg(0), seg(1, v6())], frames: [[0], [1]] },
  { name: 'mixed flows interleave, each keeps its order', packets: [seg(0), seg(0, { sport: 1 }), seg(1), seg(1, { sport: 1 }), seg(2), seg(0, v6())], frames: [[0, 2, 4], [1, 3], [5]] },
  { name: 'a larger segment after a smaller one', packets: [seg(0, { payload: 500 }), seg(1, { seq: 1500 })], frames: [[0], [1]] },
  { name: 'different TCP options', packets: [seg(0, { options: [1, 1, 8, 10, 0, 0, 0, 1, 0, 0, 0, 2] }), seg(1, { options: [1, 1, 8, 10, 0, 0, 0, 2, 0, 0, 0, 2] })], frames: [[0], [1]] },
  { name: 'equal TCP options', packets: [seg(0, { options: [1, 1, 8, 10, 0, 0, 0, 1, 0, 0, 0, 2] }), seg(1, { options: [1, 1, 8, 10, 0, 0, 0, 1, 0, 0, 0, 2] })], frames: [[0, 1]] },
  { name: 'different TTL', packets: [seg(0), seg(1, { ttl: 63 })], frames: [[0], [1]] },
  { name: 'different TOS (an ECN mark)', packets: [seg(0), seg(1, { tos: 3 })], frames: [[0], [1]] },
  { name: 'IPv6: different traffic class', packets: [seg(0, v6()), seg(1, v6({ tos: 0x10 }))], frames: [[0], [1]] },
  { name: 'IPv6: different hop limit', packets: [seg(0, v6()), seg(1, v6({ ttl: 1 }))], frames: [[0], [1]] },
  { name: 'IPv4 options', packets: [seg(0, { ipOptions: [1, 1, 1, 0] }), seg(1, { ipOptions: [1, 1, 1, 0] })], frames: [[0], [1]] },
  { name: 'IPv4 fragments', packets: [seg(0, { frag: 0x2000 }), seg(1, { frag: 0x2000 })], frames: [[0], [1]] },
  { name: 'IPv4 without DF next to one with', packets: [seg(0), seg(1, { frag: 0 })], frames: [[0], [1]] },
  { name: 'at most 65535 bytes per super-packet', packets: range(0, 50).map((k) => seg(k, { seq: 1000 + k * 1400, payload: 1400 })), frames: [range(0, 46), range(46, 50)] },
  { name: 'UDP passes through plain', packets: [{ udp: true, payload: 100 }, { udp: true, payload: 100 }], frames: [[0], [1]] },
];

/** A virtio header + packet frame's packet bytes. */
function packetOf(f: PacketBuffer): Uint8Array {
  return f.bytes.subarray(f.start + VIRTIO_NET_HDR_LEN, f.end);
}

for (const c of CASES) {
  test(`GRO: ${c.name}`, () => {
    const pool = new TieredPool();
    const arena = new Arena({ debug: true });
    const gro = new GroCoalescer(arena, 128);
    const packets = c.packets.map((s) => buildPacket(s));
    const bufs = packets.map((p) => bufOf(pool, p));
    const n = gro.coalesce(bufs, 0, bufs.length, true);
    assert.deepEqual(Array.from(gro.framePackets.subarray(0, n)), c.frames.map((f) => f.length), 'packets per frame');
    const hdr = new VirtioNetHdr();
    for (let k = 0; k < n; k++) {
      const f = gro.frames[k]!;
      const members = c.frames[k]!;
      readVirtioNetHdr(f.bytes, f.start, hdr);
      const p = packetOf(f);
      if (members.length === 1) {
        assert.deepEqual([hdr.flags, hdr.gsoType, hdr.hdrLen, hdr.gsoSize, hdr.csumStart, hdr.csumOffset], [0, 0, 0, 0, 0, 0], `frame ${k}: a plain header`);
        assert.equal(f, bufs[members[0]!], `frame ${k}: the packet's own buffer, header in its headroom`);
        assert.deepEqual(p, packets[members[0]!], `frame ${k}: the packet unchanged`);
        continue;
      }
      const first = packets[members[0]!]!;
      const ipLen = ipHeaderLen(first);
      const isV6 = first[0]! >> 4 === 6;
      const tcpLen = (first[ipLen + 12]! >> 4) * 4;
      assert.equal(hdr.flags, VIRTIO_NET_HDR_F_NEEDS_CSUM);
      assert.equal(hdr.gsoType, isV6 ? VIRTIO_NET_HDR_GSO_TCPV6 : VIRTIO_NET_HDR_GSO_TCPV4);
      assert.equal(hdr.hdrLen, ipLen + tcpLen);
      assert.equal(hdr.gsoSize, first.length - ipLen - tcpLen, 'gso_size: the first segment payload');
      assert.equal(hdr.csumStart, ipLen);
      assert.equal(hdr.csumOffset, 16);
      assert.equal(p.length, members.reduce((a, i) => a + packets[i]!.length - ipLen - tcpLen, ipLen + tcpLen), 'length');
      if (isV6) assert.equal(get16(p, 4), p.length - 40, 'IPv6 payload length');
      else assert.equal(get16(p, 2), p.length, 'IPv4 total length');
      assert.ok(ipChecksumOk(p), 'IPv4 header checksum');
      const partial = pseudoHeaderSum(p, isV6 ? 8 : 12, isV6 ? 16 : 4, IPPROTO_TCP, p.length - ipLen);
      assert.equal(get16(p, ipLen + 16), partial, 'TCP checksum field: the pseudo-header sum (CHECKSUM_PARTIAL)');
      // What the kernel will do with it: split it again, and get exactly what went in.
      const s = new TsoSplitter();
      assert.equal(s.begin(f.bytes, f.start, f.end), members.length, 'segments when split again');
      for (let j = 0; j < members.length; j++) {
        const out = new Uint8Array(s.segmentLength(j));
        s.writeSegment(j, out, 0);
        assert.deepEqual(out, packets[members[j]!], `frame ${k}, segment ${j}: the original packet`);
      }
    }
    gro.finish(n);
    assert.equal(arena.outstanding, 0, 'arena frames released');
    assert.equal(arena.used, 0, 'arena reset');
    for (const b of bufs) b.release();
    assert.equal(pool.outstanding, 0);
  });
}

test('GRO: batches are independent (the flow table starts empty each time)', () => {
  const pool = new TieredPool();
  const arena = new Arena({ debug: true });
  const gro = new GroCoalescer(arena, 8);
  for (let round = 0; round < 5; round++) {
    const bufs = [seg(2 * round), seg(2 * round + 1)].map((s) => bufOf(pool, buildPacket(s)));
    assert.equal(gro.coalesce(bufs, 0, 2, true), 1, `round ${round}: one frame`);
    assert.equal(gro.framePackets[0], 2);
    gro.finish(1);
    for (const b of bufs) b.release();
  }
  // A batch taken from the middle of a longer array.
  const bufs = [seg(0, { src: 7 }), seg(0), seg(1), seg(2, { src: 8 })].map((s) => bufOf(pool, buildPacket(s)));
  assert.equal(gro.coalesce(bufs, 1, 2, true), 1);
  assert.equal(gro.framePackets[0], 2);
  gro.finish(1);
  for (const b of bufs) b.release();
  assert.equal(pool.outstanding, 0);
  assert.throws(() => gro.coalesce(bufs, 0, 9, true), RangeError);
});

test('GRO off (the kernel refused offloads): every packet plain', () => {
  const pool = new TieredPool();
  const gro = new GroCoalescer(new Arena(), 8);
  const bufs = [seg(0), seg(1), seg(2)].map((s) => bufOf(pool, buildPacket(s)));
  assert.equal(gro.coalesce(bufs, 0, 3, false), 3);
  for (let k = 0; k < 3; k++) assert.equal(gro.frames[k], bufs[k]);
  gro.finish(3);
  for (const b of bufs) b.release();
});

test('GRO: a packet without headroom is copied into the arena; a full arena sends a run one by one', () => {
  const released: PacketBuffer[] = [];
  const origin: BufferOrigin = { release: (b) => void released.push(b) };
  const p = buildPacket(seg(0, { flags: TCP_ACK | TCP_FIN }));
  const bare = new PacketBuffer(p.slice(), origin, 0);
  bare.start = 0;
  bare.end = p.length;
  const arena = new Arena({ capacity: 3000, debug: true });
  const gro = new GroCoalescer(arena, 8);
  assert.equal(gro.coalesce([bare], 0, 1, true), 1);
  const f = gro.frames[0]!;
  assert.equal(f.origin, arena, 'framed in the arena');
  assert.deepEqual(packetOf(f), p);
  gro.finish(1);
  assert.equal(arena.outstanding, 0);

  // 3 x 1040 bytes do not fit 3000: no super-packet, the packets go plain, in order.
  const pool = new TieredPool();
  const packets = [seg(0), seg(1), seg(2)].map((s) => buildPacket(s));
  const bufs = packets.map((q) => bufOf(pool, q));
  assert.equal(gro.coalesce(bufs, 0, 3, true), 3);
  for (let k = 0; k < 3; k++) assert.deepEqual(packetOf(gro.frames[k]!), packets[k]);
  gro.finish(3);
  for (const b of bufs) b.release();
  assert.equal(pool.outstanding, 0);
});
