// Issue 9 "keeps working", the proxy over two real Tunnels on the memory network with time on a
// FakeClock: a named Endpoint is resolved again when handshakes fail and traffic follows the peer to
// its new address (dynamic DNS); handshakes resume after hours of idle; PersistentKeepalive keeps the
// session fresh (and /readyz 200) with no traffic at all, where without it the handshake goes stale.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { FakeClock } from '../base/clock.js';
import { silentLogger } from '../base/logger.js';
import type { MemoryBind } from '../conn/memory.js';
import { keyToBase64, keyToHex } from '../crypto/keys.js';
import { generatePrivateKey } from '../crypto/x25519.js';
import { REJECT_AFTER_TIME_MS, REKEY_ATTEMPT_TIME_MS, REKEY_TIMEOUT_MS } from '../device/constants.js';
import { advance } from '../device/_testing.js';
import { tunnelPair, type TunnelPair } from '../tunnel/_testing.js';
import { parseProxyConfig } from './config.js';
import { Proxy, type ProxyOptions } from './proxy.js';

/** The proxy's view of A's configuration, with B's Endpoint written as `endpoint` (a name, say). */
async function proxyOnA(p: TunnelPair, endpoint: string, options: Partial<ProxyOptions> = {}): Promise<Proxy> {
  const peerB = p.a.stats().peers[0]!.publicKey;
  const text = `[Interface]\nPrivateKey = ${keyToBase64(generatePrivateKey())}\nAddress = 10.0.0.1/24\n\n[Peer]\nPublicKey = ${peerB}\nEndpoint = ${endpoint}\nAllowedIPs = 10.0.0.2/32\n`;
  return Proxy.start(parseProxyConfig(text, 'a.conf', { env: {} }), p.a, { logger: silentLogger, clock: p.clock, ...options });
}

/** A ping from A to B, the clock stepping until it settles: the round trip, or the error's code. */
async function pingB(p: TunnelPair, timeout = 5000): Promise<number | string> {
  let out: number | string | null = null;
  p.a.ping('10.0.0.2', { timeout }).then(
    (ms) => (out = ms),
    (err: NodeJS.ErrnoException) => (out = err.code ?? err.message),
  );
  for (let i = 0; out === null && i < 200; i++) await step(p, 50, 50);
  assert.notEqual(out, null, 'the ping settled');
  return out!;
}

/** Time passes in `stepMs` steps, the event loop running between them. */
function step(p: TunnelPair, ms: number, stepMs: number): Promise<void> {
  return advance({ clock: p.clock as FakeClock }, ms, stepMs);
}

async function closeClean(p: TunnelPair, proxy: Proxy): Promise<void> {
  await proxy.close();
  await p.a.close();
  await p.b.close();
  assert.equal(p.poolA.outstanding + p.poolB.outstanding, 0, 'buffers leaked');
}

test('dynamic DNS: handshakes to a moved peer fail, its name is resolved again, traffic follows', async () => {
  const p = await tunnelPair({ fakeClock: true });
  let answer = '192.0.2.2:51820';
  const asked: string[] = [];
  const proxy = await proxyOnA(p, 'peer-b.test:51820', {
    resolveEndpoint: async (e) => {
      asked.push(e);
      return answer;
    },
  });
  assert.equal(typeof (await pingB(p)), 'number', 'B answers at its first address');
  // B moves to another address; nothing it sends reaches A from there, so A cannot learn the move by
  // roaming (paper 2.1) and keeps sending to the old address.
  (p.b.device.bind as MemoryBind).moveTo('192.0.2.9');
  p.net.filter = (_d, from) => from.address !== '192.0.2.9';
  answer = '192.0.2.9:51820';
  // The session expires; new handshakes go to the old address, retried every REKEY_TIMEOUT plus jitter
  // until past REKEY_ATTEMPT_TIME (paper 6.4).
  await step(p, REJECT_AFTER_TIME_MS + 10_000, 5_000);
  assert.equal(await pingB(p, 1000), 'ETIMEDOUT');
  assert.deepEqual(asked, [], 'nothing re-resolved while handshakes may still succeed');
  await step(p, REKEY_ATTEMPT_TIME_MS + 6 * REKEY_TIMEOUT_MS, 1_000);
  assert.deepEqual(asked, ['peer-b.test:51820'], 'handshakes failed: the name was resolved again');
  assert.match(p.a.device.ipcGet(), /endpoint=192\.0\.2\.9:51820/);
  p.net.filter = null;
  assert.equal(typeof (await pingB(p)), 'number', 'B answers at its new address');
  await closeClean(p, proxy);
});

test('handshakes resume after hours of idle: the keys are long gone, the next packet makes new ones', async () => {
  const p = await tunnelPair({ fakeClock: true });
  const proxy = await proxyOnA(p, '192.0.2.2:51820');
  assert.equal(typeof (await pingB(p)), 'number');
  const first = p.a.stats().peers[0]!.lastHandshake;
  await step(p, 6 * 3600_000, 60_000);
  assert.equal(proxy.readiness(p.clock.wallNow()).ok, false, 'no fresh handshake after hours of idle');
  assert.equal(typeof (await pingB(p)), 'number', 'the first packet after the idle hours gets through');
  assert.ok(p.a.stats().peers[0]!.lastHandshake > first + 6 * 3600_000 - 1, 'by a new handshake');
  assert.equal(proxy.readiness(p.clock.wallNow()).ok, true);
  await closeClean(p, proxy);
});

test('PersistentKeepalive: a handshake with no traffic, and kept fresh through an hour of idle', async () => {
  const p = await tunnelPair({ fakeClock: true });
  const proxy = await proxyOnA(p, '192.0.2.2:51820');
  const peerB = Buffer.from(p.a.stats().peers[0]!.publicKey, 'base64');
  await p.a.device.ipcSet(`public_key=${keyToHex(peerB)}\npersistent_keepalive_interval=25\n`);
  await step(p, 1000, 100);
  assert.ok(p.b.stats().peers[0]!.lastHandshake > 0, 'turning it on handshakes at once, before any traffic');
  const rx0 = p.b.stats().peers[0]!.rxBytes;
  for (let minute = 1; minute <= 60; minute++) {
    await step(p, 60_000, 5_000);
    assert.equal(proxy.readiness(p.clock.wallNow()).ok, true, `the handshake is fresh after ${minute} min with no traffic`);
  }
  // A keepalive is an empty transport message (32 bytes on the wire, paper 6.5): ~144 of them in an hour.
  const keepalives = (p.b.stats().peers[0]!.rxBytes - rx0) / 32;
  assert.ok(keepalives >= 140, `${keepalives} keepalives' worth of bytes in an hour`);
  assert.equal(typeof (await pingB(p)), 'number');
  await closeClean(p, proxy);
});
