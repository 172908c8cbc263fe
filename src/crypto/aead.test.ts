// Tests for ChaCha20-Poly1305: the RFC 8439 §2.8.2 vector (through sealRaw: its nonce is not
// WireGuard-shaped), the WireGuard nonce layout, in-place round trips at the edge lengths, tamper
// detection, the batch against per-packet calls, and @noble/ciphers as a differential twin.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes, randomInt } from 'node:crypto';
import { chacha20poly1305 } from '@noble/ciphers/chacha.js';
import {
  AeadBatch,
  TAG_LEN,
  aeadKey,
  destroyAeadKey,
  open,
  openBatch,
  openInPlace,
  openRaw,
  seal,
  sealBatch,
  sealInPlace,
  sealRaw,
} from './aead.js';
import { fromHex, loadVectors, toHex } from './_testing.js';

interface Rfc8439 {
  aead: {
    section: string;
    key: string;
    nonce: string;
    ad: string;
    plaintext: string;
    ciphertext: string;
    tag: string;
  }[];
}
const V = loadVectors<Rfc8439>('rfc8439.json');
const rand = (n: number): Uint8Array => new Uint8Array(randomBytes(n));
const LENGTHS = [0, 1, 15, 16, 17, 1420, 65535];

/** The paper's nonce, built independently of aead.ts: 4 zero bytes, then the counter as LE u64. */
function wgNonce(counter: number): Uint8Array {
  const n = new Uint8Array(12);
  new DataView(n.buffer).setBigUint64(4, BigInt(counter), true);
  return n;
}

test('RFC 8439 §2.8.2 AEAD vector: sealRaw / openRaw', () => {
  for (const v of V.aead) {
    const pt = fromHex(v.plaintext);
    const out = new Uint8Array(pt.length + TAG_LEN + 3);
    sealRaw(fromHex(v.key), fromHex(v.nonce), pt, fromHex(v.ad), out, 3);
    assert.equal(toHex(out.subarray(3)), v.ciphertext + v.tag, v.section);
    const back = new Uint8Array(pt.length);
    assert.equal(openRaw(fromHex(v.key), fromHex(v.nonce), out.subarray(3), fromHex(v.ad), back, 0), true);
    assert.deepEqual(back, pt);
  }
});

test('nonce layout: 32 zero bits then the little-endian 64-bit counter (5.4)', () => {
  const raw = rand(32);
  const key = aeadKey(raw);
  const ad = rand(32);
  for (const counter of [0, 1, 255, 256, 2 ** 32 - 1, 2 ** 32, 2 ** 40 + 12345, 2 ** 53 - 1]) {
    const pt = rand(100);
    const expect = new Uint8Array(116);
    sealRaw(raw, wgNonce(counter), pt, ad, expect, 0);
    const buf = new Uint8Array(116);
    buf.set(pt);
    assert.equal(sealInPlace(key, counter, buf, 0, 100, ad), 116);
    assert.deepEqual(buf, expect, `sealInPlace counter ${counter}`);
    const out = new Uint8Array(116);
    seal(raw, counter, pt, ad, out, 0);
    assert.deepEqual(out, expect, `seal counter ${counter}`);
    const noble = chacha20poly1305(raw, wgNonce(counter), ad).encrypt(pt);
    assert.deepEqual(out, noble, `noble counter ${counter}`);
  }
});

test('in-place round trips at edge lengths, with and without ad, at odd offsets', () => {
  const key = aeadKey(rand(32));
  for (const len of LENGTHS) {
    for (const ad of [null, rand(32)]) {
      const start = 7;
      const buf = new Uint8Array(start + len + TAG_LEN + 5);
      const pt = rand(len);
      buf.set(pt, start);
      const before = buf.slice();
      const counter = randomInt(0, 2 ** 48 - 1);
      assert.equal(sealInPlace(key, counter, buf, start, len, ad), len + TAG_LEN);
      assert.deepEqual(buf.subarray(0, start), before.subarray(0, start), 'head untouched');
      assert.deepEqual(buf.subarray(start + len + TAG_LEN), before.subarray(start + len + TAG_LEN), 'tail untouched');
      if (len >= 16) assert.notDeepEqual(buf.subarray(start, start + len), pt);
      assert.equal(openInPlace(key, counter, buf, start, len + TAG_LEN, ad), len);
      assert.deepEqual(buf.subarray(start, start + len), pt, `length ${len}`);
    }
  }
});

