// `wgts proxy` end to end in-process over the loopback stand-in for a tunnel: arguments, -n, refusals
// with file, line and key and nothing started, and a STDIOTunnel run with the info server answering
// while it lasts and the command returning when the connection ends.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import http from 'node:http';
import os from 'node:os';
import path from 'node:path';
import { PassThrough } from 'node:stream';
import { echoServer, FakeTunnel, freePort, readAll } from '../proxy/_fake-tunnel.js';
import { parseProxyArgs } from './proxy-args.js';
import { proxyMain, type ProxyIo } from './proxy.js';

const K1 = 'uCTIK+56CPyCvwJxmU5dBfuyJvPuSXAq1FzHdnIxe1Q=';
const K2 = 'QP+A67Z2UBrMgvNIdHv8gPel5URWNLS4B3ZQ2hQIZlg=';

function io(): ProxyIo & { out: () => string; err: () => string; stdinStream: PassThrough } {
  const stdin = new PassThrough();
  const stdout = new PassThrough();
  const stderr = new PassThrough();
  let out = '';
  let err = '';
  stdout.on('data', (d) => (out += d));
  stderr.on('data', (d) => (err += d));
  return { stdin, stdout, stderr, out: () => out, err: () => err, stdinStream: stdin };
}

function writeConfig(body: string): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'wgts-proxy-cli-'));
  const file = path.join(dir, 'proxy.conf');
  fs.writeFileSync(file, `[Interface]\nPrivateKey = ${K1}\nAddress = 10.0.0.2/32\n\n[Peer]\nPublicKey = ${K2}\nEndpoint = 127.0.0.1:51820\n\n${body}`);
  return file;
}

const neverOpen = async (): Promise<never> => assert.fail('the tunnel must not be opened');

test('arguments as wireproxy takes them', () => {
  assert.deepEqual(parseProxyArgs(['-c', 'a.conf', '-s', '-i', '127.0.0.1:9080', '-n']), { kind: 'run', config: 'a.conf', silent: true, daemon: false, info: '127.0.0.1:9080', configTest: true });
  assert.deepEqual(parseProxyArgs(['--config=b.conf', '--daemon']), { kind: 'run', config: 'b.conf', silent: false, daemon: true, info: null, configTest: false });
  assert.deepEqual(parseProxyArgs(['-v']), { kind: 'version' });
  assert.deepEqual(parseProxyArgs(['--help', '-c', 'x']), { kind: 'help' });
  assert.deepEqual(parseProxyArgs(['-c']), { kind: 'usage', error: '-c needs a value' });
  assert.deepEqual(parseProxyArgs(['-x']), { kind: 'usage', error: 'unknown option "-x"' });
  assert.deepEqual(parseProxyArgs(['file.conf']), { kind: 'usage', error: 'unexpected argument "file.conf"' });
});

test('-n checks the configuration: "Config OK", or the error with file, line and key and exit 1', async () => {
  const good = writeConfig('[Socks5]\nBindAddress = 127.0.0.1:1080\n');
  const a = io();
  assert.equal(await proxyMain(['-n', '-c', good], {}, a, neverOpen), 0);
  assert.equal(a.out(), 'Config OK\n');
  const bad = writeConfig('[Socks5]\nBindAddress = 127.0.0.1:1080\nColour = blue\n');
  const b = io();
  assert.equal(await proxyMain(['-c', bad], {}, b, neverOpen), 1);
  assert.equal(b.err(), `wgts proxy: ${bad}:11: Colour: unknown key in [Socks5]; expected one of BindAddress, Username, Password\n`);
  const c = io();
  assert.equal(await proxyMain(['-c', '/nonexistent/proxy.conf'], {}, c, neverOpen), 1);
  assert.match(c.err(), /\/nonexistent\/proxy.conf: cannot read the configuration: no such file/);
  const d = io();
  assert.equal(await proxyMain(['-c', good, '-i', 'nope'], {}, d, neverOpen), 1);
  assert.match(d.err(), /-i nope: expected 'host:port'/);
});

test('a STDIOTunnel run: stdin and stdout relayed, /metrics and /readyz served meanwhile, exit 0 at the end', async () => {
  const echo = await echoServer();
  const file = writeConfig(`[STDIOTunnel]\nTarget = 127.0.0.1:${echo.port}\n`);
  const t = io();
  const tunnel = new FakeTunnel();
  const infoPort = await freePort();

  const done = proxyMain(['-c', file, '-i', `127.0.0.1:${infoPort}`], {}, t, async () => tunnel);
  const output = readAll(t.stdout as PassThrough);
  // Wait for the info server, then read both endpoints.
  let metrics = '';
  for (let i = 0; i < 200 && metrics === ''; i++) {
    metrics = await fetchText(infoPort, '/metrics').catch(() => '');
    if (metrics === '') await new Promise((r) => setTimeout(r, 10));
  }
  assert.match(metrics, /process_resident_memory_bytes \d+/);
  assert.equal((await fetchStatus(infoPort, '/readyz')), 503, 'no handshake yet: not ready');
  t.stdinStream.end('ssh banner\n');
  assert.equal(await done, 0);
  assert.equal((await output).toString(), 'ssh banner\n');
  assert.match(t.err(), /info server on 127.0.0.1:\d+/);
  echo.server.close();
});

function fetchText(port: number, p: string): Promise<string> {
  return new Promise((resolve, reject) => {
    http.get({ host: '127.0.0.1', port, path: p }, (res) => {
      let b = '';
      res.on('data', (c) => (b += c));
      res.on('end', () => resolve(b));
    }).on('error', reject);
  });
}

function fetchStatus(port: number, p: string): Promise<number> {
  return new Promise((resolve, reject) => {
    http.get({ host: '127.0.0.1', port, path: p }, (res) => {
      res.resume();
      resolve(res.statusCode!);
    }).on('error', reject);
  });
}
