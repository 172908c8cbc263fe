/**
 * What an idle peer holds (issue: 10,000 idle peers at ~14 KB each): configured peers hold no traffic
 * state (sessions and their replay windows, handshake secrets, cookie, staging ring, timers) until
 * they have traffic, and give it all back when they go idle again: keys zeroed after
 * 3 x REJECT_AFTER_TIME (6.3) with nothing else going on, or a handshake given up with no keys to
 * zero. Structure is asserted, not memory: time is a FakeClock, nothing is measured.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { MemoryNetwork } from '../conn/memory.js';
import { FakeClock } from '../base/clock.js';
import { keyToHex } from '../crypto/keys.js';
import { REJECT_AFTER_TIME_MS, REKEY_ATTEMPT_TIME_MS, REKEY_TIMEOUT_MS } from './constants.js';
import type { Peer } from './peer.js';
import { advance, closePair, exchange, ipv4Packet, makeNode, makePair, type Pair } from './_testing.js';

function onlyPeer(p: Pair, side: 'a' | 'b'): Peer {
  return [...p[side].dev.peers.values()][0]!;
}

/** Nothing of the peer's traffic state is left: no sessions, no handshake secrets or index, nothing staged. */
function assertIdle(peer: Peer, what: string): void {
  assert.equal(peer.active, false, `${what}: traffic state dropped`);
  assert.equal(peer.currentKeypair, null, `${what}: no session`);
  assert.equal(peer.stagedCount, 0, `${what}: nothing staged`);
  assert.equal(peer.hasCookie, false, `${what}: no cookie`);
  assert.equal(peer.handshake.secrets, null, `${what}: no handshake secrets`);
  assert.equal(peer.handshake.localIndex, 0, `${what}: no handshake index`);
}

test('configured peers hold no traffic state; traffic makes it and going idle drops it; traffic brings it back', async () => {
  const p = await makePair();
  const a = onlyPeer(p, 'a');
  const b = onlyPeer(p, 'b');
  assertIdle(a, 'A configured');
  assertIdle(b, 'B configured');
  assert.equal(p.clock.pending, 0, 'no timer scheduled for idle peers');

  await exchange(p, 1);
  assert.ok(a.active && b.active, 'traffic made the state');
  assert.notEqual(a.currentKeypair, null);
  assert.ok(p.a.dev.indexTable.size > 0);

  // Silence: keepalives stop, the keys are zeroed after 3 x REJECT_AFTER_TIME, and both go idle.
  p.net.filter = () => false;
  await advance(p, REJECT_AFTER_TIME_MS * 3 + 60_000, 5_000);
  assertIdle(a, 'A after its keys were zeroed');
  assertIdle(b, 'B after its keys were zeroed');
  assert.equal(p.a.dev.indexTable.size, 0, 'A holds no index');
  assert.equal(p.b.dev.indexTable.size, 0, 'B holds no index');
  assert.equal(p.clock.pending, 0, 'no timer left scheduled');

  // Traffic again: a new handshake, and the state is back.
  p.net.filter = null;
  await exchange(p, 2);
  assert.ok(a.active && b.active);
  assert.notEqual(a.currentKeypair, null);
  const [oa, ob] = await closePair(p);
  assert.equal(oa + ob, 0);
});

test('a handshake given up with no keys to zero leaves the peer idle at once, its staged packets released', async () => {
  const p = await makePair();
  const a = onlyPeer(p, 'a');
  p.net.filter = () => false; // B never hears anything
  assert.ok(p.a.tun.writePacket(ipv4Packet('10.0.0.1', '10.0.0.2', 40, 1)));
  await advance(p, 1_000);
  assert.ok(a.active);
  assert.equal(a.stagedCount, 1);
  await advance(p, REKEY_ATTEMPT_TIME_MS + 3 * REKEY_TIMEOUT_MS);
  assertIdle(a, 'A after giving up');
  assert.equal(p.a.dev.indexTable.size, 0);
  assert.equal(p.a.pool.outstanding, 0, 'the staged packet went back');
  const [oa, ob] = await closePair(p);
  assert.equal(oa + ob, 0);
});

test('a device going down drops every peer\'s traffic state', async () => {
  const p = await makePair();
  await exchange(p, 1);
  await p.a.dev.down();
  assertIdle(onlyPeer(p, 'a'), 'A after down');
  const [oa, ob] = await closePair(p);
  assert.equal(oa + ob, 0);
});

test('a thousand configured peers: none holds traffic state, and none a scheduled timer', async () => {
  const clock = new FakeClock();
  const node = makeNode(new MemoryNetwork(), clock, '192.0.2.1', '10.0.0.1');
  await node.dev.ipcSet(`private_key=${keyToHex(node.priv)}\nlisten_port=51820\n`);
  await node.dev.up();
  let req = '';
  for (let i = 0; i < 1000; i++) {
    req += `public_key=${randomBytes(32).toString('hex')}\nendpoint=198.51.100.${i % 250}:${1000 + i}\n`;
    req += `allowed_ip=10.1.${i >> 8}.${i & 255}/32\nallowed_ip=fd00::1:${i.toString(16)}/128\n`;
  }
  await node.dev.ipcSet(req);
  assert.equal(node.dev.peers.size, 1000);
  for (const peer of node.dev.peers.values()) assertIdle(peer, 'a configured peer');
  assert.equal(clock.pending, 0);
  assert.equal(await node.dev.close(), 0);
});
