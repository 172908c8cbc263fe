// 1,000 concurrent connections through one listener: every echo intact, idle connections give their
// send and receive buffers back (and still work), and after they close the tables empty (TIME-WAIT aside) and no pool buffer
// is outstanding.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Link } from './_testing.js';
import { TcpSocket } from '../tcp-socket.js';
import { TcpServer } from '../tcp-server.js';

const N = 1000;

test('1,000 concurrent connections: echo, idle memory, clean close', async () => {
  const link = new Link({ seed: 3 });
  // A little loss so the many connections also recover concurrently.
  link.a.faults = { loss: 0.002 };
  link.b.faults = { loss: 0.002 };
  const serverSockets: TcpSocket[] = [];
  const srv = new TcpServer(link.tcpB, (s) => {
    serverSockets.push(s);
    s.on('data', (d: Buffer) => s.write(d));
  });
  srv.listen(7);
  const clients: TcpSocket[] = [];
  const got: Buffer[][] = [];
  let complete = 0;
  for (let i = 0; i < N; i++) {
    const s = new TcpSocket(link.tcpA);
    const parts: Buffer[] = [];
    got.push(parts);
    let n = 0;
    s.on('data', (d: Buffer) => {
      parts.push(d);
      n += d.length;
      if (n === 2048) complete++;
    });
    s.connect(7, '10.0.0.2', () => s.write(Buffer.alloc(2048, i & 0xff)));
    clients.push(s);
  }
  assert.ok(await link.run(() => complete === N, 60_000), `${complete} of ${N} echoed`);
  for (let i = 0; i < N; i++) assert.ok(Buffer.concat(got[i]!).equals(Buffer.alloc(2048, i & 0xff)), `connection ${i}`);
  assert.equal(link.tcpA.stats().connections, N);
  assert.equal(link.tcpB.stats().connections, N);
  // Idle for longer than the sender's trim delay: no send ring, no receive chunk left.
  await link.run(() => false, 1500);
  let held = 0;
  for (const s of [...clients, ...serverSockets]) {
    const c = s.connection!;
    held += c.snd.buf.allocatedBytes + c.rcv.buf.allocatedBytes;
  }
  assert.equal(held, 0, `idle connections hold ${held} bytes of buffers`);
  // ...and they still carry data both ways, into fresh buffers.
  let again = 0;
  for (let i = 0; i < 10; i++) {
    const parts = got[i]!;
    parts.length = 0;
    clients[i]!.on('data', () => {
      if (Buffer.concat(parts).equals(Buffer.alloc(3000, 0x5a))) again++;
    });
    clients[i]!.write(Buffer.alloc(3000, 0x5a));
  }
  assert.ok(await link.run(() => again === 10, 10_000), `${again} of 10 echoed after the trim`);
  for (const s of clients) s.end();
  assert.ok(await link.run(() => link.tcpA.stats().connections === 0 && link.tcpB.stats().connections === 0, 60_000));
  assert.ok(link.tcpA.stats().timeWait <= N);
  srv.close();
  assert.equal(await link.close(), 0, 'pool buffers outstanding');
});
