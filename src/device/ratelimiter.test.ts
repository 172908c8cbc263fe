// Tests for the handshake rate limiter with a stepped clock. The timing table is the kernel's
// selftest/ratelimiter.c expected_results, built from the same constants the code uses.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  RateLimiter,
  RATELIMIT_PACKETS_BURSTABLE,
  RATELIMIT_PACKETS_PER_SECOND,
  RATELIMIT_GC_IDLE_MS,
} from './ratelimiter.js';

class FakeClock {
  now = 1_000_000;
  read = (): number => this.now;
  advance(ms: number): void {
    this.now += ms;
  }
}

function v4(text: string): Uint8Array {
  return Uint8Array.from(text.split('.').map(Number));
}

/** Full (uncompressed) IPv6 text only: eight groups. */
function v6(text: string): Uint8Array {
  const out = new Uint8Array(16);
  const groups = text.split(':');
  assert.equal(groups.length, 8);
  for (let i = 0; i < 8; i++) {
    const g = parseInt(groups[i]!, 16);
    out[2 * i] = g >> 8;
    out[2 * i + 1] = g & 0xff;
  }
  return out;
}

const PERIOD_MS = 1000 / RATELIMIT_PACKETS_PER_SECOND;

// selftest/ratelimiter.c expected_results: [result, ms to wait before].
const EXPECTED: Array<[boolean, number, string]> = [];
for (let i = 0; i < RATELIMIT_PACKETS_BURSTABLE; i++) EXPECTED.push([true, 0, 'initial burst']);
EXPECTED.push([false, 0, 'after burst']);
EXPECTED.push([true, PERIOD_MS, 'refilled one packet']);
EXPECTED.push([false, 0, 'not refilled enough']);
EXPECTED.push([true, PERIOD_MS * 2, 'refilled two packets']);
EXPECTED.push([true, 0, 'second of two']);
EXPECTED.push([false, 0, 'after the two']);

const SOURCES: Array<[Uint8Array, 4 | 6]> = [
  [v4('127.0.0.1'), 4],
  [v4('192.168.1.1'), 4],
  [v4('172.167.2.3'), 4],
  [v4('97.231.252.215'), 4],
  [v4('248.97.91.167'), 4],
  [v4('188.208.233.47'), 4],
  [v4('104.2.183.179'), 4],
  [v4('72.129.46.120'), 4],
  [v6('2001:0db8:0a0b:12f0:0000:0000:0000:0001'), 6],
  [v6('f5c2:818f:c052:655a:9860:b136:6894:25f0'), 6],
  [v6('b2d7:15ab:48a7:b07c:a541:f144:a9fe:54fc'), 6],
  [v6('a47b:786e:1671:a22b:d6f9:4ab0:abc7:c918'), 6],
  [v6('ea1e:d155:7f7a:98fb:2bf5:9483:80f6:5445'), 6],
  [v6('3f0e:54a2:f5b4:cd19:a21d:58e1:3746:84c4'), 6],
];

test('kernel timing table, every source independent', () => {
  const clock = new FakeClock();
  const rl = new RateLimiter(clock.read);
  for (let i = 0; i < EXPECTED.length; i++) {
    const [allowed, wait, text] = EXPECTED[i]!;
    clock.advance(wait);
    for (const [ip, family] of SOURCES) {
      assert.equal(rl.allow(ip, 0, family), allowed, `step ${i} (${text}) for ${ip.join(',')}`);
    }
  }
  assert.equal(rl.size, SOURCES.length);
});

test('burst of 5 then refused; refills at 20/s up to the burst', () => {
  const clock = new FakeClock();
  const rl = new RateLimiter(clock.read);
  const ip = v4('10.1.2.3');
  for (let i = 0; i < 5; i++) assert.equal(rl.allow(ip, 0, 4), true, `burst ${i}`);
  assert.equal(rl.allow(ip, 0, 4), false);
  clock.advance(PERIOD_MS - 1);
  assert.equal(rl.allow(ip, 0, 4), false, 'one ms short of a token');
  clock.advance(1);
  assert.equal(rl.allow(ip, 0, 4), true);
  // A long quiet spell refills only up to the burst.
  clock.advance(10_000);
  for (let i = 0; i < 5; i++) assert.equal(rl.allow(ip, 0, 4), true, `refilled ${i}`);
  assert.equal(rl.allow(ip, 0, 4), false);
  // Sustained: one packet every 50 ms is always allowed, a second in the same period is not.
  for (let i = 0; i < 100; i++) {
    clock.advance(PERIOD_MS);
    assert.equal(rl.allow(ip, 0, 4), true, `sustained ${i}`);
    assert.equal(rl.allow(ip, 0, 4), false, `over rate ${i}`);
  }
});

