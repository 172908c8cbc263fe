// IPv6 header validation and the extension-header walk (RFC 8200 §4): every malformed kind is dropped
// and counted, never thrown; the headers the stack writes parse back.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { LocalAddresses } from './addresses.js';
import { NetStackCounters } from './counters.js';
import { MAX_EXTENSION_HEADERS, NH_DEST_OPTIONS, NH_FRAGMENT, NH_HOP_BY_HOP, NH_NONE, NH_ROUTING, parseIpv6, writeIpv6FragmentHeader, writeIpv6Header } from './ipv6.js';
import { RxInfo } from './rx-info.js';
import { bytes, ip, ipv6 } from './_testing.js';

const local = new LocalAddresses(['fd00::1/64']);

function parse(p: Uint8Array): { ok: boolean; rx: RxInfo; c: NetStackCounters } {
  const rx = new RxInfo();
  const c = new NetStackCounters();
  const buf = new Uint8Array(p.length + 40);
  buf.set(p, 16);
  const ok = parseIpv6(buf, 16, 16 + p.length, rx, local, c, false);
  return { ok, rx, c };
}

/** An options header (Hop-by-Hop or Destination Options) holding `options`, padded to 8n bytes. */
function optionsHeader(nh: number, options: number[]): Uint8Array {
  const len = Math.ceil((2 + options.length) / 8) * 8;
  const h = new Uint8Array(len);
  h[0] = nh;
  h[1] = len / 8 - 1;
  h.set(options, 2);
  // The rest is Pad1 (zero bytes), or one PadN when two or more remain.
  const rest = len - 2 - options.length;
  if (rest >= 2) {
    h[2 + options.length] = 1;
    h[3 + options.length] = rest - 2;
  }
  return h;
}

function routingHeader(nh: number, segmentsLeft: number): Uint8Array {
  const h = new Uint8Array(24);
  h[0] = nh;
  h[1] = 2;
  h[2] = 0; // type 0's format; any type with Segments Left 0 is passed over
  h[3] = segmentsLeft;
  return h;
}

function fragmentHeader(nh: number, offset: number, more: boolean, id: number): Uint8Array {
  const h = new Uint8Array(8);
  writeIpv6FragmentHeader(h, 0, nh, offset, more, id);
  return h;
}

function concat(...parts: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  return out;
}

test('a plain packet: addresses, traffic class, hop limit, payload window', () => {
  const p = ipv6('fd00::2', 'fd00::1', 17, bytes(12));
  p[0] = 0x6a;
  p[1] = 0xb0;
  const { ok, rx } = parse(p);
  assert.ok(ok);
  assert.equal(rx.family, 6);
  assert.deepEqual(rx.src, ip('fd00::2'));
  assert.deepEqual(rx.dst, ip('fd00::1'));
  assert.equal(rx.tos, 0xab);
  assert.equal(rx.ttl, 64);
  assert.equal(rx.protocol, 17);
  assert.equal(rx.payloadAt, 16 + 40);
  assert.equal(rx.payloadEnd, 16 + 52);
  assert.equal(rx.nextHeaderAt, 16 + 6);
});

test('extension headers are walked to the upper layer', () => {
  const ext = concat(
    optionsHeader(NH_ROUTING, [5, 2, 0, 0]), // Hop-by-Hop with Router Alert (action 00: skip)
    routingHeader(NH_DEST_OPTIONS, 0),
    optionsHeader(17, [0, 0]), // Destination Options with Pad1s
  );
  const { ok, rx } = parse(ipv6('fd00::2', 'fd00::1', NH_HOP_BY_HOP, bytes(10), ext));
  assert.ok(ok);
  assert.equal(rx.protocol, 17);
  assert.equal(rx.payloadAt, 16 + 40 + ext.length);
  assert.equal(rx.nextHeaderAt, 16 + 40 + 8 + 24, 'the Destination Options header named UDP');
});

test('a Fragment header ends the walk; an atomic fragment is a whole packet (RFC 6946)', () => {
  const frag = parse(ipv6('fd00::2', 'fd00::1', NH_FRAGMENT, bytes(16), fragmentHeader(17, 1448, true, 0xdeadbeef)));
  assert.ok(frag.ok);
  assert.equal(frag.rx.fragment, true);
  assert.equal(frag.rx.fragOffset, 1448);
  assert.equal(frag.rx.moreFragments, true);
  assert.equal(frag.rx.fragId, 0xdeadbeef);
  assert.equal(frag.rx.protocol, 17);
  assert.equal(frag.rx.payloadAt, 16 + 48);
  const atomic = parse(ipv6('fd00::2', 'fd00::1', NH_FRAGMENT, bytes(16), fragmentHeader(17, 0, false, 7)));
  assert.ok(atomic.ok);
  assert.equal(atomic.rx.fragment, false);
  assert.equal(atomic.rx.protocol, 17);
  assert.equal(atomic.rx.payloadAt, 16 + 48);
});

