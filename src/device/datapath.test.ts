// Bulk data through two Devices, every packet checked: with 0, 1 and 2 crypto threads, over the memory
// network and over the batched Linux bind on loopback with UDP GRO on (coalesced reads walked in place)
// and off. Packets arrive exact and in order, and nothing is left outstanding at the end.
import { strict as assert } from 'node:assert';
import { test } from 'node:test';
import { TieredPool } from '../buffer/tiered-pool.js';
import type { Bind } from '../conn/bind.js';
import { LinuxBind } from '../conn/linux.js';
import { MemoryNetwork } from '../conn/memory.js';
import { keyToHex } from '../crypto/keys.js';
import { generatePrivateKey, publicKey } from '../crypto/x25519.js';
import { native, nativeError } from '../native/load.js';
import { MemoryTun } from '../tun/memory.js';
import { ipv4Packet } from './_testing.js';
import { Device } from './device.js';

const skip = native === null && process.env['CI'] !== 'true' ? `native shim not loaded: ${nativeError}` : false;

const PACKETS = 3000;
const PAYLOAD = 1392;
/** Packets in flight at most: well inside the sockets' buffers. */
const WINDOW = 256;

async function bulk(threads: number, bindA: Bind, bindB: Bind, hostA: string, hostB: string): Promise<void> {
  const tunA = new MemoryTun({ name: 'bulk-a' });
  const tunB = new MemoryTun({ name: 'bulk-b' });
  const poolA = new TieredPool({ debug: true });
  const poolB = new TieredPool({ debug: true });
  const a = new Device({ tun: tunA, bind: bindA, pool: poolA, cryptoThreads: threads });
  const b = new Device({ tun: tunB, bind: bindB, pool: poolB, cryptoThreads: threads });
  const ka = generatePrivateKey();
  const kb = generatePrivateKey();
  await a.ipcSet(`private_key=${keyToHex(ka)}\nlisten_port=0\n`);
  await b.ipcSet(`private_key=${keyToHex(kb)}\nlisten_port=0\n`);
  const pa = await a.up();
  const pb = await b.up();
  await a.ipcSet(`public_key=${keyToHex(publicKey(kb))}\nendpoint=${hostB}:${pb}\nallowed_ip=10.0.0.2/32\n`);
  await b.ipcSet(`public_key=${keyToHex(publicKey(ka))}\nendpoint=${hostA}:${pa}\nallowed_ip=10.0.0.1/32\n`);

  try {
    await stream(tunA, tunB);
  } finally {
    const leftA = await a.close();
    const leftB = await b.close();
    assert.equal(leftA, 0, 'A: buffers outstanding');
    assert.equal(leftB, 0, 'B: buffers outstanding');
  }
}

/** Writes PACKETS numbered packets into tunA, at most WINDOW ahead of what tunB has seen; checks each. */
async function stream(tunA: MemoryTun, tunB: MemoryTun): Promise<void> {
  let next = 0;
  let bad = '';
  tunB.onPacket = (p) => {
    const seq = ((p[28]! << 24) | (p[29]! << 16) | (p[30]! << 8) | p[31]!) >>> 0;
    if (bad === '' && seq !== next) bad = `packet ${seq} where ${next} was due`;
    if (bad === '' && (p.length !== 28 + PAYLOAD || p[28 + PAYLOAD - 1] !== ((seq * 7) & 0xff))) bad = `packet ${seq} changed`;
    next++;
  };
  const packet = ipv4Packet('10.0.0.1', '10.0.0.2', PAYLOAD);
  let sent = 0;
  const deadline = Date.now() + 20_000;
  while (next < PACKETS && Date.now() < deadline && bad === '') {
    // Packet 0 alone until it is through: packets staged during the handshake are bounded.
    const window = next === 0 ? 1 : WINDOW;
    while (sent < PACKETS && sent - next < window) {
      packet[28] = sent >>> 24;
      packet[29] = (sent >>> 16) & 0xff;
      packet[30] = (sent >>> 8) & 0xff;
      packet[31] = sent & 0xff;
      packet[28 + PAYLOAD - 1] = (sent * 7) & 0xff;
      if (!tunA.writePacket(packet)) break;
      sent++;
    }
    await new Promise((r) => setTimeout(r, next === 0 ? 10 : 1));
  }
  assert.equal(bad, '');
  assert.equal(next, PACKETS, `all ${PACKETS} arrived (sent ${sent})`);
}

for (const threads of [0, 1, 2]) {
  test(`${threads} crypto threads, memory network: ${PACKETS} packets exact and in order`, { skip: threads > 0 ? skip : false }, async () => {
    const net = new MemoryNetwork();
    await bulk(threads, net.createBind('192.0.2.1'), net.createBind('192.0.2.2'), '192.0.2.1', '192.0.2.2');
  });

  for (const gro of [true, false]) {
    test(`${threads} crypto threads, Linux bind on loopback, UDP GRO ${gro ? 'on' : 'forced off'}: ${PACKETS} packets exact and in order`, { skip }, async () => {
      const bindA = new LinuxBind({ ipv6: false, ipv4Address: '127.0.0.1', gro });
      const bindB = new LinuxBind({ ipv6: false, ipv4Address: '127.0.0.1', gro });
      await bulk(threads, bindA, bindB, '127.0.0.1', '127.0.0.1');
      if (gro) assert.ok(bindB.groReads > 0, 'some reads came coalesced and were walked in place');
      else assert.equal(bindB.groReads, 0);
    });
  }
}
