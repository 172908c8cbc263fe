// Tests for the cryptokey routing trie: the kernel's selftest/allowedips.c fixed cases (as ported to
// wireguard-go's allowedips_test.go), then random differential runs against a deliberately naive list
// version (the kernel's `horrible_` helpers), then the text forms.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { AllowedIPs } from './allowed-ips.js';
import { parseCidr, formatCidr } from '../net/address.js';

class Peer {
  constructor(readonly name: string) {}
}

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

function find<T extends object>(t: AllowedIPs<T>, ip: Uint8Array): T | null {
  return t.lookup(ip, 0, ip.length === 4 ? 4 : 6);
}

function roots(t: AllowedIPs<object>): { root4: unknown; root6: unknown } {
  return t as unknown as { root4: unknown; root6: unknown };
}

test('kernel IPv4 cases', () => {
  const [a, b, c, d, e, g, h] = ['a', 'b', 'c', 'd', 'e', 'g', 'h'].map((n) => new Peer(n)) as [Peer, Peer, Peer, Peer, Peer, Peer, Peer];
  const t = new AllowedIPs<Peer>();
  t.insert(ip4(192, 168, 4, 0), 24, a);
  t.insert(ip4(192, 168, 4, 4), 32, b);
  t.insert(ip4(192, 168, 0, 0), 16, c);
  t.insert(ip4(192, 95, 5, 64), 27, d);
  t.insert(ip4(192, 95, 5, 65), 27, c); // same prefix as d's, after masking: c takes it
  t.insert(ip4(0, 0, 0, 0), 0, e);
  t.insert(ip4(64, 15, 112, 0), 20, g);
  t.insert(ip4(64, 15, 123, 211), 25, h);
  t.insert(ip4(10, 0, 0, 0), 25, a);
  t.insert(ip4(10, 0, 0, 128), 25, b);
  t.insert(ip4(10, 1, 0, 0), 30, a);
  t.insert(ip4(10, 1, 0, 4), 30, b);
  t.insert(ip4(10, 1, 0, 8), 29, c);
  t.insert(ip4(10, 1, 0, 16), 29, d);

  assert.equal(find(t, ip4(192, 168, 4, 20)), a);
  assert.equal(find(t, ip4(192, 168, 4, 0)), a);
  assert.equal(find(t, ip4(192, 168, 4, 4)), b);
  assert.equal(find(t, ip4(192, 168, 200, 182)), c);
  assert.equal(find(t, ip4(192, 95, 5, 68)), c);
  assert.equal(find(t, ip4(192, 95, 5, 96)), e);
  assert.equal(find(t, ip4(64, 15, 116, 26)), g);
  assert.equal(find(t, ip4(64, 15, 127, 3)), g);

  for (const first of [1, 64, 128, 192, 255]) t.insert(ip4(first, 0, 0, 0), 32, a);
  for (const first of [1, 64, 128, 192, 255]) assert.equal(find(t, ip4(first, 0, 0, 0)), a);
  t.removeByValue(a);
  for (const first of [1, 64, 128, 192, 255]) assert.notEqual(find(t, ip4(first, 0, 0, 0)), a);

  for (const p of [a, b, c, d, e, g, h]) t.removeByValue(p);
  assert.equal(roots(t).root4, null, 'removing every owner empties the trie');
  assert.equal(roots(t).root6, null);
  assert.equal(t.size, 0);

  t.insert(ip4(192, 168, 0, 0), 16, a);
  t.insert(ip4(192, 168, 0, 0), 24, a);
  t.removeByValue(a);
  assert.equal(find(t, ip4(192, 168, 0, 1)), null);
  assert.equal(roots(t).root4, null);
});