test('No Next Header parses as protocol 59 (the stack drops it)', () => {
  const { ok, rx } = parse(ipv6('fd00::2', 'fd00::1', NH_NONE, bytes(0)));
  assert.ok(ok);
  assert.equal(rx.protocol, NH_NONE);
});

test('malformed packets are dropped and counted by reason', () => {
  const good = ipv6('fd00::2', 'fd00::1', 17, bytes(8));
  const cases: Array<[string, Uint8Array, keyof NetStackCounters]> = [];
  cases.push(['shorter than the header', good.subarray(0, 39), 'badHeader']);
  const long = good.slice();
  long[5] = 9;
  cases.push(['payload length past the packet', long, 'badLength']);
  cases.push(['not our address', ipv6('fd00::2', 'fd00::9', 17, bytes(4)), 'notForUs']);
  cases.push(['multicast source', ipv6('ff02::1', 'fd00::1', 17, bytes(4)), 'badSource']);
  cases.push(['unspecified source', ipv6('::', 'fd00::1', 17, bytes(4)), 'badSource']);
  cases.push(['our own source', ipv6('fd00::1', 'fd00::1', 17, bytes(4)), 'badSource']);
  cases.push(['Hop-by-Hop not first', ipv6('fd00::2', 'fd00::1', NH_DEST_OPTIONS, bytes(4), concat(optionsHeader(NH_HOP_BY_HOP, []), optionsHeader(17, []))), 'badExtension']);
  cases.push(['option that must be understood (action 01)', ipv6('fd00::2', 'fd00::1', NH_DEST_OPTIONS, bytes(4), optionsHeader(17, [0x47, 0])), 'badExtension']);
  cases.push(['Jumbo Payload option (action 11)', ipv6('fd00::2', 'fd00::1', NH_HOP_BY_HOP, bytes(4), optionsHeader(17, [0xc2, 4, 0, 1, 0, 0])), 'badExtension']);
  cases.push(['option running past its header', ipv6('fd00::2', 'fd00::1', NH_DEST_OPTIONS, bytes(4), optionsHeader(17, [1, 9])), 'badExtension']);
  cases.push(['routing header with segments left', ipv6('fd00::2', 'fd00::1', NH_ROUTING, bytes(4), routingHeader(17, 1)), 'badExtension']);
  const cut = optionsHeader(17, []);
  cut[1] = 3; // claims 32 bytes
  cases.push(['extension header past the payload', ipv6('fd00::2', 'fd00::1', NH_DEST_OPTIONS, bytes(0), cut), 'badExtension']);
  cases.push(['fragment header cut short', ipv6('fd00::2', 'fd00::1', NH_FRAGMENT, new Uint8Array(0), fragmentHeader(17, 0, true, 1).subarray(0, 6)), 'badExtension']);
  const chain: Uint8Array[] = [];
  for (let i = 0; i <= MAX_EXTENSION_HEADERS; i++) chain.push(optionsHeader(NH_DEST_OPTIONS, []));
  chain.push(optionsHeader(17, []));
  cases.push(['too many extension headers', ipv6('fd00::2', 'fd00::1', NH_DEST_OPTIONS, bytes(4), concat(...chain)), 'badExtension']);
  for (const [name, p, reason] of cases) {
    const { ok, c } = parse(p);
    assert.equal(ok, false, name);
    assert.equal(c[reason], 1, `${name}: counted as ${String(reason)}`);
  }
});

test('writeIpv6Header writes what parseIpv6 reads back', () => {
  const b = new Uint8Array(100);
  writeIpv6Header(b, 4, 20, 6, 17, 0xa5, ip('fd00::2'), ip('fd00::1'));
  const rx = new RxInfo();
  assert.ok(parseIpv6(b, 4, 64, rx, local, new NetStackCounters(), false));
  assert.equal(rx.protocol, 6);
  assert.equal(rx.ttl, 17);
  assert.equal(rx.tos, 0xa5);
  assert.equal(rx.payloadEnd - rx.payloadAt, 20);
});
