// Tests for HASH, MAC, HMAC and KDF: RFC 7693 Appendix B and the Appendix E self-test (which drives
// keyed BLAKE2s at output length 16, the MAC), the BLAKE2 reference keyed KAT, wireguard-go's
// kdf_test.go vectors, WireGuard's initial chaining key and hash, and @noble/hashes as a twin.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { blake2s as nobleBlake2s } from '@noble/hashes/blake2.js';
import { hmac as nobleHmac } from '@noble/hashes/hmac.js';
import { blake2s, hash, hmac, kdf, mac } from './blake2s.js';
import { fromHex, loadVectors, toHex } from './_testing.js';

interface Rfc7693 {
  hash: { input: string; out: string }[];
  keyed: { key: string; input: string; out: string }[];
  selftest: { mdLen: number[]; inLen: number[]; grandHash: string };
}
interface KdfVectors {
  kdf: { key: string; input: string; t0: string; t1: string; t2: string }[];
}
interface Initial {
  construction: string;
  identifier: string;
  chainingKey: string;
  hash: string;
}
const B = loadVectors<Rfc7693>('rfc7693.json');
const K = loadVectors<KdfVectors>('wireguard-go-kdf.json');
const W = loadVectors<Initial>('wireguard-initial.json');
const utf8 = (s: string): Uint8Array => new TextEncoder().encode(s);
const rand = (n: number): Uint8Array => new Uint8Array(randomBytes(n));

test('RFC 7693 Appendix B: BLAKE2s-256("abc"), whole and split', () => {
  for (const v of B.hash) {
    const out = new Uint8Array(32);
    const input = fromHex(v.input);
    hash(out, input);
    assert.equal(toHex(out), v.out);
    hash(out, input.subarray(0, 1), input.subarray(1));
    assert.equal(toHex(out), v.out);
    blake2s(out, input);
    assert.equal(toHex(out), v.out);
  }
});

test('BLAKE2 reference keyed KAT (key 00..1f)', () => {
  for (const v of B.keyed) {
    const out = new Uint8Array(32);
    blake2s(out, fromHex(v.input), fromHex(v.key));
    assert.equal(toHex(out), v.out);
  }
});

// RFC 7693 Appendix E: selftest_seq is a Fibonacci-like byte generator seeded by the length.
function selftestSeq(len: number, seed: number): Uint8Array {
  const out = new Uint8Array(len);
  let a = Math.imul(0xdead4bad, seed) >>> 0;
  let b = 1;
  for (let i = 0; i < len; i++) {
    const t = (a + b) >>> 0;
    a = b;
    b = t;
    out[i] = t >>> 24;
  }
  return out;
}

test('RFC 7693 Appendix E self-test (unkeyed and keyed, output lengths 16..32)', () => {
  const parts: Uint8Array[] = [];
  for (const outLen of B.selftest.mdLen) {
    for (const inLen of B.selftest.inLen) {
      const input = selftestSeq(inLen, inLen);
      const md = new Uint8Array(outLen);
      blake2s(md, input);
      parts.push(md.slice());
      const key = selftestSeq(outLen, outLen);
      blake2s(md, input, key);
      parts.push(md.slice());
      if (outLen === 16) {
        const m = new Uint8Array(16);
        mac(m, key, input);
        assert.deepEqual(m, md, `mac equals keyed BLAKE2s-128, inLen ${inLen}`);
      }
    }
  }
  const all = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let at = 0;
  for (const p of parts) {
    all.set(p, at);
    at += p.length;
  }
  const grand = new Uint8Array(32);
  hash(grand, all);
  assert.equal(toHex(grand), B.selftest.grandHash);
});

test('WireGuard initial chaining key and hash (5.4)', () => {
  const ck = new Uint8Array(32);
  hash(ck, utf8(W.construction));
  assert.equal(toHex(ck), W.chainingKey);
  const h = new Uint8Array(32);
  hash(h, ck, utf8(W.identifier));
  assert.equal(toHex(h), W.hash);
});

test('hash: output may alias an input (MixHash: h = HASH(h || data))', () => {
  for (let i = 0; i < 20; i++) {
    const h = rand(32);
    const data = rand(i * 7);
    const expect = new Uint8Array(32);
    hash(expect, h.slice(), data);
    hash(h, h, data);
    assert.deepEqual(h, expect);
  }
});

