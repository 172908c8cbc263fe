// Tests for the wireproxy configuration format: wireproxy's README sample read unchanged, WGConfig
// files, environment references, defaults, and one case per refusal, each checked for the file, line
// and key it names.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { loadProxyConfig, parseProxyConfig, ProxyConfigError, type LoadOptions } from './config.js';

const K1 = 'uCTIK+56CPyCvwJxmU5dBfuyJvPuSXAq1FzHdnIxe1Q=';
const K2 = 'QP+A67Z2UBrMgvNIdHv8gPel5URWNLS4B3ZQ2hQIZlg=';
const K3 = 'UItQuvLsyh50ucXHfjF0bbR4IIpVBd74lwKc8uIPXXs=';

// wireproxy's README sample configuration, kept as a file that the namespace test runs too.
const README = readFileSync(fileURLToPath(new URL('../../test/wireproxy/readme.conf', import.meta.url)), 'utf8');

function parse(text: string, options: LoadOptions = {}): ReturnType<typeof parseProxyConfig> {
  return parseProxyConfig(text, '/etc/wgts/proxy.conf', { env: {}, cwd: '/work', ...options });
}

function refused(text: string, line: number, key: string, match: RegExp, options: LoadOptions = {}, file = '/etc/wgts/proxy.conf'): void {
  assert.throws(
    () => parse(text, options),
    (e: unknown) => {
      assert.ok(e instanceof ProxyConfigError, `not a ProxyConfigError: ${String(e)}`);
      assert.equal(e.file, file);
      assert.equal(e.line, line, e.message);
      assert.equal(e.key, key, e.message);
      assert.match(e.message, match);
      assert.ok(e.message.startsWith(`${file}:${line}: `), e.message);
      return true;
    },
  );
}

test("wireproxy's README sample reads unchanged", () => {
  const c = parse(README);
  assert.deepEqual(c.wg.interface.addresses, ['10.200.200.2/32']);
  assert.deepEqual(c.wg.interface.dns, ['10.200.200.1']);
  assert.equal(c.wg.interface.mtu, 1420);
  assert.equal(c.wg.peers.length, 1);
  assert.equal(c.wg.peers[0]!.endpoint, 'my.ddns.example.com:51820');
  assert.deepEqual(c.wg.peers[0]!.allowedIPs, ['0.0.0.0/0', '::/0'], 'no AllowedIPs routes everything, as wireproxy does');
  assert.equal(c.resolveStrategy, 'auto');
  assert.deepEqual(
    c.listeners.map((l) => [l.kind, l.at.line]),
    [['tcp-client', 16], ['tcp-server', 20], ['stdio', 24], ['socks5', 27], ['http', 32], ['sni', 39]],
  );
  const tcp = c.listeners[0]!;
  assert.ok(tcp.kind === 'tcp-client');
  assert.deepEqual(tcp.bind, { host: '127.0.0.1', port: 25565, family: 4 });
  assert.deepEqual(tcp.target, { host: 'play.cubecraft.net', port: 25565, family: 0 });
  const socks = c.listeners[3]!;
  assert.ok(socks.kind === 'socks5');
  assert.equal(socks.username, null);
});

test('the multi-peer README sample: AllowedIPs, shadowed sections, UDPProxyTunnel, [Resolve]', () => {
  const c = parse(`[Interface]
Address = 10.254.254.40/32
PrivateKey = ${K1}
ListenPort = 5400

[Peer]
Endpoint = 192.168.0.204:51820
PublicKey = ${K2}
AllowedIPs = 10.254.254.100/32
PersistentKeepalive = 25

[Peer]
PublicKey = ${K3}
AllowedIPs = 10.254.254.1/32, fdee:1337:c000:d00d::1/128
Endpoint = 172.16.0.185:44044
PersistentKeepalive = 25

[TCPServerTunnel]
ListenPort = 5000
Target = service-one.servicenet:5000

[TCPServerTunnel]
ListenPort = 5001
Target = service-two.servicenet:5001

[UDPProxyTunnel]
BindAddress = 127.0.0.1:53
Target = 1.1.1.1:53
InactivityTimeout = 30 # If its set to 0, it will never timeout

[Resolve]
ResolveStrategy = auto 
`);
  assert.equal(c.wg.interface.listenPort, 5400);
  assert.deepEqual(c.wg.peers.map((p) => p.allowedIPs), [['10.254.254.100/32'], ['10.254.254.1/32', 'fdee:1337:c000:d00d::1/128']]);
  assert.deepEqual(c.wg.peers.map((p) => p.persistentKeepalive), [25, 25]);
  assert.deepEqual(c.listeners.map((l) => l.kind), ['tcp-server', 'tcp-server', 'udp-client']);
  const udp = c.listeners[2]!;
  assert.ok(udp.kind === 'udp-client');
  assert.equal(udp.inactivityTimeoutSec, 30);
});

