// Tests for XChaCha20-Poly1305: draft-irtf-cfrg-xchacha-03 §A.3.1, round trips, tamper detection, and
// @noble/ciphers as a differential twin.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { xchacha20poly1305 } from '@noble/ciphers/chacha.js';
import { xopen, xseal } from './xaead.js';
import { fromHex, loadVectors, toHex } from './_testing.js';

interface XChaCha {
  aead: { section: string; key: string; nonce: string; ad: string; plaintext: string; ciphertext: string; tag: string }[];
}
const V = loadVectors<XChaCha>('xchacha-03.json');
const rand = (n: number): Uint8Array => new Uint8Array(randomBytes(n));

test('draft-irtf-cfrg-xchacha-03 §A.3.1', () => {
  for (const v of V.aead) {
    const pt = fromHex(v.plaintext);
    const out = new Uint8Array(pt.length + 16 + 2);
    xseal(fromHex(v.key), fromHex(v.nonce), pt, fromHex(v.ad), out, 2);
    assert.equal(toHex(out.subarray(2)), v.ciphertext + v.tag, v.section);
    const back = new Uint8Array(pt.length + 1);
    assert.equal(xopen(fromHex(v.key), fromHex(v.nonce), out.subarray(2), fromHex(v.ad), back, 1), true);
    assert.deepEqual(back.subarray(1), pt);
  }
});

test('cookie-sized round trip, tamper and short input give false without writing', () => {
  // 5.4.7: the cookie is 16 bytes, sealed under a random 24-byte nonce with mac1 as ad.
  const key = rand(32);
  const nonce = rand(24);
  const ad = rand(16);
  const cookie = rand(16);
  const sealed = new Uint8Array(32);
  xseal(key, nonce, cookie, ad, sealed, 0);
  const out = new Uint8Array(16);
  assert.equal(xopen(key, nonce, sealed, ad, out, 0), true);
  assert.deepEqual(out, cookie);
  for (const at of [0, 15, 16, 31]) {
    const bad = sealed.slice();
    bad[at]! ^= 4;
    const dst = new Uint8Array(16).fill(7);
    assert.equal(xopen(key, nonce, bad, ad, dst, 0), false, `flip at ${at}`);
    assert.deepEqual(dst, new Uint8Array(16).fill(7));
  }
  const otherAd = ad.slice();
  otherAd[0]! ^= 1;
  assert.equal(xopen(key, nonce, sealed, otherAd, out, 0), false);
  assert.equal(xopen(key, nonce, sealed.subarray(0, 15), ad, out, 0), false);
});

test('wrong lengths throw RangeError', () => {
  assert.throws(() => xseal(rand(31), rand(24), rand(16), rand(0), new Uint8Array(32), 0), RangeError);
  assert.throws(() => xseal(rand(32), rand(12), rand(16), rand(0), new Uint8Array(32), 0), RangeError);
  assert.throws(() => xseal(rand(32), rand(24), rand(16), rand(0), new Uint8Array(31), 0), RangeError);
  assert.throws(() => xopen(rand(32), rand(24), rand(32), rand(0), new Uint8Array(15), 0), RangeError);
});

test('differential against @noble/ciphers xchacha20poly1305 on random data', () => {
  for (const len of [0, 1, 16, 63, 64, 65, 300]) {
    const key = rand(32);
    const nonce = rand(24);
    const ad = rand(len % 40);
    const pt = rand(len);
    const out = new Uint8Array(len + 16);
    xseal(key, nonce, pt, ad, out, 0);
    assert.equal(toHex(out), toHex(xchacha20poly1305(key, nonce, ad).encrypt(pt)), `length ${len}`);
  }
});
