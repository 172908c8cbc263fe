// SOCKS5 over the loopback stand-in for a tunnel: CONNECT to IPv4, IPv6 and names (through the tunnel's
// DNS), half-close, reply codes from the Tunnel's errors, RFC 1929 authentication, malformed requests
// answered as the RFC says and closed, the connection limit, and a client that stops reading.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import net from 'node:net';
import { silentLogger } from '../base/logger.js';
import { FakeTunnel, echoServer, readAll } from './_fake-tunnel.js';
import { Credentials } from './credentials.js';
import { ListenerStats } from './listener-stats.js';
import { readExactly } from './read-bytes.js';
import { Resolver } from './resolver.js';
import { Socks5Listener, type Socks5Options } from './socks5-server.js';

interface Running {
  tunnel: FakeTunnel;
  listener: Socks5Listener;
  stats: ListenerStats;
  port: number;
  close(): Promise<void>;
}

async function start(options: Partial<Socks5Options> = {}): Promise<Running> {
  const tunnel = new FakeTunnel();
  const stats = new ListenerStats('socks5', '127.0.0.1:0');
  const resolver = new Resolver({ tunnelLookup: (n) => tunnel.lookup(n), strategy: 'auto', hasIpv4: true, hasIpv6: false });
  const listener = new Socks5Listener({ tunnel, resolver, stats, logger: silentLogger, credentials: null, ...options });
  const addr = await listener.listen({ host: '127.0.0.1', port: 0, family: 4 });
  return {
    tunnel,
    listener,
    stats,
    port: addr.port,
    close: async () => {
      await listener.close();
      await tunnel.close();
    },
  };
}

async function connectTo(port: number): Promise<net.Socket> {
  const s = net.connect({ port, host: '127.0.0.1', allowHalfOpen: true });
  await new Promise<void>((r, j) => s.once('connect', r).once('error', j));
  return s;
}

/** Greeting with no authentication, then a CONNECT; returns the reply's REP and the socket. */
async function socksConnect(port: number, dst: Buffer): Promise<{ rep: number; sock: net.Socket; reply: Buffer }> {
  const s = await connectTo(port);
  s.write(Buffer.from([5, 1, 0]));
  assert.deepEqual(await readExactly(s, 2), Buffer.from([5, 0]));
  s.write(Buffer.concat([Buffer.from([5, 1, 0]), dst]));
  const reply = await readReply(s);
  return { rep: reply[1]!, sock: s, reply };
}

async function readReply(s: net.Socket): Promise<Buffer> {
  const head = await readExactly(s, 4);
  const atyp = head[3]!;
  const rest = atyp === 1 ? 6 : atyp === 4 ? 18 : (await readExactly(s, 1))[0]! + 2;
  return Buffer.concat([head, await readExactly(s, rest)]);
}

const v4 = (ip: string, port: number): Buffer => Buffer.from([1, ...ip.split('.').map(Number), port >> 8, port & 255]);
const v6Loopback = (port: number): Buffer => Buffer.from([4, ...new Array(15).fill(0), 1, port >> 8, port & 255]);
const name = (n: string, port: number): Buffer => Buffer.concat([Buffer.from([3, n.length]), Buffer.from(n), Buffer.from([port >> 8, port & 255])]);

test('CONNECT to an IPv4 address relays both ways and passes a half-close on', async () => {
  const echo = await echoServer();
  const p = await start();
  const { rep, sock, reply } = await socksConnect(p.port, v4('127.0.0.1', echo.port));
  assert.equal(rep, 0);
  assert.equal(reply[3], 1, 'BND.ADDR is the tunnel connection\'s IPv4 address');
  sock.write('hello ');
  sock.end('world');
  // The echo server sees our FIN, echoes everything, then ends; the proxy carries that FIN back.
  assert.equal((await readAll(sock)).toString(), 'hello world');
  assert.deepEqual(p.tunnel.connects, [`127.0.0.1:${echo.port}`]);
  await p.close();
  echo.server.close();
});

