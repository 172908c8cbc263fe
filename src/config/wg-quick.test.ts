// Tests for configuration files: a full wg-quick file read, written and read again; the UAPI body for
// a sample, as exact text; and one case per error, each checked for the line and key it names.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ConfigError, configToUapi, formatConfig, parseConfig, type WgConfig } from './wg-quick.js';

// Fixed keys, base64 and hex of the same bytes (0x01.., 0x02.., 0x03.., 0x04..).
const K1 = 'AQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQE=';
const K2 = 'AgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgI=';
const K3 = 'AwMDAwMDAwMDAwMDAwMDAwMDAwMDAwMDAwMDAwMDAwM=';
const K4 = 'BAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQ=';
const HEX = (b: number): string => b.toString(16).padStart(2, '0').repeat(32);

const SAMPLE = `# a wg-quick file
[Interface]
PrivateKey = ${K1}
ListenPort = 51820
FwMark = 0x10
Address = 10.0.0.1/24, FD00::1/64
Address = 10.9.0.1
DNS = 1.1.1.1, example.com
MTU = 1420
Table = off
PreUp = echo pre
PostUp = iptables -A FORWARD -i %i -j ACCEPT
PostUp = echo second   # comment after a command
PreDown = echo predown
PostDown = echo down
SaveConfig = TRUE

[Peer]
# the first peer
publickey=${K2}
PresharedKey = ${K3}
AllowedIPs = 10.0.0.2/32, 192.168.0.0/16
AllowedIPs = fd00::2/128
Endpoint = 192.0.2.1:51820
PersistentKeepalive = 25

[peer]
PublicKey = ${K4}
Endpoint = [2001:db8::1]:443
AllowedIPs = 0.0.0.0/0, ::/0
`;

test('parse a full wg-quick file', () => {
  const cfg = parseConfig(SAMPLE);
  const i = cfg.interface;
  assert.deepEqual(i.privateKey, new Uint8Array(32).fill(1));
  assert.equal(i.listenPort, 51820);
  assert.equal(i.fwmark, 16);
  assert.deepEqual(i.addresses, ['10.0.0.1/24', 'fd00::1/64', '10.9.0.1/32']);
  assert.deepEqual(i.dns, ['1.1.1.1', 'example.com']);
  assert.equal(i.mtu, 1420);
  assert.equal(i.table, 'off');
  assert.deepEqual(i.preUp, ['echo pre']);
  assert.deepEqual(i.postUp, ['iptables -A FORWARD -i %i -j ACCEPT', 'echo second']);
  assert.deepEqual(i.preDown, ['echo predown']);
  assert.deepEqual(i.postDown, ['echo down']);
  assert.equal(i.saveConfig, true);
  assert.equal(cfg.peers.length, 2);
  const [p1, p2] = cfg.peers as [WgConfig['peers'][0], WgConfig['peers'][0]];
  assert.deepEqual(p1.publicKey, new Uint8Array(32).fill(2));
  assert.deepEqual(p1.presharedKey, new Uint8Array(32).fill(3));
  assert.deepEqual(p1.allowedIPs, ['10.0.0.2/32', '192.168.0.0/16', 'fd00::2/128']);
  assert.equal(p1.endpoint, '192.0.2.1:51820');
  assert.equal(p1.persistentKeepalive, 25);
  assert.deepEqual(p2.publicKey, new Uint8Array(32).fill(4));
  assert.equal(p2.presharedKey, undefined);
  assert.equal(p2.endpoint, '[2001:db8::1]:443');
  assert.equal(p2.persistentKeepalive, undefined);
  assert.deepEqual(p2.allowedIPs, ['0.0.0.0/0', '::/0']);
});

test('format round-trips through parse', () => {
  const cfg = parseConfig(SAMPLE);
  const text = formatConfig(cfg);
  assert.deepEqual(parseConfig(text), cfg);
  assert.equal(formatConfig(parseConfig(text)), text, 'formatting is stable');
  assert.equal(
    text,
    `[Interface]
PrivateKey = ${K1}
ListenPort = 51820
FwMark = 0x10
Address = 10.0.0.1/24, fd00::1/64, 10.9.0.1/32
DNS = 1.1.1.1, example.com
MTU = 1420
Table = off
PreUp = echo pre
PostUp = iptables -A FORWARD -i %i -j ACCEPT
PostUp = echo second
PreDown = echo predown
PostDown = echo down
SaveConfig = true

[Peer]
PublicKey = ${K2}
PresharedKey = ${K3}
AllowedIPs = 10.0.0.2/32, 192.168.0.0/16, fd00::2/128
Endpoint = 192.0.2.1:51820
PersistentKeepalive = 25

[Peer]
PublicKey = ${K4}
AllowedIPs = 0.0.0.0/0, ::/0
Endpoint = [2001:db8::1]:443
`,
  );
});

