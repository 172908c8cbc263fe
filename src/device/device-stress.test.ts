/**
 * Hostile and heavy cases: the cookie path under a flood of initiations, a storm of random, truncated
 * and bit-flipped datagrams, and thousands of allowed IPs. Each ends with the tunnel working and no
 * buffer outstanding.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { generatePrivateKey, publicKey } from '../crypto/x25519.js';
import { keyToHex } from '../crypto/keys.js';
import { createInitiation, Handshake, StaticIdentity } from './noise.js';
import { CookieGenerator } from './cookie.js';
import { INITIATION_LEN, MESSAGE_COOKIE_REPLY, messageType } from './messages.js';
import { advance, closePair, exchange, ipv4Packet, makePair, settle, until } from './_testing.js';
import { UdpEndpoint } from '../conn/endpoint.js';


/** Valid initiations (correct mac1) from an identity B does not know, as an attacker who knows B's public key makes them. */
function floodInitiations(bPub: Uint8Array, n: number, clockMs: number): Uint8Array[] {
  const id = new StaticIdentity();
  id.set(generatePrivateKey());
  const out: Uint8Array[] = [];
  for (let i = 0; i < n; i++) {
    const hs = new Handshake(keyToHex(bPub));
    const msg = new Uint8Array(INITIATION_LEN);
    assert.ok(createInitiation(id, hs, msg, 0, i + 1, clockMs));
    new CookieGenerator(bPub).addMacs(msg, 0, INITIATION_LEN, 0);
    out.push(msg);
  }
  return out;
}

test('under load, initiations without a valid mac2 get cookie replies; the peer retries with the cookie and gets through', async () => {
  const p = await makePair();
  let cookieReplies = 0;
  p.net.filter = (data, from) => {
    if (from.address === '192.0.2.2' && messageType(data, 0) === MESSAGE_COOKIE_REPLY) cookieReplies++;
    return true;
  };
  const attacker = new UdpEndpoint('203.0.113.9', 4444);
  const flood = floodInitiations(p.b.pub, 300, p.clock.wallNow());
  for (const m of flood) p.net.transmit(m, attacker, p.b.bind.endpoint);
  // A's initiation arrives inside the flood: B is under load and answers it with a cookie.
  assert.ok(p.a.tun.writePacket(ipv4Packet('10.0.0.1', '10.0.0.2', 20, 1)));
  await settle(100);
  assert.ok(cookieReplies >= 1, 'no cookie reply under load');
  assert.equal(p.b.received.length, 0);
  assert.ok([...p.a.dev.peers.values()][0]!.hasCookie, 'A did not take the cookie');
  // Keep B under load when A retries: its next initiation must pass on mac2 and the rate limiter.
  const macOk = p.b.dev.drops.handshakeMac;
  await advance(p, 4_500);
  for (const m of floodInitiations(p.b.pub, 200, p.clock.wallNow())) p.net.transmit(m, attacker, p.b.bind.endpoint);
  assert.equal(p.b.dev.drops.handshakeMac, macOk);
  // A retransmits after REKEY_TIMEOUT with mac2 from the cookie; the load has passed.
  await advance(p, 6_000);
  assert.ok(await until(() => p.b.received.length === 1), 'handshake did not complete with the cookie');
  await exchange(p, 2);
  const [oa, ob] = await closePair(p);
  assert.equal(oa + ob, 0);
});

test('a storm of random, truncated and bit-flipped datagrams: no throw, no leak, tunnel still works', async () => {
  const p = await makePair();
  const captured: Uint8Array[] = [];
  p.net.filter = (data) => {
    if (captured.length < 50) captured.push(new Uint8Array(data));
    return true;
  };
  await exchange(p, 1);
  await exchange(p, 2);
  p.net.filter = null;
  const from = new UdpEndpoint('203.0.113.5', 999);
  const to = p.b.bind.endpoint;
  for (let i = 0; i < 3000; i++) {
    const kind = i % 4;
    let d: Uint8Array;
    if (kind === 0) d = randomBytes(1 + (i % 200));
    else if (kind === 1) {
      const src = captured[i % captured.length]!;
      d = src.subarray(0, i % src.length);
    } else if (kind === 2) {
      d = new Uint8Array(captured[i % captured.length]!);
      d[i % d.length]! ^= 1 << i % 8;
    } else {
      // A valid type word with random contents, at each message's exact size.
      const sizes = [148, 92, 64, 32 + (i % 100)];
      d = randomBytes(sizes[i % 4]!);
      d[0] = 1 + (i % 4);
      d[1] = d[2] = d[3] = 0;
    }
    p.net.transmit(d, from, to);
    if (i % 200 === 0) await settle(2);
  }
  await settle(200);
  await exchange(p, 3);
  const [oa, ob] = await closePair(p);
  assert.equal(oa + ob, 0);
});

test('thousands of allowed IPs across many peers route to the right peer', async () => {
  const p = await makePair();
  // 2000 extra peers on B's side, each owning 4 prefixes; A (the real peer) keeps 10.0.0.1/32.
  let body = '';
  for (let i = 0; i < 2000; i++) {
    body += `public_key=${keyToHex(publicKey(generatePrivateKey()))}\n`;
    body += `allowed_ip=10.${(i >> 8) + 100}.${i & 255}.0/24\nallowed_ip=fd${(i >> 8).toString(16)}:${(i & 255).toString(16)}::/48\n`;
    body += `allowed_ip=172.16.${i & 255}.${i >> 8}/32\nallowed_ip=2001:db8:${i.toString(16)}::/64\n`;
  }
  await p.b.dev.ipcSet(body);
  assert.equal(p.b.dev.peers.size, 2001);
  const sample = [...p.b.dev.peers.values()][1234]!;
  const probe = ipv4Packet('10.0.0.2', '10.' + ((1233 >> 8) + 100) + '.' + (1233 & 255) + '.77', 1, 0);
  assert.equal(p.b.dev.allowedIPs.lookup(probe, 16, 4), sample);
  await exchange(p, 1);
  const [oa, ob] = await closePair(p);
  assert.equal(oa + ob, 0);
});
