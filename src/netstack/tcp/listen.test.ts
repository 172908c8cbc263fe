// Listening: a SYN flood costs bounded memory (half-open connections capped, SYN cookies beyond),
// a genuine client completes a cookie handshake with its options restored from the TSecr, a forged
// cookie is reset, SYN cookies off means dropping, half-open connections time out after the SYN-ACK
// retransmissions; the Node-shaped server: EADDRINUSE, EADDRNOTAVAIL, port 0, maxConnections with
// 'drop', close() waiting for its connections, getConnections().
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Link, RawPeer } from './_testing.js';
import { TcpSocket } from '../tcp-socket.js';
import { TcpServer } from '../tcp-server.js';
import { MIN_SYN_BACKLOG } from './constants.js';

const SYN = 0x02;
const RST = 0x04;
const ACK = 0x10;

test('SYN flood: half-open connections stay capped; SYN cookies answer the rest; memory is bounded', async () => {
  const raw = new RawPeer();
  const accepted: TcpSocket[] = [];
  const server = new TcpServer(raw.tcp, (s) => accepted.push(s));
  server.listen(443, undefined, 16);
  await raw.link.settle();
  for (let i = 0; i < 3000; i++) raw.inject({ srcPort: 1024 + i, dstPort: 443, seq: i * 7919, flags: SYN, mss: 1300, ts: [i + 1, 0], wscale: 6, sackPermitted: true });
  await raw.link.settle();
  const st = raw.tcp.stats();
  assert.equal(st.connections, MIN_SYN_BACKLOG, 'half-open connections capped at max(backlog, 128)');
  assert.equal(st.synCookiesSent, 3000 - MIN_SYN_BACKLOG);
  const out = raw.take();
  assert.equal(out.length, 3000, 'every SYN answered');
  // A genuine client behind port 4000 completes with its cookie.
  const reply = out.find((s) => s.dstPort === 1024 + 2999)!;
  assert.equal(reply.flags, SYN | ACK);
  assert.equal(reply.mss, 1380);
  assert.equal(reply.wscale, 7, 'window scaling offered: the cookie carries it in the TSval');
  raw.inject({ srcPort: 1024 + 2999, dstPort: 443, seq: 2999 * 7919 + 1, ack: (reply.seq + 1) >>> 0, flags: ACK, ts: [5000, reply.ts![0]], data: Buffer.from('GET /') });
  await raw.link.settle();
  await raw.link.settle();
  assert.equal(accepted.length, 1);
  assert.equal(raw.tcp.stats().synCookiesAccepted, 1);
  const c = accepted[0]!.connection!;
  assert.equal(c.snd.wscale, 6, 'the client window scale restored');
  assert.equal(c.sackOk, true, 'SACK restored');
  assert.equal(c.peerMss, 1300, 'MSS from the cookie table');
  assert.equal(accepted[0]!.read()?.toString(), 'GET /');
  // A forged cookie is reset.
  raw.take();
  raw.inject({ srcPort: 1024 + 2998, dstPort: 443, seq: 2998 * 7919 + 1, ack: 12345, flags: ACK });
  await raw.link.settle();
  const rst = raw.take();
  assert.equal(rst.length, 1);
  assert.equal(rst[0]!.flags, RST);
  assert.equal(raw.tcp.stats().synCookiesFailed, 1);
  assert.equal(accepted.length, 1);
  server.close();
  for (const s of accepted) s.destroy();
  assert.equal(await raw.link.close(), 0);
});

test('SYN cookies off: SYNs past the cap are dropped', async () => {
  const raw = new RawPeer({ tcp: { synCookies: false } });
  const server = new TcpServer(raw.tcp, () => {});
  server.listen(443);
  await raw.link.settle();
  for (let i = 0; i < 600; i++) raw.inject({ srcPort: 2000 + i, dstPort: 443, seq: i, flags: SYN });
  await raw.link.settle();
  const st = raw.tcp.stats();
  assert.equal(st.connections, 511, 'the listen backlog (Node default 511)');
  assert.equal(st.synDropped, 600 - 511);
  assert.equal(raw.take().length, 511);
  server.close();
  assert.equal(await raw.link.close(), 0);
});

test('half-open connections time out after the SYN-ACK retransmissions', async () => {
  const raw = new RawPeer();
  const server = new TcpServer(raw.tcp, () => {});
  server.listen(443);
  await raw.link.settle();
  raw.inject({ srcPort: 3000, dstPort: 443, seq: 1, flags: SYN });
  await raw.link.settle();
  assert.equal(raw.tcp.stats().connections, 1);
  await raw.link.run(() => raw.tcp.stats().connections === 0, 200_000, 100);
  assert.equal(raw.tcp.stats().connections, 0);
  const synacks = raw.take().filter((s) => s.flags === (SYN | ACK));
  assert.equal(synacks.length, 6, 'the SYN-ACK and five retransmissions');
  server.close();
  assert.equal(await raw.link.close(), 0);
});

test('server: EADDRINUSE, EADDRNOTAVAIL, port 0, address()', async () => {
  const link = new Link();
  const a = new TcpServer(link.tcpB).listen(80);
  const errors: string[] = [];
  const b = new TcpServer(link.tcpB);
  b.on('error', (e: NodeJS.ErrnoException) => errors.push(e.code!));
  b.listen(80, '10.0.0.2');
  const c = new TcpServer(link.tcpB);
  c.on('error', (e: NodeJS.ErrnoException) => errors.push(e.code!));
  c.listen(81, '10.9.9.9');
  let listening = false;
  const d = new TcpServer(link.tcpB).listen(0, '10.0.0.2', () => (listening = true));
  await link.settle();
  assert.deepEqual(errors, ['EADDRINUSE', 'EADDRNOTAVAIL']);
  assert.ok(listening);
  const addr = d.address()!;
  assert.equal(addr.address, '10.0.0.2');
  assert.equal(addr.family, 'IPv4');
  assert.ok(addr.port >= 49152);
  assert.deepEqual(a.address(), { address: '::', family: 'IPv6', port: 80 });
  a.close();
  d.close();
  assert.equal(await link.close(), 0);
});

test("server: maxConnections drops the excess with 'drop'; close() waits for the connections; getConnections()", async () => {
  const link = new Link();
  const sockets: TcpSocket[] = [];
  const server = new TcpServer(link.tcpB, (s) => {
    sockets.push(s);
    s.resume();
  });
  server.maxConnections = 2;
  const drops: unknown[] = [];
  server.on('drop', (d) => drops.push(d));
  server.listen(80);
  const clients: TcpSocket[] = [];
  for (let i = 0; i < 3; i++) {
    const s = new TcpSocket(link.tcpA);
    s.on('error', () => {});
    s.resume();
    s.connect(80, '10.0.0.2');
    clients.push(s);
  }
  await link.run(() => sockets.length === 2 && drops.length === 1, 2000);
  let count = -1;
  server.getConnections((_e, n) => (count = n));
  await link.settle();
  assert.equal(count, 2);
  let closed = false;
  server.close(() => (closed = true));
  await link.run(() => false, 100);
  assert.equal(closed, false, 'close waits for the open connections');
  for (const s of clients) s.end();
  assert.ok(await link.run(() => closed, 5000));
  assert.equal(await link.close(), 0);
});
