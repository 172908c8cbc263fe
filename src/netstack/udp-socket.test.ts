// UDP sockets in node:dgram's shape over two stacks joined by a wire: binding and ports, every send
// form, connected sockets and ECONNREFUSED, bounded buffers both ways, close. Pools end at zero.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { once } from 'node:events';
import { EPHEMERAL_PORT_MIN, MAX_UDP_SOCKETS } from './udp.js';
import { UDP_MAX_BUFFER_BYTES, UDP_MIN_BUFFER_BYTES, type RemoteInfo, type UdpSocket } from './udp-socket.js';
import { Harness, bytes, settle, udpPacket, wire } from './_testing.js';

function pair(): { a: Harness; b: Harness } {
  const a = new Harness({ addresses: ['10.0.0.1/24', 'fd00::1/64'] });
  const b = new Harness({ addresses: ['10.0.0.2/24', 'fd00::2/64'] });
  wire(a, b);
  return { a, b };
}

async function closeAll(...hs: Harness[]): Promise<void> {
  await settle();
  for (const h of hs) h.stack.close();
  await settle();
  for (const h of hs) assert.equal(h.pool.outstanding, 0, 'buffers leaked');
}

function nextMessage(s: UdpSocket): Promise<[Buffer, RemoteInfo]> {
  return once(s, 'message') as Promise<[Buffer, RemoteInfo]>;
}

test('echo both families: message, rinfo, address()', async () => {
  const { a, b } = pair();
  for (const [type, server, client] of [['udp4', '10.0.0.2', '10.0.0.1'], ['udp6', 'fd00::2', 'fd00::1']] as const) {
    const echo = b.stack.createUdpSocket(type);
    echo.on('message', (m, r) => echo.send(m, r.port, r.address));
    echo.bind(7);
    await once(echo, 'listening');
    assert.deepEqual(echo.address(), { address: type === 'udp4' ? '0.0.0.0' : '::', family: type === 'udp4' ? 'IPv4' : 'IPv6', port: 7 });
    const c = a.stack.createUdpSocket(type);
    const sent = new Promise<[Error | null, number]>((r) => c.send('hello', 7, server, (err, n) => r([err, n])));
    const [msg, rinfo] = await nextMessage(c);
    assert.deepEqual(await sent, [null, 5]);
    assert.equal(msg.toString(), 'hello');
    assert.deepEqual(rinfo, { address: server, family: type === 'udp4' ? 'IPv4' : 'IPv6', port: 7, size: 5 });
    const port = c.address().port;
    assert.ok(port >= EPHEMERAL_PORT_MIN && port <= 65535, `ephemeral port ${port}`);
    assert.equal(c.address().address, type === 'udp4' ? '0.0.0.0' : '::');
    void client;
    echo.close();
    c.close();
  }
  await closeAll(a, b);
});

test("every one of dgram's send forms", async () => {
  const { a, b } = pair();
  const rx = b.stack.createUdpSocket('udp4');
  rx.bind(9);
  const got: string[] = [];
  rx.on('message', (m) => got.push(m.toString()));
  const tx = a.stack.createUdpSocket('udp4');
  const data = Buffer.from('0123456789');
  tx.send(data, 9, '10.0.0.2');
  tx.send(data, 2, 3, 9, '10.0.0.2');
  tx.send('text', 9, '10.0.0.2', () => {});
  tx.send(['ar', Buffer.from('ray')], 9, '10.0.0.2');
  tx.send(new Uint16Array([0x6968]), 9, '10.0.0.2');
  tx.send(data, 0, 1, 9, '10.0.0.2', () => {});
  await settle(6);
  assert.deepEqual(got, ['0123456789', '234', 'text', 'array', 'hi', '0']);
  assert.throws(() => tx.send('x', 0, '10.0.0.2'), { code: 'ERR_SOCKET_BAD_PORT' });
  assert.throws(() => tx.send('x', 70000, '10.0.0.2'), { code: 'ERR_SOCKET_BAD_PORT' });
  assert.throws(() => tx.send(42 as unknown as string, 9, '10.0.0.2'), { code: 'ERR_INVALID_ARG_TYPE' });
  rx.close();
  tx.close();
  await closeAll(a, b);
});

