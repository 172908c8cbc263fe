/**
 * UAPI get/set round trips and refusal of bad input: a refused request returns its errno and changes
 * nothing, not even the lines before the bad one.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { MemoryNetwork } from '../conn/memory.js';
import { generatePrivateKey, publicKey, x25519 } from '../crypto/x25519.js';
import { keyToHex } from '../crypto/keys.js';
import { FakeClock } from '../base/clock.js';
import { makeNode, manyAllowedIPLines } from './_testing.js';
import { uapiHandle } from './uapi.js';
import { UapiError } from './errors.js';
import { REJECT_AFTER_MESSAGES } from './constants.js';

function hex(k: Uint8Array): string {
  return keyToHex(k);
}

async function fresh() {
  const net = new MemoryNetwork();
  const node = makeNode(net, new FakeClock(), '192.0.2.1', '10.0.0.1');
  return { net, node, dev: node.dev };
}

test('set then get returns what was set, in wireguard-go order', async () => {
  const { dev } = await fresh();
  const priv = generatePrivateKey();
  const p1 = publicKey(generatePrivateKey());
  const psk = generatePrivateKey();
  await dev.ipcSet(
    `private_key=${hex(priv)}\nlisten_port=12912\nfwmark=0\n` +
      `public_key=${hex(p1)}\npreshared_key=${hex(psk)}\nendpoint=[2001:db8::1]:51820\n` +
      `persistent_keepalive_interval=25\nallowed_ip=10.1.0.0/16\nallowed_ip=fd00::/64\nallowed_ip=10.2.3.4/32\n`,
  );
  const want =
    `private_key=${hex(priv)}\nlisten_port=12912\n` +
    `public_key=${hex(p1)}\npreshared_key=${hex(psk)}\nprotocol_version=1\nendpoint=[2001:db8::1]:51820\n` +
    `last_handshake_time_sec=0\nlast_handshake_time_nsec=0\ntx_bytes=0\nrx_bytes=0\npersistent_keepalive_interval=25\n` +
    `allowed_ip=10.1.0.0/16\nallowed_ip=fd00::/64\nallowed_ip=10.2.3.4/32\n`;
  assert.equal(dev.ipcGet(), want);
  assert.equal(await uapiHandle(dev, 'get=1\n\n'), want + 'errno=0\n\n');
  await dev.close();
});

test('replace_allowed_ips, remove, update_only and replace_peers', async () => {
  const { dev } = await fresh();
  await dev.ipcSet(`private_key=${hex(generatePrivateKey())}\n`);
  const p1 = publicKey(generatePrivateKey());
  const p2 = publicKey(generatePrivateKey());
  const p3 = publicKey(generatePrivateKey());
  await dev.ipcSet(`public_key=${hex(p1)}\nallowed_ip=10.0.0.0/24\npublic_key=${hex(p2)}\nallowed_ip=10.0.1.0/24\n`);
  await dev.ipcSet(`public_key=${hex(p1)}\nreplace_allowed_ips=true\nallowed_ip=10.9.0.0/24\n`);
  assert.match(dev.ipcGet(), /allowed_ip=10\.9\.0\.0\/24/);
  assert.doesNotMatch(dev.ipcGet(), /allowed_ip=10\.0\.0\.0\/24/);
  // An allowed IP moves to the peer that claims it last (cryptokey routing is one owner per prefix).
  await dev.ipcSet(`public_key=${hex(p2)}\nallowed_ip=10.9.0.0/24\n`);
  assert.equal(dev.allowedIPs.entriesFor(dev.peerByPublicKey(p1)!).length, 0);
  await dev.ipcSet(`public_key=${hex(p3)}\nupdate_only=true\nallowed_ip=10.3.0.0/24\n`);
  assert.equal(dev.peerByPublicKey(p3), null, 'update_only created a peer');
  await dev.ipcSet(`public_key=${hex(p1)}\nremove=true\n`);
  assert.equal(dev.peerByPublicKey(p1), null);
  await dev.ipcSet(`replace_peers=true\npublic_key=${hex(p3)}\n`);
  assert.deepEqual([...dev.peers.values()].map((p) => p.publicKeyHex), [hex(p3)]);
  // Our own public key as a peer is ignored.
  const own = publicKey(dev.identity.privateKey);
  await dev.ipcSet(`public_key=${hex(own)}\nallowed_ip=10.4.0.0/24\n`);
  assert.equal(dev.peers.size, 1);
  await dev.close();
});

test('a private key of zeros clears it; setting a key equal to a peer removes that peer', async () => {
  const { dev } = await fresh();
  const priv = generatePrivateKey();
  await dev.ipcSet(`public_key=${hex(publicKey(priv))}\nallowed_ip=10.0.0.0/8\n`);
  assert.equal(dev.peers.size, 1);
  await dev.ipcSet(`private_key=${hex(priv)}\n`);
  assert.equal(dev.peers.size, 0);
  await dev.ipcSet(`private_key=${'0'.repeat(64)}\n`);
  assert.doesNotMatch(dev.ipcGet(), /private_key/);
  await dev.close();
});

const BAD: [string, string, string][] = [
  ['no equals sign', 'listen_port\n', 'EPROTO'],
  ['unknown device key', 'bogus=1\n', 'EINVAL'],
  ['unknown peer key', `public_key=${'a'.repeat(64)}\nbogus=1\n`, 'EINVAL'],
  ['port too large', 'listen_port=65536\n', 'EINVAL'],
  ['port not a number', 'listen_port=12a\n', 'EINVAL'],
  ['negative fwmark', 'fwmark=-1\n', 'EINVAL'],
  ['short private key', 'private_key=abcd\n', 'EINVAL'],
  ['non-hex key', `private_key=${'g'.repeat(64)}\n`, 'EINVAL'],
  ['replace_peers=false', 'replace_peers=false\n', 'EINVAL'],
  ['bad endpoint', `public_key=${'a'.repeat(64)}\nendpoint=example.com:1\n`, 'EINVAL'],
  ['v6 endpoint without brackets', `public_key=${'a'.repeat(64)}\nendpoint=::1:51820\n`, 'EINVAL'],
  ['bad allowed ip', `public_key=${'a'.repeat(64)}\nallowed_ip=10.0.0.0/33\n`, 'EINVAL'],
  ['allowed ip without prefix', `public_key=${'a'.repeat(64)}\nallowed_ip=10.0.0.1\n`, 'EINVAL'],
  ['keepalive too large', `public_key=${'a'.repeat(64)}\npersistent_keepalive_interval=70000\n`, 'EINVAL'],
  ['protocol_version 2', `public_key=${'a'.repeat(64)}\nprotocol_version=2\n`, 'EINVAL'],
  ['device key after a peer', `public_key=${'a'.repeat(64)}\nlisten_port=1\n`, 'EINVAL'],
];

for (const [what, body, code] of BAD) {
  test(`bad UAPI input is refused with ${code} and changes nothing: ${what}`, async () => {
    const { dev } = await fresh();
    const priv = generatePrivateKey();
    await dev.ipcSet(`private_key=${hex(priv)}\nlisten_port=1111\npublic_key=${hex(publicKey(generatePrivateKey()))}\nallowed_ip=10.0.0.0/24\n`);
    const before = dev.ipcGet();
    // The good lines in front of the bad one must not be applied either.
    const request = `private_key=${hex(generatePrivateKey())}\nlisten_port=2222\nreplace_peers=true\n` + body;
    await assert.rejects(dev.ipcSet(request), (err: unknown) => err instanceof UapiError && err.code === code);
    assert.equal(dev.ipcGet(), before);
    const reply = await uapiHandle(dev, 'set=1\n' + request + '\n');
    assert.match(reply, /^errno=-\d+\n\n$/);
    assert.equal(dev.ipcGet(), before);
    await dev.close();
  });
}

test('a bad line in the middle of a set of 130,560 allowed IPs changes nothing; without it all are taken', async () => {
  const { dev } = await fresh();
  await dev.ipcSet(`private_key=${hex(generatePrivateKey())}\nlisten_port=1111\npublic_key=${hex(publicKey(generatePrivateKey()))}\nallowed_ip=10.0.0.0/24\n`);
  const before = dev.ipcGet();
  const lines = manyAllowedIPLines();
  const head = `listen_port=2222\nreplace_peers=true\npublic_key=${hex(publicKey(generatePrivateKey()))}\n`;
  const half = lines.length / 2;
  const bad = head + lines.slice(0, half).join('\n') + '\nallowed_ip=1.2.3.4/33\n' + lines.slice(half).join('\n') + '\n';
  await assert.rejects(dev.ipcSet(bad), (err: unknown) => err instanceof UapiError && err.code === 'EINVAL');
  assert.equal(dev.ipcGet(), before);
  // "\r\n" line ends read as "\n" (wireguard-go's line scanner drops the "\r").
  await dev.ipcSet((head + lines.join('\n') + '\n').replaceAll('\n', '\r\n'));
  assert.equal(dev.allowedIPs.size, 130_560);
  assert.equal(dev.ipcGet().split('\n').filter((l) => l.startsWith('allowed_ip=')).length, 130_560);
  assert.equal(dev.listenPort, 2222);
  await dev.close();
});

test('port in use on a running device: EADDRINUSE, old port kept', async () => {
  const net = new MemoryNetwork();
  const a = makeNode(net, new FakeClock(), '192.0.2.1', '10.0.0.1');
  const b = makeNode(net, new FakeClock(), '192.0.2.1', '10.0.0.2');
  await a.dev.ipcSet('listen_port=5000\n');
  await b.dev.ipcSet('listen_port=6000\n');
  await a.dev.up();
  await b.dev.up();
  await assert.rejects(b.dev.ipcSet('listen_port=5000\n'), (e: unknown) => e instanceof UapiError && e.code === 'EADDRINUSE');
  assert.match(b.dev.ipcGet(), /listen_port=6000/);
  await b.dev.ipcSet('listen_port=7000\n');
  assert.match(b.dev.ipcGet(), /listen_port=7000/);
  assert.equal(await a.dev.close(), 0);
  assert.equal(await b.dev.close(), 0);
});

test('invalid operation is refused', async () => {
  const { dev } = await fresh();
  assert.match(await uapiHandle(dev, 'frob=1\n\n'), /^errno=-22\n\n$/);
  await dev.close();
});

test('setting the same private key again keeps the sessions; a new key expires them', async () => {
  const { makePair, exchange, closePair } = await import('./_testing.js');
  const p = await makePair();
  await exchange(p, 1);
  const peer = [...p.a.dev.peers.values()][0]!;
  const kp = peer.currentKeypair;
  await p.a.dev.ipcSet(`private_key=${hex(p.a.priv)}\n`);
  assert.equal(peer.currentKeypair, kp);
  assert.ok(kp !== null && kp.sendCounter < REJECT_AFTER_MESSAGES, 'session was expired by an unchanged key');
  await p.a.dev.ipcSet(`private_key=${hex(generatePrivateKey())}\n`);
  assert.ok(peer.currentKeypair === null || peer.currentKeypair.sendCounter >= REJECT_AFTER_MESSAGES, 'a new key must not keep sending on old sessions');
  const [oa, ob] = await closePair(p);
  assert.equal(oa + ob, 0);
});

test('configuring a peer costs no DH: DH(S_priv, S_remote) waits for the first handshake, and a new private key sends it back', async () => {
  const { makePair, exchange, closePair } = await import('./_testing.js');
  const p = await makePair();
  const peerB = [...p.a.dev.peers.values()][0]!;
  const peerA = [...p.b.dev.peers.values()][0]!;
  assert.ok(!peerB.handshake.staticStaticComputed && !peerA.handshake.staticStaticComputed);
  await exchange(p, 1);
  const want = new Uint8Array(32);
  assert.ok(x25519(want, p.a.priv, p.b.pub));
  // Both sides computed the same value when they needed it: A to initiate, B to consume.
  assert.ok(peerB.handshake.staticStaticComputed && peerA.handshake.staticStaticComputed);
  assert.deepEqual(peerB.handshake.staticStatic(p.a.dev.identity), want);
  assert.deepEqual(peerA.handshake.staticStatic(p.b.dev.identity), want);
  const priv = generatePrivateKey();
  await p.a.dev.ipcSet(`private_key=${hex(priv)}\n`);
  assert.ok(!peerB.handshake.staticStaticComputed);
  assert.ok(x25519(want, priv, p.b.pub));
  assert.deepEqual(peerB.handshake.staticStatic(p.a.dev.identity), want);
  const [oa, ob] = await closePair(p);
  assert.equal(oa + ob, 0);
});
