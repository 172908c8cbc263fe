// The HTTP proxy over the loopback stand-in: absolute-URI requests on a kept-alive connection with
// hop-by-hop headers dropped, chunked bodies both ways, CONNECT, Proxy-Authorization with 407, errors
// as 400/502/504, and TLS to the proxy with a certificate made for the test.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import http from 'node:http';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import tls from 'node:tls';
import { once } from 'node:events';
import { silentLogger } from '../base/logger.js';
import { echoServer, FakeTunnel, readAll } from './_fake-tunnel.js';
import { Credentials } from './credentials.js';
import { endToEndHeaders, HttpProxyListener, type HttpProxyOptions } from './http-proxy.js';
import { ListenerStats } from './listener-stats.js';
import { Resolver } from './resolver.js';

interface Seen {
  method: string;
  url: string;
  headers: http.IncomingHttpHeaders;
  body: string;
}

/** An origin server on 127.0.0.1 that answers with what it saw, chunked (no Content-Length). */
async function origin(): Promise<{ server: http.Server; port: number; seen: Seen[]; sockets: Set<net.Socket> }> {
  const seen: Seen[] = [];
  const sockets = new Set<net.Socket>();
  const server = http.createServer(async (req, res) => {
    const body = (await readAll(req)).toString();
    seen.push({ method: req.method!, url: req.url!, headers: req.headers, body });
    res.setHeader('X-Origin', 'yes');
    res.setHeader('Connection', 'keep-alive, X-Secret-Hop');
    res.setHeader('X-Secret-Hop', 'must not pass');
    res.write(`you sent ${req.method} ${req.url}`);
    res.end(` with ${body.length} bytes`);
  });
  server.on('connection', (s) => sockets.add(s));
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return { server, port: (server.address() as net.AddressInfo).port, seen, sockets };
}

async function start(options: Partial<HttpProxyOptions> = {}): Promise<{ tunnel: FakeTunnel; listener: HttpProxyListener; port: number; stats: ListenerStats }> {
  const tunnel = new FakeTunnel();
  tunnel.names.set('web.internal', ['127.0.0.1']);
  const stats = new ListenerStats('http', '127.0.0.1:0');
  const resolver = new Resolver({ tunnelLookup: (n) => tunnel.lookup(n), strategy: 'auto', hasIpv4: true, hasIpv6: false });
  const listener = new HttpProxyListener({ tunnel, resolver, stats, logger: silentLogger, credentials: null, tls: null, ...options });
  const { port } = await listener.listen({ host: '127.0.0.1', port: 0, family: 4 });
  return { tunnel, listener, port, stats };
}

function viaProxy(proxyPort: number, agent: http.Agent, url: string, init: { method?: string; headers?: Record<string, string>; body?: string[] } = {}): Promise<{ status: number; headers: http.IncomingHttpHeaders; body: string }> {
  return new Promise((resolve, reject) => {
    const req = http.request({ host: '127.0.0.1', port: proxyPort, path: url, method: init.method ?? 'GET', headers: init.headers ?? {}, agent });
    req.on('response', async (res) => resolve({ status: res.statusCode!, headers: res.headers, body: (await readAll(res)).toString() }));
    req.on('error', reject);
    for (const part of init.body ?? []) req.write(part);
    req.end();
  });
}

test('absolute-URI requests: origin form upstream, hop-by-hop headers dropped, one kept-alive client connection', async () => {
  const o = await origin();
  const p = await start();
  const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
  const a = await viaProxy(p.port, agent, `http://web.internal:${o.port}/one?x=1`, { headers: { 'Proxy-Connection': 'keep-alive', Connection: 'X-Drop-Me', 'X-Drop-Me': '1', 'X-Keep': '2' } });
  const b = await viaProxy(p.port, agent, `http://127.0.0.1:${o.port}/two`);
  assert.equal(a.status, 200);
  assert.equal(a.body, 'you sent GET /one?x=1 with 0 bytes');
  assert.equal(b.body, 'you sent GET /two with 0 bytes');
  assert.equal(a.headers['x-origin'], 'yes');
  assert.equal(a.headers['x-secret-hop'], undefined, 'a field the origin\'s Connection lists does not pass');
  assert.equal(o.seen[0]!.url, '/one?x=1');
  assert.equal(o.seen[0]!.headers.host, `web.internal:${o.port}`);
  assert.equal(o.seen[0]!.headers['x-keep'], '2');
  assert.equal(o.seen[0]!.headers['x-drop-me'], undefined);
  assert.equal(o.seen[0]!.headers['proxy-connection'], undefined);
  assert.equal(p.stats.total, 1, 'both requests came over one client connection');
  assert.equal(o.sockets.size, 1, 'and went out over one kept-alive tunnel connection');
  agent.destroy();
  await p.listener.close();
  o.server.close();
});