test('round trips of small and edge configurations', () => {
  const cases = [
    '',
    '[Interface]\n',
    '[Interface]\nFwMark = off\nListenPort = 0\n',
    '[Interface]\nSaveConfig = false\n[Peer]\nPublicKey = ' + K2 + '\nPersistentKeepalive = off\nAllowedIPs =\n',
    '[Peer]\nPublicKey = ' + K2 + '\nEndpoint = vpn.example.com:51820\n',
    '[Peer]\nPublicKey = ' + K2 + '\nEndpoint = [fe80::1%eth0]:51820\n',
    '[Interface]\nFwMark = 4294967295\nPostUp =\n',
  ];
  for (const text of cases) {
    const cfg = parseConfig(text);
    assert.deepEqual(parseConfig(formatConfig(cfg)), cfg, JSON.stringify(text));
  }
  assert.equal(parseConfig('[Interface]\nFwMark = off').interface.fwmark, 0);
  assert.equal(parseConfig('[Interface]\nFwMark = 0xffffffff').interface.fwmark, 0xffffffff);
  assert.equal(parseConfig('[Peer]\nPublicKey=' + K2 + '\nPersistentKeepalive = OFF').peers[0]!.persistentKeepalive, 0);
  assert.deepEqual(parseConfig('[Peer]\nPublicKey=' + K2 + '\nAllowedIPs = 10.1.2.3/8').peers[0]!.allowedIPs, ['10.0.0.0/8']);
  assert.equal(parseConfig('\uFEFF[Interface]\r\nListenPort = 1\r\n').interface.listenPort, 1);
  // Repeated scalar keys take the last value, as in `wg`.
  assert.equal(parseConfig('[Interface]\nListenPort = 1\nListenPort = 2').interface.listenPort, 2);
  // Sections may repeat: [Interface] keys add up.
  assert.deepEqual(parseConfig('[Interface]\nAddress = 10.0.0.1\n[Peer]\nPublicKey=' + K2 + '\n[Interface]\nAddress = 10.0.0.2').interface.addresses, [
    '10.0.0.1/32',
    '10.0.0.2/32',
  ]);
});

test('configToUapi writes the exact set=1 body', () => {
  const cfg = parseConfig(SAMPLE);
  assert.equal(
    configToUapi(cfg),
    `private_key=${HEX(1)}
listen_port=51820
fwmark=16
replace_peers=true
public_key=${HEX(2)}
preshared_key=${HEX(3)}
endpoint=192.0.2.1:51820
persistent_keepalive_interval=25
replace_allowed_ips=true
allowed_ip=10.0.0.2/32
allowed_ip=192.168.0.0/16
allowed_ip=fd00::2/128
public_key=${HEX(4)}
endpoint=[2001:db8::1]:443
replace_allowed_ips=true
allowed_ip=0.0.0.0/0
allowed_ip=::/0
`,
  );
  const bare = parseConfig(`[Peer]\nPublicKey = ${K2}\n`);
  assert.equal(configToUapi(bare, { replacePeers: false }), `public_key=${HEX(2)}\nreplace_allowed_ips=true\n`);
  assert.equal(configToUapi(parseConfig(''), {}), 'replace_peers=true\n');
});

function expectError(text: string, line: number, key: string, fragment?: string): void {
  assert.throws(
    () => parseConfig(text),
    (e: unknown) => {
      assert.ok(e instanceof ConfigError, `not a ConfigError: ${String(e)}`);
      assert.equal(e.line, line, `line for ${JSON.stringify(text)}: ${e.message}`);
      assert.equal(e.key, key, `key for ${JSON.stringify(text)}: ${e.message}`);
      assert.ok(e.message.startsWith(`line ${line}: `), e.message);
      if (fragment !== undefined) assert.ok(e.message.includes(fragment), `'${fragment}' not in: ${e.message}`);
      return true;
    },
  );
}