test('WGConfig: a bare name beside the configuration, a relative path from the working directory; errors name the wg file', () => {
  const files: Record<string, string> = {
    '/etc/wgts/wg0.conf': `[Interface]\nPrivateKey = ${K1}\nAddress = 10.0.0.2/32\nTable = off\n\n[Peer]\nPublicKey = ${K2}\nAllowedIPs = 10.0.0.0/24\nEndpoint = 192.0.2.1:51820\n`,
    '/work/sub/wg1.conf': `[Interface]\nPrivateKey = ${K1}\nAddress = 10.0.0.3\n[Peer]\nPublicKey = nope\n`,
  };
  const readFile = (f: string): string => {
    const t = files[f];
    if (t === undefined) throw Object.assign(new Error(`ENOENT: ${f}`), { code: 'ENOENT' });
    return t;
  };
  const c = parse('WGConfig = wg0.conf\n\n[Socks5]\nBindAddress = :1080\n', { readFile });
  assert.equal(c.wgFile, '/etc/wgts/wg0.conf');
  assert.deepEqual(c.wg.peers[0]!.allowedIPs, ['10.0.0.0/24']);
  assert.deepEqual(c.notes, ['/etc/wgts/wg0.conf:4: Table has no meaning for a proxy (no kernel interface); ignored']);
  const socks = c.listeners[0]!;
  assert.ok(socks.kind === 'socks5');
  assert.deepEqual(socks.bind, { host: '', port: 1080, family: 0 });

  refused('WGConfig = sub/wg1.conf\n', 5, 'PublicKey', /not a 32-byte base64 key/, { readFile }, '/work/sub/wg1.conf');
  refused('# comment\nWGConfig = missing.conf\n', 2, 'WGConfig', /cannot read '\/etc\/wgts\/missing.conf': no such file/, { readFile });
  refused(`WGConfig = wg0.conf\n[Interface]\nPrivateKey = ${K1}\n`, 2, 'Interface', /WGConfig \(line 1\) already names/, { readFile });
});

test('environment references: $NAME, $$ for a literal dollar, unset names refused', () => {
  const text = `[Interface]\nPrivateKey = $WG_KEY\nAddress = 10.0.0.2/32\n[Peer]\nPublicKey = ${K2}\n[Socks5]\nBindAddress = 127.0.0.1:1080\nUsername = $$user\nPassword = $PASS\n`;
  const c = parse(text, { env: { WG_KEY: K1, PASS: 'p#;w' } });
  const s = c.listeners[0]!;
  assert.ok(s.kind === 'socks5');
  assert.equal(s.username, '$user');
  assert.equal(s.password, 'p#;w');
  refused(text, 2, 'PrivateKey', /environment variable WG_KEY, which is not set/, { env: { PASS: 'x' } });
});

test('comments, quotes, case and delimiters as go-ini reads them', () => {
  const c = parse(`; a comment
[interface]
privatekey: ${K1}
ADDRESS = 10.0.0.2/32 ; inline
[PEER]
PublicKey = ${K2}
[HTTP]
BindAddress = "127.0.0.1:8080"
Username = alice
Password = "pa#ss;word"  # quoted: kept whole
`);
  const h = c.listeners[0]!;
  assert.ok(h.kind === 'http');
  assert.equal(h.bind.port, 8080);
  assert.equal(h.password, 'pa#ss;word');
});

