/**
 * Interop with real peers (root; runs in CI): wireguard-go, Debian's and upstream, and boringtun. Topology:
 *
 *   root namespace (this process)                 namespace wgts-interop
 *   wgts Device: MemoryTun 10.77.0.1, fd77::1      the peer on TUN wgi0: 10.77.0.2/24  , fd77::2/64
 *   StdBind on 0.0.0.0 / ::                        listen-port 51820
 *   vethwgi <198.18.0.1, fd18::1>  <---- veth ---->  veth0 <198.18.0.2, fd18::2>
 *
 * The kernel behind wireguard-go answers ICMP echo; wgts builds the echo requests itself on its memory
 * TUN, and answers the kernel's own pings (from `ping` in the namespace) the same way. Each wireguard-go
 * build found (Debian's package, an upstream build) is tested, with either side initiating, with and
 * without a preshared key, over the IPv4 and the IPv6 outer network.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { writeFileSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { Device } from './device.js';
import { MemoryTun } from '../tun/memory.js';
import { StdBind } from '../conn/std.js';
import { generatePrivateKey, publicKey } from '../crypto/x25519.js';
import { keyToBase64, keyToHex } from '../crypto/keys.js';
import { echoReplyFor, icmp4Echo, icmp6Echo, parseEcho } from '../net/_packets.js';
import { IN_CI, makeNamespace, netnsUnavailable, nsExec, nsExecAsync, removeNamespace, startPeerDaemon, stopChild, peerBinaries, type PeerBinary } from './_netns.js';

// Names and root-namespace addresses carry the process id, so parallel runs never collide.
const TAG = process.pid % 100000;
const NS = `wgts-interop${TAG}`;
const VETH = `vwgi${TAG}`;
const IF = `wgi${TAG}`;
const OUTER4 = `198.18.${TAG % 250}`;
const OUTER6 = `fd18:${(TAG % 250).toString(16)}:`;
const V4_WGTS = new Uint8Array([10, 77, 0, 1]);
const V4_PEER = new Uint8Array([10, 77, 0, 2]);
const V6_WGTS = new Uint8Array([0xfd, 0x77, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1]);
const V6_PEER = new Uint8Array([0xfd, 0x77, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 2]);

const why = netnsUnavailable(['wg', 'ping']);
const binaries = peerBinaries();
const skip = IN_CI ? false : why ?? (binaries.length === 0 ? 'needs wireguard-go (apt-get install --no-install-recommends wireguard-go)' : false);
if (skip) console.log(`# interop with wireguard-go skipped: ${skip}`);

test('interop prerequisites are present in CI', { skip: !IN_CI }, () => {
  assert.equal(why, null, String(why));
  assert.ok(binaries.length > 0, 'no wireguard-go binary installed');
});

async function waitFor(cond: () => boolean, ms: number): Promise<boolean> {
  const end = Date.now() + ms;
  while (Date.now() < end) {
    if (cond()) return true;
    await new Promise((r) => setTimeout(r, 20));
  }
  return cond();
}

interface Case {
  bin: PeerBinary;
  initiator: 'wgts' | 'peer';
  psk: boolean;
  outer: 4 | 6;
}

const cases: Case[] = [];
for (const bin of binaries) {
  cases.push({ bin, initiator: 'wgts', psk: false, outer: 4 });
  cases.push({ bin, initiator: 'peer', psk: false, outer: 4 });
  cases.push({ bin, initiator: 'wgts', psk: true, outer: 6 });
  cases.push({ bin, initiator: 'peer', psk: true, outer: 6 });
}

for (const c of cases) {
  const name = `${c.bin.label}: ${c.initiator === 'peer' ? c.bin.label : 'wgts'} initiates, ${c.psk ? 'with' : 'without'} PSK, IPv${c.outer} outside, ICMP echo IPv4 and IPv6 inside`;
  test(name, { skip }, async () => {
    const dir = mkdtempSync(join(tmpdir(), 'wgts-interop-'));
    const wgKey = generatePrivateKey();
    const myKey = generatePrivateKey();
    const psk = randomBytes(32);
    makeNamespace(NS, VETH, `${OUTER4}.1`, `${OUTER4}.2`, `${OUTER6}:1`, `${OUTER6}:2`);
    const child = await startPeerDaemon(c.bin, NS, IF);
    const tun = new MemoryTun({ name: 'interop' });
    const dev = new Device({ tun, bind: new StdBind() });
    try {
      await dev.ipcSet(`private_key=${keyToHex(myKey)}\nlisten_port=0\n`);
      const port = await dev.up();
      const myOuter = c.outer === 4 ? `${OUTER4}.1` : `[${OUTER6}:1]`;
      const peerOuter = c.outer === 4 ? `${OUTER4}.2` : `[${OUTER6}:2]`;

      writeFileSync(join(dir, 'key'), keyToBase64(wgKey) + '\n', { mode: 0o600 });
      writeFileSync(join(dir, 'psk'), keyToBase64(psk) + '\n', { mode: 0o600 });
      const wgArgs = ['set', IF, 'private-key', join(dir, 'key'), 'listen-port', '51820', 'peer', keyToBase64(publicKey(myKey)), 'allowed-ips', '10.77.0.1/32,fd77::1/128'];
      if (c.psk) wgArgs.push('preshared-key', join(dir, 'psk'));
      if (c.initiator === 'peer') wgArgs.push('endpoint', `${myOuter}:${port}`);
      nsExec(NS, 'wg', wgArgs);
      nsExec(NS, 'ip', ['addr', 'add', '10.77.0.2/24', 'dev', IF]);
      nsExec(NS, 'ip', ['-6', 'addr', 'add', 'fd77::2/64', 'dev', IF, 'nodad']);
      nsExec(NS, 'ip', ['link', 'set', IF, 'up']);

      await dev.ipcSet(
        `public_key=${keyToHex(publicKey(wgKey))}\n` +
          (c.psk ? `preshared_key=${keyToHex(psk)}\n` : '') +
          (c.initiator === 'wgts' ? `endpoint=${peerOuter}:51820\n` : '') +
          'allowed_ip=10.77.0.2/32\nallowed_ip=fd77::2/128\n',
      );

      const got: Uint8Array[] = [];
      tun.onPacket = (p) => {
        const copy = new Uint8Array(p);
        const reply = echoReplyFor(copy);
        if (reply !== null) tun.writePacket(reply); // answer the kernel's pings
        else got.push(copy);
      };

      if (c.initiator === 'peer') {
        // The kernel pings us through the peer, which initiates; wgts answers as a host would.
        await nsExecAsync(NS, 'ping', ['-c', '2', '-W', '5', '10.77.0.1']);
        await nsExecAsync(NS, 'ping', ['-6', '-c', '2', '-W', '5', 'fd77::1']);
      }
      const payload = randomBytes(56);
      tun.writePacket(icmp4Echo(V4_WGTS, V4_PEER, 8, 0x4242, 1, payload));
      assert.ok(await waitFor(() => got.some((p) => parseEcho(p)?.type === 0 && parseEcho(p)?.seq === 1), 8000), 'no IPv4 echo reply from the kernel behind the peer');
      tun.writePacket(icmp6Echo(V6_WGTS, V6_PEER, 128, 0x4243, 2, payload));
      assert.ok(await waitFor(() => got.some((p) => parseEcho(p)?.type === 129 && parseEcho(p)?.seq === 2), 8000), 'no IPv6 echo reply');
      // The peer's own counters agree (boringtun reports no handshake time as a responder, so look at bytes).
      const transfer = nsExec(NS, 'wg', ['show', IF, 'transfer']);
      assert.match(transfer, /\t[1-9][0-9]*\t[1-9][0-9]*\n/, `the peer reports no traffic: ${transfer}`);
    } finally {
      assert.equal(await dev.close(), 0, 'buffers leaked');
      await stopChild(child);
      removeNamespace(NS, VETH);
      rmSync(dir, { recursive: true, force: true });
    }
  });
}
