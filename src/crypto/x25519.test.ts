// Tests for X25519: RFC 7748 §5.2 and §6.1 vectors, the all-zero outputs of small-order points, and
// the JWK fast path against its DER twin on random keys.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { generatePrivateKey, publicKey, x25519, x25519ViaDer } from './x25519.js';
import { fromHex, loadVectors, toHex } from './_testing.js';

interface Rfc7748 {
  scalarmult: { section: string; scalar: string; u: string; out: string }[];
  iterated: { start: string; after1: string; after1000: string };
  dh: {
    alicePrivate: string;
    alicePublic: string;
    bobPrivate: string;
    bobPublic: string;
    shared: string;
  };
  lowOrder: { points: string[] };
}
const V = loadVectors<Rfc7748>('rfc7748.json');
const IMPLS = [
  ['jwk', x25519],
  ['der', x25519ViaDer],
] as const;

for (const [name, dh] of IMPLS) {
  test(`RFC 7748 §5.2 scalar multiplication (${name})`, () => {
    for (const v of V.scalarmult) {
      const out = new Uint8Array(32);
      assert.equal(dh(out, fromHex(v.scalar), fromHex(v.u)), true, v.section);
      assert.equal(toHex(out), v.out, v.section);
    }
  });

  test(`RFC 7748 §6.1 Diffie-Hellman (${name})`, () => {
    const ab = new Uint8Array(32);
    const ba = new Uint8Array(32);
    assert.equal(dh(ab, fromHex(V.dh.alicePrivate), fromHex(V.dh.bobPublic)), true);
    assert.equal(dh(ba, fromHex(V.dh.bobPrivate), fromHex(V.dh.alicePublic)), true);
    assert.equal(toHex(ab), V.dh.shared);
    assert.equal(toHex(ba), V.dh.shared);
  });

  test(`small-order points give false and a zeroed output (${name})`, () => {
    const priv = generatePrivateKey();
    for (const p of V.lowOrder.points) {
      const out = new Uint8Array(32).fill(0xaa);
      assert.equal(dh(out, priv, fromHex(p)), false, p);
      assert.deepEqual(out, new Uint8Array(32), p);
    }
  });
}

test('RFC 7748 §6.1 public keys', () => {
  assert.equal(toHex(publicKey(fromHex(V.dh.alicePrivate))), V.dh.alicePublic);
  assert.equal(toHex(publicKey(fromHex(V.dh.bobPrivate))), V.dh.bobPublic);
});

test('RFC 7748 §5.2 iterated, 1 and 1,000 rounds', () => {
  let k = fromHex(V.iterated.start);
  let u = fromHex(V.iterated.start);
  for (let i = 1; i <= 1000; i++) {
    const next = new Uint8Array(32);
    assert.equal(x25519(next, k, u), true);
    u = k;
    k = next;
    if (i === 1) assert.equal(toHex(k), V.iterated.after1);
  }
  assert.equal(toHex(k), V.iterated.after1000);
});

test('generatePrivateKey is clamped and fresh', () => {
  const a = generatePrivateKey();
  const b = generatePrivateKey();
  assert.equal(a.length, 32);
  assert.notDeepEqual(a, b);
  for (let i = 0; i < 50; i++) {
    const k = generatePrivateKey();
    assert.equal(k[0]! & 7, 0);
    assert.equal(k[31]! & 0x80, 0);
    assert.equal(k[31]! & 0x40, 0x40);
  }
});

test('agreement, and JWK path equals DER twin on random keys', () => {
  for (let i = 0; i < 20; i++) {
    const a = generatePrivateKey();
    const b = new Uint8Array(randomBytes(32)); // unclamped: X25519 clamps internally
    const pa = publicKey(a);
    const pb = publicKey(b);
    const s1 = new Uint8Array(32);
    const s2 = new Uint8Array(32);
    const s3 = new Uint8Array(32);
    assert.equal(x25519(s1, a, pb), true);
    assert.equal(x25519(s2, b, pa), true);
    assert.equal(x25519ViaDer(s3, a, pb), true);
    assert.deepEqual(s1, s2);
    assert.deepEqual(s1, s3);
  }
});

test('works on views at any offset', () => {
  const buf = new Uint8Array(100);
  const priv = buf.subarray(1, 33);
  priv.set(fromHex(V.dh.alicePrivate));
  const pub = buf.subarray(35, 67);
  pub.set(fromHex(V.dh.bobPublic));
  const out = buf.subarray(67, 99);
  assert.equal(x25519(out, priv, pub), true);
  assert.equal(toHex(out), V.dh.shared);
  assert.equal(toHex(publicKey(priv)), V.dh.alicePublic);
});

test('wrong lengths throw RangeError', () => {
  const k = generatePrivateKey();
  assert.throws(() => x25519(new Uint8Array(31), k, k), RangeError);
  assert.throws(() => x25519(new Uint8Array(32), k.subarray(1), k), RangeError);
  assert.throws(() => x25519(new Uint8Array(32), k, new Uint8Array(33)), RangeError);
  assert.throws(() => publicKey(new Uint8Array(16)), RangeError);
});
