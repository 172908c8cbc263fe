// SYN cookies end to end: a listener whose SYN queue overflows answers the rest with cookies, and
// every client behind a cookie completes its handshake and carries data both ways.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Link } from './_testing.js';
import { TcpSocket } from '../tcp-socket.js';
import { TcpServer } from '../tcp-server.js';

const N = 1000;

for (const family of [4, 6] as const) {
  test(`IPv${family}: ${N} connects past a full SYN queue all complete through SYN cookies`, async () => {
    const link = new Link({ seed: 5 });
    const sockets: TcpSocket[] = [];
    const srv = new TcpServer(link.tcpB, (s) => {
      sockets.push(s);
      s.on('data', (d: Buffer) => s.write(d));
    });
    srv.listen(7, undefined, 1);
    await link.settle();
    const got: number[] = new Array(N).fill(0);
    let complete = 0;
    let errors = 0;
    for (let i = 0; i < N; i++) {
      const s = new TcpSocket(link.tcpA);
      sockets.push(s);
      s.on('error', () => errors++);
      s.on('data', (d: Buffer) => {
        for (const b of d) assert.equal(b, i & 0xff);
        got[i] += d.length;
        if (got[i] === 3000) complete++;
      });
      s.connect(7, family === 4 ? '10.0.0.2' : 'fd00::2', () => s.write(Buffer.alloc(3000, i & 0xff)));
    }
    const done = await link.run(() => complete === N || errors > 0, 60_000);
    const st = link.tcpB.stats();
    assert.ok(done && errors === 0, `${complete} of ${N} echoed, ${errors} errors, ${JSON.stringify(st)}`);
    assert.ok(st.synCookiesSent > N / 2, `cookies sent ${st.synCookiesSent}`);
    assert.equal(st.synCookiesAccepted, st.synCookiesSent);
    assert.equal(st.synCookiesFailed, 0);
    for (const s of sockets) s.destroy();
    srv.close();
    assert.equal(await link.close(), 0, 'pool buffers outstanding');
  });
}
