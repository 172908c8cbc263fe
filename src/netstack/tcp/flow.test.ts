// Flow control and the socket's timers between two stacks: a reader that stops closes the window to
// zero and the sender probes it with back-off (persist, RFC 9293 §3.8.6.1) until the reader resumes;
// a slow reader keeps the receiver's memory within its buffer and the sender's write() returns false;
// the advertised right edge never moves left and small reads send no small window updates (SWS);
// Nagle on demand; keepalive probes and their timeout; the idle 'timeout' event; an idle echo holds
// nothing of what it read.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import v8 from 'node:v8';
import vm from 'node:vm';
import { Link } from './_testing.js';
import { TcpSocket } from '../tcp-socket.js';
import { TcpServer } from '../tcp-server.js';
import { parseSegment, Segment } from './header.js';
import { KEEPALIVE_INTERVAL_MS, KEEPALIVE_PROBES } from './constants.js';

const RECV_MAX = 256 * 1024;

function pattern(n: number): Buffer {
  const b = Buffer.allocUnsafe(n);
  for (let i = 0; i < n; i++) b[i] = (i * 31 + (i >>> 11)) & 0xff;
  return b;
}

/** Write `data` in 64 KiB chunks honouring backpressure ('drain'), then end. */
function writeAll(s: TcpSocket, data: Buffer): { heldBack: boolean } {
  const state = { heldBack: false };
  let off = 0;
  const pump = (): void => {
    while (off < data.length) {
      const chunk = data.subarray(off, off + 65536);
      off += chunk.length;
      if (!s.write(chunk)) {
        state.heldBack = true;
        s.once('drain', pump);
        return;
      }
    }
    s.end();
  };
  pump();
  return state;
}

/** A server socket on B and a connected client on A. */
async function pair(link: Link, serverOptions: { pauseOnConnect?: boolean; allowHalfOpen?: boolean } = {}): Promise<{ client: TcpSocket; server: TcpSocket; srv: TcpServer }> {
  let server: TcpSocket | null = null;
  const srv = new TcpServer(link.tcpB, serverOptions, (s) => (server = s));
  srv.listen(80);
  const client = new TcpSocket(link.tcpA);
  let up = false;
  client.connect(80, '10.0.0.2', () => (up = true));
  assert.ok(await link.run(() => up && server !== null, 2000));
  return { client, server: server!, srv };
}

/** Segments B sends, parsed: window field and whether it is a zero-window probe answer etc. */
function watchWindows(link: Link, side: 'a' | 'b'): { windows: number[]; probes: number[] } {
  const seg = new Segment();
  const out = { windows: [] as number[], probes: [] as number[] };
  const ip = side === 'a' ? link.a : link.b;
  ip.tap = (b) => {
    parseSegment(seg, b, 0, b.length);
    out.windows.push(seg.window);
    // A probe: no data, sequence one below what the peer expects (Linux's window/keepalive probe).
    if (seg.dataLength === 0 && (seg.flags & 0x07) === 0) out.probes.push(link.clock.now());
  };
  return out;
}

test('zero window: a reader that stops closes the window; the sender probes with back-off; resuming delivers every byte', async () => {
  const link = new Link({ tcpB: { recvBufferMax: RECV_MAX } });
  const { client, server, srv } = await pair(link, { pauseOnConnect: true });
  const data = pattern(2_000_000);
  const w = writeAll(client, data);
  const fromB = watchWindows(link, 'b');
  const fromA = watchWindows(link, 'a');
  // Let the window fill and close; then 20 s of persist.
  await link.run(() => false, 20_000, 5);
  assert.ok(w.heldBack, 'write() returned false: the sender is held back');
  assert.ok(fromB.windows.includes(0), 'the receiver advertised a zero window');
  const c = server.connection!;
  const held = c.rcv.unread + server.readableLength;
  assert.ok(held <= RECV_MAX, `receiver holds ${held} bytes, its buffer is ${RECV_MAX}`);
  assert.ok(c.rcv.buf.allocatedBytes <= RECV_MAX + 65536, `receive chunks ${c.rcv.buf.allocatedBytes}`);
  const probes = fromA.probes;
  assert.ok(probes.length >= 4 && probes.length <= 12, `${probes.length} persist probes in 20 s`);
  for (let i = 2; i < probes.length; i++) {
    assert.ok(probes[i]! - probes[i - 1]! >= probes[i - 1]! - probes[i - 2]! - 5, 'probes back off');
  }
  assert.equal(client.connection!.snd.records.count, 0, 'nothing in flight while the window is shut');
  // Resume: everything arrives.
  const got: Buffer[] = [];
  server.on('data', (d: Buffer) => got.push(d));
  let ended = false;
  server.on('end', () => (ended = true));
  server.resume();
  assert.ok(await link.run(() => ended, 60_000));
  assert.ok(Buffer.concat(got).equals(data));
  client.destroy();
  server.destroy();
  srv.close();
  assert.equal(await link.close(), 0);
});

