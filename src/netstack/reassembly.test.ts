// Reassembly of IPv4 fragments (RFC 791 §3.2) and IPv6 Fragment headers (RFC 8200 §4.5): order does
// not matter, duplicates are dropped alone, overlaps drop the datagram (RFC 5722), and the bounds in
// datagrams, bytes and time hold. Every test ends with the pool holding nothing it should not.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { FakeClock } from '../base/clock.js';
import { TieredPool } from '../buffer/tiered-pool.js';
import type { PacketBuffer } from '../buffer/packet-buffer.js';
import { LocalAddresses } from './addresses.js';
import { NetStackCounters } from './counters.js';
import { IPV4_MF, parseIpv4 } from './ipv4.js';
import { NH_FRAGMENT, parseIpv6, writeIpv6FragmentHeader } from './ipv6.js';
import { MAX_DATAGRAMS, MAX_REASSEMBLY_BYTES, REASSEMBLY_TIMEOUT_V4_MS, REASSEMBLY_TIMEOUT_V6_MS, Reassembler } from './reassembly.js';
import { RxInfo } from './rx-info.js';
import type { IpFamily } from './transport.js';
import { bytes, ipv4, ipv6 } from './_testing.js';

const local = new LocalAddresses(['10.0.0.1/24', 'fd00::1/64']);

class Host {
  readonly clock = new FakeClock();
  readonly counters = new NetStackCounters();
  readonly pool = new TieredPool({ debug: true });
  readonly timedOut: Array<{ family: IpFamily; headerAt: number; protocol: number; first: Uint8Array }> = [];
  bufferSource(): TieredPool {
    return this.pool;
  }
  reassemblyTimedOut(family: IpFamily, buf: PacketBuffer, headerAt: number, protocol: number): void {
    this.timedOut.push({ family, headerAt, protocol, first: buf.bytes.slice(headerAt, buf.end) });
  }
}

function setup(): { host: Host; r: Reassembler; rx: RxInfo } {
  const host = new Host();
  return { host, r: new Reassembler(host), rx: new RxInfo() };
}

/** Parse `packet` into rx from a pool buffer and hand it to the reassembler. */
function feed(host: Host, r: Reassembler, rx: RxInfo, packet: Uint8Array): PacketBuffer | null {
  const buf = host.pool.get(packet.length + 64)!;
  buf.bytes.set(packet, buf.start);
  buf.end = buf.start + packet.length;
  const v6 = packet[0]! >>> 4 === 6;
  const ok = v6 ? parseIpv6(buf.bytes, buf.start, buf.end, rx, local, host.counters, false) : parseIpv4(buf.bytes, buf.start, buf.end, rx, local, host.counters, false);
  assert.ok(ok && rx.fragment, 'test packet is a valid fragment');
  return r.add(buf, rx);
}

function frag4(data: Uint8Array, off: number, len: number, more: boolean, id = 7, protocol = 17, src = '10.0.0.2'): Uint8Array {
  return ipv4(src, '10.0.0.1', protocol, data.subarray(off, off + len), { id, frag: (more ? IPV4_MF : 0) | (off >>> 3) });
}

function frag6(data: Uint8Array, off: number, len: number, more: boolean, id = 7): Uint8Array {
  const h = new Uint8Array(8);
  writeIpv6FragmentHeader(h, 0, 17, off, more, id);
  return ipv6('fd00::2', 'fd00::1', NH_FRAGMENT, data.subarray(off, off + len), h);
}

function windowOf(buf: PacketBuffer): Uint8Array {
  return buf.bytes.slice(buf.start, buf.end);
}

