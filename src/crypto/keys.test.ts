// Tests for key encodings and byte helpers. The base64 rules are wireguard-tools' key_from_base64:
// 44 characters, '=' last, zero padding bits; the hex rules its key_from_hex: 64 digits, any case.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import {
  KEY_LEN,
  constantTimeEqual,
  isZero,
  keyFromBase64,
  keyFromHex,
  keyToBase64,
  keyToHex,
  wipe,
} from './keys.js';
import { fromHex, toHex } from './_testing.js';

// RFC 7748 §6.1 Alice's private key, and its base64 as `wg` prints it.
const ALICE_HEX = '77076d0a7318a57d3c16c17251b26645df4c2f87ebc0992ab177fba51db92c2a';
const ALICE_B64 = 'dwdtCnMYpX08FsFyUbJmRd9ML4frwJkqsXf7pR25LCo=';

test('base64: known key both ways', () => {
  assert.equal(toHex(keyFromBase64(ALICE_B64)), ALICE_HEX);
  assert.equal(keyToBase64(fromHex(ALICE_HEX)), ALICE_B64);
});

test('base64: random round trips, and the key owns its memory', () => {
  for (let i = 0; i < 200; i++) {
    const k = new Uint8Array(randomBytes(KEY_LEN));
    const s = keyToBase64(k);
    assert.equal(s.length, 44);
    const back = keyFromBase64(s);
    assert.deepEqual(back, k);
    assert.equal(back.buffer.byteLength, KEY_LEN, 'decoded key must not be a view into a shared pool');
  }
});

test('base64: rejects wrong lengths with RangeError', () => {
  assert.throws(() => keyFromBase64(ALICE_B64.slice(0, 43)), RangeError);
  assert.throws(() => keyFromBase64(ALICE_B64 + '='), RangeError);
  assert.throws(() => keyFromBase64(''), RangeError);
  assert.throws(() => keyFromBase64(ALICE_B64.slice(0, 43)), /expected 44 base64 characters/);
});

test('base64: rejects bad characters, padding bits and missing padding with TypeError', () => {
  const bad = (at: number, c: string): string => ALICE_B64.slice(0, at) + c + ALICE_B64.slice(at + 1);
  assert.throws(() => keyFromBase64(bad(0, '*')), TypeError);
  assert.throws(() => keyFromBase64(bad(10, '-')), /invalid base64 character "-" at position 10/);
  assert.throws(() => keyFromBase64(bad(20, '_')), TypeError); // base64url is not accepted
  assert.throws(() => keyFromBase64(bad(5, '=')), TypeError);
  // 'o' -> 'p' sets one of the two padding bits of the final digit.
  assert.throws(() => keyFromBase64(bad(42, 'p')), /non-canonical/);
  assert.throws(() => keyFromBase64(bad(43, 'A')), /expected '='/);
  assert.throws(() => keyFromBase64(42 as unknown as string), TypeError);
});

test('hex: round trips, lowercase out, either case in', () => {
  const k = fromHex(ALICE_HEX);
  assert.equal(keyToHex(k), ALICE_HEX);
  assert.deepEqual(keyFromHex(ALICE_HEX.toUpperCase()), k);
  for (let i = 0; i < 200; i++) {
    const r = new Uint8Array(randomBytes(KEY_LEN));
    assert.deepEqual(keyFromHex(keyToHex(r)), r);
  }
});

test('hex: rejects wrong lengths and bad digits', () => {
  assert.throws(() => keyFromHex(ALICE_HEX.slice(2)), RangeError);
  assert.throws(() => keyFromHex(ALICE_HEX + '00'), RangeError);
  assert.throws(() => keyFromHex('g' + ALICE_HEX.slice(1)), /invalid hex character "g" at position 0/);
  assert.throws(() => keyFromHex(ALICE_HEX.slice(0, 63) + ' '), TypeError);
  assert.throws(() => keyFromHex(null as unknown as string), TypeError);
});

test('encoders reject keys of the wrong length', () => {
  assert.throws(() => keyToBase64(new Uint8Array(31)), RangeError);
  assert.throws(() => keyToHex(new Uint8Array(33)), RangeError);
});

test('constantTimeEqual', () => {
  const a = new Uint8Array(randomBytes(32));
  const b = a.slice();
  assert.equal(constantTimeEqual(a, b), true);
  b[31]! ^= 1;
  assert.equal(constantTimeEqual(a, b), false);
  assert.equal(constantTimeEqual(a, a.subarray(0, 31)), false);
  assert.equal(constantTimeEqual(new Uint8Array(0), new Uint8Array(0)), true);
});

test('isZero and wipe', () => {
  const a = new Uint8Array(randomBytes(32));
  a[0] = 1;
  assert.equal(isZero(a), false);
  wipe(a);
  assert.equal(isZero(a), true);
  assert.deepEqual(a, new Uint8Array(32));
  const b = new Uint8Array(32);
  b[31] = 0x80;
  assert.equal(isZero(b), false);
  assert.equal(isZero(new Uint8Array(0)), true);
});
