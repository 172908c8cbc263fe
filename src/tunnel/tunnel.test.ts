// Two Tunnels in one process over the memory network: opening from wg-quick text, UDP echo in both
// families, lookup() through the tunnel's DNS against a responder on the other Tunnel, stats(), and
// close() releasing every buffer.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { once } from 'node:events';
import { FakeClock } from '../base/clock.js';
import { ConfigError } from '../config/wg-quick.js';
import { generatePrivateKey } from '../crypto/x25519.js';
import { MemoryNetwork } from '../conn/memory.js';
import { Tunnel } from './tunnel.js';
import { DNS_TIMEOUT_MS } from './dns-resolver.js';
import { answer, type Zone } from './_dns-responder.js';
import { tunnelConfig, tunnelPair, type TunnelPair } from './_testing.js';

async function closeClean(p: TunnelPair): Promise<void> {
  await p.a.close();
  await p.b.close();
  assert.equal(p.poolA.outstanding, 0, 'A leaked buffers');
  assert.equal(p.poolB.outstanding, 0, 'B leaked buffers');
}

/** B answers DNS on port 53 of both its addresses from `zone`; returns the questions it saw. */
function serveDns(p: TunnelPair, zone: Zone, drop = false): string[] {
  const seen: string[] = [];
  for (const type of ['udp4', 'udp6'] as const) {
    const s = p.b.createSocket(type);
    s.on('message', (q, r) => {
      seen.push(`${r.family} ${q[q.length - 16]}`);
      const a = answer(q, zone);
      if (a !== null && !drop) s.send(a, r.port, r.address);
    });
    s.bind(53);
  }
  return seen;
}

test('UDP echo through two Tunnels, both families', async () => {
  const p = await tunnelPair();
  for (const [type, addr] of [['udp4', '10.0.0.2'], ['udp6', 'fd00::2']] as const) {
    const echo = p.b.createSocket(type, (msg, r) => echo.send(msg, r.port, r.address));
    echo.bind(7);
    const c = p.a.createSocket(type);
    const got = once(c, 'message') as Promise<[Buffer, { address: string }]>;
    c.send(`hello over ${type}`, 7, addr);
    const [msg, rinfo] = await got;
    assert.equal(msg.toString(), `hello over ${type}`);
    assert.equal(rinfo.address, addr);
  }
  const s = p.a.stats();
  assert.equal(s.peers.length, 1);
  assert.ok(s.peers[0]!.lastHandshake > 0);
  assert.ok(s.peers[0]!.txBytes > 0 && s.peers[0]!.rxBytes > 0);
  assert.equal(s.peers[0]!.endpoint, '192.0.2.2:51820');
  assert.ok(s.netstack['rxPackets']! >= 2);
  assert.equal(s.udpSockets, 2);
  assert.ok(s.pool.slabs > 0);
  await closeClean(p);
});

test('lookup through the tunnel: A and AAAA, CNAME, search domains, cache, NXDOMAIN', async () => {
  const p = await tunnelPair({ interfaceA: 'DNS = 10.0.0.2, corp.internal' });
  const zone: Zone = {
    'db.corp.internal': { A: ['10.0.0.40'], AAAA: ['fd00::40'] },
    'www.example.com': { CNAME: 'web.example.com' },
    'web.example.com': { A: ['10.0.0.50'] },
    'v6only.example.com': { AAAA: ['fd00::60'] },
    'peer.corp.internal': { A: ['10.0.0.2'] },
  };
  const seen = serveDns(p, zone);
  assert.deepEqual(await p.a.lookup('db.corp.internal'), ['10.0.0.40', 'fd00::40']);
  assert.deepEqual(await p.a.lookup('db.corp.internal', { order: 'ipv6first' }), ['fd00::40', '10.0.0.40']);
  assert.deepEqual(await p.a.lookup('db.corp.internal', { family: 6 }), ['fd00::40']);
  assert.equal(seen.length, 2, 'one A and one AAAA question; the rest came from the cache');
  assert.deepEqual(await p.a.lookup('db'), ['10.0.0.40', 'fd00::40'], 'the search domain completes a single label');
  assert.deepEqual(await p.a.lookup('WWW.example.com.'), ['10.0.0.50']);
  assert.deepEqual(await p.a.lookup('v6only.example.com'), ['fd00::60']);
  await assert.rejects(p.a.lookup('nothing.example.com'), { code: 'ENOTFOUND', syscall: 'getaddrinfo', hostname: 'nothing.example.com' });
  await assert.rejects(p.a.lookup('bad..name'), { code: 'ENOTFOUND' });
  // A UDP socket resolves host names through the same lookup.
  const echo = p.b.createSocket('udp4', (m, r) => echo.send(m, r.port, r.address));
  echo.bind(7);
  const c = p.a.createSocket('udp4');
  const got = once(c, 'message') as Promise<[Buffer]>;
  c.send('by name', 7, 'peer');
  assert.equal((await got)[0].toString(), 'by name');
  await closeClean(p);
});

