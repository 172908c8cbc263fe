// The text forms of addresses and prefixes: what `wg` accepts and prints.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parseCidr, formatCidr, parseIp, formatIp, formatIpZone, isZone, parseIpZone } from './address.js';

function ip4(a: number, b: number, c: number, d: number): Uint8Array {
  return Uint8Array.of(a, b, c, d);
}

function ip6(a: number, b: number, c: number, d: number): Uint8Array {
  const out = new Uint8Array(16);
  const v = new DataView(out.buffer);
  v.setUint32(0, a);
  v.setUint32(4, b);
  v.setUint32(8, c);
  v.setUint32(12, d);
  return out;
}

function rng(seed: number): () => number {
  let s = seed >>> 0 || 1;
  return () => {
    s ^= s << 13;
    s >>>= 0;
    s ^= s >>> 17;
    s ^= s << 5;
    s >>>= 0;
    return s;
  };
}

test('parseCidr accepts what wg accepts', () => {
  assert.deepEqual(parseCidr('10.0.0.1/32'), { ip: ip4(10, 0, 0, 1), cidr: 32, family: 4 });
  assert.deepEqual(parseCidr('10.0.0.1/24'), { ip: ip4(10, 0, 0, 1), cidr: 24, family: 4 }, 'host bits kept');
  assert.deepEqual(parseCidr('10.0.0.1'), { ip: ip4(10, 0, 0, 1), cidr: 32, family: 4 });
  assert.deepEqual(parseCidr('0.0.0.0/0'), { ip: ip4(0, 0, 0, 0), cidr: 0, family: 4 });
  assert.deepEqual(parseCidr('fd00::/64'), { ip: ip6(0xfd000000, 0, 0, 0), cidr: 64, family: 6 });
  assert.deepEqual(parseCidr('::/0'), { ip: new Uint8Array(16), cidr: 0, family: 6 });
  assert.deepEqual(parseCidr('::'), { ip: new Uint8Array(16), cidr: 128, family: 6 });
  assert.deepEqual(parseCidr('::1'), { ip: ip6(0, 0, 0, 1), cidr: 128, family: 6 });
  assert.deepEqual(parseCidr('1::'), { ip: ip6(0x00010000, 0, 0, 0), cidr: 128, family: 6 });
  assert.deepEqual(parseCidr('::ffff:1.2.3.4/128').ip, ip6(0, 0, 0xffff, 0x01020304));
  assert.deepEqual(parseCidr('1:2:3:4:5:6:1.2.3.4').ip, ip6(0x00010002, 0x00030004, 0x00050006, 0x01020304));
  assert.deepEqual(parseCidr('FD00:0:0:0:0:0:0:1/127').ip, ip6(0xfd000000, 0, 0, 1));
  assert.deepEqual(parseCidr('1:2:3:4:5:6:7::').ip, ip6(0x00010002, 0x00030004, 0x00050006, 0x00070000));
  assert.deepEqual(parseCidr('::2:3:4:5:6:7:8').ip, ip6(0x00000002, 0x00030004, 0x00050006, 0x00070008));
  assert.equal(parseCidr('10.0.0.0/024').cidr, 24, 'strtoul-style leading zeros in the prefix');
});

test('parseCidr rejects bad text, naming it', () => {
  const bad = [
    '', '/', '10.0.0.1/', '10.0.0.1/33', '10.0.0.256', '10.0.0', '10.0.0.1.2', '010.0.0.1', '10.0.0.1/-1',
    '10.0.0.1/3 2', ' 10.0.0.1', '10.0.0.1/1/2', '::/129', ':::', '1::2::3', ':1::', '1:2:3:4:5:6:7:8:9',
    '1:2:3:4:5:6:7', '1:2:3:4:5:6:7:8::', '12345::', 'g::', 'fe80::1%eth0', '1.2.3.4::', '::1.2.3', '::1.2.3.4:5',
    '1:2:3:4:5:6:7:1.2.3.4', 'localhost', '1:',
  ];
  for (const text of bad) {
    assert.throws(() => parseCidr(text), (e: unknown) => e instanceof RangeError && e.message.includes(`'${text}'`), `'${text}'`);
  }
  assert.throws(() => parseCidr(42 as unknown as string), TypeError);
});

