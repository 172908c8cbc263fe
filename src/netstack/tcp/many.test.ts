// 1,000 concurrent connections through one listener: every echo intact, idle connections hold only a
// few KiB of buffers each, and after they close the tables empty (TIME-WAIT aside) and no pool buffer
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
  // Idle: nothing queued to send; at most one small receive chunk each.
  await link.run(() => false, 500);
  let held = 0;
  for (const s of [...clients, ...serverSockets]) {
    const c = s.connection!;
    held += c.snd.buf.allocatedBytes + c.rcv.buf.allocatedBytes;
  }
  assert.ok(held <= 2 * N * 8192, `idle connections hold ${held} bytes of buffers`);
  for (const s of clients) s.end();
  assert.ok(await link.run(() => link.tcpA.stats().connections === 0 && link.tcpB.stats().connections === 0, 60_000));
  assert.ok(link.tcpA.stats().timeWait <= N);
  srv.close();
  assert.equal(await link.close(), 0, 'pool buffers outstanding');
});