test('address is read at the offset', () => {
  const clock = new FakeClock();
  const rl = new RateLimiter(clock.read);
  const packet = new Uint8Array(40);
  packet.set(v4('1.2.3.4'), 12);
  for (let i = 0; i < 5; i++) assert.equal(rl.allow(packet, 12, 4), true);
  assert.equal(rl.allow(packet, 12, 4), false);
  assert.equal(rl.allow(v4('1.2.3.4'), 0, 4), false, 'same source from another buffer');
  assert.equal(rl.allow(v4('1.2.3.5'), 0, 4), true);
});

test('IPv6 sources share a bucket per /64', () => {
  const clock = new FakeClock();
  const rl = new RateLimiter(clock.read);
  const a = v6('2001:0db8:0001:0002:0000:0000:0000:0001');
  const sameNet = v6('2001:0db8:0001:0002:ffff:1234:5678:9abc');
  const otherNet = v6('2001:0db8:0001:0003:0000:0000:0000:0001');
  for (let i = 0; i < 3; i++) assert.equal(rl.allow(a, 0, 6), true);
  for (let i = 0; i < 2; i++) assert.equal(rl.allow(sameNet, 0, 6), true);
  assert.equal(rl.allow(a, 0, 6), false);
  assert.equal(rl.allow(sameNet, 0, 6), false);
  for (let i = 0; i < 5; i++) assert.equal(rl.allow(otherNet, 0, 6), true);
  assert.equal(rl.allow(otherNet, 0, 6), false);
  assert.equal(rl.size, 2);
  // An IPv4 address equal to the first 4 bytes of an IPv6 source is a different source.
  assert.equal(rl.allow(a.subarray(0, 4), 0, 4), true);
  assert.equal(rl.size, 3);
});

test('collectGarbage drops only entries idle past a second', () => {
  const clock = new FakeClock();
  const rl = new RateLimiter(clock.read);
  rl.allow(v4('10.0.0.1'), 0, 4);
  rl.allow(v6('2001:0db8:0000:0000:0000:0000:0000:0001'), 0, 6);
  clock.advance(600);
  rl.allow(v4('10.0.0.2'), 0, 4);
  rl.allow(v6('2001:0db8:0000:0001:0000:0000:0000:0001'), 0, 6);
  assert.equal(rl.size, 4);
  clock.advance(RATELIMIT_GC_IDLE_MS - 600);
  rl.collectGarbage();
  assert.equal(rl.size, 4, 'exactly the idle time is not past it');
  clock.advance(1);
  rl.collectGarbage();
  assert.equal(rl.size, 2);
  clock.advance(600);
  rl.collectGarbage();
  assert.equal(rl.size, 0);
  // A collected source starts over with a full bucket.
  for (let i = 0; i < 5; i++) assert.equal(rl.allow(v4('10.0.0.1'), 0, 4), true);
  assert.equal(rl.allow(v4('10.0.0.1'), 0, 4), false);
});

test('new sources past the table cap are refused; close forgets', () => {
  const clock = new FakeClock();
  const rl = new RateLimiter(clock.read, 3);
  assert.equal(rl.allow(v4('10.0.0.1'), 0, 4), true);
  assert.equal(rl.allow(v4('10.0.0.2'), 0, 4), true);
  assert.equal(rl.allow(v6('2001:0db8:0000:0000:0000:0000:0000:0001'), 0, 6), true);
  assert.equal(rl.allow(v4('10.0.0.3'), 0, 4), false);
  assert.equal(rl.allow(v4('10.0.0.1'), 0, 4), true, 'known sources still served');
  rl.close();
  assert.equal(rl.size, 0);
  assert.equal(rl.allow(v4('10.0.0.3'), 0, 4), true);
  assert.throws(() => new RateLimiter(clock.read, 0), RangeError);
});

test('startGc collects on an unref\'d interval and close stops it', (t) => {
  // node:test's mock timers step the interval; nothing sleeps.
  t.mock.timers.enable({ apis: ['setInterval'] });
  let now = 0;
  const rl = new RateLimiter(() => now);
  rl.allow(v4('10.0.0.1'), 0, 4);
  rl.startGc(1000);
  now = 900;
  t.mock.timers.tick(1000);
  assert.equal(rl.size, 1);
  now = 1900;
  t.mock.timers.tick(1000);
  assert.equal(rl.size, 0);
  rl.allow(v4('10.0.0.1'), 0, 4);
  rl.close();
  assert.equal(rl.size, 0);
  rl.allow(v4('10.0.0.1'), 0, 4);
  now = 10_000;
  t.mock.timers.tick(5000);
  assert.equal(rl.size, 1, 'no collection after close');
  assert.throws(() => rl.startGc(0), RangeError);
});
