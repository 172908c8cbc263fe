// TcpSocket and TcpServer as Node code sees them, over two stacks joined by the in-process link:
// event order, errors shaped as Node's (code, errno, syscall, address, port, message), EPIPE after the
// peer's FIN, writes queued before 'connect', readyState and counters; then Node's own http client
// and server running unchanged over them (an http.Agent with keep-alive, a 1 MiB body both ways) and
// stream.pipeline in both directions.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import http from 'node:http';
import { Readable, Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { createHash } from 'node:crypto';
import { Link } from './tcp/_testing.js';
import { TcpSocket } from './tcp-socket.js';
import { TcpServer } from './tcp-server.js';

function events(s: TcpSocket): string[] {
  const log: string[] = [];
  for (const e of ['connect', 'ready', 'end', 'finish', 'timeout']) s.on(e, () => log.push(e));
  s.on('error', (err: NodeJS.ErrnoException) => log.push(`error:${err.code}`));
  s.on('close', (hadError: boolean) => log.push(`close:${hadError}`));
  return log;
}

test('ECONNREFUSED: shaped as Node reports it, then close(true)', async () => {
  const link = new Link();
  const s = new TcpSocket(link.tcpA);
  const log = events(s);
  let err: (NodeJS.ErrnoException & { address?: string; port?: number }) | null = null;
  s.on('error', (e) => (err = e));
  assert.equal(s.readyState, 'open', 'as a fresh net.Socket says');
  s.connect(81, '10.0.0.2');
  assert.equal(s.connecting, true);
  assert.equal(s.readyState, 'opening');
  assert.equal(s.pending, true);
  await link.run(() => log.includes('close:true'), 5000);
  assert.deepEqual(log, ['error:ECONNREFUSED', 'close:true']);
  assert.equal(err!.message, 'connect ECONNREFUSED 10.0.0.2:81');
  assert.equal(err!.errno, -111);
  assert.equal(err!.syscall, 'connect');
  assert.equal(err!.address, '10.0.0.2');
  assert.equal(err!.port, 81);
  assert.equal(await link.close(), 0);
});

test('ECONNRESET: the peer resets (resetAndDestroy) -> read ECONNRESET', async () => {
  const link = new Link();
  const srv = new TcpServer(link.tcpB, (s) => s.resetAndDestroy());
  srv.listen(80);
  const s = new TcpSocket(link.tcpA);
  const log = events(s);
  s.connect(80, '10.0.0.2');
  await link.run(() => log.includes('close:true'), 5000);
  assert.deepEqual(log, ['connect', 'ready', 'error:ECONNRESET', 'close:true']);
  srv.close();
  assert.equal(await link.close(), 0);
});

test("EPIPE: writing after the peer's FIN ended our side (allowHalfOpen false), in net.Socket's event order", async () => {
  const link = new Link();
  const srv = new TcpServer(link.tcpB, (s) => {
    s.resume();
    s.end('bye');
  });
  srv.listen(80);
  const s = new TcpSocket(link.tcpA);
  const log = events(s);
  let cbErr: NodeJS.ErrnoException | null = null;
  s.on('finish', () => s.write('late', (e) => (cbErr = e as NodeJS.ErrnoException)));
  s.resume();
  s.connect(80, '10.0.0.2');
  await link.run(() => log.includes('close:true'), 5000);
  assert.deepEqual(log, ['connect', 'ready', 'end', 'finish', 'error:EPIPE', 'close:true']);
  assert.equal(cbErr!.code, 'EPIPE');
  srv.close();
  await link.run(() => link.tcpB.stats().connections === 0, 5000);
  assert.equal(await link.close(), 0);
});

test('writes and end() before connect wait for it; counters, addresses and readyState follow the connection', async () => {
  const link = new Link();
  const got: Buffer[] = [];
  let serverEnded = false;
  const srv = new TcpServer(link.tcpB, (s) => {
    s.on('data', (d: Buffer) => got.push(d));
    s.on('end', () => {
      serverEnded = true;
      s.end();
    });
  });
  srv.listen(80);
  const s = new TcpSocket(link.tcpA);
  const log = events(s);
  s.connect(80, '10.0.0.2');
  s.write('hello ');
  s.end('world');
  s.resume();
  await link.run(() => serverEnded && log.includes('close:false'), 5000);
  assert.equal(Buffer.concat(got).toString(), 'hello world');
  assert.deepEqual(log, ['connect', 'ready', 'finish', 'end', 'close:false']);
  assert.equal(s.bytesWritten, 11);
  assert.equal(s.readyState, 'closed');
  assert.equal(s.remoteAddress, '10.0.0.2');
  assert.equal(s.localAddress, '10.0.0.1');
  assert.ok(s.localPort! >= 49152);
  srv.close();
  assert.equal(await link.close(), 0);
});

test('destroy() while connecting: no error, close(false), nothing left behind', async () => {
  const link = new Link({ delayMs: 50 });
  const s = new TcpSocket(link.tcpA);
  const log = events(s);
  s.connect(80, '10.0.0.2');
  await link.settle();
  s.destroy();
  await link.run(() => false, 200);
  assert.deepEqual(log, ['close:false']);
  assert.equal(link.tcpA.stats().connections, 0);
  assert.equal(await link.close(), 0);
});

test('a name resolved through the lookup option, with the lookup event', async () => {
  const link = new Link();
  const srv = new TcpServer(link.tcpB, (s) => s.end('ok'));
  srv.listen(80);
  const s = new TcpSocket(link.tcpA);
  const looked: string[] = [];
  s.on('lookup', (_e, addr: string, fam: number, host: string) => looked.push(`${host}=${addr}/${fam}`));
  const got: Buffer[] = [];
  s.on('data', (d: Buffer) => got.push(d));
  s.connect({
    port: 80,
    host: 'db.internal',
    lookup: (_name, _opts, cb) => process.nextTick(() => (cb as (e: null, a: string, f: number) => void)(null, '10.0.0.2', 4)),
  });
  await link.run(() => got.length > 0, 2000);
  assert.deepEqual(looked, ['db.internal=10.0.0.2/4']);
  assert.equal(Buffer.concat(got).toString(), 'ok');
  s.destroy();
  srv.close();
  await link.run(() => link.tcpB.stats().connections === 0, 5000);
  assert.equal(await link.close(), 0);
});

function sha(b: Buffer): string {
  return createHash('sha256').update(b).digest('hex');
}

test("Node's http client and server run unchanged over TcpSocket and TcpServer (keep-alive agent, 1 MiB both ways)", async () => {
  const link = new Link();
  const body = Buffer.alloc(1 << 20);
  for (let i = 0; i < body.length; i++) body[i] = (i * 7) & 0xff;
  const httpServer = http.createServer((req, res) => {
    const parts: Buffer[] = [];
    req.on('data', (d: Buffer) => parts.push(d));
    req.on('end', () => {
      res.setHeader('x-upload-sha', sha(Buffer.concat(parts)));
      res.end(body);
    });
  });
  const tcpServer = new TcpServer(link.tcpB, (s) => httpServer.emit('connection', s));
  tcpServer.listen(80);
  let created = 0;
  const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
  (agent as unknown as { createConnection: () => TcpSocket }).createConnection = () => {
    created++;
    return new TcpSocket(link.tcpA).connect(80, '10.0.0.2');
  };
  const results: { status: number; sha: string; upload: string }[] = [];
  const request = (): void => {
    const req = http.request({ host: '10.0.0.2', port: 80, method: 'POST', path: '/', agent }, (res) => {
      const parts: Buffer[] = [];
      res.on('data', (d: Buffer) => parts.push(d));
      res.on('end', () => results.push({ status: res.statusCode!, sha: sha(Buffer.concat(parts)), upload: String(res.headers['x-upload-sha']) }));
    });
    req.end(body);
  };
  request();
  await link.run(() => results.length === 1, 30_000);
  request();
  await link.run(() => results.length === 2, 30_000);
  for (const r of results) {
    assert.equal(r.status, 200);
    assert.equal(r.sha, sha(body));
    assert.equal(r.upload, sha(body));
  }
  assert.equal(created, 1, 'the keep-alive agent reused the socket');
  agent.destroy();
  httpServer.close();
  tcpServer.close();
  await link.run(() => link.tcpA.stats().connections === 0 && link.tcpB.stats().connections === 0, 10_000);
  assert.equal(await link.close(), 0);
});

test('stream.pipeline both ways: a generator into the socket, the socket into a sink', async () => {
  const link = new Link();
  const digest = createHash('sha256');
  let received = 0;
  let done = false;
  const srv = new TcpServer(link.tcpB, (s) => {
    void pipeline(
      s,
      new Writable({
        write(chunk: Buffer, _e, cb) {
          digest.update(chunk);
          received += chunk.length;
          cb();
        },
      }),
    ).then(() => (done = true));
  });
  srv.listen(80);
  const sent = createHash('sha256');
  async function* source(): AsyncGenerator<Buffer> {
    for (let i = 0; i < 200; i++) {
      const b = Buffer.alloc(16384, i);
      sent.update(b);
      yield b;
    }
  }
  const s = new TcpSocket(link.tcpA);
  s.connect(80, '10.0.0.2');
  let finished = false;
  void pipeline(Readable.from(source()), s).then(() => (finished = true));
  assert.ok(await link.run(() => done && finished, 20_000));
  assert.equal(received, 200 * 16384);
  assert.equal(digest.digest('hex'), sent.digest('hex'));
  srv.close();
  await link.run(() => link.tcpA.stats().connections === 0, 5000);
  assert.equal(await link.close(), 0);
});
