// The rootless benchmark's configurations: what the Tunnel and `wgts proxy` are started with must be
// what the rows say they measure (the peer's key and endpoint, a forward per kernel service at the
// port the client dials, SOCKS5 where the client looks for it). No namespaces are made here.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { keyToBase64 } from '../crypto/keys.js';
import { parseConfig } from '../config/wg-quick.js';
import { loadProxyConfig } from '../proxy/config.js';
import { ECHO_PORT, INNER_C, INNER_P, Rig, SINK_PORT, SOURCE_PORT } from './rootless-rig.js';

function withRig(f: (rig: Rig) => void): void {
  const dir = mkdtempSync(join(tmpdir(), 'wgts-rig-test-'));
  try {
    const rig = new Rig(dir);
    rig.writeConfigs();
    f(rig);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

test("the Tunnel's wg-quick file reaches the peer by its key and endpoint, and is private", () => {
  withRig((rig) => {
    const c = parseConfig(readFileSync(rig.tunnelConfig, 'utf8'));
    assert.equal(keyToBase64(c.interface.privateKey!), rig.keys.client);
    assert.deepEqual(c.interface.addresses, [`${INNER_C}/32`]);
    assert.equal(c.peers.length, 1);
    assert.equal(keyToBase64(c.peers[0]!.publicKey), rig.keys.peerPublic);
    assert.deepEqual(c.peers[0]!.allowedIPs, [`${INNER_P}/32`]);
    assert.equal(statSync(rig.tunnelConfig).mode & 0o077, 0);
  });
});

test('the proxy file is valid wireproxy format: SOCKS5 where the client dials, one forward per kernel service', () => {
  withRig((rig) => {
    const c = loadProxyConfig(rig.proxyConfig);
    assert.equal(keyToBase64(c.wg.interface.privateKey!), rig.keys.client);
    const socks = c.listeners.filter((l) => l.kind === 'socks5');
    assert.equal(socks.length, 1);
    assert.equal(`${socks[0]!.bind.host}:${socks[0]!.bind.port}`, Rig.socks);
    const forwards = new Map<number, string>();
    for (const l of c.listeners) {
      if (l.kind !== 'tcp-client') continue;
      assert.equal(l.bind.host, '127.0.0.1');
      forwards.set(l.bind.port, `${l.target.host}:${l.target.port}`);
    }
    assert.equal(forwards.size, 3);
    for (const port of [SOURCE_PORT, SINK_PORT, ECHO_PORT]) {
      assert.equal(forwards.get(Rig.forwardPort('proxy', port)), `${INNER_P}:${port}`);
    }
  });
});

test("onetun's local ports do not collide with the proxy's", () => {
  const proxy = [SOURCE_PORT, SINK_PORT, ECHO_PORT].map((p) => Rig.forwardPort('proxy', p));
  const onetun = [SOURCE_PORT, SINK_PORT, ECHO_PORT].map((p) => Rig.forwardPort('onetun', p));
  assert.equal(new Set([...proxy, ...onetun, Number(Rig.socks.split(':')[1])]).size, 7);
});