test('tampering with ciphertext, tag, ad or counter gives -1 and leaves the buffer alone', () => {
  const key = aeadKey(rand(32));
  for (const len of LENGTHS) {
    const ad = rand(16);
    const buf = new Uint8Array(len + TAG_LEN);
    buf.set(rand(len));
    sealInPlace(key, 9, buf, 0, len, ad);
    const sealed = buf.slice();
    const flips = [len + 3, len + TAG_LEN - 1];
    if (len > 0) flips.push(0, len - 1);
    for (const at of flips) {
      buf[at]! ^= 0x20;
      const tampered = buf.slice();
      assert.equal(openInPlace(key, 9, buf, 0, buf.length, ad), -1, `length ${len}, flip at ${at}`);
      assert.deepEqual(buf, tampered, 'buffer unchanged on failure');
      buf.set(sealed);
    }
    const badAd = ad.slice();
    badAd[0]! ^= 1;
    assert.equal(openInPlace(key, 9, buf, 0, buf.length, badAd), -1);
    assert.equal(openInPlace(key, 9, buf, 0, buf.length, null), -1);
    assert.equal(openInPlace(key, 10, buf, 0, buf.length, ad), -1);
    assert.deepEqual(buf, sealed);
    assert.equal(openInPlace(key, 9, buf, 0, buf.length, ad), len);
  }
});

test('bad bounds and short input give -1, never a throw', () => {
  const key = aeadKey(rand(32));
  const buf = new Uint8Array(64);
  assert.equal(openInPlace(key, 0, buf, 0, 15, null), -1);
  assert.equal(openInPlace(key, 0, buf, 0, 0, null), -1);
  assert.equal(openInPlace(key, 0, buf, 50, 16, null), -1);
  assert.equal(openInPlace(key, 0, buf, -1, 16, null), -1);
  assert.equal(sealInPlace(key, 0, buf, 0, 49, null), -1);
  assert.equal(sealInPlace(key, 0, buf, -1, 10, null), -1);
  assert.equal(sealInPlace(key, 0, buf, 0, -1, null), -1);
  assert.equal(sealInPlace(key, 0, buf, 0, 48, null), 64);
});

test('a destroyed key fails with -1', () => {
  const key = aeadKey(rand(32));
  const buf = new Uint8Array(48);
  assert.equal(sealInPlace(key, 0, buf, 0, 32, null), 48);
  destroyAeadKey(key);
  destroyAeadKey(key); // idempotent
  assert.equal(openInPlace(key, 0, buf, 0, 48, null), -1);
  assert.equal(sealInPlace(key, 0, buf, 0, 32, null), -1);
});

test('aeadKey copies: wiping the caller copy does not change the handle', () => {
  const raw = rand(32);
  const key = aeadKey(raw);
  const expect = new Uint8Array(48);
  sealRaw(raw, wgNonce(5), new Uint8Array(32), new Uint8Array(0), expect, 0);
  raw.fill(0);
  const buf = new Uint8Array(48);
  sealInPlace(key, 5, buf, 0, 32, null);
  assert.deepEqual(buf, expect);
  assert.throws(() => aeadKey(new Uint8Array(31)), RangeError);
});

test('seal / open: handshake convenience, false and no write on failure', () => {
  const raw = rand(32);
  const h = rand(32);
  for (const len of [0, 12, 32]) {
    const pt = rand(len);
    const out = new Uint8Array(len + TAG_LEN + 4);
    seal(raw, 0, pt, h, out, 4);
    const back = new Uint8Array(len).fill(0x55);
    assert.equal(open(raw, 0, out.subarray(4), h, back, 0), true);
    assert.deepEqual(back, pt);
    out[4 + len]! ^= 1;
    const dst = new Uint8Array(len).fill(0x55);
    assert.equal(open(raw, 0, out.subarray(4), h, dst, 0), false);
    assert.deepEqual(dst, new Uint8Array(len).fill(0x55));
  }
  assert.equal(open(raw, 0, new Uint8Array(15), h, new Uint8Array(0), 0), false);
  assert.throws(() => seal(raw, 0, rand(10), h, new Uint8Array(20), 0), RangeError);
  assert.throws(() => seal(rand(16), 0, rand(10), h, new Uint8Array(26), 0), RangeError);
});

test('seal may write over its own plaintext', () => {
  const raw = rand(32);
  const buf = new Uint8Array(64 + TAG_LEN);
  buf.set(rand(64));
  const expect = new Uint8Array(64 + TAG_LEN);
  seal(raw, 3, buf.slice(0, 64), new Uint8Array(0), expect, 0);
  seal(raw, 3, buf.subarray(0, 64), new Uint8Array(0), buf, 0);
  assert.deepEqual(buf, expect);
});