test('hash and mac equal @noble/hashes on random input', () => {
  for (let i = 0; i < 100; i++) {
    const a = rand(i);
    const b = rand((i * 13) % 150);
    const both = new Uint8Array(a.length + b.length);
    both.set(a);
    both.set(b, a.length);
    const h = new Uint8Array(32);
    hash(h, a, b);
    assert.deepEqual(h, nobleBlake2s(both));
    const key = rand(i % 2 === 0 ? 32 : 16); // mac1 keys are 32 bytes, mac2 (cookie) keys 16
    const m = new Uint8Array(16);
    mac(m, key, both);
    assert.deepEqual(m, nobleBlake2s(both, { key, dkLen: 16 }));
  }
});

test('mac writes into unaligned views', () => {
  const key = rand(32);
  const data = rand(116);
  const expect = nobleBlake2s(data, { key, dkLen: 16 });
  const buf = new Uint8Array(64);
  for (let off = 0; off < 8; off++) {
    buf.fill(0xee);
    mac(buf.subarray(off, off + 16), key, data);
    assert.deepEqual(buf.subarray(off, off + 16), expect, `offset ${off}`);
    assert.equal(buf[off + 16], 0xee, 'nothing written past the MAC');
  }
});

test('hmac equals @noble/hashes hmac(blake2s) across key lengths around the block size', () => {
  for (const keyLen of [0, 1, 16, 32, 63, 64, 65, 100]) {
    for (const dataLen of [0, 1, 33, 64, 200]) {
      const key = rand(keyLen);
      const data = rand(dataLen);
      const out = new Uint8Array(32);
      hmac(out, key, data);
      assert.deepEqual(out, nobleHmac(nobleBlake2s, key, data), `key ${keyLen} data ${dataLen}`);
    }
  }
});

test('wireguard-go kdf_test.go: KDF3, KDF2, KDF1', () => {
  for (const v of K.kdf) {
    const key = fromHex(v.key);
    const input = fromHex(v.input);
    const t0 = new Uint8Array(32);
    const t1 = new Uint8Array(32);
    const t2 = new Uint8Array(32);
    kdf(key, input, t0, t1, t2);
    assert.deepEqual([toHex(t0), toHex(t1), toHex(t2)], [v.t0, v.t1, v.t2]);
    t0.fill(0);
    t1.fill(0);
    kdf(key, input, t0, t1);
    assert.deepEqual([toHex(t0), toHex(t1)], [v.t0, v.t1]);
    t0.fill(0);
    kdf(key, input, t0);
    assert.equal(toHex(t0), v.t0);
  }
});

test('kdf: outputs may alias the chaining key, as in kdf(ck, dh, ck, key)', () => {
  for (let i = 0; i < 20; i++) {
    const ck = rand(32);
    const input = rand(32);
    const e1 = new Uint8Array(32);
    const e2 = new Uint8Array(32);
    const e3 = new Uint8Array(32);
    kdf(ck, input, e1, e2, e3);
    const key = new Uint8Array(32);
    const tau = new Uint8Array(32);
    kdf(ck, input, ck, tau, key);
    assert.deepEqual([ck, tau, key], [e1, e2, e3]);
  }
});

test('kdf equals an HKDF written from the definition, using the twin HMAC', () => {
  for (let i = 0; i < 20; i++) {
    const ck = rand(32);
    const input = rand(i * 5);
    const prk = nobleHmac(nobleBlake2s, ck, input);
    const t1 = nobleHmac(nobleBlake2s, prk, Uint8Array.of(1));
    const t2 = nobleHmac(nobleBlake2s, prk, Uint8Array.of(...t1, 2));
    const t3 = nobleHmac(nobleBlake2s, prk, Uint8Array.of(...t2, 3));
    const o = [new Uint8Array(32), new Uint8Array(32), new Uint8Array(32)] as const;
    kdf(ck, input, o[0], o[1], o[2]);
    assert.deepEqual([...o], [t1, t2, t3]);
  }
});

test('length checks throw RangeError', () => {
  assert.throws(() => hash(new Uint8Array(31), new Uint8Array(1)), RangeError);
  assert.throws(() => mac(new Uint8Array(32), rand(32), new Uint8Array(1)), RangeError);
  assert.throws(() => hmac(new Uint8Array(16), rand(32), new Uint8Array(1)), RangeError);
  assert.throws(() => kdf(rand(32), rand(1), new Uint8Array(16)), RangeError);
  assert.throws(() => blake2s(new Uint8Array(33), rand(1)), RangeError);
  assert.throws(() => blake2s(new Uint8Array(32), rand(1), rand(33)), RangeError);
});