test('binding: ports per family, EADDRINUSE, EADDRNOTAVAIL, already bound', async () => {
  const { a, b } = pair();
  const s4 = a.stack.createUdpSocket('udp4').bind(5353);
  const s6 = a.stack.createUdpSocket('udp6').bind(5353);
  await Promise.all([once(s4, 'listening'), once(s6, 'listening')]);
  const dup = a.stack.createUdpSocket('udp4');
  dup.bind(5353);
  const [err] = (await once(dup, 'error')) as [NodeJS.ErrnoException];
  assert.equal(err.code, 'EADDRINUSE');
  assert.equal(err.syscall, 'bind');
  assert.match(err.message, /bind EADDRINUSE 0\.0\.0\.0:5353/);
  const foreign = a.stack.createUdpSocket('udp4');
  foreign.bind(1, '10.9.9.9');
  assert.equal(((await once(foreign, 'error')) as [NodeJS.ErrnoException])[0].code, 'EADDRNOTAVAIL');
  assert.throws(() => s4.bind(1), { code: 'ERR_SOCKET_ALREADY_BOUND' });
  // A socket bound to one address takes only what is sent to it.
  const only = a.stack.createUdpSocket('udp4');
  only.bind({ port: 6000, address: '10.0.0.1' }, () => {});
  await once(only, 'listening');
  assert.equal(only.address().address, '10.0.0.1');
  const tx = b.stack.createUdpSocket('udp4');
  const m = nextMessage(only);
  tx.send('for you', 6000, '10.0.0.1');
  assert.equal((await m)[0].toString(), 'for you');
  for (const s of [s4, s6, dup, foreign, only, tx]) s.close();
  await closeAll(a, b);
});

test('connected: sends without an address, takes only its peer, remoteAddress(), disconnect()', async () => {
  const { a, b } = pair();
  const server = b.stack.createUdpSocket('udp6');
  server.bind(53);
  const other = b.stack.createUdpSocket('udp6');
  other.bind(54);
  const c = a.stack.createUdpSocket('udp6');
  c.connect(53, 'fd00::2');
  await once(c, 'connect');
  assert.deepEqual(c.remoteAddress(), { address: 'fd00::2', family: 'IPv6', port: 53 });
  assert.throws(() => c.connect(53, 'fd00::2'), { code: 'ERR_SOCKET_DGRAM_IS_CONNECTED' });
  assert.throws(() => c.send('x', 53, 'fd00::2'), { code: 'ERR_SOCKET_DGRAM_IS_CONNECTED' });
  const req = nextMessage(server);
  c.send('query');
  const [q, from] = await req;
  assert.equal(q.toString(), 'query');
  const got: string[] = [];
  c.on('message', (m) => got.push(m.toString()));
  other.send('stranger', from.port, 'fd00::1');
  server.send('answer', from.port, 'fd00::1');
  await settle(6);
  assert.deepEqual(got, ['answer'], 'a connected socket hears only its peer');
  assert.equal(b.stack.counters.icmpErrorsReceived, 1, 'the stranger got port unreachable');
  c.disconnect();
  assert.throws(() => c.remoteAddress(), { code: 'ERR_SOCKET_DGRAM_NOT_CONNECTED' });
  assert.throws(() => c.disconnect(), { code: 'ERR_SOCKET_DGRAM_NOT_CONNECTED' });
  for (const s of [server, other, c]) s.close();
  await closeAll(a, b);
});

test('ICMP port unreachable surfaces as ECONNREFUSED on a connected socket, both families', async () => {
  const { a, b } = pair();
  for (const [type, dst] of [['udp4', '10.0.0.2'], ['udp6', 'fd00::2']] as const) {
    const c = a.stack.createUdpSocket(type);
    c.connect(4444, dst);
    await once(c, 'connect');
    c.send('anyone?');
    const [err] = (await once(c, 'error')) as [NodeJS.ErrnoException];
    assert.equal(err.code, 'ECONNREFUSED');
    assert.equal(err.syscall, 'recvmsg');
    assert.ok(typeof err.errno === 'number' && err.errno < 0);
    // An unconnected socket is not told (as on Linux without IP_RECVERR).
    const u = a.stack.createUdpSocket(type);
    let errors = 0;
    u.on('error', () => errors++);
    u.send('anyone?', 4444, dst);
    await settle(8);
    assert.equal(errors, 0);
    c.close();
    u.close();
  }
  await closeAll(a, b);
});

test('the receive buffer is bounded: past it datagrams are dropped and counted', async () => {
  const h = new Harness();
  const s = h.stack.createUdpSocket('udp4');
  s.bind(9);
  await once(s, 'listening');
  assert.throws(() => h.stack.createUdpSocket('udp4').setRecvBufferSize(4096), { code: 'ERR_SOCKET_BUFFER_SIZE' });
  s.setRecvBufferSize(1);
  assert.equal(s.getRecvBufferSize(), UDP_MIN_BUFFER_BYTES);
  s.setRecvBufferSize(1 << 30);
  assert.equal(s.getRecvBufferSize(), UDP_MAX_BUFFER_BYTES);
  s.setRecvBufferSize(10 * 2048);
  let got = 0;
  s.on('message', () => got++);
  const packets = [];
  for (let i = 0; i < 30; i++) packets.push(udpPacket('10.0.0.2', '10.0.0.1', 1000, 9, bytes(100, i)));
  h.inject(...packets);
  assert.ok(h.pool.outstanding <= 10, 'no more packet memory held than the buffer allows');
  await settle(4);
  assert.equal(got, 10);
  assert.equal(s.receiveDrops, 20);
  assert.equal(h.stack.counters.socketBufferFull, 20);
  s.close();
  await closeAll(h);
});

