// The static forwards over the loopback stand-in: TCP client and server tunnels with half-close, the
// STDIO tunnel, UDP client and server tunnels with sessions per sender and their inactivity timeout,
// and the SNI listener reading a real TLS ClientHello.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import dgram from 'node:dgram';
import net from 'node:net';
import { PassThrough } from 'node:stream';
import tls from 'node:tls';
import { once } from 'node:events';
import { FakeClock } from '../base/clock.js';
import { silentLogger } from '../base/logger.js';
import { echoServer, FakeTunnel, freePort, readAll, udpEchoServer } from './_fake-tunnel.js';
import { ListenerStats } from './listener-stats.js';
import { Resolver } from './resolver.js';
import { serverNameOf, SniListener } from './sni-proxy.js';
import { runStdioTunnel, TcpClientTunnel, TcpServerTunnel } from './tcp-tunnels.js';
import { UdpClientTunnel, UdpServerTunnel } from './udp-tunnels.js';

function resolverFor(tunnel: FakeTunnel): Resolver {
  return new Resolver({ tunnelLookup: (n) => tunnel.lookup(n), strategy: 'auto', hasIpv4: true, hasIpv6: false });
}

test('TCPClientTunnel relays each connection to the target through the tunnel, half-close included', async () => {
  const echo = await echoServer();
  const tunnel = new FakeTunnel();
  tunnel.names.set('echo.internal', ['127.0.0.1']);
  const stats = new ListenerStats('tcp-client', '127.0.0.1:0');
  const t = new TcpClientTunnel({ tunnel, resolver: resolverFor(tunnel), stats, logger: silentLogger, target: { host: 'echo.internal', port: echo.port, family: 0 } });
  const { port } = await t.listen({ host: '127.0.0.1', port: 0, family: 4 });
  const c = net.connect({ port, host: '127.0.0.1', allowHalfOpen: true });
  c.end('through the tunnel');
  assert.equal((await readAll(c)).toString(), 'through the tunnel');
  await once(c, 'close');
  const snap = stats.snapshot();
  assert.equal(snap.total, 1);
  assert.equal(snap.bytesIn, 18);
  assert.equal(snap.bytesOut, 18);

  // A target that refuses: the client's connection is reset.
  tunnel.failures.set('127.0.0.1', 'ECONNREFUSED');
  const d = net.connect({ port, host: '127.0.0.1' });
  const [err] = (await once(d, 'error')) as [NodeJS.ErrnoException];
  assert.equal(err.code, 'ECONNRESET');
  assert.equal(stats.failed, 1);
  await t.close();
  echo.server.close();
});

test('TCPServerTunnel relays connections arriving on the tunnel address to a target on this host', async () => {
  const echo = await echoServer();
  const tunnel = new FakeTunnel();
  const stats = new ListenerStats('tcp-server', 'tunnel:0');
  const t = new TcpServerTunnel({ tunnel, stats, logger: silentLogger, target: { host: 'localhost', port: echo.port, family: 0 }, lookup: async () => ['127.0.0.1'] });
  const port = await freePort();
  await t.listen(port);
  const c = net.connect({ port, host: '127.0.0.1', allowHalfOpen: true });
  c.end('from the WireGuard side');
  assert.equal((await readAll(c)).toString(), 'from the WireGuard side');
  await once(c, 'close');
  await new Promise((r) => setTimeout(r, 10));
  const snap = stats.snapshot();
  assert.equal(snap.total, 1);
  assert.equal(snap.bytesIn, 23, 'bytes in: what the tunnel-side client sent');
  await t.close();
  await tunnel.close();
  echo.server.close();
});

test('STDIOTunnel relays a pair of streams to the target and ends when the connection does', async () => {
  const echo = await echoServer();
  const tunnel = new FakeTunnel();
  const input = new PassThrough();
  const output = new PassThrough();
  const done = runStdioTunnel({ tunnel, resolver: resolverFor(tunnel), logger: silentLogger, target: { host: '127.0.0.1', port: echo.port, family: 4 }, input, output });
  const received = readAll(output);
  input.end('SSH-2.0-test\r\n');
  await done;
  assert.equal((await received).toString(), 'SSH-2.0-test\r\n');
  echo.server.close();
});

