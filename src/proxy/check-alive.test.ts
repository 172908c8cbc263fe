// CheckAlive as wireproxy defines it: a ping to every listed address each interval; /readyz 200 only
// while each answered within the interval plus 2 s, 503 before the first answers and once one falls
// silent, 200 again when it answers; the body names each address's last reply; close() stops the rounds.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { FakeClock } from '../base/clock.js';
import { silentLogger, type Logger } from '../base/logger.js';
import { FakeTunnel } from './_fake-tunnel.js';
import { parseProxyConfig } from './config.js';
import { Proxy } from './proxy.js';

const K1 = 'uCTIK+56CPyCvwJxmU5dBfuyJvPuSXAq1FzHdnIxe1Q=';
const K2 = 'QP+A67Z2UBrMgvNIdHv8gPel5URWNLS4B3ZQ2hQIZlg=';

/** Let the pings' promises settle. */
const settle = (): Promise<void> => new Promise((r) => setImmediate(r));

test('CheckAlive: pings every interval; /readyz follows the answers with 2 s of leeway', async () => {
  const cfg = parseProxyConfig(
    `[Interface]\nPrivateKey = ${K1}\nAddress = 10.0.0.2/32\nCheckAlive = 10.0.0.1, fd00::1\nCheckAliveInterval = 3\n\n[Peer]\nPublicKey = ${K2}\nEndpoint = 192.0.2.1:51820\n`,
    'p.conf',
    { env: {} },
  );
  const clock = new FakeClock();
  const tunnel = new FakeTunnel();
  const logged: string[] = [];
  const logger: Logger = { ...silentLogger, error: (m: string) => logged.push(m) };
  const proxy = await Proxy.start(cfg, tunnel, { logger, clock });
  await settle();
  assert.deepEqual(tunnel.pings, ['10.0.0.1', 'fd00::1'], 'the first round at start');
  let r = proxy.readiness(clock.wallNow());
  assert.equal(r.ok, false, 'nobody answered yet');
  assert.deepEqual(JSON.parse(r.body).checkAlive, { '10.0.0.1': 0, 'fd00::1': 0 });
  assert.equal(logged.length, 2, 'each silent address logged');

  tunnel.answering.add('10.0.0.1');
  tunnel.answering.add('fd00::1');
  clock.advance(3000);
  await settle();
  assert.equal(tunnel.pings.length, 4, 'a round per interval');
  r = proxy.readiness(clock.wallNow());
  assert.equal(r.ok, true);
  const body = JSON.parse(r.body);
  assert.equal(body.ready, true);
  assert.equal(body.checkAlive['fd00::1'], Math.floor(clock.wallNow() / 1000));
  assert.equal(typeof body.handshakeAgeSeconds, 'object', 'the peers are still listed');
  assert.match(logged.join('\n'), /10\.0\.0\.1 answers again/);

  // One address falls silent: ready until its last answer is older than 3 s + 2 s.
  tunnel.answering.delete('fd00::1');
  const answeredAt = clock.wallNow();
  clock.advance(3000);
  await settle();
  assert.equal(proxy.readiness(clock.wallNow()).ok, true, 'within the leeway');
  assert.equal(proxy.readiness(answeredAt + 5000).ok, true);
  assert.equal(proxy.readiness(answeredAt + 5001).ok, false);
  clock.advance(3000);
  await settle();
  assert.equal(proxy.readiness(clock.wallNow()).ok, false, 'silent for two rounds');
  const silentLogs = logged.filter((m) => m.includes('no answer from fd00::1')).length;
  clock.advance(3000);
  await settle();
  assert.equal(logged.filter((m) => m.includes('no answer from fd00::1')).length, silentLogs, 'logged once while silent');

  tunnel.answering.add('fd00::1');
  clock.advance(3000);
  await settle();
  assert.equal(proxy.readiness(clock.wallNow()).ok, true, 'ready again');

  await proxy.close();
  const n = tunnel.pings.length;
  clock.advance(30_000);
  await settle();
  assert.equal(tunnel.pings.length, n, 'no rounds after close');
  assert.equal(clock.pending, 0);
  await tunnel.close();
});

test('without CheckAlive nothing is pinged and /readyz follows the handshake', async () => {
  const cfg = parseProxyConfig(`[Interface]\nPrivateKey = ${K1}\nAddress = 10.0.0.2/32\n\n[Peer]\nPublicKey = ${K2}\nEndpoint = 192.0.2.1:51820\n`, 'p.conf', { env: {} });
  const clock = new FakeClock();
  const tunnel = new FakeTunnel();
  const proxy = await Proxy.start(cfg, tunnel, { logger: silentLogger, clock });
  clock.advance(60_000);
  await settle();
  assert.deepEqual(tunnel.pings, []);
  assert.equal('checkAlive' in JSON.parse(proxy.readiness().body), false);
  await proxy.close();
  await tunnel.close();
});
