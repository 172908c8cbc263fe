// TSO/USO split and NEEDS_CSUM completion (offload-tso.ts), table-driven over packet constructors:
// each segment's headers, lengths, sequence numbers, flags and payload, and that its IP and
// transport checksums verify.
import { strict as assert } from 'node:assert';
import { test } from 'node:test';
import {
  VIRTIO_NET_HDR_F_NEEDS_CSUM,
  VIRTIO_NET_HDR_GSO_NONE,
  VIRTIO_NET_HDR_GSO_TCPV4,
  VIRTIO_NET_HDR_GSO_TCPV6,
  VIRTIO_NET_HDR_GSO_UDP_L4,
  VIRTIO_NET_HDR_LEN,
} from './offload-header.js';
import { buildPacket, frame, get16, get32, ipChecksumOk, ipHeaderLen, pattern, plainFrame, superFrame, transportChecksumOk, type PacketSpec } from './offload-testing.js';
import { TCP_ACK, TCP_CWR, TCP_FIN, TCP_PSH } from '../net/ip-header.js';
import { TsoSplitter } from './offload-tso.js';

/** Splits a frame into fresh arrays (each at an odd offset of a bigger one, to exercise alignment). */
function split(f: Uint8Array, at = 0): Uint8Array[] {
  const s = new TsoSplitter();
  const host = new Uint8Array(at + f.length);
  host.set(f, at);
  const n = s.begin(host, at, at + f.length);
  const out: Uint8Array[] = [];
  for (let k = 0; k < n; k++) {
    const len = s.segmentLength(k);
    const buf = new Uint8Array(len + 19);
    assert.equal(s.writeSegment(k, buf, 19), len, `segment ${k} length`);
    out.push(buf.slice(19));
  }
  return out;
}

interface SplitCase {
  name: string;
  spec: PacketSpec;
  mss: number;
  /** Payload bytes of each segment. */
  sizes: number[];
}

const OPTIONS_TS = [1, 1, 8, 10, 0, 0, 0, 1, 0, 0, 0, 2]; // NOP NOP timestamps (RFC 7323)

const SPLITS: SplitCase[] = [
  { name: 'IPv4, 3 full segments and a short one', spec: { payload: 3 * 1000 + 500, seq: 5000, flags: TCP_ACK | TCP_PSH }, mss: 1000, sizes: [1000, 1000, 1000, 500] },
  { name: 'IPv4, exact multiple, FIN on the last', spec: { payload: 4 * 1388, seq: 1, flags: TCP_ACK | TCP_FIN | TCP_PSH }, mss: 1388, sizes: [1388, 1388, 1388, 1388] },
  { name: 'IPv4 with timestamps, CWR only on the first', spec: { payload: 2 * 1376 + 1, options: OPTIONS_TS, flags: TCP_ACK | TCP_CWR }, mss: 1376, sizes: [1376, 1376, 1] },
  { name: 'IPv4, sequence and ID wrap around', spec: { payload: 3 * 100, seq: 0xffffff9c, id: 0xffff }, mss: 100, sizes: [100, 100, 100] },
  { name: 'IPv4, a 64 KiB super-packet', spec: { payload: 65535 - 40, seq: 7 }, mss: 1380, sizes: [...Array<number>(47).fill(1380), 65495 - 47 * 1380] },
  { name: 'IPv6, 2 full and a short one, PSH last', spec: { v6: true, payload: 2 * 1348 + 17, flags: TCP_ACK | TCP_PSH }, mss: 1348, sizes: [1348, 1348, 17] },
  { name: 'IPv6 with timestamps, a single segment', spec: { v6: true, payload: 900, options: OPTIONS_TS }, mss: 1348, sizes: [900] },
  { name: 'UDP over IPv4 (USO)', spec: { udp: true, payload: 3 * 1200 + 5 }, mss: 1200, sizes: [1200, 1200, 1200, 5] },
  { name: 'UDP over IPv6 (USO)', spec: { v6: true, udp: true, payload: 2 * 1232 }, mss: 1232, sizes: [1232, 1232] },
];