test('a chunked request body and a chunked response pass through as streams', async () => {
  const o = await origin();
  const p = await start();
  const agent = new http.Agent();
  const parts = ['first chunk;', 'x'.repeat(100_000), ';last'];
  const r = await viaProxy(p.port, agent, `http://127.0.0.1:${o.port}/upload`, { method: 'POST', headers: { 'Transfer-Encoding': 'chunked' }, body: parts });
  assert.equal(r.status, 200);
  assert.equal(r.headers['transfer-encoding'], 'chunked');
  assert.equal(o.seen[0]!.headers['transfer-encoding'], 'chunked');
  assert.equal(o.seen[0]!.body, parts.join(''));
  assert.equal(r.body, `you sent POST /upload with ${parts.join('').length} bytes`);
  agent.destroy();
  await p.listener.close();
  o.server.close();
});

/** A raw exchange with the proxy: writes `request`, returns everything until the proxy closes. */
async function raw(port: number, request: string, secure = false): Promise<string> {
  const s = secure ? tls.connect({ port, host: '127.0.0.1', rejectUnauthorized: false }) : net.connect({ port, host: '127.0.0.1' });
  await once(s, secure ? 'secureConnect' : 'connect');
  s.end(request);
  return (await readAll(s)).toString();
}

test('CONNECT relays both ways; failures are 502/504 and close', async () => {
  const echo = await echoServer();
  const p = await start();
  const s = net.connect({ port: p.port, host: '127.0.0.1', allowHalfOpen: true });
  await once(s, 'connect');
  s.write(`CONNECT 127.0.0.1:${echo.port} HTTP/1.1\r\nHost: 127.0.0.1:${echo.port}\r\n\r\n`);
  s.end('payload after the head');
  const all = (await readAll(s)).toString();
  assert.equal(all, 'HTTP/1.1 200 Connection established\r\n\r\npayload after the head');

  p.tunnel.failures.set('192.0.2.1', 'ECONNREFUSED');
  p.tunnel.failures.set('192.0.2.2', 'ETIMEDOUT');
  assert.match(await raw(p.port, 'CONNECT 192.0.2.1:443 HTTP/1.1\r\n\r\n'), /^HTTP\/1.1 502 Bad Gateway\r\n/);
  assert.match(await raw(p.port, 'CONNECT 192.0.2.2:443 HTTP/1.1\r\n\r\n'), /^HTTP\/1.1 504 Gateway Timeout\r\n/);
  assert.match(await raw(p.port, 'CONNECT nowhere.internal:443 HTTP/1.1\r\n\r\n'), /^HTTP\/1.1 502 Bad Gateway\r\n/);
  assert.match(await raw(p.port, 'CONNECT no-port HTTP/1.1\r\n\r\n'), /^HTTP\/1.1 400 Bad Request\r\n/);
  await p.listener.close();
  echo.server.close();
});

test('requests that are not proxy requests, and malformed HTTP, get 400', async () => {
  const p = await start();
  assert.match(await raw(p.port, 'GET /index.html HTTP/1.1\r\nHost: x\r\n\r\n'), /^HTTP\/1.1 400 Bad Request\r\n/);
  assert.match(await raw(p.port, 'GET ftp://x/ HTTP/1.1\r\nHost: x\r\n\r\n'), /^HTTP\/1.1 400 Bad Request\r\n/);
  assert.match(await raw(p.port, 'NOT HTTP AT ALL\r\n\r\n'), /^HTTP\/1.1 400 Bad Request\r\n/);
  assert.match(await raw(p.port, `GET http://x/ HTTP/1.1\r\nX-Big: ${'a'.repeat(20_000)}\r\n\r\n`), /^HTTP\/1.1 431 /);
  assert.equal(p.tunnel.connects.length, 0);
  await p.listener.close();
});

