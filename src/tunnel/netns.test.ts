/**
 * A Tunnel against the kernel's own TCP/IP stack (root; runs in CI). Topology:
 *
 *   root namespace (this process)                   namespace wgts-tun-<pid>
 *   Tunnel: NetStack 10.78.0.1, fd78::1              wireguard-go on TUN wgt0: 10.78.0.2/24, fd78::2/64
 *   default bind on a random port                    listen-port 51820; the kernel behind it runs
 *   vtun<pid> <198.19.0.1, fd19::1>  <---- veth ---->  veth0 <198.19.0.2, fd19::2>   ping, socat, DNS
 *
 * The peer is upstream wireguard-go when installed (~/go/bin/wireguard), Debian's otherwise. Checked:
 * the kernel pings the Tunnel's addresses; UDP echo both ways and both families, with datagrams that
 * need fragments; a port unreachable from the kernel surfaces as ECONNREFUSED; lookup() asks a DNS
 * server in the namespace through the tunnel.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import { keyToBase64 } from '../crypto/keys.js';
import { generatePrivateKey, publicKey } from '../crypto/x25519.js';
import { IN_CI, makeNamespace, netnsUnavailable, nsExec, nsExecAsync, peerBinaries, removeNamespace, sh, startPeerDaemon, stopChild, which } from '../device/_netns.js';
import { Tunnel } from './tunnel.js';

const NS = `wgts-tun-${process.pid}`;
const VETH = `vtun${process.pid}`.slice(0, 15);
const IF = 'wgt0';
const HERE = dirname(fileURLToPath(import.meta.url));
const ZONE = {
  'db.test': { A: ['10.78.0.40'], AAAA: ['fd78::40'] },
  'alias.test': { CNAME: 'db.test' },
  'peer.test': { A: ['10.78.0.2'], AAAA: ['fd78::2'] },
};

const why = netnsUnavailable(['wg', 'ping', 'socat']);
const upstream = peerBinaries().find((b) => b.label === 'wireguard-go (upstream)') ?? peerBinaries().find((b) => b.label.startsWith('wireguard-go'));
const skip = IN_CI ? false : why ?? (upstream === undefined ? 'needs wireguard-go' : false);
if (skip) console.log(`# Tunnel against the kernel skipped: ${skip}`);

test('Tunnel-against-the-kernel prerequisites are present in CI', { skip: !IN_CI }, () => {
  assert.equal(why, null, String(why));
  assert.ok(upstream !== undefined, 'no wireguard-go binary installed');
  assert.ok(which('socat') !== null, 'socat is missing (apt-get install --no-install-recommends socat)');
});

/** Start a process in the namespace and wait until it prints `ready` (or give its output on failure). */
async function startInNs(args: string[], ready: RegExp | null): Promise<ChildProcess> {
  const child = spawn('ip', ['netns', 'exec', NS, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
  if (ready === null) return child;
  let out = '';
  const ok = await new Promise<boolean>((resolve) => {
    const t = setTimeout(() => resolve(false), 10_000);
    const onData = (d: Buffer): void => {
      out += d.toString();
      if (ready.test(out)) {
        clearTimeout(t);
        resolve(true);
      }
    };
    child.stdout!.on('data', onData);
    child.stderr!.on('data', onData);
    child.once('exit', () => resolve(false));
  });
  if (!ok) {
    child.kill('SIGKILL');
    throw new Error(`${args.join(' ')} did not start: ${out}`);
  }
  return child;
}

/** socat forks a child per datagram; end whatever of ours still runs in the namespace. */
function killNamespaceProcesses(): void {
  let pids: string[] = [];
  try {
    pids = sh('ip', ['netns', 'pids', NS]).split('\n').filter((p) => /^\d+$/.test(p));
  } catch {
    return;
  }
  for (const pid of pids) {
    try {
      process.kill(Number(pid), 'SIGKILL');
    } catch {
      /* gone already */
    }
  }
}

/** `p`, or a failure naming `what` after `ms`: a lost packet must fail the test, not hang it. */
async function within<T>(p: Promise<T>, what: string, ms = 10_000): Promise<T> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const late = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`timed out: ${what}`)), ms);
  });
  try {
    return await Promise.race([p, late]);
  } finally {
    clearTimeout(timer);
  }
}

async function waitFor(cond: () => boolean, ms: number): Promise<boolean> {
  const end = Date.now() + ms;
  while (Date.now() < end && !cond()) await new Promise((r) => setTimeout(r, 20));
  return cond();
}

