// The kernel TUN against the real kernel (root: creating interfaces needs CAP_NET_ADMIN). Without
// root these skip and say why, except under CI=true, where they must run.
//
//   node:dgram socket --UDP to 10.213.N.2--> kernel routes 10.213.N.0/24 --> TUN --> LinuxTun.read
//   LinuxTun.write(ICMP echo 10.213.N.2 -> .1) --> kernel answers --> TUN --> LinuxTun.read
import { strict as assert } from 'node:assert';
import { execFileSync } from 'node:child_process';
import dgram from 'node:dgram';
import { closeSync, openSync } from 'node:fs';
import { test } from 'node:test';
import type { PacketBuffer } from '../buffer/packet-buffer.js';
import { TieredPool } from '../buffer/tiered-pool.js';
import { icmp4Echo } from '../net/_packets.js';
import { parseIp } from '../net/address.js';
import { native, nativeError, openTunQueue } from '../native/index.js';
import { LinuxTun, TunOpenError } from './linux.js';
import type { TunEvent, TunHandler } from './tun.js';

const IN_CI = process.env['CI'] === 'true';
const isRoot = process.getuid?.() === 0;
const why = native === null ? `native shim not loaded: ${nativeError}` : !isRoot ? 'needs root (CAP_NET_ADMIN) to create TUN interfaces' : null;
const skip = IN_CI || why === null ? false : why;

const TAG = process.pid % 10000;
const NET = `10.213.${process.pid % 250}`;

