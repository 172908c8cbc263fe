/**
 * Handshake floods (paper 5.4.4 Cookie MACs, 5.4.7 Under Load: Cookie Reply Message): initiations
 * with a valid mac1 and random contents, the most a sender that knows B's public key can make without
 * a cookie. Two devices over the memory network with a fake clock: under a flood the tunnel keeps
 * moving data, the flooding source gets cookie replies at its own rate and no faster, another source
 * still gets its cookie and, retrying with mac2, its handshake; each turn's work stays within its
 * budgets; mac1 is sorted out message by message from one batch; nothing is left over.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import type { Endpoint } from '../conn/bind.js';
import { UdpEndpoint } from '../conn/endpoint.js';
import { CookieGenerator } from './cookie.js';
import { COOKIE_REPLIES_PER_TURN, HANDSHAKE_BATCH, NOISE_PER_TURN } from './constants.js';
import { COOKIE_REPLY_LEN, INITIATION_LEN, MESSAGE_COOKIE_REPLY, MESSAGE_INITIATION, messageType, writeU32 } from './messages.js';
import { RATELIMIT_PACKETS_BURSTABLE, RATELIMIT_PACKETS_PER_SECOND } from './ratelimiter.js';
import { closePair, exchange, ipv4Packet, makePair, settle, until, type Node } from './_testing.js';

/** n initiations with random contents and a valid mac1 for `pub` (mac2 zero: no cookie). */
function flood(pub: Uint8Array, n: number): Uint8Array[] {
  const gen = new CookieGenerator(pub);
  const out: Uint8Array[] = [];
  for (let i = 0; i < n; i++) {
    const m = new Uint8Array(randomBytes(INITIATION_LEN));
    writeU32(m, 0, MESSAGE_INITIATION);
    gen.addMacs(m, 0, INITIATION_LEN, 0);
    out.push(m);
  }
  return out;
}

/** Hands datagrams to a device as its bind would, in one batch, in buffers from its own pool. */
function inject(node: Node, msgs: Uint8Array[], from: Endpoint[]): void {
  const bufs = msgs.map((m) => {
    const buf = node.pool.get(m.length)!;
    buf.bytes.set(m, buf.start);
    buf.end = buf.start + m.length;
    return buf;
  });
  node.dev.onDatagrams(bufs, from, bufs.length);
}

const oneTurn = (): Promise<void> => new Promise((r) => setImmediate(r));

test('under a flood from one source the tunnel keeps moving data and the source gets cookie replies at its rate', async () => {
  const p = await makePair();
  await exchange(p, 1);
  const attacker = new UdpEndpoint('203.0.113.9', 4444);
  let replies = 0;
  p.net.filter = (d, from, to) => {
    if (from.address === '192.0.2.2' && to.address === attacker.address && messageType(d, 0) === MESSAGE_COOKIE_REPLY) replies++;
    return true;
  };
  const SECONDS = 10;
  const STEP_MS = 100;
  const PER_STEP = 200; // 2,000 a second; each step alone fills the queue past the load mark
  let maxOutstanding = 0;
  for (let t = 0; t < SECONDS * 1000; t += STEP_MS) {
    for (const m of flood(p.b.pub, PER_STEP)) p.net.transmit(m, attacker, p.b.bind.endpoint);
    p.clock.advance(STEP_MS);
    await settle(8);
    maxOutstanding = Math.max(maxOutstanding, p.b.pool.outstanding);
    if (t % 1000 === 0) await exchange(p, 2 + t / 1000);
  }
  const d = p.b.dev.drops;
  // Every message was worked through (none left queued, none refused for a full queue)...
  assert.equal(d.handshakeQueueFull, 0);
  assert.equal(d.handshakeMac, 0);
  assert.equal(d.handshakeCookie + d.handshakeCookieLimited, SECONDS * (1000 / STEP_MS) * PER_STEP);
  // ...and the source had its burst, then its rate: one reply per 50 ms of the clock.
  assert.equal(replies, d.handshakeCookie);
  assert.ok(replies >= RATELIMIT_PACKETS_PER_SECOND * SECONDS, `${replies} cookie replies`);
  assert.ok(replies <= RATELIMIT_PACKETS_BURSTABLE + RATELIMIT_PACKETS_PER_SECOND * SECONDS, `${replies} cookie replies`);
  // The flood never held more than a step's worth of buffers after the turns that followed it.
  assert.ok(maxOutstanding < PER_STEP, `${maxOutstanding} buffers outstanding after a step`);
  const [oa, ob] = await closePair(p);
  assert.equal(oa + ob, 0);
});

