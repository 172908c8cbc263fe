/**
 * A Tunnel against the kernel's own TCP/IP stack (root; runs in CI). Topology:
 *
 *   root namespace (this process)                   namespace wgts-tun-<pid>
 *   Tunnel: NetStack 10.78.0.1, fd78::1              wireguard-go on TUN wgt<pid>: 10.78.0.2/24, fd78::2/64
 *   default bind on a random port                    listen-port 51820; the kernel behind it runs
 *   vtun<pid> <198.19.N.1, fd19:N::1>  <---- veth ---->  veth0 <198.19.N.2, fd19:N::2>   ping, socat, DNS
 *
 * The peer is upstream wireguard-go when installed (~/go/bin/wireguard), Debian's otherwise. Checked:
 * the kernel pings the Tunnel's addresses and the Tunnel pings the kernel's; UDP echo both ways and
 * both families, with datagrams that need fragments; a port unreachable from the kernel surfaces as
 * ECONNREFUSED; lookup() asks a DNS server in the namespace through the tunnel. TCP: fetch of a 256 MiB
 * file from the kernel's HTTP server (python3 -m http.server) with its SHA-256 checked, uploads to a
 * kernel sink that answers with the SHA-256 it computed, the kernel's curl fetching from a server
 * listening on the Tunnel, both families, and a download and an upload again with 1% of the tunnel's
 * datagrams dropped by iptables. Another puts a wgts daemon from this tree in wireguard-go's place and
 * runs a shorter round. The last drives SYN cookies both ways: 1,000 kernel clients at once past the
 * Tunnel listener's SYN queue, and 1,000 Tunnel connections to a kernel listener that answers every SYN
 * with a cookie.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import http from 'node:http';
import { fetch, type Response } from 'undici';
import { once } from 'node:events';
import { mkdtempSync, openSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import { keyToBase64 } from '../crypto/keys.js';
import { generatePrivateKey, publicKey } from '../crypto/x25519.js';
import { IN_CI, makeNamespace, netnsUnavailable, nsExec, nsExecAsync, peerBinaries, removeNamespace, sh, startPeerDaemon, stopChild, which, type PeerBinary } from '../device/_netns.js';
import { Tunnel } from './tunnel.js';

const NS = `wgts-tun-${process.pid}`;
const VETH = `vtun${process.pid}`.slice(0, 15);
// The UAPI socket directory is shared by every namespace: the interface name carries the pid too.
const IF = `wgt${process.pid}`.slice(0, 15);
// The outer addresses sit in the root namespace too: a subnet of the pid's own keeps parallel runs apart.
const SUBNET = 1 + (process.pid % 250);
const OUTER_ROOT = `198.19.${SUBNET}.1`;
const OUTER_NS = `198.19.${SUBNET}.2`;
const HERE = dirname(fileURLToPath(import.meta.url));
const ZONE = {
  'db.test': { A: ['10.78.0.40'], AAAA: ['fd78::40'] },
  'alias.test': { CNAME: 'db.test' },
  'peer.test': { A: ['10.78.0.2'], AAAA: ['fd78::2'] },
};

const why = netnsUnavailable(['wg', 'ping', 'socat', 'curl', 'iptables', 'python3']);
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

interface Bench {
  tunnel: Tunnel;
  dir: string;
  /** Processes started in the namespace (stopped by cleanup). */
  children: ChildProcess[];
  /** Stop everything started in the namespace, remove it, close the tunnel (asserting no leak). */
  cleanup(): Promise<void>;
}

/** A wgts daemon from this tree, as the peer (the daemon face against the library face). */
const wgtsDaemon: PeerBinary = {
  label: 'wgts',
  path: process.execPath,
  args: (i) => [join(HERE, '..', 'cli', 'main.js'), '-f', i],
};

