/**
 * The netstack behind a real WireGuard device: two Devices over the memory network, one side's Tun a
 * NetStack and the other a MemoryTun (a host speaking raw IP) or a second NetStack. Ping, UDP echo in
 * both families, fragmented datagrams, ECONNREFUSED from port unreachable; both pools end at zero.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { once } from 'node:events';
import { randomBytes } from 'node:crypto';
import { FakeClock } from '../base/clock.js';
import { TieredPool } from '../buffer/tiered-pool.js';
import { MemoryNetwork } from '../conn/memory.js';
import { keyToHex } from '../crypto/keys.js';
import { generatePrivateKey, publicKey } from '../crypto/x25519.js';
import { NetStack } from '../netstack/stack.js';
import type { Tun } from '../tun/tun.js';
import { MemoryTun } from '../tun/memory.js';
import { Device } from './device.js';
import { icmp4Echo, icmp6Echo, parseEcho } from '../net/_packets.js';
import { until } from './_testing.js';

const V4 = ['10.0.0.1', '10.0.0.2'];
const V6 = ['fd00::1', 'fd00::2'];

interface Side {
  dev: Device;
  pool: TieredPool;
}

async function makeSide(net: MemoryNetwork, clock: FakeClock, tun: Tun, outer: string, priv: Uint8Array, peerPub: Uint8Array, peerOuter: string, peerIps: string[]): Promise<Side> {
  const pool = new TieredPool({ debug: true });
  const dev = new Device({ tun, bind: net.createBind(outer), pool, clock });
  await dev.ipcSet(`private_key=${keyToHex(priv)}\nlisten_port=51820\n`);
  await dev.up();
  await dev.ipcSet(`public_key=${keyToHex(peerPub)}\nendpoint=${peerOuter}:51820\n` + peerIps.map((i) => `allowed_ip=${i}\n`).join(''));
  return { dev, pool };
}

async function connect(tunA: Tun, tunB: Tun): Promise<{ a: Side; b: Side; clock: FakeClock }> {
  const net = new MemoryNetwork();
  const clock = new FakeClock();
  const ka = generatePrivateKey();
  const kb = generatePrivateKey();
  const a = await makeSide(net, clock, tunA, '192.0.2.1', ka, publicKey(kb), '192.0.2.2', ['10.0.0.2/32', 'fd00::2/128']);
  const b = await makeSide(net, clock, tunB, '192.0.2.2', kb, publicKey(ka), '192.0.2.1', ['10.0.0.1/32', 'fd00::1/128']);
  return { a, b, clock };
}

async function closeClean(...sides: Side[]): Promise<void> {
  for (const s of sides) assert.equal(await s.dev.close(), 0, 'buffers leaked');
}

test('ping the netstack through the tunnel, IPv4 and IPv6', async () => {
  const stack = new NetStack({ addresses: ['10.0.0.1/24', 'fd00::1/64'] });
  const host = new MemoryTun({ name: 'host' });
  const replies: Array<{ type: number; seq: number; data: Uint8Array }> = [];
  host.onPacket = (p) => {
    const e = parseEcho(p);
    if (e !== null) replies.push({ type: e.type, seq: e.seq, data: p.slice(p[0]! >>> 4 === 4 ? 28 : 48) });
  };
  const { a, b } = await connect(stack, host);
  const payload = randomBytes(56);
  host.writePacket(icmp4Echo(Uint8Array.of(10, 0, 0, 2), Uint8Array.of(10, 0, 0, 1), 8, 77, 1, payload));
  assert.ok(await until(() => replies.length === 1), 'no IPv4 echo reply');
  const v6a = stack.addresses.first(6)!;
  const v6b = new Uint8Array(v6a);
  v6b[15] = 2;
  host.writePacket(icmp6Echo(v6b, v6a, 128, 77, 2, payload));
  assert.ok(await until(() => replies.length === 2), 'no IPv6 echo reply');
  assert.deepEqual(replies.map((r) => [r.type, r.seq]), [[0, 1], [129, 2]]);
  assert.deepEqual(replies[0]!.data, new Uint8Array(payload));
  assert.deepEqual(replies[1]!.data, new Uint8Array(payload));
  await closeClean(a, b);
});

test('two netstacks: UDP echo both families, small and fragmented, and ECONNREFUSED', async () => {
  const sa = new NetStack({ addresses: ['10.0.0.1/24', 'fd00::1/64'] });
  const sb = new NetStack({ addresses: ['10.0.0.2/24', 'fd00::2/64'] });
  const { a, b } = await connect(sa, sb);
  for (const [type, i] of [['udp4', V4], ['udp6', V6]] as const) {
    const echo = sb.createUdpSocket(type);
    echo.on('message', (m, r) => echo.send(m, r.port, r.address));
    echo.bind(7);
    const c = sa.createUdpSocket(type);
    for (const size of [1, 1000, 1372, 4000, 30000]) {
      const data = randomBytes(size);
      const got = once(c, 'message') as Promise<[Buffer, { address: string; port: number }]>;
      c.send(data, 7, i[1]);
      const [msg, rinfo] = await got;
      assert.deepEqual(msg, data, `${type} ${size} bytes`);
      assert.equal(rinfo.address, i[1]);
      assert.equal(rinfo.port, 7);
    }
    const refused = sa.createUdpSocket(type);
    refused.connect(9999, i[1]);
    await once(refused, 'connect');
    refused.send('hello?');
    const [err] = (await once(refused, 'error')) as [NodeJS.ErrnoException];
    assert.equal(err.code, 'ECONNREFUSED');
    echo.close();
    c.close();
    refused.close();
  }
  assert.ok(sa.counters.fragmentsSent > 0 && sb.counters.reassembled > 0, 'the big datagrams went in fragments');
  assert.ok(sb.counters.fragmentsSent > 0 && sa.counters.reassembled > 0, 'and came back in fragments');
  await closeClean(a, b);
});