test('formatCidr prints what wg prints', () => {
  const cases: Array<[string, string]> = [
    ['10.0.0.1/32', '10.0.0.1/32'],
    ['10.0.0.1/24', '10.0.0.0/24'],
    ['10.255.255.255/9', '10.128.0.0/9'],
    ['1.2.3.4/0', '0.0.0.0/0'],
    ['::/0', '::/0'],
    ['ffff::1/0', '::/0'],
    ['::', '::/128'],
    ['::1', '::1/128'],
    ['FD00:0000:0000:0000:0000:0000:0000:0001/64', 'fd00::/64'],
    ['fd00::1', 'fd00::1/128'],
    ['2001:db8:0:0:1:0:0:1', '2001:db8::1:0:0:1/128'], // first of two equal runs
    ['2001:db8:0:1:1:1:1:1', '2001:db8:0:1:1:1:1:1/128'], // a lone zero is not compressed
    ['2001:0:0:1:0:0:0:1', '2001:0:0:1::1/128'], // the longer run wins
    ['1:0:0:0:0:0:0:0', '1::/128'],
    ['::ffff:1.2.3.4', '::ffff:1.2.3.4/128'],
    ['::ffff:102:304/96', '::ffff:0.0.0.0/96'],
    ['::1.2.3.4', '::102:304/128'], // only mapped addresses keep the dotted form
    ['fe80::abcd:ef01:2345:6789/10', 'fe80::/10'],
  ];
  for (const [input, expected] of cases) {
    const p = parseCidr(input);
    assert.equal(formatCidr(p.ip, p.cidr), expected, input);
    const again = parseCidr(expected);
    assert.equal(formatCidr(again.ip, again.cidr), expected, `round trip of ${expected}`);
  }
  assert.throws(() => formatCidr(new Uint8Array(4), 33), RangeError);
  assert.throws(() => formatCidr(new Uint8Array(6), 0), TypeError);
});

test('formatIp and parseIp round trip random addresses', () => {
  const rand = rng(99);
  for (let i = 0; i < 5000; i++) {
    const len = i % 2 === 0 ? 4 : 16;
    const ip = Uint8Array.from({ length: len }, () => rand() & 0xff);
    // zero some groups so compression gets exercised
    if (len === 16) for (let g = 0; g < 8; g++) if (rand() % 2 === 0) ip[2 * g] = ip[2 * g + 1] = 0;
    const text = formatIp(ip);
    assert.equal(text, text.toLowerCase());
    assert.deepEqual(parseIp(text), ip, text);
  }
  assert.equal(parseIp('nonsense'), null);
});

test('zones (RFC 4007 §11.2): an interface name or index after an IPv6 address, kept as written', () => {
  assert.deepEqual(parseIpZone('fe80::1%eth0'), { ip: ip6(0xfe800000, 0, 0, 1), zone: 'eth0' });
  assert.deepEqual(parseIpZone('FE80:0::1%7'), { ip: ip6(0xfe800000, 0, 0, 1), zone: '7' });
  assert.deepEqual(parseIpZone('2001:db8::1'), { ip: ip6(0x20010db8, 0, 0, 1), zone: '' });
  assert.deepEqual(parseIpZone('192.0.2.1'), { ip: ip4(192, 0, 2, 1), zone: '' });
  for (const bad of ['fe80::1%', 'fe80::1%a/b', 'fe80::1%a:b', 'fe80::1%a b', 'fe80::1%a%b', 'fe80::1%x]', 'fe80::1%.', 'fe80::1%..',
    'fe80::1%0123456789abcdef', '192.0.2.1%eth0', 'fe80::g%eth0', '%eth0']) {
    assert.equal(parseIpZone(bad), null, bad);
  }
  assert.ok(isZone('vA') && isZone('wg0.100') && isZone('4294967295') && isZone('123456789abcdef'));
  assert.ok(!isZone('') && !isZone('123456789abcdef0'), '1..15 bytes');
  assert.equal(formatIpZone(ip6(0xfe800000, 0, 0, 1), 'eth0'), 'fe80::1%eth0');
  assert.equal(formatIpZone(ip6(0xfe800000, 0, 0, 1), ''), 'fe80::1');
  for (const text of ['fe80::1%eth0', 'fe80::abcd:1%12', '2001:db8::%lo']) {
    const p = parseIpZone(text)!;
    assert.equal(formatIpZone(p.ip, p.zone), text, 'round trip');
  }
});
