// Path MTU cache (RFC 1191, RFC 8201): only lowers, floors forged values, ages out, stays bounded.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { FakeClock } from '../base/clock.js';
import { IPV4_PMTU_FLOOR, PMTU_AGE_MS, PMTU_ENTRIES, PathMtu } from './path-mtu.js';
import { ip } from './_testing.js';

test('a Packet Too Big lowers the path toward one destination only', () => {
  const p = new PathMtu(new FakeClock());
  assert.equal(p.get(4, ip('10.0.0.2'), 1420), 1420);
  assert.equal(p.lower(4, ip('10.0.0.2'), 1300, 1420), 1300);
  assert.equal(p.get(4, ip('10.0.0.2'), 1420), 1300);
  assert.equal(p.get(4, ip('10.0.0.3'), 1420), 1420);
  assert.equal(p.get(6, ip('fd00::2'), 1420), 1420);
  assert.equal(p.lower(4, ip('10.0.0.2'), 1400, 1420), 0, 'a higher value changes nothing');
  assert.equal(p.get(4, ip('10.0.0.2'), 1420), 1300);
  assert.equal(p.get(4, ip('10.0.0.2'), 1200), 1200, 'a smaller link MTU still wins');
});

test('forged tiny values are floored: 552 for IPv4, 1280 for IPv6', () => {
  const p = new PathMtu(new FakeClock());
  assert.equal(p.lower(4, ip('10.0.0.2'), 68, 1420), IPV4_PMTU_FLOOR);
  assert.equal(p.lower(6, ip('fd00::2'), 500, 1420), 1280);
  assert.equal(p.lower(6, ip('fd00::3'), 1280, 1280), 0, 'at the floor already');
});

test('entries age out after ten minutes', () => {
  const clock = new FakeClock();
  const p = new PathMtu(clock);
  p.lower(6, ip('fd00::2'), 1300, 1420);
  clock.advance(PMTU_AGE_MS - 1);
  assert.equal(p.get(6, ip('fd00::2'), 1420), 1300);
  clock.advance(1);
  assert.equal(p.get(6, ip('fd00::2'), 1420), 1420);
  assert.equal(p.size, 0);
});

test('the table is bounded; the oldest entry makes room', () => {
  const clock = new FakeClock();
  const p = new PathMtu(clock);
  for (let i = 0; i <= PMTU_ENTRIES; i++) {
    clock.advance(1);
    p.lower(4, Uint8Array.of(10, 1, i >> 8, i & 0xff), 1000, 1420);
  }
  assert.equal(p.size, PMTU_ENTRIES);
  assert.equal(p.get(4, Uint8Array.of(10, 1, 0, 0), 1420), 1420, 'the first one was pushed out');
  assert.equal(p.get(4, Uint8Array.of(10, 1, 0, PMTU_ENTRIES), 1420), 1000);
});
