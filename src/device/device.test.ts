/**
 * Protocol tests: two devices in one process over the memory network, time stepped by a FakeClock.
 * Every test ends with both pools at zero outstanding buffers.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { generatePrivateKey } from '../crypto/x25519.js';
import { randomBytes } from 'node:crypto';
import { advance, closePair, equalBytes, exchange, ipv4Packet, ipv6Packet, makePair, settle, until, type Pair } from './_testing.js';
import { MESSAGE_INITIATION, MESSAGE_TRANSPORT, messageType } from './messages.js';
import { REKEY_AFTER_TIME_MS, REJECT_AFTER_TIME_MS, KEEPALIVE_TIMEOUT_MS, REKEY_ATTEMPT_TIME_MS } from './constants.js';

const V6A = new Uint8Array([0xfd, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1]);
const V6B = new Uint8Array([0xfd, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 2]);

async function assertClean(p: Pair): Promise<void> {
  const [oa, ob] = await closePair(p);
  assert.equal(oa, 0, 'A leaked buffers');
  assert.equal(ob, 0, 'B leaked buffers');
}


function countHandshakes(p: Pair): { a: number; b: number } {
  const c = { a: 0, b: 0 };
  p.a.dev.on('handshake', () => c.a++);
  p.b.dev.on('handshake', () => c.b++);
  return c;
}

test('handshake initiated by A, data both ways, IPv4 and IPv6 inside', async () => {
  const p = await makePair();
  await exchange(p, 1);
  const v6 = ipv6Packet(V6A, V6B, 300, 5);
  assert.ok(p.a.tun.writePacket(v6));
  assert.ok(await until(() => p.b.received.some((r) => equalBytes(r, v6))));
  const get = p.a.dev.ipcGet();
  assert.match(get, /last_handshake_time_sec=[1-9]/);
  assert.match(get, /tx_bytes=[1-9]/);
  assert.match(get, /rx_bytes=[1-9]/);
  await assertClean(p);
});

test('handshake initiated by B when only B knows the endpoint', async () => {
  const p = await makePair({ endpoints: 'b-knows-a' });
  const ba = ipv4Packet('10.0.0.2', '10.0.0.1', 64, 9);
  assert.ok(p.b.tun.writePacket(ba));
  assert.ok(await until(() => p.a.received.length === 1));
  assert.ok(equalBytes(p.a.received[0]!, ba));
  // A learned B's endpoint from the handshake and can answer.
  assert.match(p.a.dev.ipcGet(), /endpoint=192\.0\.2\.2:51820/);
  await exchange(p, 2);
  await assertClean(p);
});

test('simultaneous initiation from both sides converges', async () => {
  const p = await makePair();
  assert.ok(p.a.tun.writePacket(ipv4Packet('10.0.0.1', '10.0.0.2', 10, 1)));
  assert.ok(p.b.tun.writePacket(ipv4Packet('10.0.0.2', '10.0.0.1', 10, 2)));
  for (let i = 0; i < 10 && (p.a.received.length === 0 || p.b.received.length === 0); i++) {
    await settle(50);
    await advance(p, 6_000);
  }
  await exchange(p, 3);
  await assertClean(p);
});

test('rekey after REKEY_AFTER_TIME on send, old session keeps working meanwhile', async () => {
  const p = await makePair();
  const hs = countHandshakes(p);
  await exchange(p, 1);
  assert.equal(hs.a, 1);
  await advance(p, REKEY_AFTER_TIME_MS + 1000);
  await exchange(p, 2); // sent on the old keypair; triggers the rekey
  await until(() => hs.a === 2, 200);
  assert.equal(hs.a, 2, 'initiator did not rekey after 120 s');
  await exchange(p, 3);
  await assertClean(p);
});

test('keypair rejected after REJECT_AFTER_TIME: a new handshake carries the data', async () => {
  const p = await makePair();
  const hs = countHandshakes(p);
  await exchange(p, 1);
  await advance(p, REJECT_AFTER_TIME_MS + 1000);
  const before = p.b.received.length;
  assert.ok(p.a.tun.writePacket(ipv4Packet('10.0.0.1', '10.0.0.2', 50, 7)));
  assert.ok(await until(() => p.b.received.length > before));
  assert.ok(hs.a >= 2);
  await assertClean(p);
});

test('keys are zeroed after 3 x REJECT_AFTER_TIME without a handshake', async () => {
  const p = await makePair();
  await exchange(p, 1);
  const peer = [...p.a.dev.peers.values()][0]!;
  assert.ok(peer.currentKeypair !== null);
  p.net.filter = () => false; // silence: no keepalives get through
  await advance(p, REJECT_AFTER_TIME_MS * 3 + 60_000, 5_000);
  assert.equal(peer.currentKeypair, null);
  assert.equal(peer.active, false, 'keys zeroed and nothing else going on: the peer is idle');
  await assertClean(p);
});

test('handshake retried every 5 s with jitter, giving up after 90 s', async () => {
  const p = await makePair();
  const times: number[] = [];
  p.net.filter = (data, from) => {
    if (from.address === '192.0.2.1' && messageType(data, 0) === MESSAGE_INITIATION) times.push(p.clock.now());
    return false; // B never hears anything
  };
  let failed = 0;
  p.a.dev.on('handshake-failed', () => failed++);
  assert.ok(p.a.tun.writePacket(ipv4Packet('10.0.0.1', '10.0.0.2', 10, 1)));
  await settle();
  await advance(p, REKEY_ATTEMPT_TIME_MS + 30_000, 500);
  assert.equal(failed, 1);
  // 1 initial + MAX_TIMER_HANDSHAKES (18) retries, as wireguard-go.
  assert.ok(times.length >= 18 && times.length <= 20, `initiations sent: ${times.length}`);
  for (let i = 1; i < times.length; i++) {
    const gap = times[i]! - times[i - 1]!;
    assert.ok(gap >= 5000 && gap <= 5000 + 334 + 1, `retry gap ${gap}`);
  }
  await assertClean(p);
});

test('passive keepalive: the receiver answers data with a keepalive after 10 s', async () => {
  const p = await makePair();
  await exchange(p, 1);
  let keepalivesFromB = 0;
  p.net.filter = (data, from) => {
    if (from.address === '192.0.2.2' && messageType(data, 0) === MESSAGE_TRANSPORT && data.length === 32) keepalivesFromB++;
    return true;
  };
  assert.ok(p.a.tun.writePacket(ipv4Packet('10.0.0.1', '10.0.0.2', 10, 1)));
  assert.ok(await until(() => p.b.received.length === 2));
  await advance(p, KEEPALIVE_TIMEOUT_MS - 100, 100);
  assert.equal(keepalivesFromB, 0);
  await advance(p, 200, 100);
  assert.equal(keepalivesFromB, 1);
  await assertClean(p);
});

test('persistent keepalive sends every interval on an idle tunnel', async () => {
  const p = await makePair({ keepalive: 25 });
  await exchange(p, 1);
  let fromA = 0;
  p.net.filter = (data, from) => {
    if (from.address === '192.0.2.1' && messageType(data, 0) === MESSAGE_TRANSPORT && data.length === 32) fromA++;
    return true;
  };
  await advance(p, 100_000, 500);
  assert.ok(fromA >= 3 && fromA <= 5, `persistent keepalives: ${fromA}`);
  await assertClean(p);
});

test('replayed transport packets are dropped', async () => {
  const p = await makePair();
  await exchange(p, 1);
  const captured: Uint8Array[] = [];
  p.net.filter = (data, from) => {
    if (from.address === '192.0.2.1' && messageType(data, 0) === MESSAGE_TRANSPORT && data.length > 32) captured.push(new Uint8Array(data));
    return true;
  };
  assert.ok(p.a.tun.writePacket(ipv4Packet('10.0.0.1', '10.0.0.2', 40, 3)));
  assert.ok(await until(() => captured.length === 1 && p.b.received.length === 2));
  p.net.filter = null;
  const replays = p.b.dev.drops.replay;
  p.net.transmit(captured[0]!, p.a.bind.endpoint, p.b.bind.endpoint);
  await settle();
  assert.equal(p.b.received.length, 2, 'replay was delivered');
  assert.equal(p.b.dev.drops.replay, replays + 1);
  await assertClean(p);
});

test('wrong peer key and wrong PSK are rejected: no handshake', async () => {
  const p = await makePair({ psk: { a: randomBytes(32), b: randomBytes(32) } });
  const hs = countHandshakes(p);
  assert.ok(p.a.tun.writePacket(ipv4Packet('10.0.0.1', '10.0.0.2', 10, 1)));
  await settle(100);
  await advance(p, 6000);
  assert.equal(hs.a + hs.b, 0);
  assert.equal(p.b.received.length, 0);
  await assertClean(p);

  // B configured with a stranger's public key in place of A's: A's initiation names nobody B knows.
  const q = await makePair();
  const stranger = generatePrivateKey();
  const { publicKey } = await import('../crypto/x25519.js');
  const { keyToHex } = await import('../crypto/keys.js');
  await q.b.dev.ipcSet(`replace_peers=true\npublic_key=${keyToHex(publicKey(stranger))}\nallowed_ip=10.0.0.1/32\n`);
  const hq = countHandshakes(q);
  assert.ok(q.a.tun.writePacket(ipv4Packet('10.0.0.1', '10.0.0.2', 10, 1)));
  await settle(100);
  assert.equal(hq.a + hq.b, 0);
  assert.ok(q.b.dev.drops.handshakeInvalid >= 1);
  await assertClean(q);
});

test('matching PSK completes the handshake', async () => {
  const psk = randomBytes(32);
  const p = await makePair({ psk });
  await exchange(p, 1);
  await assertClean(p);
});

test('roaming: the peer follows a new source address', async () => {
  const p = await makePair();
  await exchange(p, 1);
  const seen: string[] = [];
  p.a.dev.on('endpoint', (_k, ep) => seen.push(ep));
  p.b.bind.moveTo('198.51.100.7');
  // A only learns the new address from an authenticated packet B sends from it.
  const ba = ipv4Packet('10.0.0.2', '10.0.0.1', 33, 4);
  assert.ok(p.b.tun.writePacket(ba));
  assert.ok(await until(() => p.a.received.some((r) => equalBytes(r, ba))));
  await exchange(p, 2);
  assert.deepEqual(seen, ['198.51.100.7:51820']);
  assert.match(p.a.dev.ipcGet(), /endpoint=198\.51\.100\.7:51820/);
  await assertClean(p);
});

test('source address outside the peer allowed IPs is dropped', async () => {
  const p = await makePair();
  await exchange(p, 1);
  const before = p.b.received.length;
  assert.ok(p.a.tun.writePacket(ipv4Packet('10.9.9.9', '10.0.0.2', 20, 1)));
  await settle(50);
  assert.equal(p.b.received.length, before);
  assert.equal(p.b.dev.drops.disallowedSource, 1);
  await assertClean(p);
});

test('packets to an address no peer covers are dropped on send', async () => {
  const p = await makePair();
  assert.ok(p.a.tun.writePacket(ipv4Packet('10.0.0.1', '10.7.7.7', 20, 1)));
  await settle(20);
  assert.equal(p.a.dev.drops.noRoute, 1);
  await assertClean(p);
});

test('down and up again: sessions are dropped, a new handshake carries data', async () => {
  const p = await makePair();
  const hs = countHandshakes(p);
  await exchange(p, 1);
  await p.a.dev.down();
  assert.equal([...p.a.dev.peers.values()][0]!.currentKeypair, null, 'keys kept across down');
  // While down, outbound packets are dropped, not queued.
  const noRoute = p.a.dev.drops.noRoute;
  assert.ok(p.a.tun.writePacket(ipv4Packet('10.0.0.1', '10.0.0.2', 10, 1)));
  await settle(20);
  assert.equal(p.a.dev.drops.noRoute, noRoute + 1);
  // Time passes (B refuses initiations closer together than 20 ms, as a flood guard).
  await advance(p, 1000);
  await p.a.dev.up();
  await exchange(p, 2);
  assert.ok(hs.a >= 2);
  await assertClean(p);
});

test('packets the TUN hands over after its link came up, before the device is up, wait and go when it is', async () => {
  const p = await makePair();
  await p.a.dev.down();
  // The link comes up (a moved interface set up in its new namespace); the device follows a moment later.
  p.a.dev.onEvent('up');
  const noRoute = p.a.dev.drops.noRoute;
  const packet = ipv4Packet('10.0.0.1', '10.0.0.2', 30, 3);
  assert.ok(p.a.tun.writePacket(packet));
  await settle(20);
  assert.equal(p.a.dev.drops.noRoute, noRoute, 'not dropped');
  assert.equal([...p.a.dev.peers.values()][0]!.stagedCount, 1, 'staged');
  await advance(p, 1000);
  await p.a.dev.up();
  assert.ok(await until(() => p.b.received.some((r) => equalBytes(r, packet))), 'sent once the device came up');
  // Down by its owner after that: dropped again.
  await p.a.dev.down();
  assert.ok(p.a.tun.writePacket(packet));
  await settle(20);
  assert.equal(p.a.dev.drops.noRoute, noRoute + 1);
  await assertClean(p);
});

test('a device closed without ever going up leaks nothing', async () => {
  const p = await makePair();
  assert.equal(await p.a.dev.close(), 0);
  await assert.rejects(p.a.dev.up(), /closed/);
  await assert.rejects(p.a.dev.ipcSet('listen_port=1\n'), /closed/);
  assert.equal(await p.b.dev.close(), 0);
});
