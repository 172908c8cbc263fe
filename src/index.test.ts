// The package root carries the Linux back ends: a Device built only from root exports runs over
// LinuxBind on loopback (the shim, no root), and LinuxTun makes a kernel interface (root).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { DEFAULT_MTU, Device, LinuxBind, LinuxTun, MemoryTun, generatePrivateKey, keyToHex, publicKey } from './index.js';
import { native, nativeError } from './native/load.js';

const IN_CI = process.env['CI'] === 'true';
const isRoot = process.getuid?.() === 0;
const noShim = native === null && !IN_CI ? `native shim not loaded: ${nativeError}` : false;
const noRoot = noShim !== false ? noShim : !isRoot && !IN_CI ? 'needs root (CAP_NET_ADMIN) to create a TUN interface' : false;

test('two Devices over LinuxBind, from the package root alone, carry a packet', { skip: noShim }, async () => {
  const keyA = generatePrivateKey();
  const keyB = generatePrivateKey();
  const tunA = new MemoryTun({ name: 'a' });
  const tunB = new MemoryTun({ name: 'b' });
  const a = new Device({ tun: tunA, bind: new LinuxBind({ ipv6: false, ipv4Address: '127.0.0.1' }) });
  const b = new Device({ tun: tunB, bind: new LinuxBind({ ipv6: false, ipv4Address: '127.0.0.1' }) });
  try {
    await b.ipcSet(`private_key=${keyToHex(keyB)}\nlisten_port=0\npublic_key=${keyToHex(publicKey(keyA))}\nallowed_ip=10.0.0.1/32\n`);
    const portB = await b.up();
    await a.ipcSet(`private_key=${keyToHex(keyA)}\npublic_key=${keyToHex(publicKey(keyB))}\nendpoint=127.0.0.1:${portB}\nallowed_ip=10.0.0.2/32\n`);
    await a.up();
    const arrived = new Promise<Uint8Array>((resolve) => {
      tunB.onPacket = (p) => resolve(new Uint8Array(p));
    });
    const packet = new Uint8Array(28);
    packet.set([0x45, 0, 0, 28, 0, 0, 0, 0, 64, 253, 0, 0, 10, 0, 0, 1, 10, 0, 0, 2]);
    assert.ok(tunA.writePacket(packet));
    assert.deepEqual(await arrived, packet);
  } finally {
    assert.equal(await a.close(), 0);
    assert.equal(await b.close(), 0);
  }
});

test('LinuxTun.create makes a kernel interface with the default MTU', { skip: noRoot }, () => {
  const name = `wgtsx${process.pid % 100000}`;
  const tun = LinuxTun.create(name);
  try {
    assert.equal(tun.name, name);
    assert.equal(tun.mtu(), DEFAULT_MTU);
    assert.match(execFileSync('ip', ['link', 'show', name], { encoding: 'utf8' }), new RegExp(`mtu ${DEFAULT_MTU} `));
  } finally {
    tun.close();
  }
});