for (const c of SPLITS) {
  test(`TSO split: ${c.name}`, () => {
    const f = superFrame(c.spec, c.mss);
    const original = f.subarray(VIRTIO_NET_HDR_LEN);
    const ipLen = ipHeaderLen(original);
    const udp = c.spec.udp === true;
    const hdrLen = ipLen + (udp ? 8 : (original[ipLen + 12]! >> 4) * 4);
    for (const at of [0, 1, 3]) {
      const segs = split(f, at);
      assert.deepEqual(segs.map((s) => s.length - hdrLen), c.sizes, 'segment payload sizes');
      let offset = 0;
      for (let k = 0; k < segs.length; k++) {
        const s = segs[k]!;
        const last = k === segs.length - 1;
        assert.ok(ipChecksumOk(s), `segment ${k}: IPv4 header checksum`);
        assert.ok(transportChecksumOk(s), `segment ${k}: ${udp ? 'UDP' : 'TCP'} checksum`);
        if (c.spec.v6 === true) {
          assert.equal(get16(s, 4), s.length - 40, 'IPv6 payload length');
        } else {
          assert.equal(get16(s, 2), s.length, 'IPv4 total length');
          assert.equal(get16(s, 4), ((c.spec.id ?? 0x1234) + k) & 0xffff, 'IPv4 identification + k');
        }
        // Everything but the per-segment fields matches the super-packet's headers.
        assert.deepEqual(s.subarray(ipLen, ipLen + 4), original.subarray(ipLen, ipLen + 4), 'ports');
        if (udp) {
          assert.equal(get16(s, ipLen + 4), s.length - ipLen, 'UDP length');
        } else {
          assert.equal(get32(s, ipLen + 4), ((c.spec.seq ?? 1000) + offset) >>> 0, 'sequence number');
          assert.equal(get32(s, ipLen + 8), get32(original, ipLen + 8), 'acknowledgment number');
          const flags = c.spec.flags ?? TCP_ACK;
          let want = flags;
          if (!last) want &= ~(TCP_FIN | TCP_PSH);
          if (k > 0) want &= ~TCP_CWR;
          assert.equal(s[ipLen + 13], want, `segment ${k} flags`);
          assert.deepEqual(s.subarray(ipLen + 20, hdrLen), original.subarray(ipLen + 20, hdrLen), 'options');
        }
        assert.deepEqual(s.subarray(hdrLen), original.subarray(hdrLen + offset, hdrLen + offset + s.length - hdrLen), 'payload');
        offset += s.length - hdrLen;
      }
    }
  });
}

test('TSO split ignores the hdr_len the kernel gives (it can cover a whole first packet)', () => {
  const spec: PacketSpec = { payload: 3000 };
  const p = buildPacket(spec, true);
  const f = frame(p, VIRTIO_NET_HDR_F_NEEDS_CSUM, VIRTIO_NET_HDR_GSO_TCPV4, 1000, 20, 16, 1040);
  const segs = split(f);
  assert.deepEqual(segs.map((s) => s.length), [1040, 1040, 1040]);
  for (const s of segs) assert.ok(transportChecksumOk(s));
});

test('NEEDS_CSUM without GSO: the checksum is completed, nothing else changes', () => {
  for (const spec of [{ payload: 100 }, { payload: 101, v6: true }, { udp: true, payload: 333 }, { udp: true, v6: true, payload: 0 }, { payload: 1400, options: OPTIONS_TS }] as PacketSpec[]) {
    const f = plainFrame(spec, true);
    const segs = split(f, 1);
    assert.equal(segs.length, 1);
    assert.ok(transportChecksumOk(segs[0]!), JSON.stringify(spec));
    assert.deepEqual(segs[0], buildPacket(spec), 'the same bytes as a packet built with its checksum');
  }
});

test('GSO_NONE without NEEDS_CSUM: copied unchanged', () => {
  const f = plainFrame({ payload: 55 }, false);
  const segs = split(f);
  assert.deepEqual(segs, [f.subarray(VIRTIO_NET_HDR_LEN)]);
});

test('malformed frames are refused (begin returns 0)', () => {
  const v4 = buildPacket({ payload: 3000 }, true);
  const v6 = buildPacket({ v6: true, payload: 3000 }, true);
  const cases: [string, Uint8Array][] = [
    ['shorter than a header', new Uint8Array(VIRTIO_NET_HDR_LEN)],
    ['GSO_TCPV6 on an IPv4 packet', frame(v4, 1, VIRTIO_NET_HDR_GSO_TCPV6, 1000, 20, 16)],
    ['GSO_TCPV4 on an IPv6 packet', frame(v6, 1, VIRTIO_NET_HDR_GSO_TCPV4, 1000, 40, 16)],
    ['an unknown GSO type (UFO)', frame(v4, 1, 3, 1000, 20, 16)],
    ['csum_start not the IPv4 header length', frame(v4, 1, VIRTIO_NET_HDR_GSO_TCPV4, 1000, 24, 16)],
    ['csum_start inside the IPv6 header', frame(v6, 1, VIRTIO_NET_HDR_GSO_TCPV6, 1000, 20, 16)],
    ['gso_size 0', frame(v4, 1, VIRTIO_NET_HDR_GSO_TCPV4, 0, 20, 16)],
    ['TCP header cut short', frame(v4.subarray(0, 30), 1, VIRTIO_NET_HDR_GSO_TCPV4, 1000, 20, 16)],
    ['NEEDS_CSUM offset past the end', frame(pattern(40), 1, VIRTIO_NET_HDR_GSO_NONE, 0, 20, 19)],
    ['USO on a non-IP packet', frame(pattern(100), 1, VIRTIO_NET_HDR_GSO_UDP_L4, 50, 20, 6)],
  ];
  const s = new TsoSplitter();
  for (const [name, f] of cases) assert.equal(s.begin(f, 0, f.length), 0, name);
});