test('a slow reader: the receiver never holds more than its buffer; the window follows the reader', async () => {
  const link = new Link({ tcpB: { recvBufferMax: RECV_MAX } });
  const { client, server, srv } = await pair(link, { pauseOnConnect: true });
  const data = pattern(3_000_000);
  writeAll(client, data);
  const got: Buffer[] = [];
  let ended = false;
  server.on('end', () => (ended = true));
  let maxHeld = 0;
  let maxChunks = 0;
  const c = server.connection!;
  // Read 8 KiB every 2 ms: ~4 MB/s, far slower than the link.
  assert.ok(
    await link.run(() => {
      const held = c.rcv.unread + server.readableLength;
      if (held > maxHeld) maxHeld = held;
      if (c.rcv.buf.allocatedBytes > maxChunks) maxChunks = c.rcv.buf.allocatedBytes;
      for (let i = 0; i < 2; i++) {
        const d = server.read(4096) as Buffer | null;
        if (d !== null) got.push(d);
      }
      if (server.readableLength === 0) server.read(0);
      return ended || Buffer.concat(got).length === data.length;
    }, 120_000),
  );
  assert.ok(Buffer.concat(got).equals(data));
  assert.ok(maxHeld <= RECV_MAX, `held at most ${maxHeld}`);
  assert.ok(maxChunks <= RECV_MAX + 65536, `chunks at most ${maxChunks}`);
  assert.ok(client.connection === null || client.connection.snd.buf.length <= client.connection.snd.bufMax);
  client.destroy();
  server.destroy();
  srv.close();
  assert.equal(await link.close(), 0);
});

test('the advertised right edge never moves left, and reads of a few bytes send no window updates (SWS, RFC 9293 §3.8.6.2.2)', async () => {
  const link = new Link({ tcpB: { recvBufferMax: RECV_MAX } });
  const { client, server, srv } = await pair(link, { pauseOnConnect: true });
  const seg = new Segment();
  const edges: number[] = [];
  let updates = 0;
  link.b.tap = (b) => {
    parseSegment(seg, b, 0, b.length);
    const c = server.connection;
    if (c === null) return;
    edges.push((seg.ack + seg.window * 2 ** c.rcv.wscale) >>> 0);
    if (seg.dataLength === 0) updates++;
  };
  client.write(pattern(RECV_MAX * 2));
  await link.run(() => false, 2000);
  for (let i = 1; i < edges.length; i++) assert.ok(((edges[i]! - edges[i - 1]!) | 0) >= 0, 'right edge moved left');
  const before = updates;
  // Ten reads of 100 bytes: the window could open by 1000 bytes, below min(buffer/2, MSS).
  for (let i = 0; i < 10; i++) {
    server.read(100);
    await link.run(() => false, 10);
  }
  assert.equal(updates, before, 'no window update for small reads');
  client.destroy();
  server.destroy();
  srv.close();
  assert.equal(await link.close(), 0);
});

test('Nagle: off by default (each write leaves at once); setNoDelay(false) holds small writes while one is unACKed', async () => {
  const link = new Link({ delayMs: 20 });
  const { client, server, srv } = await pair(link);
  server.resume();
  const seg = new Segment();
  let dataSegs = 0;
  link.a.tap = (b) => {
    parseSegment(seg, b, 0, b.length);
    if (seg.dataLength > 0) dataSegs++;
  };
  for (let i = 0; i < 5; i++) {
    client.write('x');
    await link.settle();
  }
  assert.equal(dataSegs, 5, 'no delay: five segments');
  await link.run(() => client.connection!.snd.records.count === 0, 1000);
  dataSegs = 0;
  client.setNoDelay(false);
  for (let i = 0; i < 5; i++) {
    client.write('y');
    await link.settle();
  }
  assert.equal(dataSegs, 1, 'Nagle: one small segment in flight, the rest held');
  await link.run(() => client.connection!.snd.records.count === 0 && client.connection!.snd.unsent === 0, 1000);
  assert.equal(dataSegs, 2, 'the held bytes leave together when the ACK comes');
  client.destroy();
  server.destroy();
  srv.close();
  assert.equal(await link.close(), 0);
});

