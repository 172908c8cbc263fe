// TCP through two Tunnels in one process: echo in both families, HTTP with Node's http server on a
// tunnel server and the client through fetch's dispatcher and the http agent, HTTPS the same over
// tls, DNS falling back to TCP on a truncated answer, and close() with connections open. Pools end at
// zero.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { once } from 'node:events';
import { execFileSync } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import http from 'node:http';
import https from 'node:https';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fetch } from 'undici';
import type { TcpSocket } from '../netstack/tcp-socket.js';
import { answer, type Zone } from './_dns-responder.js';
import { tunnelPair, type TunnelPair } from './_testing.js';

async function closeClean(p: TunnelPair): Promise<void> {
  await p.a.close();
  await p.b.close();
  assert.equal(p.poolA.outstanding, 0, 'A leaked buffers');
  assert.equal(p.poolB.outstanding, 0, 'B leaked buffers');
}

function readAll(s: TcpSocket): Promise<Buffer> {
  const chunks: Buffer[] = [];
  s.on('data', (d: Buffer) => chunks.push(d));
  return new Promise((resolve, reject) => {
    s.once('end', () => resolve(Buffer.concat(chunks)));
    s.once('error', reject);
  });
}

test('TCP echo through two Tunnels, both families, 1 MiB each way', async () => {
  const p = await tunnelPair();
  const server = p.b.createServer((s) => s.pipe(s));
  server.listen(7);
  await once(server, 'listening');
  for (const host of ['10.0.0.2', 'fd00::2']) {
    const data = randomBytes(1 << 20);
    const c = p.a.connect(7, host);
    await once(c, 'connect');
    assert.equal(c.remoteAddress, host);
    assert.equal(c.remotePort, 7);
    const got = readAll(c);
    c.end(data);
    assert.ok((await got).equals(data), `echo through ${host}`);
  }
  assert.ok(p.a.stats().tcp.activeOpens >= 2);
  await closeClean(p);
});

test('fetch through the dispatcher and http.get through the agent, to Node’s http server on the other Tunnel', async () => {
  const p = await tunnelPair({ optionsA: { hosts: { 'web.internal': '10.0.0.2' } } });
  const body = randomBytes(3 << 20);
  const web = http.createServer((req, res) => {
    if (req.url === '/big') res.end(body);
    else res.end(`hello ${req.method} ${req.url} from ${req.socket.remoteAddress}`);
  });
  const server = p.b.createServer((s) => web.emit('connection', s));
  server.listen(80);
  await once(server, 'listening');

  const res = await fetch('http://web.internal/hi', { dispatcher: p.a.dispatcher });
  assert.equal(res.status, 200);
  assert.equal(await res.text(), 'hello GET /hi from 10.0.0.1');
  const big = await fetch('http://10.0.0.2/big', { dispatcher: p.a.dispatcher });
  const digest = createHash('sha256').update(Buffer.from(await big.arrayBuffer())).digest('hex');
  assert.equal(digest, createHash('sha256').update(body).digest('hex'));
  const v6 = await fetch('http://[fd00::2]/six', { dispatcher: p.a.dispatcher });
  assert.equal(await v6.text(), 'hello GET /six from fd00::1');

  const viaAgent = await new Promise<string>((resolve, reject) => {
    http
      .get('http://web.internal/agent', { agent: p.a.httpAgent }, (r) => {
        let text = '';
        r.setEncoding('utf8');
        r.on('data', (d: string) => (text += d));
        r.on('end', () => resolve(text));
      })
      .on('error', reject);
  });
  assert.equal(viaAgent, 'hello GET /agent from 10.0.0.1');
  await closeClean(p);
  web.close();
});