test('Tunnel against the kernel behind wireguard-go: ping, UDP echo both ways, ECONNREFUSED, DNS', { skip }, async () => {
  if (upstream === undefined) assert.fail('no wireguard-go binary installed');
  const dir = mkdtempSync(join(tmpdir(), 'wgts-tunnel-'));
  const children: ChildProcess[] = [];
  let tunnel: Tunnel | null = null;
  try {
    makeNamespace(NS, VETH, '198.19.0.1', '198.19.0.2', 'fd19::1', 'fd19::2');
    const wgKey = generatePrivateKey();
    const myKey = generatePrivateKey();
    children.push(await startPeerDaemon(upstream, NS, IF));
    writeFileSync(join(dir, 'key'), keyToBase64(wgKey) + '\n', { mode: 0o600 });
    nsExec(NS, 'wg', ['set', IF, 'private-key', join(dir, 'key'), 'listen-port', '51820', 'peer', keyToBase64(publicKey(myKey)), 'allowed-ips', '10.78.0.1/32,fd78::1/128']);
    nsExec(NS, 'ip', ['addr', 'add', '10.78.0.2/24', 'dev', IF]);
    nsExec(NS, 'ip', ['-6', 'addr', 'add', 'fd78::2/64', 'dev', IF, 'nodad']);
    nsExec(NS, 'ip', ['link', 'set', IF, 'up']);
    children.push(await startInNs([process.execPath, join(HERE, '_dns-serve.js'), JSON.stringify(ZONE), '53', '10.78.0.2', 'fd78::2'], /ready/));
    // One dual-stack socket answers both families (a second, IPv4 one would race it for the port).
    children.push(await startInNs(['socat', 'UDP6-RECVFROM:7777,fork,ipv6only=0', 'EXEC:cat'], null));
    assert.ok(await waitFor(() => nsExec(NS, 'ss', ['-Huln', 'sport = :7777']).includes('7777'), 5000), 'socat did not listen');

    tunnel = await Tunnel.open(`
[Interface]
PrivateKey = ${keyToBase64(myKey)}
Address = 10.78.0.1/24, fd78::1/64
DNS = 10.78.0.2, test

[Peer]
PublicKey = ${keyToBase64(publicKey(wgKey))}
Endpoint = 198.19.0.2:51820
AllowedIPs = 10.78.0.0/24, fd78::/64
PersistentKeepalive = 25
`);
    const t = tunnel;
    assert.ok(await waitFor(() => t.stats().peers[0]!.lastHandshake > 0, 10_000), 'no handshake with wireguard-go');

    // The kernel pings us: echo replies from the netstack, both families, one of them fragmented.
    await within(nsExecAsync(NS, 'ping', ['-c', '2', '-W', '5', '10.78.0.1']), 'ping 10.78.0.1');
    await within(nsExecAsync(NS, 'ping', ['-6', '-c', '2', '-W', '5', 'fd78::1']), 'ping fd78::1');
    await within(nsExecAsync(NS, 'ping', ['-c', '1', '-W', '5', '-s', '4000', '10.78.0.1']), 'ping -s 4000');

    // UDP echo through the kernel's socat, small and fragmented, both families.
    for (const [type, addr] of [['udp4', '10.78.0.2'], ['udp6', 'fd78::2']] as const) {
      const s = t.createSocket(type);
      for (const size of [32, 1300, 5000]) {
        const data = randomBytes(size);
        const got = once(s, 'message') as Promise<[Buffer]>;
        s.send(data, 7777, addr);
        assert.deepEqual((await within(got, `${type} echo of ${size} bytes`))[0], data);
      }
      s.close();
    }

    // The kernel as client of a UDP server on the Tunnel.
    for (const [type, addr] of [['udp4', '10.78.0.1'], ['udp6', '[fd78::1]']] as const) {
      const server = t.createSocket(type, (m, r) => server.send(Buffer.concat([Buffer.from('echo:'), m]), r.port, r.address));
      server.bind(9999);
      await within(once(server, 'listening'), 'listening');
      const out = await within(nsExecAsync(NS, 'sh', ['-c', `printf 'from the kernel' | socat -T2 - ${type.toUpperCase()}:${addr}:9999`]), `socat client ${type}`);
      assert.equal(out, 'echo:from the kernel');
      server.close();
    }

    // Nobody listens on 7778 in the namespace: the kernel's port unreachable -> ECONNREFUSED.
    const refused = t.createSocket('udp4');
    refused.connect(7778, '10.78.0.2');
    await within(once(refused, 'connect'), 'connect');
    refused.send('anyone?');
    const [err] = (await within(once(refused, 'error'), 'ECONNREFUSED')) as [NodeJS.ErrnoException];
    assert.equal(err.code, 'ECONNREFUSED');
    refused.close();

    // DNS through the tunnel to the namespace's server.
    assert.deepEqual(await within(t.lookup('db.test'), 'lookup db.test'), ['10.78.0.40', 'fd78::40']);
    assert.deepEqual(await within(t.lookup('alias'), 'lookup alias'), ['10.78.0.40', 'fd78::40'], 'search domain and CNAME');
    await assert.rejects(within(t.lookup('missing.test'), 'lookup missing.test'), { code: 'ENOTFOUND' });
    // A host name in send() goes through the same lookup.
    const named = t.createSocket('udp6');
    const got = once(named, 'message') as Promise<[Buffer]>;
    named.send('by name', 7777, 'peer.test');
    assert.equal((await within(got, 'echo by name'))[0].toString(), 'by name');
    named.close();

    const transfer = nsExec(NS, 'wg', ['show', IF, 'transfer']);
    assert.match(transfer, /\t[1-9][0-9]*\t[1-9][0-9]*\n/);
  } finally {
    if (tunnel !== null) {
      await tunnel.close();
      assert.equal(tunnel.stats().pool.outstanding, 0, 'buffers leaked');
    }
    for (const c of children) await stopChild(c);
    killNamespaceProcesses();
    removeNamespace(NS, VETH);
    rmSync(dir, { recursive: true, force: true });
  }
});