test('keepalive: probes after the idle time; an answering peer keeps the connection, a silent one times it out (ETIMEDOUT)', async () => {
  const link = new Link();
  const { client, server, srv } = await pair(link);
  server.resume();
  const probes = watchWindows(link, 'a').probes;
  client.setKeepAlive(true, 10_000);
  await link.run(() => false, 35_000, 50);
  assert.ok(probes.length >= 1, 'a probe after 10 s idle');
  assert.ok(client.connection !== null, 'the peer answered: still connected');
  // Silence the peer: its answers are lost.
  link.b.faults = { loss: 1 };
  let err: NodeJS.ErrnoException | null = null;
  client.on('error', (e) => (err = e));
  const before = probes.length;
  assert.ok(await link.run(() => err !== null, 10_000 + (KEEPALIVE_PROBES + 2) * KEEPALIVE_INTERVAL_MS, 100));
  assert.equal(err!.code, 'ETIMEDOUT');
  assert.ok(probes.length - before >= KEEPALIVE_PROBES, `${probes.length - before} probes before giving up`);
  server.destroy();
  srv.close();
  assert.equal(await link.close(), 0);
});

test("setTimeout: 'timeout' once per idle period, re-armed by activity; 0 turns it off", async () => {
  const link = new Link();
  const { client, server, srv } = await pair(link);
  server.resume();
  let timeouts = 0;
  client.setTimeout(1000, () => timeouts++);
  client.on('timeout', () => {});
  await link.run(() => false, 1500, 10);
  assert.equal(timeouts, 1);
  assert.equal(client.timeout, 1000);
  await link.run(() => false, 3000, 10);
  assert.equal(timeouts, 1, 'once per idle period');
  client.write('activity');
  await link.run(() => false, 1500, 10);
  assert.ok(client.listenerCount('timeout') === 1);
  client.setTimeout(0);
  client.write('more');
  await link.run(() => false, 3000, 10);
  assert.equal(client.destroyed, false, 'a timeout does not close the socket');
  client.destroy();
  server.destroy();
  srv.close();
  assert.equal(await link.close(), 0);
});

test('a connection that closed in order before its reader read everything keeps the bytes for it', async () => {
  const link = new Link();
  const { client, server, srv } = await pair(link, { pauseOnConnect: true, allowHalfOpen: true });
  const data = pattern(100_000); // within the initial receive window
  client.end(data);
  // The server ends its side too without reading: LAST-ACK, then CLOSED once our FIN is ACKed.
  assert.ok(await link.run(() => server.connection!.rcv.finReceived, 5000));
  const c = server.connection!;
  server.end();
  assert.ok(await link.run(() => c.isClosed, 5000));
  assert.equal(link.tcpB.stats().connections, 0);
  const got: Buffer[] = [];
  let ended = false;
  server.on('data', (d: Buffer) => got.push(d));
  server.on('end', () => (ended = true));
  server.resume();
  assert.ok(await link.run(() => ended, 5000));
  assert.ok(Buffer.concat(got).equals(data));
  client.destroy();
  srv.close();
  assert.equal(await link.close(), 0);
});

test('an idle echo holds nothing it read: not the receive chunk, not the last chunk written back', async () => {
  v8.setFlagsFromString('--expose-gc');
  const gc = vm.runInNewContext('gc') as () => void;
  const link = new Link();
  let chunk: WeakRef<ArrayBufferLike> | null = null;
  const srv = new TcpServer(link.tcpB, (s) => {
    s.on('data', (d: Buffer) => {
      chunk = new WeakRef(d.buffer);
      s.write(d); // the view of the receive chunk, as an echo or a pipe passes it on
    });
  });
  srv.listen(7);
  const a = new TcpSocket(link.tcpA);
  let echoed = false;
  a.on('data', () => (echoed = true));
  a.connect(7, '10.0.0.2', () => a.write('x'));
  assert.ok(await link.run(() => echoed, 5000));
  // Past the sender's idle delay: both buffers are trimmed.
  await link.run(() => false, 1500);
  await new Promise<void>((r) => setImmediate(r));
  gc();
  assert.equal(chunk!.deref(), undefined, 'the receive chunk is still reachable');
  a.destroy();
  assert.ok(await link.run(() => link.tcpB.stats().connections === 0, 5000));
  srv.close();
  assert.equal(await link.close(), 0);
});