function ip(...args: string[]): string {
  return execFileSync('ip', args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
}

function tryIp(...args: string[]): void {
  try {
    ip(...args);
  } catch {
    /* absent */
  }
}

/** Collects what a TUN hands over: copies of packets (their buffers are released at once) and events. */
class Collector implements TunHandler {
  packets: Uint8Array[] = [];
  events: TunEvent[] = [];
  onPackets(bufs: PacketBuffer[], count: number): void {
    for (let i = 0; i < count; i++) {
      this.packets.push(bufs[i]!.data().slice());
      bufs[i]!.release();
    }
  }
  onEvent(event: TunEvent): void {
    this.events.push(event);
  }
}

async function waitFor(what: string, pred: () => boolean, timeoutMs = 3000): Promise<void> {
  const until = Date.now() + timeoutMs;
  while (!pred()) {
    if (Date.now() > until) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

function ipv4Dst(p: Uint8Array): string {
  return `${p[16]}.${p[17]}.${p[18]}.${p[19]}`;
}

function write(tun: LinuxTun, pool: TieredPool, packet: Uint8Array): void {
  const buf = pool.get(packet.length + 48)!;
  buf.bytes.set(packet, buf.start);
  buf.end = buf.start + packet.length;
  tun.write([buf], 1);
}

test('reads a UDP datagram the kernel routes into the TUN, and the echo reply to a written ping', { skip }, async () => {
  const name = `wgtst${TAG}a`;
  const pool = new TieredPool();
  const tun = LinuxTun.create(name);
  try {
    assert.equal(tun.name, name);
    ip('addr', 'add', `${NET}.1/24`, 'dev', name);
    ip('link', 'set', name, 'up');
    const h = new Collector();
    tun.open(h, pool);
    assert.deepEqual(h.events, ['up'], 'open reports the link already up');

    const payload = Buffer.from(`hello through ${name}`);
    const sock = dgram.createSocket('udp4');
    await new Promise<void>((r) => sock.send(payload, 9999, `${NET}.2`, () => r()));
    sock.close();
    await waitFor('the UDP datagram', () => h.packets.some((p) => p[0]! >> 4 === 4 && p[9] === 17 && ipv4Dst(p) === `${NET}.2`));
    const udp = h.packets.find((p) => p[9] === 17 && ipv4Dst(p) === `${NET}.2`)!;
    assert.equal((udp[22]! << 8) | udp[23]!, 9999, 'UDP destination port');
    assert.ok(Buffer.from(udp.subarray(28)).equals(payload), 'UDP payload');

    const id = 0x4242;
    write(tun, pool, icmp4Echo(parseIp(`${NET}.2`)!, parseIp(`${NET}.1`)!, 8, id, 1, Buffer.from('ping from the tunnel')));
    const isReply = (p: Uint8Array): boolean => p[9] === 1 && p[20] === 0 && ((p[24]! << 8) | p[25]!) === id;
    await waitFor('the echo reply', () => h.packets.some(isReply));
    const reply = h.packets.find(isReply)!;
    assert.equal(ipv4Dst(reply), `${NET}.2`);
    assert.equal(tun.writeErrors + tun.writeDropped, 0);
  } finally {
    tun.close();
    tryIp('link', 'del', name);
  }
  assert.equal(pool.outstanding, 0, 'every buffer came back');
});

test('MTU: 1420 by default, setMtu, and refresh() sees outside changes to MTU and link state', { skip }, () => {
  const name = `wgtst${TAG}b`;
  const pool = new TieredPool();
  const tun = LinuxTun.create(name);
  try {
    assert.equal(tun.mtu(), 1420);
    assert.match(ip('link', 'show', name), /mtu 1420 /);
    const h = new Collector();
    tun.open(h, pool);
    assert.deepEqual(h.events, [], 'a new interface is down: no event');
    tun.setMtu(1380);
    assert.equal(tun.mtu(), 1380);
    assert.match(ip('link', 'show', name), /mtu 1380 /);
    assert.throws(() => tun.setMtu(40), RangeError);

    ip('link', 'set', name, 'mtu', '1300');
    ip('link', 'set', name, 'up');
    tun.refresh();
    assert.equal(tun.mtu(), 1300);
    ip('link', 'set', name, 'down');
    tun.refresh();
    tun.refresh();
    assert.deepEqual(h.events, ['mtu', 'up', 'mtu', 'down']);
  } finally {
    tun.close();
    tryIp('link', 'del', name);
  }
  assert.equal(pool.outstanding, 0);
});

test("'closed' when the interface is deleted, and writes after it are dropped and released", { skip }, async () => {
  const name = `wgtst${TAG}c`;
  const pool = new TieredPool();
  const tun = LinuxTun.create(name);
  const h = new Collector();
  tun.open(h, pool);
  ip('link', 'del', name);
  await waitFor("'closed'", () => h.events.includes('closed'));
  write(tun, pool, icmp4Echo(parseIp('10.0.0.1')!, parseIp('10.0.0.2')!, 8, 1, 1, new Uint8Array(8)));
  tun.close(); // a second close is a no-op
  assert.equal(h.events.filter((e) => e === 'closed').length, 1);
  assert.equal(pool.outstanding, 0);
});

test('a name taken by another kind of device, or by a TUN in use, gives a clear error', { skip }, () => {
  const name = `wgtst${TAG}d`;
  tryIp('link', 'del', name);
  // veth rather than dummy: the dummy module is not on every kernel.
  ip('link', 'add', name, 'type', 'veth', 'peer', 'name', `${name}p`);
  try {
    assert.throws(
      () => LinuxTun.create(name),
      (err: unknown) => err instanceof TunOpenError && /already exists and is not a TUN device/.test(err.message) && err.code === 'EINVAL',
    );
  } finally {
    tryIp('link', 'del', name);
  }
  const tun = LinuxTun.create(name);
  try {
    assert.throws(
      () => LinuxTun.create(name),
      (err: unknown) => err instanceof TunOpenError && /already exists and is busy/.test(err.message) && err.code === 'EBUSY',
    );
  } finally {
    tun.close();
    tryIp('link', 'del', name);
  }
  assert.throws(() => LinuxTun.create('no/slash'), TypeError);
});

test('fromFd adopts an open TUN queue and takes its name from the kernel', { skip }, () => {
  const name = `wgtst${TAG}e`;
  const q = openTunQueue(name, false);
  try {
    const tun = LinuxTun.fromFd(q.fd, 'whatever');
    assert.equal(tun.name, name);
    assert.equal(tun.mtu(), 1500, 'the kernel default, read rather than set');
    tun.close();
  } finally {
    tryIp('link', 'del', name);
  }
  assert.throws(() => LinuxTun.fromFd(987654), (err: unknown) => err instanceof TunOpenError && err.code === 'EBADF');
  const fd = openSync('/dev/null', 'r');
  try {
    assert.throws(() => LinuxTun.fromFd(fd), (err: unknown) => err instanceof TunOpenError && /is not a TUN fd/.test(err.message));
  } finally {
    closeSync(fd);
  }
});

test('moved to another network namespace it keeps working and reports link state from there; deleting that namespace closes it', { skip }, async () => {
  const name = `wgtst${TAG}f`;
  const ns = `wgtsns${TAG}`;
  tryIp('netns', 'del', ns);
  ip('netns', 'add', ns);
  const pool = new TieredPool();
  const tun = LinuxTun.create(name);
  try {
    const h = new Collector();
    tun.open(h, pool);
    ip('link', 'set', 'dev', name, 'netns', ns);
    tun.refresh();
    assert.equal(tun.inOtherNamespace, true);
    assert.ok(!h.events.includes('closed'));
    ip('-n', ns, 'addr', 'add', `${NET}.1/24`, 'dev', name);
    ip('-n', ns, 'link', 'set', name, 'up');
    // Link state and MTU are read where the interface is now: `ip link set up` there is an 'up' here.
    tun.refresh();
    assert.deepEqual(h.events, ['up']);
    tun.setMtu(1400);
    assert.match(ip('-n', ns, 'link', 'show', name), /mtu 1400 /);
    // Traffic inside the namespace still reaches our fd.
    execFileSync('ip', ['netns', 'exec', ns, 'sh', '-c', `echo moved > /dev/udp/${NET}.2/7777 || true`], { shell: false, stdio: 'ignore' });
    try {
      execFileSync('ip', ['netns', 'exec', ns, 'ping', '-c', '1', '-W', '1', `${NET}.2`], { stdio: 'ignore' });
    } catch {
      /* no reply expected: the packet only has to reach the TUN */
    }
    await waitFor('a packet from inside the namespace', () => h.packets.some((p) => p[0]! >> 4 === 4 && ipv4Dst(p) === `${NET}.2`));
    ip('netns', 'del', ns);
    await waitFor("'closed' once the namespace (and with it the TUN) is gone", () => h.events.includes('closed'));
  } finally {
    tun.close();
    tryIp('netns', 'del', ns);
  }
  assert.equal(pool.outstanding, 0);
});

/** A Collector that also keeps the order of what came: 'packet' or the event. */
class OrderCollector extends Collector {
  order: string[] = [];
  override onPackets(bufs: PacketBuffer[], count: number): void {
    this.order.push('packet');
    super.onPackets(bufs, count);
  }
  override onEvent(event: TunEvent): void {
    this.order.push(event);
    super.onEvent(event);
  }
}

test('moved on from a namespace it was moved to, its link is still heard: the new namespace gets an id in ours; no packet comes before its "up"', { skip }, async () => {
  const name = `wgtst${TAG}h`;
  const nsA = `wgtsna${TAG}`;
  const nsB = `wgtsnb${TAG}`;
  for (const ns of [nsA, nsB]) {
    tryIp('netns', 'del', ns);
    ip('netns', 'add', ns);
  }
  const pool = new TieredPool();
  const tun = LinuxTun.create(name);
  try {
    const h = new OrderCollector();
    tun.open(h, pool);
    ip('link', 'set', 'dev', name, 'netns', nsA);
    await waitFor('the move to A heard', () => tun.inOtherNamespace);
    // A to B: B has no id in our namespace until the TUN gives it one, so that its link changes
    // reach our netlink watch (NETLINK_LISTEN_ALL_NSID). An id holds no reference (below).
    ip('-n', nsA, 'link', 'set', 'dev', name, 'netns', nsB);
    const hasId = (): boolean => new RegExp(`^${nsB} \\(id: \\d+\\)$`, 'm').test(ip('netns', 'list'));
    await waitFor('an id for B in our namespace', hasId);
    // Up, and a packet into the TUN, before this process has heard of either: 'up' must come first.
    ip('-n', nsB, 'addr', 'add', `${NET}.1/24`, 'dev', name);
    ip('-n', nsB, 'link', 'set', name, 'up');
    try {
      execFileSync('ip', ['netns', 'exec', nsB, 'ping', '-c', '1', '-W', '1', `${NET}.2`], { stdio: 'ignore' });
    } catch {
      /* no reply expected: the packet only has to reach the TUN */
    }
    await waitFor('the packet from B', () => h.order.includes('packet'));
    assert.ok(h.order.indexOf('up') >= 0 && h.order.indexOf('up') < h.order.indexOf('packet'), `order: ${h.order.join(', ')}`);
    ip('netns', 'del', nsB);
    await waitFor("'closed' once B (and with it the TUN) is gone", () => h.events.includes('closed'));
  } finally {
    tun.close();
    tryIp('netns', 'del', nsA);
    tryIp('netns', 'del', nsB);
  }
  assert.equal(pool.outstanding, 0);
});
/**
 * As root, setpriv runs the child as nobody with no capability but CAP_DAC_READ_SEARCH (ambient, so it
 * survives exec; every other one dropped from the bounding set too): it can read this clone's files
 * wherever the clone is, even under a directory only root may enter, and it still lacks CAP_NET_ADMIN,
 * so the refusal it meets is the kernel's own.
 */
const SETPRIV_NOBODY = [
  '--reuid=65534',
  '--regid=65534',
  '--clear-groups',
  '--inh-caps=-all,+dac_read_search',
  '--ambient-caps=+dac_read_search',
  '--bounding-set=-all,+dac_read_search',
];

/** create() without privileges: in this process when not root, else in a child run as nobody. */
function createUnprivileged(name: string): string {
  if (!isRoot) {
    try {
      LinuxTun.create(name).close();
      return 'created';
    } catch (err) {
      return err instanceof TunOpenError ? `${err.code}: ${err.message}` : String(err);
    }
  }
  const script = `
    import { LinuxTun } from ${JSON.stringify(new URL('./linux.js', import.meta.url).href)};
    try { LinuxTun.create(${JSON.stringify(name)}).close(); console.log('created'); }
    catch (err) { console.log(err.code + ': ' + err.message); }`;
  return execFileSync('setpriv', [...SETPRIV_NOBODY, process.execPath, '--input-type=module', '-e', script], {
    encoding: 'utf8',
  }).trim();
}

const unprivilegedSkip = native === null && !IN_CI ? `native shim not loaded: ${nativeError}` : false;

test('without CAP_NET_ADMIN, create() says to run as root', { skip: unprivilegedSkip }, () => {
  const out = createUnprivileged(`wgtst${TAG}g`);
  assert.match(out, /^(EPERM|EACCES): cannot open TUN wgtst\d+g: need CAP_NET_ADMIN \(run as root\)$/);
});
