// Cookies (paper 5.4.7 Under Load: Cookie Reply Message): a cookie is bound to its source address and
// port and dies with the responder's secret. The checker keeps the last source's cookie, so these
// cases switch sources back and forth and rotate the secret to show the kept cookie never answers for
// another source or outlives its secret.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { generatePrivateKey, publicKey } from '../crypto/x25519.js';
import { randomBytes } from 'node:crypto';
import { CookieChecker, CookieGenerator } from './cookie.js';
import { COOKIE_REFRESH_TIME_MS } from './constants.js';
import { COOKIE_REPLY_LEN, INITIATION_LEN, MESSAGE_INITIATION, writeU32 } from './messages.js';

const X = Uint8Array.of(203, 0, 113, 9);
const Y = Uint8Array.of(203, 0, 113, 10);

/** An initiation with random contents, MACed by `gen` at `nowMs`. */
function initiation(gen: CookieGenerator, nowMs: number): Uint8Array {
  const m = new Uint8Array(randomBytes(INITIATION_LEN));
  writeU32(m, 0, MESSAGE_INITIATION);
  gen.addMacs(m, 0, INITIATION_LEN, nowMs);
  return m;
}

/** The checker answers `from`'s first message with a cookie, which the generator takes. */
function giveCookie(checker: CookieChecker, gen: CookieGenerator, addr: Uint8Array, port: number, nowMs: number): void {
  const first = initiation(gen, nowMs);
  const reply = new Uint8Array(COOKIE_REPLY_LEN);
  checker.createReply(first, 0, INITIATION_LEN, 7, addr, port, nowMs, reply, 0);
  assert.ok(gen.consumeReply(reply, 0, nowMs), 'the cookie reply did not open');
}

test('mac2 is valid only from the source the cookie was made for, however the sources alternate', () => {
  const pub = publicKey(generatePrivateKey());
  const checker = new CookieChecker();
  checker.init(pub);
  const genX = new CookieGenerator(pub);
  const genY = new CookieGenerator(pub);
  const t = 1_000;
  giveCookie(checker, genX, X, 4444, t);
  giveCookie(checker, genY, Y, 5555, t);
  for (let i = 0; i < 3; i++) {
    const fromX = initiation(genX, t);
    const fromY = initiation(genY, t);
    assert.ok(checker.checkMac2(fromX, 0, INITIATION_LEN, X, 4444, t));
    assert.ok(!checker.checkMac2(fromX, 0, INITIATION_LEN, X, 4445, t), 'another port');
    assert.ok(!checker.checkMac2(fromX, 0, INITIATION_LEN, Y, 4444, t), 'another address');
    assert.ok(checker.checkMac2(fromY, 0, INITIATION_LEN, Y, 5555, t));
    assert.ok(!checker.checkMac2(fromY, 0, INITIATION_LEN, X, 5555, t));
  }
});

test('a cookie dies with the secret it was made under', () => {
  const pub = publicKey(generatePrivateKey());
  const checker = new CookieChecker();
  checker.init(pub);
  const gen = new CookieGenerator(pub);
  const t = 1_000;
  giveCookie(checker, gen, X, 4444, t);
  const late = t + COOKIE_REFRESH_TIME_MS + 1;
  // Past the secret's two minutes, no mac2 is valid (5.4.7)...
  assert.ok(!checker.checkMac2(initiation(gen, t), 0, INITIATION_LEN, X, 4444, late));
  // ...and once a reply to the same source has made a new secret, the old cookie stays dead while the
  // new one works.
  const other = new CookieGenerator(pub);
  giveCookie(checker, other, X, 4444, late);
  assert.ok(!checker.checkMac2(initiation(gen, t), 0, INITIATION_LEN, X, 4444, late));
  assert.ok(checker.checkMac2(initiation(other, late), 0, INITIATION_LEN, X, 4444, late));
});
