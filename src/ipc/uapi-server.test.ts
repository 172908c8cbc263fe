/**
 * The UAPI socket server over a real unix socket in a temporary directory, with a device on the memory
 * TUN and bind (no root needed): file modes, stale and live sockets, pipelined and chunked requests,
 * invalid operations, removal from outside, and cleanup on close.
 */
import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { MemoryNetwork } from '../conn/memory.js';
import { Device } from '../device/device.js';
import { manyAllowedIPLines } from '../device/_testing.js';
import { MemoryTun } from '../tun/memory.js';
import { InterfaceInUseError, socketPath } from './socket-file.js';
import { UapiServer } from './uapi-server.js';

const PRIV = '18'.repeat(32);
const PEER = 'a1'.repeat(32);

const temps: string[] = [];
after(() => {
  for (const t of temps) fs.rmSync(t, { recursive: true, force: true });
});

function tempDir(): string {
  // A directory that does not exist yet, so the server creates it (and we can check its mode).
  const t = fs.mkdtempSync(path.join(os.tmpdir(), 'wgts-uapi-'));
  temps.push(t);
  return path.join(t, 'run');
}

function makeDevice(): Device {
  return new Device({ tun: new MemoryTun({ name: 'wgtest' }), bind: new MemoryNetwork().createBind('192.0.2.1') });
}

/** Connect, send `chunks` (each written separately), collect everything until the server closes or `replies` errno lines arrived. */
function exchange(file: string, chunks: string[], replies: number): Promise<{ text: string; closedByServer: boolean }> {
  return new Promise((resolve, reject) => {
    const c = net.connect(file);
    let text = '';
    let done = false;
    const finish = (closedByServer: boolean): void => {
      if (done) return;
      done = true;
      c.destroy();
      resolve({ text, closedByServer });
    };
    c.on('connect', async () => {
      for (const ch of chunks) {
        c.write(ch);
        await new Promise((r) => setTimeout(r, 2));
      }
    });
    c.on('data', (d) => {
      text += d.toString();
      if ((text.match(/errno=-?\d+\n\n/g) ?? []).length >= replies && replies > 0) finish(false);
    });
    c.on('close', () => finish(true));
    c.on('error', (e) => (done ? undefined : reject(e)));
  });
}

test('creates the directory 0700 and the socket 0600, and removes the socket on close', async () => {
  const dir = tempDir();
  const dev = makeDevice();
  const srv = await UapiServer.listen(dev, 'wgtest', { directory: dir });
  const file = socketPath('wgtest', dir);
  assert.equal(srv.path, file);
  assert.equal(fs.statSync(dir).mode & 0o777, 0o700);
  const st = fs.lstatSync(file);
  assert.ok(st.isSocket());
  assert.equal(st.mode & 0o777, 0o600);
  await srv.close();
  assert.equal(fs.existsSync(file), false);
  await dev.close();
});

test('get, set, get on one connection, bytes split across writes', async () => {
  const dir = tempDir();
  const dev = makeDevice();
  const srv = await UapiServer.listen(dev, 'wgtest', { directory: dir });
  const stream = `get=1\n\nset=1\nprivate_key=${PRIV}\nlisten_port=51999\npublic_key=${PEER}\nallowed_ip=10.9.0.0/16\n\nget=1\n\n`;
  const chunks = [stream.slice(0, 3), stream.slice(3, 20), stream.slice(20, 90), stream.slice(90)];
  const { text } = await exchange(socketPath('wgtest', dir), chunks, 3);
  const parts = text.split(/(?<=errno=-?\d+\n\n)/);
  assert.equal(parts.length, 3);
  assert.equal(parts[0], 'errno=0\n\n');
  assert.equal(parts[1], 'errno=0\n\n');
  assert.match(parts[2]!, new RegExp(`^private_key=${PRIV}\nlisten_port=51999\npublic_key=${PEER}\n`));
  assert.match(parts[2]!, /allowed_ip=10\.9\.0\.0\/16\nerrno=0\n\n$/);
  await srv.close();
  await dev.close();
});

test('a refused set answers its errno and changes nothing; the connection stays usable', async () => {
  const dir = tempDir();
  const dev = makeDevice();
  const srv = await UapiServer.listen(dev, 'wgtest', { directory: dir });
  const { text } = await exchange(socketPath('wgtest', dir), ['set=1\nlisten_port=70000\n\n', 'get=1\n\n'], 2);
  assert.equal(text, 'errno=-22\n\nerrno=0\n\n');
  await srv.close();
  await dev.close();
});

test('an invalid operation closes the connection without a reply', async () => {
  const dir = tempDir();
  const dev = makeDevice();
  const srv = await UapiServer.listen(dev, 'wgtest', { directory: dir });
  const r = await exchange(socketPath('wgtest', dir), ['get=1\n\n', 'bogus=1\n\n'], 0);
  assert.deepEqual(r, { text: 'errno=0\n\n', closedByServer: true });
  await srv.close();
  await dev.close();
});

