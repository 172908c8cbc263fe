// The shim's HChaCha20 and XChaCha20-Poly1305 (native/src/xaead.c) against their TypeScript twins
// (xaead-reference.ts): the draft's HChaCha20 vector through both, then random keys, nonces,
// plaintexts of 0, 1, 15, 16 (a cookie), 17, 63, 64, 65 and 1024 (the most the C opens) bytes and
// ads of 0, 16 (mac1) and 100 bytes, with tampering, short input and in-place use.
import { strict as assert } from 'node:assert';
import { randomBytes } from 'node:crypto';
import { test } from 'node:test';
import { native, nativeError } from '../native/load.js';
import { XAEAD_NATIVE_MAX_OPEN } from '../native/binding.js';
import { referenceHChaCha20, referenceXaeadOpen, referenceXaeadSeal } from './xaead-reference.js';
import { fromHex, loadVectors, toHex } from './_testing.js';

const skip = native === null && process.env['CI'] !== 'true' ? `native shim not loaded: ${nativeError}` : false;

interface XChaCha {
  hchacha20: { section: string; key: string; nonce: string; subkey: string }[];
}
const V = loadVectors<XChaCha>('xchacha-03.json');
const rand = (n: number): Uint8Array => new Uint8Array(randomBytes(n));
const PLAIN = [0, 1, 15, 16, 17, 63, 64, 65, XAEAD_NATIVE_MAX_OPEN];
const AD = [0, 16, 100];

test('draft-irtf-cfrg-xchacha-03 §2.2.1: HChaCha20, TypeScript twin', () => {
  for (const v of V.hchacha20) {
    const out = new Uint8Array(32);
    assert.equal(referenceHChaCha20(fromHex(v.key), fromHex(v.nonce), out), 32);
    assert.equal(toHex(out), v.subkey, v.section);
  }
});

test('draft-irtf-cfrg-xchacha-03 §2.2.1: HChaCha20, shim', { skip }, () => {
  for (const v of V.hchacha20) {
    const out = new Uint8Array(32);
    assert.equal(native!.hchacha20(fromHex(v.key), fromHex(v.nonce), out), 32);
    assert.equal(toHex(out), v.subkey, v.section);
  }
});

test('hchacha20 matches its twin on random keys and nonces', { skip }, () => {
  for (let i = 0; i < 200; i++) {
    const key = rand(32);
    const nonce = rand(16);
    const a = new Uint8Array(32);
    const b = new Uint8Array(32);
    native!.hchacha20(key, nonce, a);
    referenceHChaCha20(key, nonce, b);
    assert.deepEqual(a, b);
  }
});

test('xaeadSeal/xaeadOpen match their twins at edge sizes, with tampering', { skip }, () => {
  const n = native!;
  for (const p of PLAIN) {
    for (const d of AD) {
      const key = rand(32);
      const nonce = rand(24);
      const ad = rand(d);
      const pt = rand(p);
      const at = 1 + (p % 5);
      const a = new Uint8Array(at + p + 16);
      const b = new Uint8Array(at + p + 16);
      assert.equal(n.xaeadSeal(key, nonce, pt, ad, a, at), p + 16);
      assert.equal(referenceXaeadSeal(key, nonce, pt, ad, b, at), p + 16);
      assert.deepEqual(a, b, `seal ${p}/${d}`);
      const sealed = a.subarray(at);
      const outA = new Uint8Array(p + 3);
      const outB = new Uint8Array(p + 3);
      assert.equal(n.xaeadOpen(key, nonce, sealed, ad, outA, 3), p);
      assert.equal(referenceXaeadOpen(key, nonce, sealed, ad, outB, 3), p);
      assert.deepEqual(outA.subarray(3), pt);
      assert.deepEqual(outB.subarray(3), pt);
      // A flipped bit anywhere (ciphertext, tag), a wrong ad or nonce: -1 and nothing written.
      const flips: [Uint8Array, Uint8Array, Uint8Array][] = [];
      const bad = sealed.slice();
      bad[Math.floor(Math.random() * bad.length)]! ^= 1 << Math.floor(Math.random() * 8);
      flips.push([bad, ad, nonce]);
      const badNonce = nonce.slice();
      badNonce[Math.floor(Math.random() * 24)]! ^= 1;
      flips.push([sealed, ad, badNonce]);
      if (d > 0) {
        const badAd = ad.slice();
        badAd[d - 1]! ^= 0x80;
        flips.push([sealed, badAd, nonce]);
      }
      for (const [s, x, nn] of flips) {
        const untouchedA = new Uint8Array(p).fill(0xa5);
        const untouchedB = new Uint8Array(p).fill(0xa5);
        assert.equal(n.xaeadOpen(key, nn, s, x, untouchedA, 0), -1);
        assert.equal(referenceXaeadOpen(key, nn, s, x, untouchedB, 0), -1);
        assert.ok(untouchedA.every((v) => v === 0xa5) && untouchedB.every((v) => v === 0xa5), `forged ${p}/${d} wrote`);
      }
    }
  }
});

test('xaeadOpen refuses input shorter than a tag; seal and open work in place', { skip }, () => {
  const n = native!;
  const key = rand(32);
  const nonce = rand(24);
  const out = new Uint8Array(16).fill(9);
  for (const len of [0, 1, 15]) {
    assert.equal(n.xaeadOpen(key, nonce, rand(len), rand(0), out, 0), -1);
    assert.equal(referenceXaeadOpen(key, nonce, rand(len), rand(0), out, 0), -1);
  }
  assert.ok(out.every((v) => v === 9));
  const buf = new Uint8Array(16 + 16);
  const pt = rand(16);
  buf.set(pt);
  const ad = rand(16);
  assert.equal(n.xaeadSeal(key, nonce, buf.subarray(0, 16), ad, buf, 0), 32);
  const copy = new Uint8Array(32);
  referenceXaeadSeal(key, nonce, pt, ad, copy, 0);
  assert.deepEqual(buf, copy);
  assert.equal(n.xaeadOpen(key, nonce, buf, ad, buf, 0), 16);
  assert.deepEqual(buf.subarray(0, 16), pt);
});