/** The namespace, the peer daemon in it (wireguard-go unless told), the DNS server and the UDP echo, and a Tunnel with a handshake done. */
async function setUp(peer: PeerBinary | undefined = upstream): Promise<Bench> {
  if (peer === undefined) assert.fail('no wireguard-go binary installed');
  const dir = mkdtempSync(join(tmpdir(), 'wgts-tunnel-'));
  const children: ChildProcess[] = [];
  let tunnel: Tunnel | null = null;
  const cleanup = async (): Promise<void> => {
    try {
      if (tunnel !== null) {
        await tunnel.close();
        assert.equal(tunnel.stats().pool.outstanding, 0, 'buffers leaked');
      }
    } finally {
      for (const c of children) await stopChild(c);
      killNamespaceProcesses();
      removeNamespace(NS, VETH);
      rmSync(dir, { recursive: true, force: true });
    }
  };
  try {
    makeNamespace(NS, VETH, OUTER_ROOT, OUTER_NS, `fd19:${SUBNET}::1`, `fd19:${SUBNET}::2`);
    const wgKey = generatePrivateKey();
    const myKey = generatePrivateKey();
    children.push(await startPeerDaemon(peer, NS, IF));
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
Endpoint = ${OUTER_NS}:51820
AllowedIPs = 10.78.0.0/24, fd78::/64
PersistentKeepalive = 25
`);
    const t = tunnel;
    assert.ok(await waitFor(() => t.stats().peers[0]!.lastHandshake > 0, 10_000), 'no handshake with wireguard-go');
    return { tunnel: t, dir, children, cleanup };
  } catch (err) {
    await cleanup();
    throw err;
  }
}

/** Wait for a TCP port to listen in the namespace. */
async function listening(port: number): Promise<void> {
  assert.ok(await waitFor(() => nsExec(NS, 'ss', ['-Htln', `sport = :${port}`]).includes(String(port)), 10_000), `nothing listens on ${port}`);
}

/** SHA-256 of a fetch response body, streamed (never the whole body in memory). */
async function bodyDigest(res: Response): Promise<string> {
  const h = createHash('sha256');
  for await (const chunk of res.body as unknown as AsyncIterable<Uint8Array>) h.update(chunk);
  return h.digest('hex');
}

test('Tunnel against the kernel behind wireguard-go: ping, UDP echo both ways, ECONNREFUSED, DNS', { skip }, async () => {
  const bench = await setUp();
  try {
    const t = bench.tunnel;
    // The kernel pings us: echo replies from the netstack, both families, one of them fragmented.
    await within(nsExecAsync(NS, 'ping', ['-c', '2', '-W', '5', '10.78.0.1']), 'ping 10.78.0.1');
    await within(nsExecAsync(NS, 'ping', ['-6', '-c', '2', '-W', '5', 'fd78::1']), 'ping fd78::1');
    await within(nsExecAsync(NS, 'ping', ['-c', '1', '-W', '5', '-s', '4000', '10.78.0.1']), 'ping -s 4000');
    // And we ping the kernel (tunnel.ping: echo requests from the netstack), both families.
    for (const host of ['10.78.0.2', 'fd78::2']) assert.ok((await within(t.ping(host), `tunnel.ping ${host}`)) >= 0, host);

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
    await bench.cleanup();
  }
});

test('TCP against the kernel: fetch 256 MiB (SHA-256), upload, curl to a server on the Tunnel, both families; again with 1% loss', { skip }, async () => {
  const bench = await setUp();
  try {
    const t = bench.tunnel;
    const big = join(bench.dir, 'big.bin');
    const small = join(bench.dir, 'small.bin');
    execFileSync('head', ['-c', String(256 << 20), '/dev/urandom'], { stdio: ['ignore', openSync(big, 'w'), 'ignore'] });
    execFileSync('head', ['-c', String(16 << 20), '/dev/urandom'], { stdio: ['ignore', openSync(small, 'w'), 'ignore'] });
    const digest = (file: string): string => execFileSync('sha256sum', [file], { encoding: 'utf8' }).split(' ')[0]!;
    const bigHash = digest(big);
    const smallHash = digest(small);
    // The kernel's HTTP server (dual stack) and a TCP sink that answers with the SHA-256 of what it got.
    await startInNs(['python3', '-m', 'http.server', '8000', '--bind', '::', '--directory', bench.dir], null).then((c) => bench.children.push(c));
    await startInNs(['socat', 'TCP6-LISTEN:9001,ipv6only=0,fork,reuseaddr', 'SYSTEM:sha256sum'], null).then((c) => bench.children.push(c));
    await listening(8000);
    await listening(9001);

    const down = async (url: string, hash: string): Promise<void> => {
      const res = await within(fetch(url, { dispatcher: t.dispatcher }), `GET ${url}`);
      assert.equal(res.status, 200);
      assert.equal(await within(bodyDigest(res), `body of ${url}`, 180_000), hash, url);
    };
    const up = async (host: string, bytes: number): Promise<void> => {
      const data = randomBytes(bytes);
      const s = t.connect(9001, host);
      const reply = new Promise<string>((resolve, reject) => {
        let text = '';
        s.on('data', (d: Buffer) => (text += d.toString()));
        s.once('end', () => resolve(text));
        s.once('error', reject);
      });
      s.end(data);
      assert.equal((await within(reply, `upload to ${host}`, 120_000)).split(' ')[0], createHash('sha256').update(data).digest('hex'));
    };

    await down('http://10.78.0.2:8000/big.bin', bigHash);
    await down('http://[fd78::2]:8000/small.bin', smallHash);
    await up('10.78.0.2', 64 << 20);
    await up('fd78::2', 16 << 20);

    // The kernel's curl reaching a server that listens on the Tunnel, both families.
    const body = readFileSync(small);
    const web = http.createServer((_req, res) => res.end(body));
    const server = t.createServer((s) => web.emit('connection', s));
    server.listen(8080);
    await within(once(server, 'listening'), 'listen 8080');
    for (const url of ['http://10.78.0.1:8080/data', 'http://[fd78::1]:8080/data']) {
      const out = await within(nsExecAsync(NS, 'sh', ['-c', `curl -gsSf --max-time 60 '${url}' | sha256sum`]), `curl ${url}`, 90_000);
      assert.equal(out.split(' ')[0], smallHash, url);
    }

    // 1% of the tunnel's datagrams dropped, both directions: the transfers still complete intact.
    nsExec(NS, 'iptables', ['-A', 'INPUT', '-p', 'udp', '--dport', '51820', '-m', 'statistic', '--mode', 'random', '--probability', '0.01', '-j', 'DROP']);
    nsExec(NS, 'iptables', ['-A', 'OUTPUT', '-p', 'udp', '--sport', '51820', '-m', 'statistic', '--mode', 'random', '--probability', '0.01', '-j', 'DROP']);
    await down('http://10.78.0.2:8000/big.bin', bigHash);
    await up('fd78::2', 32 << 20);
    const dropped = nsExec(NS, 'iptables', ['-L', '-v', '-n', '-x']);
    assert.match(dropped, /^\s*[1-9]\d*\s+\d+\s+DROP/m, `iptables dropped nothing:\n${dropped}`);
    assert.ok(t.stats().tcp.retransmits > 0, 'losses were repaired by retransmission');
    web.close();
  } finally {
    await bench.cleanup();
  }
});

test('Tunnel against the kernel behind a wgts daemon: ping, UDP echo, DNS, fetch and upload (SHA-256), curl to the Tunnel', { skip }, async () => {
  const bench = await setUp(wgtsDaemon);
  try {
    const t = bench.tunnel;
    await within(nsExecAsync(NS, 'ping', ['-c', '2', '-W', '5', '10.78.0.1']), 'ping 10.78.0.1');
    await within(nsExecAsync(NS, 'ping', ['-6', '-c', '2', '-W', '5', 'fd78::1']), 'ping fd78::1');
    const s = t.createSocket('udp6');
    const data = randomBytes(3000);
    const echoed = once(s, 'message') as Promise<[Buffer]>;
    s.send(data, 7777, 'fd78::2');
    assert.deepEqual((await within(echoed, 'udp6 echo'))[0], data);
    s.close();
    assert.deepEqual(await within(t.lookup('db.test'), 'lookup db.test'), ['10.78.0.40', 'fd78::40']);

    const file = join(bench.dir, 'file.bin');
    execFileSync('head', ['-c', String(64 << 20), '/dev/urandom'], { stdio: ['ignore', openSync(file, 'w'), 'ignore'] });
    const hash = execFileSync('sha256sum', [file], { encoding: 'utf8' }).split(' ')[0]!;
    await startInNs(['python3', '-m', 'http.server', '8000', '--bind', '::', '--directory', bench.dir], null).then((c) => bench.children.push(c));
    await startInNs(['socat', 'TCP6-LISTEN:9001,ipv6only=0,fork,reuseaddr', 'SYSTEM:sha256sum'], null).then((c) => bench.children.push(c));
    await listening(8000);
    await listening(9001);
    for (const url of ['http://10.78.0.2:8000/file.bin', 'http://[fd78::2]:8000/file.bin']) {
      const res = await within(fetch(url, { dispatcher: t.dispatcher }), `GET ${url}`);
      assert.equal(await within(bodyDigest(res), `body of ${url}`, 120_000), hash, url);
    }
    const up = randomBytes(16 << 20);
    const sock = t.connect(9001, '10.78.0.2');
    const reply = new Promise<string>((resolve, reject) => {
      let text = '';
      sock.on('data', (d: Buffer) => (text += d.toString()));
      sock.once('end', () => resolve(text));
      sock.once('error', reject);
    });
    sock.end(up);
    assert.equal((await within(reply, 'upload', 120_000)).split(' ')[0], createHash('sha256').update(up).digest('hex'));

    const web = http.createServer((_req, res) => res.end(up.subarray(0, 1 << 20)));
    const server = t.createServer((c) => web.emit('connection', c));
    server.listen(8080);
    await within(once(server, 'listening'), 'listen 8080');
    const out = await within(nsExecAsync(NS, 'sh', ['-c', "curl -gsSf --max-time 60 'http://[fd78::1]:8080/' | sha256sum"]), 'curl', 90_000);
    assert.equal(out.split(' ')[0], createHash('sha256').update(up.subarray(0, 1 << 20)).digest('hex'));
    web.close();
  } finally {
    await bench.cleanup();
  }
});

/**
 * A Node client in the namespace opening `n` connections at once, each writing `bytes` and expecting
 * them echoed; prints {"ok", "bad", "errors"} (error codes counted).
 */
const KERNEL_CLIENTS = `
const net = require('net');
const [host, port, n, bytes] = [process.argv[1], +process.argv[2], +process.argv[3], +process.argv[4]];
let ok = 0, bad = 0;
const errors = {};
const finish = () => { if (ok + bad === n) console.log(JSON.stringify({ ok, bad, errors })); };
for (let i = 0; i < n; i++) {
  const want = Buffer.alloc(bytes, i & 0xff);
  const got = [];
  const s = net.connect({ host, port }, () => s.end(want));
  s.on('data', (d) => got.push(d));
  s.on('end', () => { Buffer.concat(got).equals(want) ? ok++ : bad++; finish(); });
  s.on('error', (e) => { errors[e.code] = (errors[e.code] || 0) + 1; bad++; finish(); });
}`;

/** The namespace's TCP counters named, from nstat. */
function nstat(...names: string[]): Record<string, number> {
  const out: Record<string, number> = {};
  for (const line of nsExec(NS, 'nstat', ['-az', ...names]).split('\n')) {
    const [name, value] = line.trim().split(/\s+/);
    if (name !== undefined && names.includes(name)) out[name] = Number(value);
  }
  return out;
}

test('SYN cookies against the kernel: its clients past our full SYN queue, our clients to its cookie-only listener', { skip }, async () => {
  const bench = await setUp();
  try {
    const t = bench.tunnel;
    // A burst of 2 x 1,000 connections is ~10,000 packets into wireguard-go's TUN at once: a queue
    // longer than the default 500 keeps the kernel from dropping them there. Cookies cannot survive
    // the loss of a connection's first segments (the final ACK alone proves the cookie, RFC 4987
    // §3.6), so losses would reset connections here, as they would with the kernel's own cookies.
    nsExec(NS, 'ip', ['link', 'set', IF, 'txqueuelen', '10000']);

    // The kernel as client: the burst overflows the Tunnel listener's SYN queue (backlog 1, so 128
    // half-open), the rest is answered with cookies, and the kernel's final ACKs (timestamps,
    // SACK-permitted and window scale on) must validate and restore the options.
    const server = t.createServer((s) => {
      s.on('error', () => {});
      s.pipe(s);
    });
    server.listen({ port: 7070, backlog: 1 });
    await within(once(server, 'listening'), 'listen 7070');
    for (const host of ['10.78.0.1', 'fd78::1']) {
      const out = await within(nsExecAsync(NS, 'sh', ['-c', `ulimit -n 8192 && exec ${process.execPath} -e "${KERNEL_CLIENTS}" ${host} 7070 1000 3000`]), `kernel clients to ${host}`, 120_000);
      assert.deepEqual(JSON.parse(out), { ok: 1000, bad: 0, errors: {} }, host);
    }
    const st = t.stats().tcp;
    assert.ok(st.synCookiesSent > 0, 'the burst overflowed the SYN queue');
    assert.equal(st.synCookiesAccepted, st.synCookiesSent, 'every cookie came back valid');
    server.close();

    // The Tunnel as client of a kernel listener that answers every SYN with a cookie
    // (tcp_syncookies=2): each connection's first segment after the SYN-ACK must pass the kernel's
    // cookie check. The backlog is for all 1,000: a full accept queue drops a valid cookie ACK, and
    // the next segment (past ISN + 1) then fails the check and is reset (the kernel's ListenOverflows
    // rise with its SyncookiesFailed) however right the client is.
    nsExec(NS, 'sysctl', ['-qw', 'net.ipv4.tcp_syncookies=2']);
    const echo = "require('net').createServer((s) => { s.on('error', () => {}); s.pipe(s); }).listen({ port: 7, host: '::', backlog: 4096 }, () => console.log('ready'))";
    bench.children.push(await startInNs([process.execPath, '-e', echo], /ready/));
    const before = nstat('TcpExtSyncookiesRecv');
    for (const host of ['10.78.0.2', 'fd78::2']) {
      const echoed = (i: number): Promise<boolean> =>
        new Promise((resolve) => {
          const want = Buffer.alloc(3000, i & 0xff);
          const got: Buffer[] = [];
          const s = t.connect(7, host, () => s.end(want));
          s.on('data', (d: Buffer) => got.push(d));
          s.on('end', () => resolve(Buffer.concat(got).equals(want)));
          s.on('error', () => resolve(false));
        });
      const results = await within(Promise.all(Array.from({ length: 1000 }, (_, i) => echoed(i))), `connections to ${host}`, 120_000);
      assert.equal(results.filter((r) => r).length, 1000, host);
    }
    const after = nstat('TcpExtSyncookiesRecv', 'TcpExtSyncookiesFailed', 'TcpExtListenOverflows');
    assert.ok(after.TcpExtSyncookiesRecv! - before.TcpExtSyncookiesRecv! >= 2000, `the kernel checked our cookies: ${JSON.stringify(after)}`);
    assert.equal(after.TcpExtSyncookiesFailed, 0, JSON.stringify(after));
  } finally {
    await bench.cleanup();
  }
});