test('a set past the request bounds is read to its end and answered ENOMEM; nothing changes', async () => {
  const dir = tempDir();
  const dev = makeDevice();
  const srv = await UapiServer.listen(dev, 'wgtest', { directory: dir, setLimits: { maxPeers: 2, maxAllowedIPs: 100 } });
  const file = socketPath('wgtest', dir);
  const ips = Array.from({ length: 101 }, (_, i) => `allowed_ip=10.0.${i}.0/24\n`).join('');
  const r = await exchange(file, [`set=1\nlisten_port=51002\npublic_key=${PEER}\n${ips}\n`, 'get=1\n\n'], 2);
  assert.equal(r.text, 'errno=-12\n\nerrno=0\n\n');
  const peers = [1, 2, 3].map((i) => `public_key=${String(i).repeat(64)}\n`).join('');
  assert.equal((await exchange(file, [`set=1\n${peers}\n`], 1)).text, 'errno=-12\n\n');
  assert.equal(dev.listenPort, 0);
  assert.equal(dev.peers.size, 0);
  await srv.close();
  await dev.close();
});

test('a 3 MB set is taken whole: 130,560 allowed IPs for one peer', async () => {
  const dir = tempDir();
  const dev = makeDevice();
  const srv = await UapiServer.listen(dev, 'wgtest', { directory: dir });
  const text = `set=1\nprivate_key=${PRIV}\npublic_key=${PEER}\n${manyAllowedIPLines().join('\n')}\n\n`;
  assert.ok(text.length > 3_000_000);
  const r = await exchange(socketPath('wgtest', dir), [text], 1);
  assert.equal(r.text, 'errno=0\n\n');
  assert.equal(dev.allowedIPs.size, 130_560);
  await srv.close();
  await dev.close();
});

test('a bad line in the middle of a 200,000-line set: the rest is read, the errno answered, nothing applied', async () => {
  const dir = tempDir();
  const dev = makeDevice();
  const srv = await UapiServer.listen(dev, 'wgtest', { directory: dir });
  const file = socketPath('wgtest', dir);
  const lines: string[] = [];
  for (let i = 0; i < 200_000; i++) lines.push(`allowed_ip=10.${(i >> 8) & 255}.${i & 255}.0/24\n`);
  for (const [bad, errno] of [['allowed_ip=10.0.0.300/32\n', 22], [`allowed_ip=${'1'.repeat(70_000)}\n`, 5], ['no equals sign\n', 71]] as const) {
    const body = lines.slice(0, 100_000).join('') + bad + lines.slice(100_000).join('');
    const r = await exchange(file, [`set=1\nlisten_port=51003\npublic_key=${PEER}\n${body}\n`, 'get=1\n\n'], 2);
    assert.equal(r.text, `errno=-${errno}\n\nerrno=0\n\n`);
    assert.equal(r.closedByServer, false);
  }
  assert.equal(dev.listenPort, 0);
  assert.equal(dev.peers.size, 0);
  assert.equal(dev.allowedIPs.size, 0);
  await srv.close();
  await dev.close();
});

test('a set ended by the client half-closing is applied and answered', async () => {
  const dir = tempDir();
  const dev = makeDevice();
  const srv = await UapiServer.listen(dev, 'wgtest', { directory: dir });
  const text = await new Promise<string>((resolve) => {
    const c = net.connect(socketPath('wgtest', dir), () => c.end('set=1\nlisten_port=51000\n'));
    let t = '';
    c.on('data', (d) => (t += d.toString()));
    c.on('close', () => resolve(t));
  });
  assert.equal(text, 'errno=0\n\n');
  assert.equal(dev.listenPort, 51000);
  await srv.close();
  await dev.close();
});

test('requests from many connections run one at a time and all get answers', async () => {
  const dir = tempDir();
  const dev = makeDevice();
  const srv = await UapiServer.listen(dev, 'wgtest', { directory: dir });
  const file = socketPath('wgtest', dir);
  const runs = [];
  for (let i = 0; i < 20; i++) {
    const req = i % 2 === 0 ? `set=1\nlisten_port=${52000 + i}\n\n` : 'get=1\n\n';
    runs.push(exchange(file, [req], 1));
  }
  const out = await Promise.all(runs);
  for (const r of out) assert.match(r.text, /errno=0\n\n$/);
  await srv.close();
  await dev.close();
});

test('a stale socket is replaced; a live one is refused as in use', async () => {
  const dir = tempDir();
  fs.mkdirSync(dir, { recursive: true });
  const file = socketPath('wgtest', dir);
  fs.writeFileSync(file, ''); // nothing answers on it: stale
  const dev = makeDevice();
  const srv = await UapiServer.listen(dev, 'wgtest', { directory: dir });
  assert.ok(fs.lstatSync(file).isSocket());
  const dev2 = makeDevice();
  await assert.rejects(UapiServer.listen(dev2, 'wgtest', { directory: dir }), InterfaceInUseError);
  assert.ok(fs.lstatSync(file).isSocket(), 'the live socket must survive the refused start');
  await srv.close();
  await dev.close();
  await dev2.close();
});

test('removing the socket file from outside emits "removed"', async () => {
  const dir = tempDir();
  const dev = makeDevice();
  const srv = await UapiServer.listen(dev, 'wgtest', { directory: dir });
  const removed = new Promise<void>((r) => srv.once('removed', r));
  fs.rmSync(socketPath('wgtest', dir));
  await removed;
  await srv.close();
  await dev.close();
});

test('beforeRequest runs once per request, before it is handled', async () => {
  const dir = tempDir();
  const dev = makeDevice();
  const seen: string[] = [];
  const srv = await UapiServer.listen(dev, 'wgtest', {
    directory: dir,
    beforeRequest: () => seen.push(`before port=${dev.listenPort}`),
  });
  await exchange(socketPath('wgtest', dir), ['set=1\nlisten_port=51001\n\nget=1\n\n'], 2);
  assert.deepEqual(seen, ['before port=0', 'before port=51001']);
  await srv.close();
  await dev.close();
});