test('backpressure: sends wait in order while the stack refuses buffers, bounded by the send buffer', async () => {
  const { a, b } = pair();
  const rx = b.stack.createUdpSocket('udp4');
  rx.bind(9);
  const got: number[] = [];
  rx.on('message', (m) => got.push(m[0]!));
  const tx = a.stack.createUdpSocket('udp4');
  tx.bind(0);
  await once(tx, 'listening');
  tx.setSendBufferSize(UDP_MIN_BUFFER_BYTES);
  a.stack.pause();
  const results: Array<string | null> = [];
  for (let i = 0; i < 5; i++) tx.send(Buffer.alloc(1000, i), 9, '10.0.0.2', (err) => results.push(err === null ? null : (err as NodeJS.ErrnoException).code!));
  assert.equal(tx.getSendQueueCount(), 2, 'two fit in 2048 bytes');
  await settle(2);
  assert.deepEqual(results, ['ENOBUFS', 'ENOBUFS', 'ENOBUFS']);
  a.stack.resume();
  await settle(8);
  assert.deepEqual(results, ['ENOBUFS', 'ENOBUFS', 'ENOBUFS', null, null]);
  assert.deepEqual(got, [0, 1], 'in order');
  rx.close();
  tx.close();
  await closeAll(a, b);
});

test('errors to the callback: EMSGSIZE, ENETUNREACH (no address of the family), ENOTFOUND', async () => {
  const h = new Harness({ addresses: ['10.0.0.1/24'] });
  const s4 = h.stack.createUdpSocket('udp4');
  const s6 = h.stack.createUdpSocket('udp6');
  const codes = await Promise.all([
    new Promise((r) => s4.send(Buffer.alloc(65508), 9, '10.0.0.2', (e) => r((e as NodeJS.ErrnoException).code))),
    new Promise((r) => s6.send('x', 9, 'fd00::2', (e) => r((e as NodeJS.ErrnoException).code))),
    new Promise((r) => s4.send('x', 9, 'db.internal', (e) => r((e as NodeJS.ErrnoException).code))),
  ]);
  assert.deepEqual(codes, ['EMSGSIZE', 'ENETUNREACH', 'ENOTFOUND']);
  s4.close();
  s6.close();
  await closeAll(h);
});

test('host names resolve through the lookup option', async () => {
  const { a, b } = pair();
  const rx = b.stack.createUdpSocket('udp4');
  rx.bind(9);
  const asked: string[] = [];
  const tx = a.stack.createUdpSocket({
    type: 'udp4',
    lookup: async (host, family) => {
      asked.push(`${host}/${family}`);
      return '10.0.0.2';
    },
  });
  const m = nextMessage(rx);
  tx.send('by name', 9, 'b.internal');
  assert.equal((await m)[0].toString(), 'by name');
  assert.deepEqual(asked, ['b.internal/4']);
  rx.close();
  tx.close();
  await closeAll(a, b);
});

test('close: the close event, queued datagrams released, later calls refused; a closing stack closes its sockets', async () => {
  const h = new Harness();
  const s = h.stack.createUdpSocket('udp4');
  s.bind(9);
  h.inject(udpPacket('10.0.0.2', '10.0.0.1', 1, 9, bytes(10)), udpPacket('10.0.0.2', '10.0.0.1', 1, 9, bytes(10)));
  assert.equal(h.pool.outstanding, 2);
  let messages = 0;
  s.on('message', () => messages++);
  const closed = once(s, 'close');
  s.close();
  assert.equal(h.pool.outstanding, 0);
  await closed;
  assert.equal(messages, 0);
  assert.throws(() => s.send('x', 1, '10.0.0.2'), { code: 'ERR_SOCKET_DGRAM_NOT_RUNNING' });
  assert.throws(() => s.close(), { code: 'ERR_SOCKET_DGRAM_NOT_RUNNING' });
  assert.throws(() => s.address(), { code: 'ERR_SOCKET_DGRAM_NOT_RUNNING' });
  const t = h.stack.createUdpSocket('udp6');
  t.bind(9);
  const tClosed = once(t, 'close');
  h.stack.close();
  await tClosed;
  await closeAll(h);
});

test('the socket table is bounded', () => {
  const h = new Harness();
  const socks: UdpSocket[] = [];
  for (let i = 0; i < MAX_UDP_SOCKETS; i++) socks.push(h.stack.createUdpSocket('udp4').bind(1000 + i));
  const extra = h.stack.createUdpSocket('udp4');
  const errors: string[] = [];
  extra.on('error', (e) => errors.push((e as NodeJS.ErrnoException).code!));
  extra.bind(0);
  return settle(2).then(async () => {
    assert.deepEqual(errors, ['EMFILE']);
    for (const s of socks) s.close();
    await closeAll(h);
  });
});
