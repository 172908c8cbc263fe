// SOCKS5 UDP ASSOCIATE over the loopback stand-in: the relay is bound to the address the client
// connected to, datagrams go both ways with the RFC 1928 §7 header, names resolve through the tunnel's
// DNS, fragments and strangers are dropped, and the association dies with its TCP connection.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import dgram from 'node:dgram';
import net from 'node:net';
import { once } from 'node:events';
import { silentLogger } from '../base/logger.js';
import { FakeTunnel, readAll, udpEchoServer } from './_fake-tunnel.js';
import { ListenerStats } from './listener-stats.js';
import { readExactly } from './read-bytes.js';
import { Resolver } from './resolver.js';
import { buildUdpDatagram, parseUdpDatagram } from './socks5-protocol.js';
import { Socks5Listener } from './socks5-server.js';

async function associate(port: number): Promise<{ control: net.Socket; relayHost: string; relayPort: number }> {
  const control = net.connect({ port, host: '127.0.0.1' });
  await once(control, 'connect');
  control.write(Buffer.from([5, 1, 0]));
  assert.deepEqual(await readExactly(control, 2), Buffer.from([5, 0]));
  // DST.ADDR/PORT zero: the client does not know its sending address yet.
  control.write(Buffer.from([5, 3, 0, 1, 0, 0, 0, 0, 0, 0]));
  const reply = await readExactly(control, 10);
  assert.equal(reply[1], 0, 'UDP ASSOCIATE succeeded');
  assert.equal(reply[3], 1);
  return { control, relayHost: [...reply.subarray(4, 8)].join('.'), relayPort: reply.readUInt16BE(8) };
}

function nextMessage(s: dgram.Socket): Promise<Buffer> {
  return once(s, 'message').then(([m]) => m as Buffer);
}

test('UDP ASSOCIATE: relay on the client-facing address, datagrams both ways, names through the tunnel DNS', async () => {
  const echo = await udpEchoServer();
  const tunnel = new FakeTunnel();
  tunnel.names.set('dns.internal', ['127.0.0.1']);
  const stats = new ListenerStats('socks5', '0.0.0.0:0');
  const resolver = new Resolver({ tunnelLookup: (n) => tunnel.lookup(n), strategy: 'auto', hasIpv4: true, hasIpv6: false });
  const listener = new Socks5Listener({ tunnel, resolver, stats, logger: silentLogger, credentials: null });
  // Listening on every address, the relay must still bind where this client came in: 127.0.0.1.
  const { port } = await listener.listen({ host: '0.0.0.0', port: 0, family: 4 });
  const { control, relayHost, relayPort } = await associate(port);
  assert.equal(relayHost, '127.0.0.1');

  const client = dgram.createSocket('udp4');
  await new Promise<void>((r) => client.bind(0, '127.0.0.1', r));
  client.send(buildUdpDatagram('127.0.0.1', echo.port, Buffer.from('ping')), relayPort, relayHost);
  const back = parseUdpDatagram(await nextMessage(client));
  assert.ok(typeof back !== 'string');
  assert.deepEqual(back.addr, { host: '127.0.0.1', port: echo.port, atyp: 1 });

  client.send(buildUdpDatagram('dns.internal', echo.port, Buffer.from('by name')), relayPort, relayHost);
  const named = await nextMessage(client);
  const h = parseUdpDatagram(named);
  assert.ok(typeof h !== 'string');
  assert.equal(named.subarray(h.dataAt).toString(), 'echo:by name');
  assert.deepEqual(tunnel.lookups, ['dns.internal']);

  // A fragment (FRAG = 1) is dropped, as is a datagram from another port than the client's.
  const frag = buildUdpDatagram('127.0.0.1', echo.port, Buffer.from('fragment'));
  frag[2] = 1;
  client.send(frag, relayPort, relayHost);
  const stranger = dgram.createSocket('udp4');
  await new Promise<void>((r) => stranger.bind(0, '127.0.0.1', r));
  stranger.send(buildUdpDatagram('127.0.0.1', echo.port, Buffer.from('stranger')), relayPort, relayHost);
  // The next datagram that comes back is the answer to this one: the two before went nowhere.
  client.send(buildUdpDatagram('127.0.0.1', echo.port, Buffer.from('after')), relayPort, relayHost);
  const after = await nextMessage(client);
  assert.ok(after.toString().endsWith('echo:after'));
  assert.equal(stats.dropped, 2);
  assert.equal(stats.datagramsIn, 3);
  assert.equal(stats.datagramsOut, 3);

  // Closing the TCP connection ends the association: the relay port is free again.
  control.end();
  await readAll(control);
  await new Promise((r) => setTimeout(r, 20));
  const reuse = dgram.createSocket('udp4');
  await new Promise<void>((resolve, reject) => {
    reuse.once('error', reject);
    reuse.bind(relayPort, '127.0.0.1', resolve);
  });
  reuse.close();
  stranger.close();
  client.close();
  echo.socket.close();
  await listener.close();
  await tunnel.close();
});
