// IPv4 header validation (RFC 791 §3.1): every malformed kind is dropped and counted, never thrown;
// header writing round-trips through the parser.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { LocalAddresses } from './addresses.js';
import { NetStackCounters } from './counters.js';
import { IPV4_DF, IPV4_MF, parseIpv4, writeIpv4Header } from './ipv4.js';
import { RxInfo } from './rx-info.js';
import { ip, ipv4, bytes } from './_testing.js';
import { checksumReference, setIpv4HeaderChecksum } from '../net/checksum.js';

const local = new LocalAddresses(['10.0.0.1/24']);

function parse(p: Uint8Array, fromSelf = false): { ok: boolean; rx: RxInfo; c: NetStackCounters } {
  const rx = new RxInfo();
  const c = new NetStackCounters();
  // Parse at an offset inside a larger array, as packets sit inside pool chunks.
  const buf = new Uint8Array(p.length + 40);
  buf.set(p, 16);
  const ok = parseIpv4(buf, 16, 16 + p.length, rx, local, c, fromSelf);
  return { ok, rx, c };
}

test('a good packet fills rx: addresses, protocol, payload window, TTL, TOS', () => {
  const p = ipv4('10.0.0.2', '10.0.0.1', 17, bytes(30), { ttl: 33 });
  p[1] = 0xb8;
  setIpv4HeaderChecksum(p, 0, 20);
  const { ok, rx } = parse(p);
  assert.ok(ok);
  assert.equal(rx.family, 4);
  assert.deepEqual(rx.src, ip('10.0.0.2'));
  assert.deepEqual(rx.dst, ip('10.0.0.1'));
  assert.equal(rx.protocol, 17);
  assert.equal(rx.ttl, 33);
  assert.equal(rx.tos, 0xb8);
  assert.equal(rx.payloadAt, 16 + 20);
  assert.equal(rx.payloadEnd, 16 + 50);
  assert.equal(rx.fragment, false);
});

test('options are skipped; bytes past the total length are ignored', () => {
  const p = ipv4('10.0.0.2', '10.0.0.1', 17, bytes(10), { options: Uint8Array.of(1, 1, 1, 0) });
  const padded = new Uint8Array(p.length + 6);
  padded.set(p);
  const { ok, rx } = parse(padded);
  assert.ok(ok);
  assert.equal(rx.payloadAt - rx.headerAt, 24);
  assert.equal(rx.payloadEnd - rx.payloadAt, 10);
});

test('fragment fields: MF, offset in bytes, identification', () => {
  const { ok, rx } = parse(ipv4('10.0.0.2', '10.0.0.1', 17, bytes(16), { id: 0xbeef, frag: IPV4_MF | 185 }));
  assert.ok(ok);
  assert.equal(rx.fragment, true);
  assert.equal(rx.moreFragments, true);
  assert.equal(rx.fragOffset, 185 * 8);
  assert.equal(rx.fragId, 0xbeef);
  const last = parse(ipv4('10.0.0.2', '10.0.0.1', 17, bytes(16), { frag: IPV4_DF }));
  assert.equal(last.rx.fragment, false, 'DF alone is not a fragment');
});

test('malformed packets are dropped and counted by reason', () => {
  const good = ipv4('10.0.0.2', '10.0.0.1', 17, bytes(20));
  const cases: Array<[string, Uint8Array, keyof NetStackCounters]> = [];
  cases.push(['shorter than a header', good.subarray(0, 19), 'badHeader']);
  const ihl4 = good.slice();
  ihl4[0] = 0x44;
  cases.push(['IHL below 5', ihl4, 'badHeader']);
  const ihlBig = good.slice(0, 24);
  ihlBig[0] = 0x47;
  cases.push(['IHL past the packet', ihlBig, 'badHeader']);
  const totalBig = good.slice();
  totalBig[3] = good.length + 1;
  cases.push(['total length past the packet', totalBig, 'badLength']);
  const totalSmall = good.slice();
  totalSmall[2] = 0;
  totalSmall[3] = 19;
  cases.push(['total length below the header', totalSmall, 'badLength']);
  const badSum = good.slice();
  badSum[10] ^= 1;
  cases.push(['header checksum', badSum, 'badChecksum']);
  cases.push(['not our address', ipv4('10.0.0.2', '10.0.0.9', 17, bytes(4)), 'notForUs']);
  cases.push(['broadcast destination', ipv4('10.0.0.2', '255.255.255.255', 17, bytes(4)), 'notForUs']);
  cases.push(['multicast source', ipv4('224.0.0.1', '10.0.0.1', 17, bytes(4)), 'badSource']);
  cases.push(['broadcast source', ipv4('255.255.255.255', '10.0.0.1', 17, bytes(4)), 'badSource']);
  cases.push(['our own address as source', ipv4('10.0.0.1', '10.0.0.1', 17, bytes(4)), 'badSource']);
  for (const [name, p, reason] of cases) {
    const { ok, c } = parse(p);
    assert.equal(ok, false, name);
    assert.equal(c[reason], 1, `${name}: counted as ${String(reason)}`);
  }
  assert.ok(parse(ipv4('10.0.0.1', '10.0.0.1', 17, bytes(4)), true).ok, 'our own source is fine on loopback');
});

test('writeIpv4Header writes what parseIpv4 reads back', () => {
  const b = new Uint8Array(80);
  writeIpv4Header(b, 8, 48, 0x1234, IPV4_DF, 64, 6, 0x10, ip('10.0.0.2'), ip('10.0.0.1'));
  assert.equal(checksumReference(b, 8, 28, 0), 0xffff, 'checksum valid');
  const rx = new RxInfo();
  const c = new NetStackCounters();
  assert.ok(parseIpv4(b, 8, 56, rx, local, c, false));
  assert.equal(rx.protocol, 6);
  assert.equal(rx.payloadEnd - rx.payloadAt, 28);
  assert.equal(rx.tos, 0x10);
  assert.equal((b[14]! << 8) | b[15]!, IPV4_DF);
  assert.equal((b[12]! << 8) | b[13]!, 0x1234);
});
