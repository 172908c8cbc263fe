// Endpoint text: one rule with the rest of the package (net/address.ts), and the forms wireguard-go
// reads and prints, so `wg showconf` shows the same endpoint for wgts as for wireguard-go.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { EndpointTable, UdpEndpoint, parseEndpoint } from './endpoint.js';

test('parseEndpoint reads both families in their canonical text and refuses the rest, naming the input', () => {
  const cases: [string, string, 4 | 6][] = [
    ['192.0.2.1:51820', '192.0.2.1:51820', 4],
    ['[2001:DB8:0:0::1]:1', '[2001:db8::1]:1', 6],
    ['[fe80::1%eth0]:9', '[fe80::1%eth0]:9', 6],
    ['[FE80::0:1%3]:9', '[fe80::1%3]:9', 6],
    ['[::]:0', '[::]:0', 6],
  ];
  for (const [text, shown, family] of cases) {
    const ep = parseEndpoint(text);
    assert.equal(ep.toString(), shown, text);
    assert.equal(ep.family, family, text);
  }
  for (const bad of [
    '192.0.2.1', '192.0.2.1:65536', '192.0.2.1:x', '2001:db8::1:80', '[1.2.3.4]:80', 'host:80', '[::1:80', '010.0.0.1:80',
    '[fe80::1%]:80', '[fe80::1%a/b]:80', '[fe80::1%a b]:80', '[fe80::1%sixteen-bytes-xx]:80', '[1.2.3.4%eth0]:80', '1.2.3.4%eth0:80',
  ]) {
    assert.throws(() => parseEndpoint(bad), (err: unknown) => err instanceof TypeError && err.message.includes(JSON.stringify(bad)), bad);
  }
});

test('an IPv4-mapped endpoint stays IPv6 and reads "[::ffff:a.b.c.d]:port", as wireguard-go prints it', () => {
  for (const text of ['[::ffff:192.0.2.3]:51820', '[::FFFF:c000:203]:51820', '[0:0:0:0:0:ffff:192.0.2.3]:51820']) {
    const ep = parseEndpoint(text);
    assert.equal(ep.family, 6, text);
    assert.equal(ep.toString(), '[::ffff:192.0.2.3]:51820', text);
    assert.deepEqual([...ep.addressBytes], [0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff, 192, 0, 2, 3]);
  }
});

test('an endpoint made from address bytes equals the one parsed from its text', () => {
  for (const text of ['198.51.100.7:4', '[2001:db8:1::7]:4', '[::ffff:198.51.100.7]:4']) {
    const parsed = parseEndpoint(text);
    const made = new UdpEndpoint(parsed.addressBytes.slice(), parsed.port);
    assert.equal(made.toString(), text);
    assert.equal(made.address, parsed.address);
    assert.deepEqual(made.addressBytes, parsed.addressBytes);
  }
  assert.throws(() => new UdpEndpoint(new Uint8Array(5), 1), TypeError);
  assert.throws(() => new UdpEndpoint('192.0.2.1', 70000), RangeError);
});

test('EndpointTable interns by address and port, and is bounded', () => {
  const t = new EndpointTable(2);
  const a = t.get('192.0.2.1', 1);
  assert.equal(t.get('192.0.2.1', 1), a);
  assert.notEqual(t.get('192.0.2.1', 2), a);
  t.get('192.0.2.1', 3); // past the limit: the table starts over
  assert.notEqual(t.get('192.0.2.1', 1), a);
});

test('a zone is kept and printed, as wireguard-go prints a link-local endpoint; it is part of the address', () => {
  const ep = parseEndpoint('[fe80::1%vA]:51820');
  assert.equal(ep.zone, 'vA');
  assert.equal(ep.address, 'fe80::1%vA', 'the address text a portable bind sends to');
  assert.equal(ep.toString(), '[fe80::1%vA]:51820');
  assert.deepEqual([...ep.addressBytes], [0xfe, 0x80, ...new Uint8Array(13), 1]);
  assert.equal(parseEndpoint('[fe80::1]:51820').zone, '');
  assert.equal(new UdpEndpoint('fe80::1%eth0', 1).toString(), '[fe80::1%eth0]:1', 'text with a zone (a dgram source)');
  assert.equal(new UdpEndpoint(ep.addressBytes, 1, 'eth1').toString(), '[fe80::1%eth1]:1', 'bytes and a zone');
  assert.throws(() => new UdpEndpoint(Uint8Array.of(192, 0, 2, 1), 1, 'eth0'), TypeError, 'no zone on IPv4');
  assert.throws(() => new UdpEndpoint(ep.addressBytes, 1, 'a:b'), TypeError);
  const t = new EndpointTable();
  assert.notEqual(t.get('fe80::1%vA', 1), t.get('fe80::1%vB', 1), 'one address on two links: two endpoints');
});
