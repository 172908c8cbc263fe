// Two TCP stacks over the in-process link (_testing.ts), through the Node-shaped socket and server:
// bulk transfer both ways with every byte checked, an echo through pipe(), and loss, duplication,
// reordering and bursts injected (1%, 5%, bursts of 3), asserting that SACK recovery and the RTO
// really ran; each test ends with zero pool buffers outstanding.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { Link, type LinkFaults, type LinkOptions } from './_testing.js';
import { TcpSocket } from '../tcp-socket.js';
import { TcpServer } from '../tcp-server.js';

function pattern(n: number, seed: number): Buffer {
  const b = Buffer.allocUnsafe(n);
  let x = seed >>> 0 || 1;
  for (let i = 0; i < n; i++) {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    b[i] = x & 0xff;
  }
  return b;
}

function sha(b: Buffer): string {
  return createHash('sha256').update(b).digest('hex');
}

interface Transfer {
  link: Link;
  /** Bytes the client received (echo or download) and the server received. */
  clientGot: Buffer[];
  serverGot: Buffer[];
  clientClosed: boolean;
  serverClosed: boolean;
  clientError: Error | null;
}

/**
 * Client uploads `up` bytes and the server sends `down` bytes back, both ending with FIN, over a
 * link with `faults` (both directions). Resolves when both sockets closed or the time ran out.
 */
async function transfer(up: Buffer, down: Buffer, faults: LinkFaults, options: LinkOptions = {}, maxMs = 120_000): Promise<Transfer> {
  const link = new Link(options);
  link.a.faults = faults;
  link.b.faults = faults;
  const t: Transfer = { link, clientGot: [], serverGot: [], clientClosed: false, serverClosed: false, clientError: null };
  const server = new TcpServer(link.tcpB, (s) => {
    s.on('data', (d: Buffer) => t.serverGot.push(d));
    s.on('close', () => (t.serverClosed = true));
    s.on('error', () => {});
    s.end(down);
  });
  server.listen(5001);
  const sock = new TcpSocket(link.tcpA);
  sock.on('data', (d: Buffer) => t.clientGot.push(d));
  sock.on('error', (e) => (t.clientError = e));
  sock.on('close', () => (t.clientClosed = true));
  sock.connect(5001, '10.0.0.2', () => sock.end(up));
  await link.run(() => t.clientClosed && t.serverClosed, maxMs);
  server.close();
  return t;
}

test('bulk both ways without faults: every byte, in order', async () => {
  const up = pattern(3_000_000, 1);
  const down = pattern(5_000_000, 2);
  const t = await transfer(up, down, {});
  assert.equal(t.clientError, null);
  assert.ok(t.clientClosed && t.serverClosed, 'both sockets closed');
  assert.equal(sha(Buffer.concat(t.serverGot)), sha(up));
  assert.equal(sha(Buffer.concat(t.clientGot)), sha(down));
  const a = t.link.tcpA.stats();
  assert.equal(a.retransmits, 0);
  assert.equal(t.link.badChecksums, 0);
  assert.equal(await t.link.close(), 0, 'pool buffers outstanding');
});

test('a link that delivers inside send() (no queue anywhere): nested segments wait their turn, every byte arrives', async () => {
  const t = await transfer(pattern(500_000, 5), pattern(700_000, 6), { loss: 0.02 }, { sync: true, seed: 5 });
  assert.ok(t.clientClosed && t.serverClosed);
  assert.equal(sha(Buffer.concat(t.serverGot)), sha(pattern(500_000, 5)));
  assert.equal(sha(Buffer.concat(t.clientGot)), sha(pattern(700_000, 6)));
  assert.equal(await t.link.close(), 0);
});

test('buffers refused for a while (pool budget, paused device): sending waits for onWritable, no RTO', async () => {
  const link = new Link();
  const got: Buffer[] = [];
  let ended = false;
  const srv = new TcpServer(link.tcpB, (s) => {
    s.on('data', (d: Buffer) => got.push(d));
    s.on('end', () => (ended = true));
  });
  srv.listen(80);
  const data = pattern(3_000_000, 9);
  const c = new TcpSocket(link.tcpA);
  c.connect(80, '10.0.0.2', () => c.end(data));
  await link.run(() => got.length > 10, 5000);
  link.a.refusing = true;
  await link.run(() => false, 300);
  assert.ok(link.a.refused > 0, 'allocations were refused');
  link.a.resume();
  assert.ok(await link.run(() => ended, 10_000));
  assert.ok(Buffer.concat(got).equals(data));
  assert.equal(link.tcpA.stats().rtoTimeouts, 0, 'a refused buffer is not a lost segment');
  c.destroy();
  srv.close();
  await link.run(() => link.tcpA.stats().connections === 0 && link.tcpB.stats().connections === 0, 5000);
  assert.equal(await link.close(), 0);
});

test('echo through pipe() over IPv6', async () => {
  const link = new Link();
  const server = new TcpServer(link.tcpB, (s) => s.pipe(s));
  server.listen(7, 'fd00::2');
  const data = pattern(2_000_000, 3);
  const got: Buffer[] = [];
  let closed = false;
  const sock = new TcpSocket(link.tcpA);
  sock.on('data', (d: Buffer) => got.push(d));
  sock.on('close', () => (closed = true));
  sock.connect(7, 'fd00::2', () => sock.end(data));
  await link.run(() => closed, 60_000);
  assert.equal(sock.remoteFamily, 'IPv6');
  assert.equal(sock.remoteAddress, 'fd00::2');
  assert.equal(sha(Buffer.concat(got)), sha(data));
  server.close();
  assert.equal(await link.close(), 0);
});

const lossy: { name: string; faults: LinkFaults; seed: number }[] = [
  { name: '1% loss', faults: { loss: 0.01 }, seed: 11 },
  { name: '5% loss', faults: { loss: 0.05 }, seed: 12 },
  { name: 'bursts of 3 at 1%', faults: { loss: 0.01, burst: 3 }, seed: 13 },
  { name: '2% duplication and 3% reordering', faults: { duplicate: 0.02, reorder: 0.03 }, seed: 14 },
  { name: 'everything: 2% loss, 1% duplication, 2% reordering', faults: { loss: 0.02, duplicate: 0.01, reorder: 0.02 }, seed: 15 },
];

for (const c of lossy) {
  test(`bulk both ways with ${c.name}: every byte, in order; recovery ran`, async () => {
    const up = pattern(1_500_000, c.seed);
    const down = pattern(2_500_000, c.seed + 100);
    const t = await transfer(up, down, c.faults, { seed: c.seed });
    assert.equal(t.clientError, null);
    assert.ok(t.clientClosed && t.serverClosed, 'both sockets closed');
    assert.equal(sha(Buffer.concat(t.serverGot)), sha(up), 'upload intact');
    assert.equal(sha(Buffer.concat(t.clientGot)), sha(down), 'download intact');
    const a = t.link.tcpA.stats();
    const b = t.link.tcpB.stats();
    if (c.faults.loss !== undefined) {
      assert.ok(a.retransmits > 0 && b.retransmits > 0, 'both senders retransmitted');
      assert.ok(a.fastRecoveries + b.fastRecoveries > 0, 'SACK/RACK fast recovery ran');
    }
    if (c.faults.duplicate !== undefined) assert.ok(a.dsacksReceived + b.dsacksReceived > 0, 'duplicates reported by D-SACK');
    assert.equal(t.link.badChecksums, 0);
    assert.equal(await t.link.close(), 0, 'pool buffers outstanding');
  });
}