test('under a flood, a new peer gets a cookie, retries with mac2 and completes its handshake', async () => {
  const p = await makePair();
  const attacker = new UdpEndpoint('203.0.113.9', 4444);
  let repliesToA = 0;
  p.net.filter = (d, from, to) => {
    if (from.address === '192.0.2.2' && to.address === '192.0.2.1' && messageType(d, 0) === MESSAGE_COOKIE_REPLY) repliesToA++;
    return true;
  };
  const peerOfA = [...p.a.dev.peers.values()][0]!;
  // A has data for B; its initiation meets a B under load and is refused with a cookie (5.4.7).
  for (const m of flood(p.b.pub, 300)) p.net.transmit(m, attacker, p.b.bind.endpoint);
  assert.ok(p.a.tun.writePacket(ipv4Packet('10.0.0.1', '10.0.0.2', 20, 1)));
  await settle(10);
  assert.equal(repliesToA, 1);
  assert.ok(peerOfA.hasCookie, 'A did not take the cookie: the reply did not open');
  assert.equal(p.b.received.length, 0);
  // The flood goes on; A retries after REKEY_TIMEOUT with mac2 and gets through.
  for (let t = 0; t < 8_000 && p.b.received.length === 0; t += 250) {
    for (const m of flood(p.b.pub, 200)) p.net.transmit(m, attacker, p.b.bind.endpoint);
    p.clock.advance(250);
    await settle(8);
  }
  assert.ok(await until(() => p.b.received.length === 1), 'the handshake with mac2 did not complete under the flood');
  assert.ok(p.b.dev.drops.handshakeCookieLimited > 0, 'the flood was not under load');
  await exchange(p, 2);
  const [oa, ob] = await closePair(p);
  assert.equal(oa + ob, 0);
});

test('spoofed sources: each gets its cookie reply, but no more than COOKIE_REPLIES_PER_TURN a turn', async () => {
  const p = await makePair();
  const n = HANDSHAKE_BATCH; // enough to put B under load at once
  const from: Endpoint[] = [];
  for (let i = 0; i < n; i++) from.push(new UdpEndpoint(`198.18.${i >> 8}.${i & 255}`, 1000 + i));
  inject(p.b, flood(p.b.pub, n), from);
  await oneTurn();
  assert.equal(p.b.dev.drops.handshakeCookie, COOKIE_REPLIES_PER_TURN);
  await settle(2 * Math.ceil(n / COOKIE_REPLIES_PER_TURN));
  assert.equal(p.b.dev.drops.handshakeCookie, n);
  assert.equal(p.b.dev.drops.handshakeCookieLimited, 0);
  const [oa, ob] = await closePair(p);
  assert.equal(oa + ob, 0);
});

test('not under load, no more than NOISE_PER_TURN messages get the Noise work a turn', async () => {
  const p = await makePair();
  const n = 40; // fewer than the load mark: every message is worked on in full
  const attacker = new UdpEndpoint('203.0.113.9', 4444);
  inject(p.b, flood(p.b.pub, n), new Array<Endpoint>(n).fill(attacker));
  await oneTurn();
  // Random contents fail the Noise work (5.4.2), after its X25519.
  assert.equal(p.b.dev.drops.handshakeInvalid, NOISE_PER_TURN);
  await settle(2 * Math.ceil(n / NOISE_PER_TURN));
  assert.equal(p.b.dev.drops.handshakeInvalid, n);
  assert.equal(p.b.dev.drops.handshakeCookie, 0);
  const [oa, ob] = await closePair(p);
  assert.equal(oa + ob, 0);
});

test('one mac1 batch sorts valid, invalid and cookie-reply messages one by one', async () => {
  const p = await makePair();
  const good = flood(p.b.pub, 6);
  const bad = flood(p.b.pub, 5).map((m) => {
    m[INITIATION_LEN - 20]! ^= 1; // a bit of mac1
    return m;
  });
  const wrongKey = flood(p.a.pub, 4); // mac1 for another public key
  const cookie = new Uint8Array(randomBytes(COOKIE_REPLY_LEN));
  writeU32(cookie, 0, MESSAGE_COOKIE_REPLY);
  const msgs = [bad[0]!, good[0]!, cookie, good[1]!, wrongKey[0]!, bad[1]!, good[2]!, wrongKey[1]!, bad[2]!, good[3]!, wrongKey[2]!, bad[3]!, good[4]!, wrongKey[3]!, bad[4]!, good[5]!];
  inject(p.b, msgs, new Array<Endpoint>(msgs.length).fill(new UdpEndpoint('203.0.113.7', 7)));
  await settle(10);
  const d = p.b.dev.drops;
  assert.equal(d.handshakeMac, 9);
  // Six random initiations fail the Noise work; the cookie reply names no handshake of ours.
  assert.equal(d.handshakeInvalid, 7);
  const [oa, ob] = await closePair(p);
  assert.equal(oa + ob, 0);
});