test('TLS files and IPv6 addresses', () => {
  const c = parse(`[Interface]\nPrivateKey = ${K1}\nAddress = fd00::2/128\n[Peer]\nPublicKey = ${K2}\n[http]\nBindAddress = [::1]:8443\nCertFile = cert.pem\nKeyFile = /etc/ssl/key.pem\n[TCPClientTunnel]\nBindAddress = [::]:2222\nTarget = [fd00::1]:22\n`);
  const h = c.listeners[0]!;
  assert.ok(h.kind === 'http');
  assert.deepEqual(h.bind, { host: '::1', port: 8443, family: 6 });
  assert.equal(h.certFile, '/etc/wgts/cert.pem');
  assert.equal(h.keyFile, '/etc/ssl/key.pem');
  const t = c.listeners[1]!;
  assert.ok(t.kind === 'tcp-client');
  assert.deepEqual(t.target, { host: 'fd00::1', port: 22, family: 6 });
});

const BASE = `[Interface]\nPrivateKey = ${K1}\nAddress = 10.0.0.2/32\n\n[Peer]\nPublicKey = ${K2}\n`; // 6 lines

test('refusals name the file, the line and the key', () => {
  refused(`${BASE}[Sock5]\nBindAddress = :1080\n`, 7, 'Sock5', /unknown section; expected one of .*Socks5/);
  refused(`${BASE}[Socks5]\nBindAdress = :1080\n`, 8, 'BindAdress', /unknown key in \[Socks5\]; expected one of BindAddress, Username, Password/);
  refused(`${BASE}[Socks5]\nUsername = u\n`, 7, 'BindAddress', /\[Socks5\] needs BindAddress/);
  refused(`${BASE}[Socks5]\nBindAddress = 127.0.0.1\n`, 8, 'BindAddress', /found no port/);
  refused(`${BASE}[Socks5]\nBindAddress = 127.0.0.1:99999\n`, 8, 'BindAddress', /expected a port 0..65535/);
  refused(`${BASE}[Socks5]\nBindAddress = ::1:1080\n`, 8, 'BindAddress', /IPv6 address in brackets/);
  refused(`${BASE}[Socks5]\nBindAddress = 300.1.1.1:1080\n`, 8, 'BindAddress', /expected a host name or an IP address/);
  refused(`${BASE}[Socks5]\nBindAddress = :1080\nBindAddress = :1081\n`, 9, 'BindAddress', /given twice in this section \(first on line 8\)/);
  refused(`${BASE}[Socks5]\nBindAddress = :1080\nPassword = x\n`, 9, 'Password', /Password but no Username/);
  refused(`${BASE}[TCPClientTunnel]\nBindAddress = :80\nTarget = :80\n`, 9, 'Target', /expected a host before ':'/);
  refused(`${BASE}[TCPClientTunnel]\nBindAddress = :80\nTarget = host:0\n`, 9, 'Target', /expected a port 1..65535/);
  refused(`${BASE}[TCPServerTunnel]\nListenPort = eighty\nTarget = a:1\n`, 8, 'ListenPort', /expected a port 1..65535, got 'eighty'/);
  refused(`${BASE}[TCPServerTunnel]\nListenPort = 80\nTarget = a:1\n[TCPServerTunnel]\nListenPort = 80\nTarget = b:1\n`, 10, 'ListenPort', /already taken by the section on line 7/);
  refused(`${BASE}[STDIOTunnel]\nTarget = a:22\n[STDIOTunnel]\nTarget = b:22\n`, 9, 'STDIOTunnel', /only one \[STDIOTunnel\]/);
  refused(`${BASE}[http]\nBindAddress = :8080\nCertFile = c.pem\n`, 9, 'CertFile', /give both for TLS, or neither/);
  refused(`${BASE}[UDPClientTunnel]\nBindAddress = :53\nTarget = 10.0.0.1:53\nInactivityTimeout = -1\n`, 10, 'InactivityTimeout', /expected seconds 0..86400/);
  refused(`${BASE}[Resolve]\nResolveStrategy = ipv5\n`, 8, 'ResolveStrategy', /expected auto, ipv4 or ipv6/);
  refused(`${BASE}[Resolve]\n[Resolve]\n`, 8, 'Resolve', /only one \[Resolve\]/);
  refused(`Foo = bar\n${BASE}`, 1, 'Foo', /only WGConfig may stand there/);
  refused(`${BASE}[Socks5\n`, 7, '', /expected a section header/);
  refused(`${BASE}just words\n`, 7, '', /expected 'Key = Value'/);
});