test('IPv4: three fragments in any order make the datagram; fragments go back to the pool', () => {
  const data = bytes(3000, 3);
  for (const order of [[0, 1, 2], [2, 0, 1], [1, 2, 0]]) {
    const { host, r, rx } = setup();
    const pieces = [frag4(data, 0, 1480, true), frag4(data, 1480, 1480, true), frag4(data, 2960, 40, false)];
    let out: PacketBuffer | null = null;
    for (let i = 0; i < 3; i++) {
      const got = feed(host, r, rx, pieces[order[i]!]!);
      if (i < 2) assert.equal(got, null);
      else out = got;
    }
    assert.ok(out !== null, `order ${order}`);
    assert.deepEqual(windowOf(out), data);
    assert.equal(rx.protocol, 17);
    assert.equal(rx.headerAt, -1);
    assert.equal(rx.fragment, false);
    assert.equal(host.counters.reassembled, 1);
    assert.equal(host.pool.outstanding, 1, 'only the reassembled datagram is out');
    out.release();
    assert.equal(r.pending, 0);
    assert.equal(r.bytesHeld, 0);
  }
});

test('IPv6: Fragment headers reassemble; the first fragment names the protocol', () => {
  const { host, r, rx } = setup();
  const data = bytes(2500, 9);
  assert.equal(feed(host, r, rx, frag6(data, 1232, 1268, false)), null);
  const out = feed(host, r, rx, frag6(data, 0, 1232, true));
  assert.ok(out !== null);
  assert.deepEqual(windowOf(out), data);
  assert.equal(rx.family, 6);
  assert.equal(rx.protocol, 17);
  out.release();
  assert.equal(host.pool.outstanding, 0);
});

test('datagrams are told apart by id, addresses, protocol (IPv4) and family', () => {
  const { host, r, rx } = setup();
  const a = bytes(1600, 1);
  const b = bytes(1600, 2);
  assert.equal(feed(host, r, rx, frag4(a, 0, 800, true, 1)), null);
  assert.equal(feed(host, r, rx, frag4(b, 0, 800, true, 2)), null);
  assert.equal(feed(host, r, rx, frag4(b, 800, 800, false, 1, 6)), null, 'same id, other protocol');
  assert.equal(feed(host, r, rx, frag4(b, 800, 800, false, 1, 17, '10.0.0.3')), null, 'same id, other source');
  assert.equal(r.pending, 4);
  const outB = feed(host, r, rx, frag4(b, 800, 800, false, 2));
  const outA = feed(host, r, rx, frag4(a, 800, 800, false, 1));
  assert.deepEqual(windowOf(outB!), b);
  assert.deepEqual(windowOf(outA!), a);
  outA!.release();
  outB!.release();
  r.close();
  assert.equal(host.pool.outstanding, 0);
});

test('an exact duplicate is dropped alone; the datagram still completes', () => {
  const { host, r, rx } = setup();
  const data = bytes(2000);
  feed(host, r, rx, frag4(data, 0, 1000, true));
  assert.equal(feed(host, r, rx, frag4(data, 0, 1000, true)), null);
  assert.equal(host.counters.duplicateFragment, 1);
  const out = feed(host, r, rx, frag4(data, 1000, 1000, false));
  assert.deepEqual(windowOf(out!), data);
  out!.release();
  assert.equal(host.pool.outstanding, 0);
});

test('overlapping fragments drop the whole datagram (RFC 5722), both families', () => {
  const data = bytes(3000);
  {
    const { host, r, rx } = setup();
    feed(host, r, rx, frag4(data, 0, 1480, true));
    assert.equal(feed(host, r, rx, frag4(data, 1472, 1528, false)), null);
    assert.equal(host.counters.reassemblyOverlap, 1);
    assert.equal(r.pending, 0);
    assert.equal(host.pool.outstanding, 0);
    // The rest of the original datagram now starts a new one that never completes.
    assert.equal(feed(host, r, rx, frag4(data, 1480, 1520, false)), null);
    r.close();
    assert.equal(host.pool.outstanding, 0);
  }
  {
    const { host, r, rx } = setup();
    feed(host, r, rx, frag6(data, 8, 1200, true));
    assert.equal(feed(host, r, rx, frag6(data, 0, 16, true)), null);
    assert.equal(host.counters.reassemblyOverlap, 1);
    assert.equal(host.pool.outstanding, 0);
  }
});