test('kernel IPv6 cases', () => {
  const [a, b, c, d, e, f, g, h] = 'abcdefgh'.split('').map((n) => new Peer(n)) as [Peer, Peer, Peer, Peer, Peer, Peer, Peer, Peer];
  const t = new AllowedIPs<Peer>();
  t.insert(ip6(0x26075300, 0x60006b00, 0, 0xc05f0543), 128, d);
  t.insert(ip6(0x26075300, 0x60006b00, 0, 0), 64, c);
  t.insert(ip6(0, 0, 0, 0), 0, e);
  t.insert(ip6(0, 0, 0, 0), 0, f);
  t.insert(ip6(0x24046800, 0, 0, 0), 32, g);
  t.insert(ip6(0x24046800, 0x40040800, 0xdeadbeef, 0xdeadbeef), 64, h);
  t.insert(ip6(0x24046800, 0x40040800, 0xdeadbeef, 0xdeadbeef), 128, a);
  t.insert(ip6(0x24446800, 0x40e40800, 0xdeaebeef, 0xdefbeef), 128, c);
  t.insert(ip6(0x24446800, 0xf0e40800, 0xeeaebeef, 0), 98, b);

  assert.equal(find(t, ip6(0x26075300, 0x60006b00, 0, 0xc05f0543)), d);
  assert.equal(find(t, ip6(0x26075300, 0x60006b00, 0, 0xc02e01ee)), c);
  assert.equal(find(t, ip6(0x26075300, 0x60006b01, 0, 0)), f);
  assert.equal(find(t, ip6(0x24046800, 0x40040806, 0, 0x1006)), g);
  assert.equal(find(t, ip6(0x24046800, 0x40040806, 0x1234, 0x5678)), g);
  assert.equal(find(t, ip6(0x240467ff, 0x40040806, 0x1234, 0x5678)), f);
  assert.equal(find(t, ip6(0x24046801, 0x40040806, 0x1234, 0x5678)), f);
  assert.equal(find(t, ip6(0x24046800, 0x40040800, 0x1234, 0x5678)), h);
  assert.equal(find(t, ip6(0x24046800, 0x40040800, 0, 0)), h);
  assert.equal(find(t, ip6(0x24046800, 0x40040800, 0x10101010, 0x10101010)), h);
  assert.equal(find(t, ip6(0x24046800, 0x40040800, 0xdeadbeef, 0xdeadbeef)), a);
  assert.equal(t.size, 8, 'the /0 was given to f, not added twice');
  assert.deepEqual(t.entriesFor(e), []);
});

// ---- the horrible version: a flat list, scanned in full for every lookup ----

interface HorribleEntry {
  ip: Uint8Array; // masked
  cidr: number;
  value: Peer;
}

function horribleMask(ip: Uint8Array, cidr: number): Uint8Array {
  const out = new Uint8Array(ip.length);
  for (let i = 0; i < ip.length; i++) {
    const bits = Math.min(8, Math.max(0, cidr - 8 * i));
    out[i] = ip[i]! & ((0xff00 >> bits) & 0xff);
  }
  return out;
}

function horribleMatch(prefix: Uint8Array, cidr: number, ip: Uint8Array): boolean {
  if (prefix.length !== ip.length) return false;
  const masked = horribleMask(ip, cidr);
  for (let i = 0; i < ip.length; i++) if (masked[i] !== prefix[i]) return false;
  return true;
}

class HorribleAllowedIPs {
  entries: HorribleEntry[] = [];
  insert(ip: Uint8Array, cidr: number, value: Peer): void {
    const masked = horribleMask(ip, cidr);
    const old = this.entries.findIndex((e) => e.cidr === cidr && horribleMatch(e.ip, cidr, masked));
    if (old >= 0) this.entries.splice(old, 1);
    this.entries.push({ ip: masked, cidr, value });
  }
  remove(ip: Uint8Array, cidr: number, value: Peer): boolean {
    const masked = horribleMask(ip, cidr);
    const i = this.entries.findIndex((e) => e.cidr === cidr && e.value === value && horribleMatch(e.ip, cidr, masked));
    if (i < 0) return false;
    this.entries.splice(i, 1);
    return true;
  }
  removeByValue(value: Peer): void {
    this.entries = this.entries.filter((e) => e.value !== value);
  }
  lookup(ip: Uint8Array): Peer | null {
    let best: HorribleEntry | null = null;
    for (const e of this.entries) {
      if (horribleMatch(e.ip, e.cidr, ip) && (best === null || e.cidr > best.cidr)) best = e;
    }
    return best === null ? null : best.value;
  }
  entriesFor(value: Peer): Array<{ ip: Uint8Array; cidr: number }> {
    return this.entries.filter((e) => e.value === value).map((e) => ({ ip: e.ip, cidr: e.cidr }));
  }
}