test('each error names its line and key', () => {
  const P = `[Peer]\nPublicKey = ${K2}\n`;
  expectError('ListenPort = 1\n', 1, 'ListenPort', 'outside a section');
  expectError('[Interface]\nListenPort = 1\nBogus = 2\n', 3, 'Bogus', 'unknown key in [Interface]');
  expectError(P + 'ListenPort = 1\n', 3, 'ListenPort', 'unknown key in [Peer]');
  expectError('[Interface]\nPublicKey = ' + K2 + '\n', 2, 'PublicKey', 'unknown key in [Interface]');
  expectError('[Interfaces]\n', 1, '[Interfaces]', 'unknown section');
  expectError('[Interface]\nListenPort\n', 2, 'ListenPort', "expected 'Key = Value'");
  expectError('[Interface]\n = 5\n', 2, '', 'no key');
  expectError('[Interface]\n\n[Peer]\nEndpoint = 1.2.3.4:5\n', 3, 'PublicKey', 'no PublicKey');
  expectError(P + '[Peer]\nAllowedIPs = 10.0.0.0/8\n[Interface]\n', 3, 'PublicKey', 'no PublicKey');
  expectError('[Interface]\nPrivateKey = notbase64\n', 2, 'PrivateKey', 'base64');
  expectError('[Interface]\nPrivateKey = ' + K1.slice(0, 42) + '!=\n', 2, 'PrivateKey', 'base64');
  expectError('[Peer]\nPublicKey = ' + K2.slice(0, 43) + '\n', 2, 'PublicKey', 'base64');
  expectError(P + 'PresharedKey = AAAA\n', 3, 'PresharedKey', 'base64');
  expectError('[Interface]\nListenPort = 65536\n', 2, 'ListenPort', '0..65535');
  expectError('[Interface]\nListenPort = -1\n', 2, 'ListenPort', '0..65535');
  expectError('[Interface]\nListenPort = http\n', 2, 'ListenPort');
  expectError('[Interface]\nListenPort =\n', 2, 'ListenPort');
  expectError(P + 'PersistentKeepalive = 65536\n', 3, 'PersistentKeepalive', '0..65535');
  expectError(P + 'PersistentKeepalive = 2.5\n', 3, 'PersistentKeepalive');
  expectError('[Interface]\nFwMark = 0x100000000\n', 2, 'FwMark');
  expectError('[Interface]\nFwMark = 4294967296\n', 2, 'FwMark');
  expectError('[Interface]\nFwMark = on\n', 2, 'FwMark');
  expectError('[Interface]\nFwMark = 0x\n', 2, 'FwMark');
  expectError(P + 'Endpoint = 1.2.3.4\n', 3, 'Endpoint', 'no port');
  expectError(P + 'Endpoint = 1.2.3.4:\n', 3, 'Endpoint', 'port');
  expectError(P + 'Endpoint = 1.2.3.4:0\n', 3, 'Endpoint', 'port 1..65535');
  expectError(P + 'Endpoint = 1.2.3.4:65536\n', 3, 'Endpoint', 'port 1..65535');
  expectError(P + 'Endpoint = 1.2.3.256:5\n', 3, 'Endpoint', 'IPv4');
  expectError(P + 'Endpoint = 2001:db8::1:51820\n', 3, 'Endpoint', 'brackets');
  expectError(P + 'Endpoint = [2001:db8::1:51820\n', 3, 'Endpoint', "']'");
  expectError(P + 'Endpoint = [2001:db8::1]51820\n', 3, 'Endpoint', ':port');
  expectError(P + 'Endpoint = [1.2.3.4]:5\n', 3, 'Endpoint', 'IPv6');
  expectError(P + 'Endpoint = bad_host!:5\n', 3, 'Endpoint', 'host name');
  expectError(P + 'Endpoint = :5\n', 3, 'Endpoint');
  expectError(P + 'AllowedIPs = 10.0.0.0/33\n', 3, 'AllowedIPs', '10.0.0.0/33');
  expectError(P + 'AllowedIPs = 10.0.0.0/8,,fd00::/8\n', 3, 'AllowedIPs', 'empty item');
  expectError(P + 'AllowedIPs = +10.0.0.0/8\n', 3, 'AllowedIPs');
  expectError('[Interface]\nAddress = 10.0.0.1/40\n', 2, 'Address');
  expectError('[Interface]\nDNS = 1.1.1.1, bad domain\n', 2, 'DNS');
  expectError('[Interface]\nDNS = 1.2.3\n', 2, 'DNS');
  expectError('[Interface]\nMTU = 67\n', 2, 'MTU');
  expectError('[Interface]\nMTU = 70000\n', 2, 'MTU');
  expectError('[Interface]\nTable = a b\n', 2, 'Table');
  expectError('[Interface]\nSaveConfig = yes\n', 2, 'SaveConfig', 'true or false');
});

test('a bad private key is not echoed', () => {
  const secretish = 'QUJDREVGR0hJSktMTU5PUFFSU1RVVldYWVphYmNkZWZn!';
  assert.throws(
    () => parseConfig(`[Interface]\nPrivateKey = ${secretish}\n`),
    (e: unknown) => e instanceof ConfigError && !e.message.includes(secretish.slice(0, 20)),
  );
});

test('formatConfig refuses values the format cannot carry', () => {
  const base = (): WgConfig => parseConfig(`[Interface]\n[Peer]\nPublicKey = ${K2}\n`);
  let cfg = base();
  cfg.interface.postUp.push('echo a # b');
  assert.throws(() => formatConfig(cfg), RangeError);
  cfg = base();
  cfg.interface.preUp.push('echo a\nrm -rf /');
  assert.throws(() => formatConfig(cfg), RangeError);
  cfg = base();
  cfg.interface.listenPort = 70000;
  assert.throws(() => formatConfig(cfg), RangeError);
  cfg = base();
  cfg.peers[0]!.persistentKeepalive = -1;
  assert.throws(() => formatConfig(cfg), RangeError);
  cfg = base();
  cfg.peers[0]!.publicKey = new Uint8Array(31);
  assert.throws(() => formatConfig(cfg));
});