test('impossible fragments are dropped and counted: misaligned, past 65535, conflicting ends', () => {
  const { host, r, rx } = setup();
  const data = bytes(70000);
  assert.equal(feed(host, r, rx, frag4(data, 0, 1001, true)), null, 'non-last fragment not a multiple of 8');
  assert.equal(feed(host, r, rx, frag4(data, 65000, 600, false)), null, 'ends past 65535 with its header');
  assert.equal(host.counters.badFragment, 2);
  feed(host, r, rx, frag4(data, 2000, 16, false, 10));
  assert.equal(feed(host, r, rx, frag4(data, 3000, 8, false, 10)), null, 'a second, different end');
  assert.equal(feed(host, r, rx, frag4(data, 1000, 1000, true, 11)), null);
  assert.equal(feed(host, r, rx, frag4(data, 496, 8, false, 11)), null, 'an end before data already held');
  assert.equal(host.counters.badFragment, 4);
  assert.equal(r.pending, 0);
  assert.equal(host.pool.outstanding, 0);
});

test('time: a datagram is given up after 30 s (IPv4) / 60 s (IPv6); the first fragment is reported', async () => {
  const { host, r, rx } = setup();
  const data = bytes(3000);
  feed(host, r, rx, frag4(data, 0, 1480, true, 1));
  feed(host, r, rx, frag6(data, 0, 1232, true, 2));
  feed(host, r, rx, frag4(data, 1480, 1480, true, 3)); // no first fragment: nothing to report
  host.clock.advance(REASSEMBLY_TIMEOUT_V4_MS - 1);
  assert.equal(r.pending, 3);
  host.clock.advance(1);
  assert.equal(r.pending, 1);
  assert.equal(host.counters.reassemblyTimeout, 2);
  assert.equal(host.timedOut.length, 1);
  assert.equal(host.timedOut[0]!.family, 4);
  assert.equal(host.timedOut[0]!.protocol, 17);
  assert.equal(host.timedOut[0]!.first.length, 20 + 1480, 'the fragment as received, header included');
  host.clock.advance(REASSEMBLY_TIMEOUT_V6_MS - REASSEMBLY_TIMEOUT_V4_MS);
  assert.equal(r.pending, 0);
  assert.equal(host.timedOut.length, 2);
  assert.equal(host.timedOut[1]!.family, 6);
  assert.equal(host.timedOut[1]!.protocol, 17);
  assert.equal(host.pool.outstanding, 0);
  assert.equal(host.clock.pending, 0, 'no timer left behind');
});

test('bounds: the oldest datagram makes room, in slots and in bytes', () => {
  const { host, r, rx } = setup();
  const data = bytes(1600);
  for (let id = 1; id <= MAX_DATAGRAMS + 1; id++) {
    host.clock.advance(1);
    feed(host, r, rx, frag4(data, 0, 800, true, id));
  }
  assert.equal(r.pending, MAX_DATAGRAMS);
  assert.equal(host.counters.reassemblyOverflow, 1);
  // id 1 was pushed out: its last fragment starts a new, incomplete datagram (pushing out id 2).
  assert.equal(feed(host, r, rx, frag4(data, 800, 800, false, 1)), null);
  const out = feed(host, r, rx, frag4(data, 800, 800, false, 3));
  assert.deepEqual(windowOf(out!), data);
  out!.release();
  r.close();
  assert.equal(host.pool.outstanding, 0);

  // Bytes: fragments of 2 KiB chunks; the bound holds whatever the slot count.
  const s = setup();
  const big = bytes(65000);
  let offered = 0;
  for (let id = 1; id <= 30; id++) {
    for (let off = 0; off + 1480 < 64000; off += 1480) {
      feed(s.host, s.r, s.rx, frag4(big, off, 1480, true, id));
      offered += 2048;
      assert.ok(s.r.bytesHeld <= MAX_REASSEMBLY_BYTES);
    }
  }
  assert.ok(offered > MAX_REASSEMBLY_BYTES, 'the test offered more than the bound');
  assert.ok(s.host.counters.reassemblyOverflow > 0);
  s.r.close();
  assert.equal(s.host.pool.outstanding, 0);
});