/** xorshift32, seeded, so a failure reproduces. */
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

function key(e: { ip: Uint8Array; cidr: number }): string {
  return `${e.ip.join('.')}/${e.cidr}`;
}

function differential(family: 4 | 6, seed: number): void {
  const rand = rng(seed);
  const len = family === 4 ? 4 : 16;
  const bits = len * 8;
  const peers = Array.from({ length: 12 }, (_, i) => new Peer(`p${i}`));
  // Addresses come from a few bases with random low-order noise, so prefixes nest and branch deeply.
  const bases = Array.from({ length: 6 }, () => Uint8Array.from({ length: len }, () => rand() & 0xff));
  const randomIp = (): Uint8Array => {
    const ip = bases[rand() % bases.length]!.slice();
    const flips = rand() % 4;
    for (let k = 0; k < flips; k++) {
      const bit = bits - 1 - (rand() % Math.min(bits, 24 + (rand() % bits)));
      ip[bit >> 3]! ^= 0x80 >> (bit & 7);
    }
    return ip;
  };
  const fast = new AllowedIPs<Peer>();
  const slow = new HorribleAllowedIPs();
  const packet = new Uint8Array(len + 24);

  for (let step = 0; step < 6000; step++) {
    const op = rand() % 100;
    const peer = peers[rand() % peers.length]!;
    if (op < 45) {
      const ip = randomIp();
      const cidr = rand() % (bits + 1);
      fast.insert(ip, cidr, peer);
      slow.insert(ip, cidr, peer);
    } else if (op < 60) {
      // Remove something that exists (possibly asking as the wrong owner) or something random.
      let ip: Uint8Array;
      let cidr: number;
      if (slow.entries.length > 0 && rand() % 4 !== 0) {
        const e = slow.entries[rand() % slow.entries.length]!;
        ip = e.ip;
        cidr = e.cidr;
      } else {
        ip = randomIp();
        cidr = rand() % (bits + 1);
      }
      const asOwner = rand() % 3 !== 0 ? (slow.lookup(ip) ?? peer) : peer;
      assert.equal(fast.remove(ip, cidr, asOwner), slow.remove(ip, cidr, asOwner), `step ${step} remove`);
    } else if (op < 63) {
      fast.removeByValue(peer);
      slow.removeByValue(peer);
    } else {
      const ip = randomIp();
      const offset = rand() % 24;
      packet.fill(0xa5);
      packet.set(ip, offset);
      assert.equal(fast.lookup(packet, offset, family), slow.lookup(ip), `step ${step} lookup ${ip.join('.')}`);
    }
    assert.equal(fast.size, slow.entries.length, `step ${step} size`);
  }
  for (let i = 0; i < 3000; i++) {
    const ip = randomIp();
    assert.equal(find(fast, ip), slow.lookup(ip), `final lookup ${ip.join('.')}`);
  }
  for (const p of peers) {
    assert.deepEqual(fast.entriesFor(p).map(key).sort(), slow.entriesFor(p).map(key).sort(), `entries of ${p.name}`);
  }
  for (const p of peers) fast.removeByValue(p);
  assert.equal(fast.size, 0);
  assert.equal(roots(fast).root4, null);
  assert.equal(roots(fast).root6, null);
}

test('random differential against the horrible list, IPv4', () => {
  for (let seed = 1; seed <= 4; seed++) differential(4, seed);
});

test('random differential against the horrible list, IPv6', () => {
  for (let seed = 11; seed <= 14; seed++) differential(6, seed);
});

test('families are separate tables', () => {
  const a = new Peer('a');
  const b = new Peer('b');
  const t = new AllowedIPs<Peer>();
  t.insert(new Uint8Array(4), 0, a);
  t.insert(new Uint8Array(16), 0, b);
  assert.equal(find(t, ip4(1, 2, 3, 4)), a);
  assert.equal(find(t, ip6(1, 2, 3, 4)), b);
  assert.equal(t.size, 2);
  t.clear();
  assert.equal(t.size, 0);
  assert.equal(find(t, ip4(1, 2, 3, 4)), null);
  assert.deepEqual(t.entriesFor(a), []);
});

