/**
 * The streaming set parser: lines become a compact change set; the first bad line decides the errno
 * (wireguard-go's codes), what follows it is ignored, and the request bounds answer ENOMEM.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parseEndpoint } from '../conn/endpoint.js';
import { formatCidr } from '../net/address.js';
import { UapiError } from './errors.js';
import { UAPI_MAX_LINE_BYTES, UapiSetParser, type UapiChangeSet } from './uapi-parser.js';

const K1 = '11'.repeat(32);
const K2 = '22'.repeat(32);

function parse(lines: string[], limits?: { maxPeers: number; maxAllowedIPs: number }): UapiChangeSet {
  const p = new UapiSetParser(parseEndpoint, limits);
  for (const l of lines) p.line(l);
  return p.finish();
}

/** The errno name `lines` are refused with. */
function refusal(lines: string[], limits?: { maxPeers: number; maxAllowedIPs: number }): string {
  try {
    parse(lines, limits);
  } catch (err) {
    assert.ok(err instanceof UapiError);
    return err.code;
  }
  return 'accepted';
}

function ipsOf(c: UapiChangeSet, peer: number): string[] {
  const p = c.peers[peer]!;
  const out: string[] = [];
  for (let i = p.ipStart; i < p.ipEnd; i++) out.push(formatCidr(c.allowedIPs.ip(i), c.allowedIPs.cidr(i)));
  return out;
}

test('device and peer lines become a change set; unset fields stay "unchanged"', () => {
  const c = parse([
    `private_key=${K1}`,
    'listen_port=51820',
    'replace_peers=true',
    `public_key=${K1}`,
    'endpoint=192.0.2.1:51820',
    'persistent_keepalive_interval=25',
    'allowed_ip=10.0.0.0/8',
    'allowed_ip=fd00::/64',
    'protocol_version=1',
    `public_key=${K2}`,
    'update_only=true',
    `preshared_key=${K2}`,
    'allowed_ip=192.0.2.7/32',
    `public_key=${K2}`,
    'remove=true',
  ]);
  assert.equal(c.listenPort, 51820);
  assert.equal(c.fwmark, -1);
  assert.equal(c.replacePeers, true);
  assert.equal(c.peers.length, 3);
  const [a, b, r] = c.peers;
  assert.equal(a!.endpoint?.toString(), '192.0.2.1:51820');
  assert.equal(a!.keepalive, 25);
  assert.deepEqual(ipsOf(c, 0), ['10.0.0.0/8', 'fd00::/64']);
  assert.equal(b!.updateOnly, true);
  assert.equal(b!.keepalive, -1);
  assert.deepEqual(b!.presharedKey, new Uint8Array(32).fill(0x22));
  assert.deepEqual(ipsOf(c, 1), ['192.0.2.7/32']);
  assert.equal(r!.remove, true);
  assert.deepEqual(ipsOf(c, 2), []);
  // An all-zero private key clears it; no private_key line leaves it alone.
  assert.equal(parse([`private_key=${'00'.repeat(32)}`]).privateKey, null);
  assert.equal(parse([]).privateKey, undefined);
});

test('replace_allowed_ips drops the allowed IPs listed before it for that peer only', () => {
  const c = parse([
    `public_key=${K1}`,
    'allowed_ip=10.1.0.0/16',
    `public_key=${K2}`,
    'allowed_ip=10.2.0.0/16',
    'allowed_ip=10.3.0.0/16',
    'replace_allowed_ips=true',
    'allowed_ip=10.4.0.0/16',
  ]);
  assert.deepEqual(ipsOf(c, 0), ['10.1.0.0/16']);
  assert.deepEqual(ipsOf(c, 1), ['10.4.0.0/16']);
  assert.equal(c.peers[1]!.replaceAllowedIPs, true);
  assert.equal(c.allowedIPs.length, 2);
});