function fillBatch(b: AeadBatch, keys: ReturnType<typeof aeadKey>[], bufs: Uint8Array[], lens: number[]): void {
  b.clear();
  for (let i = 0; i < bufs.length; i++) {
    b.keys[i] = keys[i % keys.length]!;
    b.counters[i] = 1000 + i;
    b.bufs[i] = bufs[i]!;
    b.starts[i] = 16;
    b.lengths[i] = lens[i]!;
  }
  b.count = bufs.length;
}

test('batch results equal per-packet results, failures included', () => {
  const keys = [aeadKey(rand(32)), aeadKey(rand(32))];
  const n = LENGTHS.length * 2;
  const plain: Uint8Array[] = [];
  const lens: number[] = [];
  for (let i = 0; i < n; i++) {
    const len = LENGTHS[i % LENGTHS.length]!;
    const buf = new Uint8Array(16 + len + TAG_LEN);
    buf.set(rand(len), 16);
    plain.push(buf);
    lens.push(len);
  }
  const batchBufs = plain.map((p) => p.slice());
  const singleBufs = plain.map((p) => p.slice());
  const b = new AeadBatch(32);
  fillBatch(b, keys, batchBufs, lens);
  sealBatch(b);
  for (let i = 0; i < n; i++) {
    const r = sealInPlace(keys[i % 2]!, 1000 + i, singleBufs[i]!, 16, lens[i]!, null);
    assert.equal(b.results[i], r);
    assert.deepEqual(batchBufs[i], singleBufs[i]);
  }
  batchBufs[3]![20]! ^= 1; // tamper one packet
  singleBufs[3]![20]! ^= 1;
  fillBatch(b, keys, batchBufs, lens.map((l) => l + TAG_LEN));
  b.keys[5] = null; // and leave one slot without a key
  openBatch(b);
  for (let i = 0; i < n; i++) {
    const r = i === 5 ? -1 : openInPlace(keys[i % 2]!, 1000 + i, singleBufs[i]!, 16, lens[i]! + TAG_LEN, null);
    assert.equal(b.results[i], r, `slot ${i}`);
    // A failed slot's window is unspecified (the native batch zeroes its plaintext); a good one must match.
    if (r >= 0) assert.deepEqual(batchBufs[i], singleBufs[i]);
  }
  assert.equal(b.results[3], -1);
  assert.equal(b.results[4], lens[4]);
});

test('AeadBatch: preallocated to capacity, clear() drops references', () => {
  const b = new AeadBatch(8);
  assert.equal(b.capacity, 8);
  assert.equal(b.count, 0);
  for (const a of [b.keys, b.counters, b.bufs, b.starts, b.lengths, b.results]) assert.equal(a.length, 8);
  b.keys[0] = aeadKey(rand(32));
  b.bufs[0] = new Uint8Array(16);
  b.count = 1;
  b.clear();
  assert.equal(b.count, 0);
  assert.equal(b.keys[0], null);
  assert.equal(b.bufs[0], null);
  assert.throws(() => new AeadBatch(0), RangeError);
});

test('differential against @noble/ciphers chacha20poly1305 on random data', () => {
  for (let i = 0; i < 200; i++) {
    const raw = rand(32);
    const key = aeadKey(raw);
    const counter = randomInt(0, 2 ** 48 - 1) * 32 + randomInt(0, 32); // up to 2^53
    const len = i < LENGTHS.length ? LENGTHS[i]! : randomInt(0, 2000);
    const ad = i % 3 === 0 ? null : rand(randomInt(0, 64));
    const pt = rand(len);
    const noble = chacha20poly1305(raw, wgNonce(counter), ad ?? undefined).encrypt(pt);
    const buf = new Uint8Array(len + TAG_LEN + 1);
    buf.set(pt, 1);
    assert.equal(sealInPlace(key, counter, buf, 1, len, ad), len + TAG_LEN);
    assert.deepEqual(buf.subarray(1), noble, `seal, length ${len}`);
    const fromNoble = new Uint8Array(len + TAG_LEN);
    fromNoble.set(noble);
    assert.equal(openInPlace(key, counter, fromNoble, 0, len + TAG_LEN, ad), len);
    assert.deepEqual(fromNoble.subarray(0, len), pt, `open, length ${len}`);
    destroyAeadKey(key);
  }
});