test('insert masks host bits, replaces the owner of an exact prefix, and copies the address', () => {
  const a = new Peer('a');
  const b = new Peer('b');
  const t = new AllowedIPs<Peer>();
  const ip = ip4(10, 1, 2, 3);
  t.insert(ip, 8, a);
  ip[0] = 99; // the table must not keep the caller's bytes
  assert.equal(find(t, ip4(10, 200, 0, 1)), a);
  assert.deepEqual(t.entriesFor(a), [{ ip: ip4(10, 0, 0, 0), cidr: 8 }]);
  t.insert(ip4(10, 9, 9, 9), 8, b);
  assert.equal(t.size, 1);
  assert.equal(find(t, ip4(10, 200, 0, 1)), b);
  assert.deepEqual(t.entriesFor(a), []);
  assert.deepEqual(t.entriesFor(b), [{ ip: ip4(10, 0, 0, 0), cidr: 8 }]);
  // remove only by the owner
  assert.equal(t.remove(ip4(10, 0, 0, 0), 8, a), false);
  assert.equal(t.remove(ip4(10, 0, 0, 0), 16, b), false);
  assert.equal(t.remove(ip4(10, 3, 3, 3), 8, b), true);
  assert.equal(t.size, 0);
  assert.equal(roots(t).root4, null);
});

test('entriesFor keeps the order prefixes were given', () => {
  const a = new Peer('a');
  const t = new AllowedIPs<Peer>();
  const texts = ['10.0.0.0/8', 'fd00::/64', '192.168.1.1/32', '0.0.0.0/0', '::/0', '10.1.0.0/16'];
  for (const text of texts) {
    const p = parseCidr(text);
    t.insert(p.ip, p.cidr, a);
  }
  assert.deepEqual(t.entriesFor(a).map((e) => formatCidr(e.ip, e.cidr)), texts);
  // forEachFor lists the same, through one scratch array per family that it overwrites.
  const seen: string[] = [];
  const arrays = new Set<Uint8Array>();
  t.forEachFor(a, (ip, cidr) => {
    seen.push(formatCidr(ip, cidr));
    arrays.add(ip);
  });
  assert.deepEqual(seen, texts);
  assert.equal(arrays.size, 2);
  t.forEachFor(new Peer('none'), () => assert.fail('a value without prefixes has none to list'));
});

test('removing branch points keeps lookups right', () => {
  const [a, b, c] = [new Peer('a'), new Peer('b'), new Peer('c')];
  const t = new AllowedIPs<Peer>();
  t.insert(ip4(10, 0, 0, 0), 8, a);
  t.insert(ip4(10, 1, 0, 0), 16, b);
  t.insert(ip4(10, 2, 0, 0), 16, c);
  assert.equal(t.remove(ip4(10, 0, 0, 0), 8, a), true); // leaves an ownerless branch point
  assert.equal(find(t, ip4(10, 1, 1, 1)), b);
  assert.equal(find(t, ip4(10, 2, 1, 1)), c);
  assert.equal(find(t, ip4(10, 3, 1, 1)), null);
  t.removeByValue(b); // the branch point goes with it
  assert.equal(find(t, ip4(10, 2, 1, 1)), c);
  t.insert(ip4(10, 0, 0, 0), 8, a);
  assert.equal(find(t, ip4(10, 3, 1, 1)), a);
  assert.equal(find(t, ip4(10, 2, 1, 1)), c);
});

test('argument checks', () => {
  const t = new AllowedIPs<Peer>();
  const a = new Peer('a');
  assert.throws(() => t.insert(new Uint8Array(5), 0, a), TypeError);
  assert.throws(() => t.insert(new Uint8Array(4), 33, a), RangeError);
  assert.throws(() => t.insert(new Uint8Array(16), 129, a), RangeError);
  assert.throws(() => t.insert(new Uint8Array(16), -1, a), RangeError);
  assert.throws(() => t.insert(new Uint8Array(16), 1.5, a), RangeError);
  assert.throws(() => t.remove(new Uint8Array(3), 0, a), TypeError);
  assert.equal(t.remove(new Uint8Array(4), 0, a), false);
  assert.equal(t.lookup(new Uint8Array(2), 0, 4), null, 'a short packet reads as zeros and finds nothing');
});

// ---- text forms ----