test('errno values as wireguard-go gives them', () => {
  assert.equal(refusal(['listen_port']), 'EPROTO');
  assert.equal(refusal(['listen_port=65536']), 'EINVAL');
  assert.equal(refusal(['fwmark=-1']), 'EINVAL');
  assert.equal(refusal(['bogus=1']), 'EINVAL');
  assert.equal(refusal(['protocol_version=1']), 'EINVAL'); // a peer key before any peer
  assert.equal(refusal([`public_key=${K1}`, 'listen_port=1']), 'EINVAL'); // a device key after one
  assert.equal(refusal([`public_key=${K1.slice(2)}`]), 'EINVAL');
  assert.equal(refusal([`public_key=${K1}`, 'allowed_ip=10.0.0.1']), 'EINVAL');
  assert.equal(refusal([`public_key=${K1}`, 'allowed_ip=10.0.0.0/33']), 'EINVAL');
  assert.equal(refusal([`public_key=${K1}`, 'endpoint=example.com:1']), 'EINVAL');
  assert.equal(refusal([`public_key=${K1}`, 'replace_allowed_ips=false']), 'EINVAL');
  assert.equal(refusal([`public_key=${K1}`, 'protocol_version=2']), 'EINVAL');
});

test('a line longer than any legal line is EIO; one at the bound is parsed as usual', () => {
  assert.equal(refusal([`public_key=${K1}`, 'allowed_ip=' + '1'.repeat(UAPI_MAX_LINE_BYTES)]), 'EIO');
  const atBound = 'allowed_ip=' + '1'.repeat(UAPI_MAX_LINE_BYTES - 'allowed_ip='.length);
  assert.equal(refusal([`public_key=${K1}`, atBound]), 'EINVAL');
  const p = new UapiSetParser(parseEndpoint);
  p.line('listen_port=1');
  p.lineTooLong();
  assert.throws(() => p.finish(), (e: unknown) => e instanceof UapiError && e.code === 'EIO' && /line 2/.test(e.message));
});

test('the first bad line decides; the lines after it are not even parsed', () => {
  const p = new UapiSetParser(parseEndpoint);
  p.line('listen_port=1');
  p.line('listen_port=x');
  p.line('no equals sign');
  p.lineTooLong();
  p.line(`public_key=${K1}`);
  assert.throws(() => p.finish(), (e: unknown) => e instanceof UapiError && e.code === 'EINVAL' && /listen_port/.test(e.message));
});

test('past the request bounds: ENOMEM, for peers and for allowed IPs', () => {
  const limits = { maxPeers: 3, maxAllowedIPs: 4 };
  const peers = (n: number): string[] => Array.from({ length: n }, (_, i) => `public_key=${String(i % 10).repeat(64)}`);
  assert.equal(refusal(peers(3), limits), 'accepted');
  assert.equal(refusal(peers(4), limits), 'ENOMEM');
  const ips = (n: number): string[] => Array.from({ length: n }, (_, i) => `allowed_ip=10.0.${i}.0/24`);
  assert.equal(refusal([`public_key=${K1}`, ...ips(4)], limits), 'accepted');
  assert.equal(refusal([`public_key=${K1}`, ...ips(5)], limits), 'ENOMEM');
  // Replaced ones no longer count.
  assert.equal(refusal([`public_key=${K1}`, ...ips(4), 'replace_allowed_ips=true', ...ips(4)], limits), 'accepted');
});

test('a million allowed IPs and 100,000 peers fit in one request', () => {
  const p = new UapiSetParser(parseEndpoint);
  for (let i = 0; i < 100_000; i++) {
    p.line(`public_key=${i.toString(16).padStart(64, '0')}`);
    for (let j = 0; j < 10; j++) p.line(`allowed_ip=10.${j}.${(i >> 8) & 255}.${i & 255}/32`);
  }
  const c = p.finish();
  assert.equal(c.peers.length, 100_000);
  assert.equal(c.allowedIPs.length, 1_000_000);
  assert.deepEqual(ipsOf(c, 99_999).slice(-1), ['10.9.134.159/32']);
});