test('Proxy-Authorization: 407 with Proxy-Authenticate until the right credentials come', async () => {
  const o = await origin();
  const echo = await echoServer();
  const p = await start({ credentials: new Credentials('bob', 'pw:with:colons') });
  const agent = new http.Agent();
  const url = `http://127.0.0.1:${o.port}/`;
  const none = await viaProxy(p.port, agent, url);
  assert.equal(none.status, 407);
  assert.equal(none.headers['proxy-authenticate'], 'Basic realm="wgts proxy"');
  const basic = (u: string, pw: string): string => `Basic ${Buffer.from(`${u}:${pw}`).toString('base64')}`;
  assert.equal((await viaProxy(p.port, agent, url, { headers: { 'Proxy-Authorization': basic('bob', 'wrong') } })).status, 407);
  const ok = await viaProxy(p.port, agent, url, { headers: { 'Proxy-Authorization': basic('bob', 'pw:with:colons') } });
  assert.equal(ok.status, 200);
  assert.equal(o.seen[0]!.headers['proxy-authorization'], undefined, 'credentials for the proxy are not forwarded');
  assert.match(await raw(p.port, `CONNECT 127.0.0.1:${echo.port} HTTP/1.1\r\n\r\n`), /^HTTP\/1.1 407 Proxy Authentication Required\r\nProxy-Authenticate: Basic realm="wgts proxy"\r\n/);
  const c = await raw(p.port, `CONNECT 127.0.0.1:${echo.port} HTTP/1.1\r\nProxy-Authorization: ${basic('bob', 'pw:with:colons')}\r\n\r\n`);
  assert.match(c, /^HTTP\/1.1 200 /);
  agent.destroy();
  await p.listener.close();
  o.server.close();
  echo.server.close();
});

test('TLS to the proxy with CertFile/KeyFile', { skip: spawnSync('openssl', ['version']).status === 0 ? false : 'openssl is not installed' }, async () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'wgts-proxy-tls-'));
  const key = path.join(dir, 'key.pem');
  const cert = path.join(dir, 'cert.pem');
  const r = spawnSync('openssl', ['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-keyout', key, '-out', cert, '-days', '1', '-subj', '/CN=localhost'], { encoding: 'utf8' });
  assert.equal(r.status, 0, r.stderr);
  const echo = await echoServer();
  const p = await start({ tls: { cert: fs.readFileSync(cert), key: fs.readFileSync(key) } });
  const s = tls.connect({ port: p.port, host: '127.0.0.1', rejectUnauthorized: false });
  await once(s, 'secureConnect');
  s.write(`CONNECT 127.0.0.1:${echo.port} HTTP/1.1\r\n\r\n`);
  s.write('inside TLS');
  // TLS has no half-close in Node: read the echo, then close.
  const expected = 'HTTP/1.1 200 Connection established\r\n\r\ninside TLS';
  let got = '';
  for await (const chunk of s) {
    got += String(chunk);
    if (got.length >= expected.length) break;
  }
  assert.equal(got, expected);
  s.destroy();
  await p.listener.close();
  echo.server.close();
  fs.rmSync(dir, { recursive: true });
});

test('endToEndHeaders drops RFC 9110 hop-by-hop fields and the ones Connection names', () => {
  assert.deepEqual(
    endToEndHeaders(['Host', 'a', 'Connection', 'close, X-A', 'X-A', '1', 'Keep-Alive', 'timeout=5', 'TE', 'trailers', 'Upgrade', 'h2c', 'Accept', '*/*', 'Transfer-Encoding', 'chunked']),
    ['Host', 'a', 'Accept', '*/*'],
  );
});