test('UDPClientTunnel: a session per sender, replies only from the target, inactivity timeout', async () => {
  const echo = await udpEchoServer();
  const tunnel = new FakeTunnel();
  const clock = new FakeClock();
  const stats = new ListenerStats('udp-client', '127.0.0.1:0');
  const t = new UdpClientTunnel({ tunnel, stats, logger: silentLogger, target: { host: 'dns.internal', port: echo.port, family: 0 }, inactivityTimeoutSec: 30, clock, resolve: async () => ['127.0.0.1'] });
  const { port } = await t.listen({ host: '127.0.0.1', port: 0, family: 4 });
  const a = dgram.createSocket('udp4');
  const b = dgram.createSocket('udp4');
  a.send('from a', port, '127.0.0.1');
  b.send('from b', port, '127.0.0.1');
  const [ra] = await once(a, 'message');
  const [rb] = await once(b, 'message');
  assert.equal(String(ra), 'echo:from a');
  assert.equal(String(rb), 'echo:from b');
  assert.equal(stats.datagramsIn, 2);
  assert.equal(stats.datagramsOut, 2);
  assert.equal((t as unknown as { sessions: { size: number } }).sessions.size, 2);
  clock.advance(31_000);
  assert.equal((t as unknown as { sessions: { size: number } }).sessions.size, 0, 'idle sessions closed');
  a.close();
  b.close();
  await t.close();
  echo.socket.close();
});

test('UDPServerTunnel: datagrams to the tunnel port reach a target on this host and the answers go back', async () => {
  const echo = await udpEchoServer('local:');
  const tunnel = new FakeTunnel();
  const stats = new ListenerStats('udp-server', 'tunnel:0');
  const t = new UdpServerTunnel({ tunnel, stats, logger: silentLogger, target: { host: '127.0.0.1', port: echo.port, family: 4 }, inactivityTimeoutSec: 0 });
  const port = await freePort();
  await t.listen(port, [4]);
  const peer = dgram.createSocket('udp4');
  peer.send('query', port, '127.0.0.1');
  const [r] = await once(peer, 'message');
  assert.equal(String(r), 'local:query');
  peer.close();
  await t.close();
  echo.socket.close();
});

test('SNI: the ClientHello server name picks the destination; the handshake goes through unchanged', async () => {
  // A plain TCP server stands for the TLS origin: it records what arrives and closes.
  const arrived: Buffer[] = [];
  const origin = net.createServer((s) => {
    s.on('data', (d) => arrived.push(d));
    setTimeout(() => s.destroy(), 50);
  });
  await new Promise<void>((r) => origin.listen(0, '127.0.0.1', r));
  const tunnel = new FakeTunnel();
  tunnel.names.set('site.internal', ['127.0.0.1']);
  const stats = new ListenerStats('sni', '127.0.0.1:0');
  const l = new SniListener({ tunnel, resolver: resolverFor(tunnel), stats, logger: silentLogger, port: (origin.address() as net.AddressInfo).port });
  const { port } = await l.listen({ host: '127.0.0.1', port: 0, family: 4 });
  const c = tls.connect({ port, host: '127.0.0.1', servername: 'site.internal', rejectUnauthorized: false });
  c.on('error', () => undefined);
  await new Promise((r) => c.on('close', r));
  const hello = Buffer.concat(arrived);
  assert.equal(hello[0], 22, 'a TLS handshake record reached the origin');
  assert.equal(serverNameOf(hello.subarray(5)), 'site.internal');
  assert.deepEqual(tunnel.lookups, ['site.internal']);
  await l.close();
  origin.close();
});

test('serverNameOf refuses truncated and name-less hellos', () => {
  assert.equal(serverNameOf(Buffer.from([1, 0, 0, 2, 3, 3])), null);
  assert.equal(serverNameOf(Buffer.alloc(0)), null);
  assert.equal(serverNameOf(Buffer.from([2, 0, 0, 0])), null, 'not a ClientHello');
});
