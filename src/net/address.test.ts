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

/** The obvious version parseIp replaced (regular expressions and splits): its slow twin. */
function slowParseIp(text: string): Uint8Array | null {
  const v4 = (t: string, out: Uint8Array, at: number): boolean => {
    const m = /^(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})$/.exec(t);
    if (m === null) return false;
    for (let i = 0; i < 4; i++) {
      const part = m[i + 1]!;
      if ((part.length > 1 && part[0] === '0') || Number(part) > 255) return false;
      out[at + i] = Number(part);
    }
    return true;
  };
  if (!text.includes(':')) {
    const out = new Uint8Array(4);
    return v4(text, out, 0) ? out : null;
  }
  const halves = text.split('::');
  if (halves.length > 2) return null;
  const parts = halves.map((h) => (h === '' ? [] : h.split(':')));
  const groups: number[][] = [[], []];
  for (let h = 0; h < parts.length; h++) {
    for (let i = 0; i < parts[h]!.length; i++) {
      const part = parts[h]![i]!;
      const last = h === parts.length - 1 && i === parts[h]!.length - 1;
      if (last && part.includes('.')) {
        const q = new Uint8Array(4);
        if (!v4(part, q, 0)) return null;
        groups[h]!.push((q[0]! << 8) | q[1]!, (q[2]! << 8) | q[3]!);
      } else if (/^[0-9a-fA-F]{1,4}$/.test(part)) groups[h]!.push(parseInt(part, 16));
      else return null;
    }
  }
  const n = groups[0]!.length + groups[1]!.length;
  if (halves.length === 2 ? n > 7 : n !== 8) return null;
  const all = [...groups[0]!, ...new Array<number>(8 - n).fill(0), ...groups[1]!];
  const out = new Uint8Array(16);
  for (let g = 0; g < 8; g++) {
    out[2 * g] = all[g]! >>> 8;
    out[2 * g + 1] = all[g]! & 0xff;
  }
  return out;
}

test('parseIp agrees with its slow twin on random text near the address forms', () => {
  const rand = rng(7);
  const pieces = ['0', '1', '9', '00', '25', '255', '256', '01', 'a', 'F', 'ffff', '12345', 'g', '.', ':', '::', ':::', '%', ' ', '1.2.3.4'];
  for (let n = 0; n < 50_000; n++) {
    let text = '';
    const len = 1 + (rand() % 14);
    for (let i = 0; i < len; i++) text += pieces[rand() % pieces.length];
    assert.deepEqual(parseIp(text), slowParseIp(text), JSON.stringify(text));
  }
  // And on valid addresses, each with one character changed.
  const alphabet = '0123456789abcdefABCDEF.:x';
  for (let n = 0; n < 20_000; n++) {
    const ip = Uint8Array.from({ length: n % 2 === 0 ? 4 : 16 }, () => (rand() % 3 === 0 ? 0 : rand() & 0xff));
    const text = formatIp(ip);
    const at = rand() % text.length;
    const changed = text.slice(0, at) + alphabet[rand() % alphabet.length] + text.slice(at + 1);
    assert.deepEqual(parseIp(changed), slowParseIp(changed), JSON.stringify(changed));
  }
});