test('lookup answered locally: numeric addresses, hosts entries, localhost', async () => {
  const p = await tunnelPair({ optionsA: { hosts: { 'Gateway.lan': '10.0.0.2', both: ['fd00::9', '10.0.0.9'] } } });
  assert.deepEqual(await p.a.lookup('10.1.2.3'), ['10.1.2.3']);
  assert.deepEqual(await p.a.lookup('FD00:0::1'), ['fd00::1']);
  assert.deepEqual(await p.a.lookup('gateway.lan.'), ['10.0.0.2']);
  assert.deepEqual(await p.a.lookup('both'), ['10.0.0.9', 'fd00::9']);
  assert.deepEqual(await p.a.lookup('localhost'), ['10.0.0.1', 'fd00::1']);
  await assert.rejects(p.a.lookup(''), TypeError);
  await closeClean(p);
});

test('DNS that never answers fails with EAI_AGAIN after the bounded tries; a refused port fails fast', async () => {
  const p = await tunnelPair({ fakeClock: true, interfaceA: 'DNS = 10.0.0.2, fd00::2', optionsA: { dns: { attempts: 2 } } });
  const clock = p.clock as FakeClock;
  const seen = serveDns(p, { 'x.example': { A: ['10.0.0.1'] } }, true);
  const pending = p.a.lookup('x.example', { family: 4 });
  let failure: unknown = null;
  pending.catch((e: unknown) => (failure = e));
  for (let i = 0; i < 10 && failure === null; i++) {
    await new Promise((r) => setImmediate(r));
    await new Promise((r) => setTimeout(r, 5));
    clock.advance(DNS_TIMEOUT_MS);
  }
  await assert.rejects(pending, { code: 'EAI_AGAIN' });
  assert.equal(seen.length, 4, 'two rounds over two servers');
  await closeClean(p);

  // Nobody listens on port 53: each try ends with the port unreachable, not the timeout.
  const q = await tunnelPair({ fakeClock: true, interfaceA: 'DNS = 10.0.0.2' });
  await assert.rejects(q.a.lookup('x.example'), { code: 'EAI_AGAIN' });
  await closeClean(q);
});

test('without DNS = in the config, lookup asks the system resolver', async () => {
  const p = await tunnelPair();
  const got = await p.a.lookup('localhost.');
  assert.deepEqual(got, ['10.0.0.1', 'fd00::1']);
  await assert.rejects(p.a.lookup('name.invalid'), (e: NodeJS.ErrnoException) => e.code === 'ENOTFOUND' || e.code === 'EAI_AGAIN');
  await closeClean(p);
});

test('Tunnel.open refuses a config without Address, or a bad one, and leaves nothing open', async () => {
  const net = new MemoryNetwork();
  const k = generatePrivateKey();
  const text = tunnelConfig(k, '10.0.0.1/24', generatePrivateKey(), '192.0.2.2', '10.0.0.2/32').replace(/^Address.*$/m, '');
  await assert.rejects(Tunnel.open(text, { bind: net.createBind('192.0.2.1') }), ConfigError);
  await assert.rejects(Tunnel.open('[Interface]\nBogus = 1\n', { bind: net.createBind('192.0.2.1') }), ConfigError);
  // A port already taken: the device is closed again.
  const first = await Tunnel.open(tunnelConfig(k, '10.0.0.1/24', generatePrivateKey(), '192.0.2.2', '10.0.0.2/32'), { bind: net.createBind('192.0.2.1') });
  await assert.rejects(Tunnel.open(tunnelConfig(k, '10.0.0.1/24', generatePrivateKey(), '192.0.2.2', '10.0.0.2/32'), { bind: net.createBind('192.0.2.1') }), { code: 'EADDRINUSE' });
  await first.close();
});

test('close(): sockets close, later calls refused, the same promise twice', async () => {
  const p = await tunnelPair();
  const s = p.a.createSocket('udp4');
  s.bind(9);
  const closed = once(s, 'close');
  const c1 = p.a.close();
  assert.equal(p.a.close(), c1);
  await c1;
  await closed;
  assert.equal(p.a.closed, true);
  assert.throws(() => p.a.createSocket('udp4'), /closed/);
  await closeClean(p);
});

test('ping through two Tunnels: both families, by name, ETIMEDOUT for an address nobody has', async () => {
  const p = await tunnelPair({ optionsA: { hosts: { 'b.test': 'fd00::2' } } });
  for (const host of ['10.0.0.2', 'fd00::2', 'b.test']) {
    const ms = await p.a.ping(host);
    assert.ok(ms >= 0 && ms < 5000, `${host}: ${ms} ms`);
  }
  assert.equal(p.b.stats().netstack['echoReplies'], 3);
  assert.equal(p.a.stats().netstack['echoRepliesReceived'], 3);
  // Routed to B, which answers nothing for an address it does not have.
  await assert.rejects(p.a.ping('10.0.0.3', { timeout: 50 }), { code: 'ETIMEDOUT' });
  await closeClean(p);
  await assert.rejects(p.a.ping('10.0.0.2'), /closed/);
});