test('HTTPS: TLS over the tunnel with the https agent and a dispatcher with its own CA', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'wgts-tls-'));
  try {
    execFileSync('openssl', ['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-days', '2', '-subj', '/CN=secure.internal', '-addext', 'subjectAltName=DNS:secure.internal', '-keyout', join(dir, 'key.pem'), '-out', join(dir, 'cert.pem')], { stdio: 'ignore' });
    const key = readFileSync(join(dir, 'key.pem'));
    const cert = readFileSync(join(dir, 'cert.pem'));
    const p = await tunnelPair({ optionsA: { hosts: { 'secure.internal': '10.0.0.2' } } });
    const web = https.createServer({ key, cert }, (req, res) => res.end(`secure ${req.url}`));
    const server = p.b.createServer((s) => web.emit('connection', s));
    server.listen(443);
    await once(server, 'listening');
    const res = await fetch('https://secure.internal/x', { dispatcher: p.a.createDispatcher({ tls: { ca: cert } }) });
    assert.equal(await res.text(), 'secure /x');
    await assert.rejects(fetch('https://secure.internal/y', { dispatcher: p.a.dispatcher }), 'an unknown CA is refused');
    const viaAgent = await new Promise<string>((resolve, reject) => {
      https
        .get('https://secure.internal/agent', { agent: p.a.httpsAgent, ca: cert }, (r) => {
          let text = '';
          r.on('data', (d: Buffer) => (text += d.toString()));
          r.on('end', () => resolve(text));
        })
        .on('error', reject);
    });
    assert.equal(viaAgent, 'secure /agent');
    await closeClean(p);
    web.close();
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('a truncated DNS answer is asked again over TCP through the tunnel', async () => {
  const p = await tunnelPair({ interfaceA: 'DNS = 10.0.0.2' });
  const zone: Zone = { 'big.example': { A: ['10.0.0.77'], truncate: true } };
  const udp = p.b.createSocket('udp4', (q, r) => udp.send(answer(q, zone)!, r.port, r.address));
  udp.bind(53);
  let tcpQueries = 0;
  const server = p.b.createServer((s) => {
    let buf = Buffer.alloc(0);
    s.on('data', (d: Buffer) => {
      buf = Buffer.concat([buf, d]);
      if (buf.length < 2 || buf.length < 2 + buf.readUInt16BE(0)) return;
      tcpQueries++;
      const a = answer(buf.subarray(2, 2 + buf.readUInt16BE(0)), zone, true)!;
      const len = Buffer.alloc(2);
      len.writeUInt16BE(a.length);
      s.end(Buffer.concat([len, a]));
    });
  });
  server.listen(53);
  await once(server, 'listening');
  assert.deepEqual(await p.a.lookup('big.example', { family: 4 }), ['10.0.0.77']);
  assert.equal(tcpQueries, 1);
  await closeClean(p);
});

test('connect errors in Node’s shapes; close() with connections open ends them quietly', async () => {
  const p = await tunnelPair();
  const refused = p.a.connect(9, '10.0.0.2');
  const [err] = (await once(refused, 'error')) as [NodeJS.ErrnoException];
  assert.equal(err.code, 'ECONNREFUSED');
  const notFound = p.a.connect(80, 'no.such.name.invalid');
  const [nf] = (await once(notFound, 'error')) as [NodeJS.ErrnoException];
  assert.ok(nf.code === 'ENOTFOUND' || nf.code === 'EAI_AGAIN', nf.code);

  const server = p.b.createServer((s) => s.pipe(s));
  server.listen(7);
  await once(server, 'listening');
  const open: TcpSocket[] = [];
  for (let i = 0; i < 10; i++) {
    const c = p.a.connect(7, '10.0.0.2');
    await once(c, 'connect');
    open.push(c);
  }
  let errors = 0;
  for (const c of open) c.on('error', () => errors++);
  const closed = Promise.all(open.map((c) => once(c, 'close')));
  await p.a.close();
  await closed;
  assert.equal(errors, 0);
  assert.throws(() => p.a.connect(7, '10.0.0.2'), /closed/);
  await closeClean(p);
});
