// Dynamic DNS: when the device reports failed handshakes for a peer whose Endpoint is a name, the name
// is resolved again and a changed address is set through the UAPI; literal endpoints are left alone.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { silentLogger } from '../base/logger.js';
import { keyToHex } from '../crypto/keys.js';
import { FakeDevice } from './_fake-tunnel.js';
import { EndpointRefresher } from './endpoint-refresh.js';
import { advance, closePair, exchange, ipv4Packet, makePair } from '../device/_testing.js';

const KEY_A = new Uint8Array(32).fill(1);
const KEY_B = new Uint8Array(32).fill(2);
const B64_A = Buffer.from(KEY_A).toString('base64');
const B64_B = Buffer.from(KEY_B).toString('base64');

test('handshake-failed re-resolves a named endpoint and moves the peer when the address changed', async () => {
  const dev = new FakeDevice();
  dev.uapi = `public_key=${keyToHex(KEY_A)}\nendpoint=192.0.2.1:51820\npublic_key=${keyToHex(KEY_B)}\nendpoint=192.0.2.9:51820\n`;
  let answer = '192.0.2.1:51820';
  const asked: string[] = [];
  const r = new EndpointRefresher(
    dev,
    [
      { publicKey: KEY_A, endpoint: 'vpn.example.com:51820', allowedIPs: [] },
      { publicKey: KEY_B, endpoint: '192.0.2.9:51820', allowedIPs: [] },
    ],
    silentLogger,
    async (e) => {
      asked.push(e);
      return answer;
    },
  );
  assert.ok(r.watching);
  r.start();

  await r.refresh(B64_A);
  assert.deepEqual(dev.sets, [], 'same address: nothing to change');
  answer = '198.51.100.7:51820';
  dev.emit('handshake-failed', B64_A);
  await new Promise((res) => setImmediate(res));
  assert.deepEqual(dev.sets, [`public_key=${keyToHex(KEY_A)}\nendpoint=198.51.100.7:51820\n`]);
  dev.emit('handshake-failed', B64_B);
  await new Promise((res) => setImmediate(res));
  assert.deepEqual(asked, ['vpn.example.com:51820', 'vpn.example.com:51820'], 'a literal endpoint is never resolved');
  assert.equal(r.changes, 1);
  r.stop();
  assert.equal(dev.listenerCount('handshake-failed'), 0);
});

test('a name that no longer resolves leaves the endpoint as it was', async () => {
  const dev = new FakeDevice();
  dev.uapi = `public_key=${keyToHex(KEY_A)}\nendpoint=192.0.2.1:51820\n`;
  const r = new EndpointRefresher(dev, [{ publicKey: KEY_A, endpoint: 'gone.example.com:51820', allowedIPs: [] }], silentLogger, async () => {
    throw new Error('ENOTFOUND');
  });
  await r.refresh(B64_A);
  assert.deepEqual(dev.sets, []);
});

test('two real devices: the peer moves, handshakes fail for REKEY_ATTEMPT_TIME, the name resolves to its new address, traffic resumes', async () => {
  const p = await makePair({ endpoints: 'a-knows-b' });
  await exchange(p, 1);
  // B moves, and nothing it sends reaches A (it cannot roam back into A's view): A still sends to the
  // old address and hears nothing back.
  p.b.bind.moveTo('192.0.2.9');
  p.net.filter = (_d, from) => from.address !== '192.0.2.9';
  const r = new EndpointRefresher(p.a.dev, [{ publicKey: p.b.pub, endpoint: 'peer-b.test:51820', allowedIPs: [] }], silentLogger, async () => '192.0.2.9:51820');
  r.start();
  // Past REJECT_AFTER_TIME the session is gone; a packet from A starts handshakes that cannot succeed.
  await advance(p, 200_000, 5_000);
  p.a.tun.writePacket(ipv4Packet('10.0.0.1', '10.0.0.2', 64));
  // Initiations every REKEY_TIMEOUT, each with jitter, until REKEY_ATTEMPT_TIME has passed (6.4).
  await advance(p, 120_000, 1_000);
  assert.equal(r.changes, 1, 'after REKEY_ATTEMPT_TIME the device gave up, and the endpoint was re-resolved');
  assert.match(p.a.dev.ipcGet(), /endpoint=192\.0\.2\.9:51820/);
  p.net.filter = null;
  await exchange(p, 2);
  r.stop();
  assert.deepEqual(await closePair(p), [0, 0]);
});
