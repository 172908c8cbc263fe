// The proxy as a whole over the loopback stand-in: a configuration file's sections started together,
// metrics with a row per listener, readiness from the handshake age, and a start that fails part way
// naming the section and leaving nothing running.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import net from 'node:net';
import { once } from 'node:events';
import { silentLogger } from '../base/logger.js';
import { echoServer, FakeTunnel, freePort, readAll } from './_fake-tunnel.js';
import { parseProxyConfig, ProxyConfigError } from './config.js';
import { Proxy } from './proxy.js';
import { readExactly } from './read-bytes.js';

const K1 = 'uCTIK+56CPyCvwJxmU5dBfuyJvPuSXAq1FzHdnIxe1Q=';
const K2 = 'QP+A67Z2UBrMgvNIdHv8gPel5URWNLS4B3ZQ2hQIZlg=';
const PEER_HEX = Buffer.from(K2, 'base64').toString('hex');

function configText(extra: string): string {
  return `[Interface]\nPrivateKey = ${K1}\nAddress = 10.0.0.2/32\nDNS = 10.0.0.1\n\n[Peer]\nPublicKey = ${K2}\nEndpoint = 192.0.2.1:51820\n\n${extra}`;
}

test('every section starts; SOCKS5 and a TCP forward work; metrics have a row per listener', async () => {
  const echo = await echoServer();
  const socksPort = await freePort();
  const fwdPort = await freePort();
  const cfg = parseProxyConfig(
    configText(`[Socks5]\nBindAddress = 127.0.0.1:${socksPort}\n\n[TCPClientTunnel]\nBindAddress = 127.0.0.1:${fwdPort}\nTarget = echo.internal:${echo.port}\n\n[http]\nBindAddress = 127.0.0.1:0\n`),
    '/etc/wgts/proxy.conf',
    { env: {} },
  );
  const tunnel = new FakeTunnel();
  tunnel.names.set('echo.internal', ['127.0.0.1']);
  const proxy = await Proxy.start(cfg, tunnel, { logger: silentLogger });

  const fwd = net.connect({ port: fwdPort, host: '127.0.0.1', allowHalfOpen: true });
  fwd.end('forwarded');
  assert.equal((await readAll(fwd)).toString(), 'forwarded');
  assert.deepEqual(tunnel.lookups, ['echo.internal'], 'DNS = in [Interface]: names resolve through the tunnel');

  const s = net.connect({ port: socksPort, host: '127.0.0.1', allowHalfOpen: true });
  await once(s, 'connect');
  s.write(Buffer.from([5, 1, 0, 5, 1, 0, 1, 127, 0, 0, 1, echo.port >> 8, echo.port & 255]));
  assert.deepEqual(await readExactly(s, 2), Buffer.from([5, 0]));
  assert.equal((await readExactly(s, 10))[1], 0);
  s.end('socks');
  assert.equal((await readAll(s)).toString(), 'socks');
  // Wait until the proxy has seen both connections close (their bytes are then folded in).
  while (proxy.stats.some((l) => l.open > 0)) await new Promise((r) => setTimeout(r, 5));

  const now = Date.UTC(2026, 0, 1);
  tunnel.device.uapi = `public_key=${PEER_HEX}\nendpoint=192.0.2.1:51820\nlast_handshake_time_sec=${now / 1000 - 10}\nlast_handshake_time_nsec=0\nrx_bytes=100\ntx_bytes=200\n`;
  const text = proxy.metrics();
  assert.match(text, new RegExp(`wgts_listener_connections_total\\{kind="socks5",address="127.0.0.1:${socksPort}"\\} 1`));
  assert.match(text, new RegExp(`wgts_listener_received_bytes_total\\{kind="tcp-client",address="127.0.0.1:${fwdPort}"\\} 9`));
  assert.match(text, /wgts_listener_connections_open\{kind="http",address="127.0.0.1:\d+"\} 0/);
  assert.match(text, /wgts_peer_transmit_bytes_total\{public_key="QP\+A67Z2UBrMgvNIdHv8gPel5URWNLS4B3ZQ2hQIZlg="\} 200/);

  const ready = proxy.readiness(now);
  assert.equal(ready.ok, true);
  assert.deepEqual(JSON.parse(ready.body), { ready: true, handshakeAgeSeconds: { [K2]: 10 } });
  assert.equal(proxy.readiness(now + 200_000).ok, false, 'a handshake older than REJECT_AFTER_TIME is not fresh');
  await proxy.close();
  await tunnel.close();
  echo.server.close();
});

test('a listener that cannot start stops the whole start, names its line, and leaves nothing listening', async () => {
  const busy = net.createServer();
  await new Promise<void>((r) => busy.listen(0, '127.0.0.1', r));
  const taken = (busy.address() as net.AddressInfo).port;
  const first = await freePort();
  const cfg = parseProxyConfig(configText(`[Socks5]\nBindAddress = 127.0.0.1:${first}\n\n[http]\nBindAddress = 127.0.0.1:${taken}\n`), 'p.conf', { env: {} });
  const tunnel = new FakeTunnel();
  await assert.rejects(Proxy.start(cfg, tunnel, { logger: silentLogger }), (e: unknown) => {
    assert.ok(e instanceof ProxyConfigError);
    assert.equal(e.message, `p.conf:13: BindAddress: cannot listen on 127.0.0.1:${taken}: listen EADDRINUSE: address already in use 127.0.0.1:${taken}`);
    return true;
  });
  // The first listener was closed again: its port is free.
  const again = net.createServer();
  await new Promise<void>((resolve, reject) => {
    again.once('error', reject);
    again.listen(first, '127.0.0.1', resolve);
  });
  again.close();
  busy.close();
});

test('unreadable TLS files are named with their key', async () => {
  const cfg = parseProxyConfig(configText('[http]\nBindAddress = 127.0.0.1:0\nCertFile = /nonexistent/cert.pem\nKeyFile = /nonexistent/key.pem\n'), '/etc/p.conf', { env: {} });
  await assert.rejects(Proxy.start(cfg, new FakeTunnel(), { logger: silentLogger }), /^ProxyConfigError: \/etc\/p.conf:10: CertFile: cannot read '\/nonexistent\/cert.pem': ENOENT$/);
});