test('CONNECT to an IPv6 address and to a name resolved through the tunnel DNS', async () => {
  const echo6 = net.createServer({ allowHalfOpen: true }, (s) => s.pipe(s));
  await new Promise<void>((r) => echo6.listen(0, '::1', r));
  const port6 = (echo6.address() as net.AddressInfo).port;
  const p = await start();
  const a = await socksConnect(p.port, v6Loopback(port6));
  assert.equal(a.rep, 0);
  a.sock.end('six');
  assert.equal((await readAll(a.sock)).toString(), 'six');

  p.tunnel.names.set('echo.internal', ['::1']);
  const b = await socksConnect(p.port, name('echo.internal', port6));
  assert.equal(b.rep, 0);
  b.sock.end('named');
  assert.equal((await readAll(b.sock)).toString(), 'named');
  assert.deepEqual(p.tunnel.lookups, ['echo.internal']);
  assert.deepEqual(p.tunnel.connects, [`::1:${port6}`, `::1:${port6}`]);
  await p.close();
  echo6.close();
});

test('bytes sent right after the request (before the reply) reach the destination', async () => {
  const echo = await echoServer();
  const p = await start();
  const s = await connectTo(p.port);
  s.end(Buffer.concat([Buffer.from([5, 1, 0]), Buffer.from([5, 1, 0]), v4('127.0.0.1', echo.port), Buffer.from('early data')]));
  const all = await readAll(s);
  assert.deepEqual(all.subarray(0, 2), Buffer.from([5, 0]));
  assert.equal(all[3], 0, 'REP succeeded');
  assert.equal(all.subarray(2 + 10).toString(), 'early data');
  await p.close();
  echo.server.close();
});

test('connection failures map to RFC 1928 reply codes and close', async () => {
  const p = await start();
  const cases: [string, string, number][] = [
    ['192.0.2.1', 'ECONNREFUSED', 5],
    ['192.0.2.2', 'EHOSTUNREACH', 4],
    ['192.0.2.3', 'ENETUNREACH', 3],
    ['192.0.2.4', 'ETIMEDOUT', 6],
    ['192.0.2.5', 'ECONNRESET', 1],
  ];
  for (const [host, code, rep] of cases) {
    p.tunnel.failures.set(host, code);
    const r = await socksConnect(p.port, v4(host, 80));
    assert.equal(r.rep, rep, `${code} -> REP ${rep}`);
    assert.equal((await readAll(r.sock)).length, 0, 'then the connection closes');
  }
  const r = await socksConnect(p.port, name('no.such.name', 80));
  assert.equal(r.rep, 4, 'a name that does not resolve: host unreachable');
  assert.equal(p.stats.failed, cases.length + 1);
  await p.close();
});

test('username/password (RFC 1929): accepted, refused, and a client without the method', async () => {
  const echo = await echoServer();
  const p = await start({ credentials: new Credentials('alice', 's3cret') });
  const auth = (u: string, pw: string): Buffer => Buffer.concat([Buffer.from([1, u.length]), Buffer.from(u), Buffer.from([pw.length]), Buffer.from(pw)]);

  const good = await connectTo(p.port);
  good.write(Buffer.from([5, 2, 0, 2]));
  assert.deepEqual(await readExactly(good, 2), Buffer.from([5, 2]));
  good.write(auth('alice', 's3cret'));
  assert.deepEqual(await readExactly(good, 2), Buffer.from([1, 0]));
  good.write(Buffer.concat([Buffer.from([5, 1, 0]), v4('127.0.0.1', echo.port)]));
  assert.equal((await readReply(good))[1], 0);
  good.end('authenticated');
  assert.equal((await readAll(good)).toString(), 'authenticated');

  const bad = await connectTo(p.port);
  bad.write(Buffer.from([5, 1, 2]));
  assert.deepEqual(await readExactly(bad, 2), Buffer.from([5, 2]));
  bad.write(auth('alice', 'guess'));
  assert.deepEqual(await readAll(bad), Buffer.from([1, 1]), 'failure status, then close');

  const noMethod = await connectTo(p.port);
  noMethod.write(Buffer.from([5, 1, 0]));
  assert.deepEqual(await readAll(noMethod), Buffer.from([5, 0xff]), 'no acceptable methods, then close');
  assert.equal(p.tunnel.connects.length, 1);
  await p.close();
  echo.server.close();
});

