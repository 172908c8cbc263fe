// The README's "Rootless proxy" section as written: its configuration (keys filled in) reads into the
// sections it describes, and the refusal it quotes is the message a misspelt key gets.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { generatePrivateKey, publicKey } from '../crypto/x25519.js';
import { keyToBase64 } from '../crypto/keys.js';
import { parseProxyConfig } from './config.js';

const readme = readFileSync(fileURLToPath(new URL('../../README.md', import.meta.url)), 'utf8');
const section = readme.slice(readme.indexOf('## Rootless proxy'), readme.indexOf('## The library'));

function readmeConfig(): string {
  const block = /```ini\n([\s\S]*?)```/.exec(section);
  assert.ok(block, 'the proxy section has no ini block');
  return block[1]!
    .replace("<this client's private key>", keyToBase64(generatePrivateKey()))
    .replace("<the server's public key>", keyToBase64(publicKey(generatePrivateKey())));
}

test("the README's proxy configuration reads as it says", () => {
  const c = parseProxyConfig(readmeConfig(), 'proxy.conf', { env: {} });
  assert.deepEqual(c.listeners.map((l) => l.kind), ['socks5', 'http', 'tcp-client', 'tcp-server', 'udp-client']);
  assert.deepEqual(c.wg.peers[0]!.allowedIPs, ['0.0.0.0/0', '::/0']);
  assert.equal(c.wg.peers[0]!.endpoint, 'vpn.example.com:51820');
  assert.deepEqual(c.wg.interface.dns, ['10.0.0.1']);
});

test("the refusal the README quotes is what a misspelt key gets", () => {
  const quoted = /\$ wgts proxy -c proxy.conf\n(wgts proxy: proxy.conf:(\d+): .*)\n/.exec(section);
  assert.ok(quoted, 'the proxy section quotes no refusal');
  const lines = readmeConfig().split('\n');
  const at = Number(quoted[2]) - 1;
  assert.equal(lines[at], 'BindAddress = 127.0.0.1:1080', `line ${at + 1} of the README's configuration`);
  lines[at] = 'BindAdress = 127.0.0.1:1080';
  assert.throws(() => parseProxyConfig(lines.join('\n'), 'proxy.conf', { env: {} }), (e: unknown) => `wgts proxy: ${(e as Error).message}` === quoted[1]);
});
