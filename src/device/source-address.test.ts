/**
 * A fresh source address after a change (as wireguard-go: it clears cached sources when its bind
 * changes, and an endpoint set by hand carries none). Two Devices over LinuxBind on loopback, where
 * every 127/8 address is local: A's socket is bound to any address, so A answers from whichever one B
 * reached it at (the sticky source); after `listen_port` or a peer `endpoint` is set, A's next packet
 * must leave from the source the kernel picks for 127.0.0.1, which is 127.0.0.1.
 * (test/netns/source-address.sh runs the same case as a user would, with a renumbered loopback.)
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { LinuxBind } from '../conn/linux.js';
import { keyToHex } from '../crypto/keys.js';
import { generatePrivateKey, publicKey } from '../crypto/x25519.js';
import { native, nativeError } from '../native/load.js';
import { MemoryTun } from '../tun/memory.js';
import { ipv4Packet } from './_testing.js';
import { Device } from './device.js';

const noShim = native === null && process.env['CI'] !== 'true' ? `native shim not loaded: ${nativeError}` : false;

/** Poll until `cond` holds; real sockets answer in well under the bound. */
async function eventually(cond: () => boolean, what: string): Promise<void> {
  for (let i = 0; i < 600 && !cond(); i++) await new Promise((r) => setTimeout(r, 5));
  assert.ok(cond(), what);
}

interface Side {
  dev: Device;
  tun: MemoryTun;
  key: Uint8Array;
  got: number;
}

function side(name: string, bind: LinuxBind): Side {
  const tun = new MemoryTun({ name });
  const s: Side = { dev: new Device({ tun, bind }), tun, key: generatePrivateKey(), got: 0 };
  tun.onPacket = () => s.got++;
  return s;
}

/** The endpoint `of` shows for its one peer. */
function endpointSeenBy(of: Side): string {
  return String([...of.dev.peers.values()][0]!.endpoint);
}

/** One packet from `from` to `to` through the tunnel, arrived. */
async function send(from: Side, to: Side, src: string, dst: string): Promise<void> {
  const before = to.got;
  assert.ok(from.tun.writePacket(ipv4Packet(src, dst, 32, before)));
  await eventually(() => to.got > before, `${src} -> ${dst} did not arrive`);
}

test('after listen_port or a peer endpoint is set, the sticky source is forgotten', { skip: noShim }, async () => {
  const a = side('a', new LinuxBind({ ipv6: false }));
  const b = side('b', new LinuxBind({ ipv6: false, ipv4Address: '127.0.0.1' }));
  try {
    await a.dev.ipcSet(`private_key=${keyToHex(a.key)}\nlisten_port=0\npublic_key=${keyToHex(publicKey(b.key))}\nallowed_ip=10.0.0.2/32\n`);
    const portA = await a.dev.up();
    await b.dev.ipcSet(`private_key=${keyToHex(b.key)}\nlisten_port=0\n`);
    const portB = await b.dev.up();
    // B reaches A at 127.0.0.2: A learns B from B's packets and answers from 127.0.0.2.
    await b.dev.ipcSet(`public_key=${keyToHex(publicKey(a.key))}\nendpoint=127.0.0.2:${portA}\nallowed_ip=10.0.0.1/32\n`);
    await send(b, a, '10.0.0.2', '10.0.0.1');
    await send(a, b, '10.0.0.1', '10.0.0.2');
    assert.equal(endpointSeenBy(b), `127.0.0.2:${portA}`, 'A answers from the address it was reached at');

    // A new port: A's next packet leaves from the kernel's choice, and B follows it there.
    await a.dev.ipcSet('listen_port=0\n'); // a port of the kernel's choosing: a new socket either way
    const newPort = a.dev.listenPort;
    await send(a, b, '10.0.0.1', '10.0.0.2');
    assert.equal(endpointSeenBy(b), `127.0.0.1:${newPort}`, 'after listen_port, a source chosen afresh');

    // B reaches A at 127.0.0.3 now; then A's endpoint for B is set by hand: again the kernel's choice.
    await b.dev.ipcSet(`public_key=${keyToHex(publicKey(a.key))}\nendpoint=127.0.0.3:${newPort}\n`);
    await send(b, a, '10.0.0.2', '10.0.0.1');
    await send(a, b, '10.0.0.1', '10.0.0.2');
    assert.equal(endpointSeenBy(b), `127.0.0.3:${newPort}`);
    await a.dev.ipcSet(`public_key=${keyToHex(publicKey(b.key))}\nendpoint=127.0.0.1:${portB}\n`);
    await send(a, b, '10.0.0.1', '10.0.0.2');
    assert.equal(endpointSeenBy(b), `127.0.0.1:${newPort}`, 'an endpoint set by hand carries no source');
  } finally {
    assert.equal(await a.dev.close(), 0);
    assert.equal(await b.dev.close(), 0);
  }
});