test('malformed requests get their error reply and the connection closes', async () => {
  const p = await start();
  const exchange = async (bytes: Buffer): Promise<Buffer> => {
    const s = await connectTo(p.port);
    s.end(bytes);
    return readAll(s);
  };
  assert.deepEqual(await exchange(Buffer.from([4, 1, 0, 80, 127, 0, 0, 1, 0])), Buffer.from([0, 0x5b, 0, 0, 0, 0, 0, 0]), 'SOCKS4: request rejected');
  assert.deepEqual(await exchange(Buffer.from('GET / HTTP/1.1\r\n\r\n')), Buffer.alloc(0), 'not SOCKS: closed without a reply');
  const bind = await exchange(Buffer.concat([Buffer.from([5, 1, 0, 5, 2, 0]), v4('127.0.0.1', 80)]));
  assert.equal(bind[3], 7, 'BIND: command not supported');
  const unknownCmd = await exchange(Buffer.concat([Buffer.from([5, 1, 0, 5, 9, 0]), v4('127.0.0.1', 80)]));
  assert.equal(unknownCmd[3], 7);
  const atyp = await exchange(Buffer.from([5, 1, 0, 5, 1, 0, 9, 1, 2, 3, 4, 5, 6]));
  assert.equal(atyp[3], 8, 'address type not supported');
  const emptyName = await exchange(Buffer.from([5, 1, 0, 5, 1, 0, 3, 0, 0, 80]));
  assert.equal(emptyName[3], 1, 'empty domain name: general failure');
  const truncated = await exchange(Buffer.from([5, 1, 0, 5, 1, 0, 1, 127]));
  assert.deepEqual(truncated, Buffer.from([5, 0]), 'a request cut short: closed after the method reply');
  assert.equal(p.tunnel.connects.length, 0);
  await p.close();
});

test('a negotiation that never finishes is closed after the handshake timeout', async () => {
  const p = await start({ handshakeTimeoutMs: 50 });
  const s = await connectTo(p.port);
  s.write(Buffer.from([5, 1]));
  assert.equal((await readAll(s)).length, 0);
  await p.close();
});

test('connections past the limit are turned away and counted', async () => {
  const echo = await echoServer();
  const p = await start({ maxConnections: 2 });
  const a = await socksConnect(p.port, v4('127.0.0.1', echo.port));
  const b = await socksConnect(p.port, v4('127.0.0.1', echo.port));
  const c = await connectTo(p.port);
  c.write(Buffer.from([5, 1, 0]));
  assert.equal((await readAll(c).catch(() => Buffer.alloc(0))).length, 0, 'the third is closed unanswered');
  assert.equal(p.stats.refused, 1);
  assert.equal(p.stats.snapshot().open, 2);
  a.sock.end();
  b.sock.end();
  await Promise.all([readAll(a.sock), readAll(b.sock)]);
  await p.close();
  echo.server.close();
});

test('a client that stops reading stops the upstream: what is buffered stays bounded', async () => {
  // The upstream writes as fast as it is allowed to; the client reads nothing.
  const p = await start();
  const servers: net.Server[] = [];
  let client: net.Socket | null = null;
  let written = 0;
  let upstream: net.Socket | null = null;
  const chunk = Buffer.alloc(64 * 1024, 7);
  const blocked = new Promise<void>((resolve) => {
    const server = net.createServer((s) => {
      upstream = s;
      s.on('error', () => undefined);
      const pump = (): void => {
        while (s.write(chunk)) written += chunk.length;
        written += chunk.length;
        // Blocked: wait to see whether the proxy drains it further; if not within a while, it is stuck.
        const t = setTimeout(() => resolve(), 300);
        s.once('drain', () => {
          clearTimeout(t);
          pump();
        });
      };
      pump();
    });
    server.listen(0, '127.0.0.1', () => {
      void socksConnect(p.port, v4('127.0.0.1', (server.address() as net.AddressInfo).port)).then((r) => {
        r.sock.pause();
        client = r.sock;
      });
    });
    servers.push(server);
  });
  await blocked;
  // Kernel socket buffers on both loopback hops plus the proxy's two stream buffers: a few MiB at most,
  // nowhere near the unbounded growth an unpaced relay would show.
  assert.ok(written < 32 * 1024 * 1024, `upstream got ${written} bytes out before it was stopped`);
  const sock = client as net.Socket | null;
  sock?.destroy();
  (upstream as net.Socket | null)?.destroy();
  await p.close();
  for (const s of servers) s.close();
});