test('refusals in the WireGuard part: wg-quick errors keep their lines; wireproxy requirements', () => {
  refused(`[Interface]\nPrivateKey = ${K1}\nAddress = 10.0.0.300/32\n[Peer]\nPublicKey = ${K2}\n`, 3, 'Address', /expected an address/);
  refused(`[Interface]\nPrivateKey = ${K1}\nAddress = 10.0.0.2/32\nListenPort = 70000\n[Peer]\nPublicKey = ${K2}\n`, 4, 'ListenPort', /port number/);
  refused(`[Interface]\nPrivateKey = ${K1}\nAddress = 10.0.0.2/32\nColour = blue\n[Peer]\nPublicKey = ${K2}\n`, 4, 'Colour', /unknown key in \[Interface\]/);
  refused(`[Interface]\nPrivateKey = ${K1}\nAddress = 10.0.0.2/32\n[Peer]\nEndpoint = host\n`, 5, 'Endpoint', /port/);
  refused(`[Interface]\nAddress = 10.0.0.2/32\n[Peer]\nPublicKey = ${K2}\n`, 1, 'PrivateKey', /no PrivateKey/);
  refused(`[Interface]\nPrivateKey = ${K1}\n[Peer]\nPublicKey = ${K2}\n`, 1, 'Address', /no Address/);
  refused(`[Interface]\nPrivateKey = ${K1}\nAddress = 10.0.0.2/32\n`, 1, 'Peer', /at least one is required/);
  refused(`[Interface]\nPrivateKey = ${K1}\nAddress = 10.0.0.2/32\n[Interface]\n[Peer]\nPublicKey = ${K2}\n`, 4, 'Interface', /only one \[Interface\]/);
  refused(`[Interface]\nPrivateKey = ${K1}\nAddress = 10.0.0.2/32\nCheckAliveInterval = 3\n[Peer]\nPublicKey = ${K2}\n`, 4, 'CheckAliveInterval', /only valid when CheckAlive is set/);
  refused(`[Interface]\nPrivateKey = ${K1}\nAddress = 10.0.0.2/32\nCheckAlive = 1.1.1.1, nope\n[Peer]\nPublicKey = ${K2}\n`, 4, 'CheckAlive', /got 'nope'/);
});

test('a private key with a typo is never echoed', () => {
  const secret = 'uCTIK+56CPyCvwJxmU5dBfuyJvPuSXAq1FzHdnIxe1!=';
  assert.throws(
    () => parse(`[Interface]\nPrivateKey = ${secret}\nAddress = 10.0.0.2/32\n[Peer]\nPublicKey = ${K2}\n`),
    (e: unknown) => e instanceof ProxyConfigError && e.line === 2 && !e.message.includes(secret.slice(0, 20)),
  );
});

test('CheckAlive and its interval', () => {
  const c = parse(`[Interface]\nPrivateKey = ${K1}\nAddress = 10.0.0.2/32\nCheckAlive = 1.1.1.1, 2606:4700::1111\nCheckAliveInterval = 3\n[Peer]\nPublicKey = ${K2}\n`);
  assert.deepEqual(c.checkAlive, ['1.1.1.1', '2606:4700::1111']);
  assert.equal(c.checkAliveIntervalSec, 3);
});

test('an unreadable configuration file is named', () => {
  assert.throws(
    () => loadProxyConfig('/nonexistent/wgts-proxy.conf'),
    (e: unknown) => e instanceof ProxyConfigError && e.message === '/nonexistent/wgts-proxy.conf: cannot read the configuration: no such file',
  );
});
