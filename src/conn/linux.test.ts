// The batched Linux bind over loopback (127.0.0.1 and ::1): no root needed, except for SO_MARK.
// Two binds exchange batches with exact bytes; endpoints are interned and carry the sticky source
// address; backpressure stops and resumes reading; close gives every buffer back.
import { strict as assert } from 'node:assert';
import { execFileSync } from 'node:child_process';
import { test } from 'node:test';
import { Budget } from '../buffer/budget.js';
import type { PacketBuffer } from '../buffer/packet-buffer.js';
import { TieredPool } from '../buffer/tiered-pool.js';
import { native, nativeError } from '../native/index.js';
import type { BindHandler, Endpoint } from './bind.js';
import { GRO_READ_SLOTS, LinuxBind, LinuxEndpoint, type LinuxBindOptions } from './linux.js';

const skip = native === null && process.env['CI'] !== 'true' ? `native shim not loaded: ${nativeError}` : false;
const isRoot = process.getuid?.() === 0;
const IN_CI = process.env['CI'] === 'true';
const rootSkip = skip !== false ? skip : !isRoot && !IN_CI ? 'needs root for a network namespace' : false;

/**
 * Keeps copies of what arrives, one per datagram (a UDP GRO read is cut at its segment size), and
 * (unless told to hold them) releases the buffers at once.
 */
class Inbox implements BindHandler {
  data: Uint8Array[] = [];
  from: Endpoint[] = [];
  held: PacketBuffer[] = [];
  batches = 0;
  /** Buffers that held more than one datagram. */
  coalesced = 0;
  hold = false;
  onDatagrams(bufs: PacketBuffer[], endpoints: Endpoint[], count: number, segments?: Int32Array): void {
    this.batches++;
    for (let i = 0; i < count; i++) {
      const buf = bufs[i]!;
      const seg = segments?.[i] ?? 0;
      const len = buf.end - buf.start;
      const step = seg > 0 && seg < len ? seg : len;
      if (step < len) this.coalesced++;
      for (let at = buf.start; at < buf.end || at === buf.start; at += step) {
        this.data.push(buf.bytes.slice(at, Math.min(at + step, buf.end)));
        this.from.push(endpoints[i]!);
        if (step === 0) break;
      }
      if (this.hold) this.held.push(buf);
      else buf.release();
    }
  }
}

async function waitFor(what: string, pred: () => boolean, timeoutMs = 3000): Promise<void> {
  const until = Date.now() + timeoutMs;
  while (!pred()) {
    if (Date.now() > until) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 5));
  }
}

/** Datagram i of a batch: distinct lengths (1..1400) and contents. */
function datagram(i: number, salt: number): Uint8Array {
  const len = 1 + ((i * 97 + salt) % 1400);
  const d = new Uint8Array(len);
  for (let j = 0; j < len; j++) d[j] = (i * 31 + j * 7 + salt) & 0xff;
  return d;
}

function sendBatch(bind: LinuxBind, pool: TieredPool, to: Endpoint, n: number, salt: number): void {
  const bufs: PacketBuffer[] = [];
  for (let i = 0; i < n; i++) {
    const d = datagram(i, salt);
    const buf = pool.get(d.length + 16)!;
    buf.bytes.set(d, buf.start);
    buf.end = buf.start + d.length;
    bufs.push(buf);
  }
  bind.send(bufs, n, to);
}

/** bufs of the given sizes, byte k of packet i being (i * 13 + k) & 0xff. */
function sizedBatch(pool: TieredPool, sizes: number[]): PacketBuffer[] {
  const bufs: PacketBuffer[] = [];
  for (let i = 0; i < sizes.length; i++) {
    const buf = pool.get(sizes[i]!)!;
    for (let k = 0; k < sizes[i]!; k++) buf.bytes[buf.start + k] = (i * 13 + k) & 0xff;
    buf.end = buf.start + sizes[i]!;
    bufs.push(buf);
  }
  return bufs;
}

function assertSized(inbox: Inbox, sizes: number[], from = 0): void {
  for (let i = 0; i < sizes.length; i++) {
    const d = inbox.data[from + i]!;
    assert.equal(d.length, sizes[i], `datagram ${i} length`);
    for (let k = 0; k < d.length; k++) if (d[k] !== ((i * 13 + k) & 0xff)) assert.fail(`datagram ${i} byte ${k}`);
  }
}

function assertBatch(inbox: Inbox, n: number, salt: number): void {
  assert.equal(inbox.data.length, n);
  for (let i = 0; i < n; i++) assert.ok(Buffer.from(inbox.data[i]!).equals(Buffer.from(datagram(i, salt))), `datagram ${i}`);
}

interface Pair {
  a: LinuxBind;
  b: LinuxBind;
  ia: Inbox;
  ib: Inbox;
  pa: number;
  pb: number;
}

async function pair(poolA: TieredPool, poolB: TieredPool, options: LinuxBindOptions = {}): Promise<Pair> {
  const a = new LinuxBind(options);
  const b = new LinuxBind(options);
  const ia = new Inbox();
  const ib = new Inbox();
  const pa = await a.open(0, ia, poolA);
  const pb = await b.open(0, ib, poolB);
  return { a, b, ia, ib, pa, pb };
}

/**
 * Two binds on their own pools, opened on ephemeral ports; runs `body`, closes both whatever happens,
 * then checks every buffer went back to its pool.
 */
async function withPair(options: LinuxBindOptions, body: (p: Pair & { poolA: TieredPool; poolB: TieredPool }) => Promise<void>): Promise<void> {
  const poolA = new TieredPool();
  const poolB = new TieredPool();
  const p = await pair(poolA, poolB, options);
  try {
    await body({ ...p, poolA, poolB });
  } finally {
    await p.a.close();
    await p.b.close();
  }
  assert.equal(poolA.outstanding + poolB.outstanding, 0);
}

for (const family of [4, 6] as const) {
  const host = family === 4 ? '127.0.0.1' : '[::1]';
  test(`IPv${family}: batches of 100 datagrams arrive exact, from one interned endpoint, and replies go back`, { skip }, async () => {
    const poolA = new TieredPool();
    const poolB = new TieredPool();
    const { a, b, ia, ib, pa, pb } = await pair(poolA, poolB);
    try {
      assert.notEqual(pa, 0);
      assert.deepEqual(a.boundPorts, { v4: pa, v6: pa }, 'port 0 picks one port for both families');
      const toB = a.parseEndpoint(`${host}:${pb}`);
      assert.equal(a.parseEndpoint(`${host}:${pb}`), toB, 'parseEndpoint interns');
      sendBatch(a, poolA, toB, 100, 1);
      await waitFor('100 datagrams', () => ib.data.length >= 100);
      assertBatch(ib, 100, 1);
      const fromA = ib.from[0]!;
      assert.equal(fromA.toString(), `${host}:${pa}`);
      for (const ep of ib.from) assert.equal(ep, fromA, 'one endpoint object per source');
      assert.equal(b.parseEndpoint(`${host}:${pa}`), fromA, 'received and parsed endpoints are the same object');

      // The sticky source: B learned where A reached it, and replies from there.
      assert.ok(fromA instanceof LinuxEndpoint && fromA.hasSrc);
      assert.deepEqual([...fromA.srcAddress!], family === 4 ? [127, 0, 0, 1] : [...new Uint8Array(15), 1]);
      sendBatch(b, poolB, fromA, 100, 2);
      await waitFor('100 replies', () => ia.data.length >= 100);
      assertBatch(ia, 100, 2);
      for (const ep of ia.from) assert.equal(ep, toB, "A sees the replies from the endpoint it sent to");
      // Forgotten on request (a rebind, an endpoint set by hand), learned again from the next datagram.
      fromA.clearSrc();
      assert.equal(fromA.hasSrc, false);
      sendBatch(a, poolA, toB, 1, 4);
      await waitFor('one more', () => ib.data.length >= 101);
      assert.equal(fromA.hasSrc, true);
      assert.equal(a.sendDropped + a.sendErrors + b.sendDropped + b.sendErrors, 0);
      assert.ok(ib.batches < 100, `datagrams arrived in batches (${ib.batches} for 100)`);
    } finally {
      await a.close();
      await b.close();
    }
    assert.equal(poolA.outstanding, 0, 'A gave every buffer back');
    assert.equal(poolB.outstanding, 0, 'B gave every buffer back');
  });

  test(`IPv${family}: a sticky source the host does not have is forgotten and the send retried`, { skip }, async () => {
    const poolA = new TieredPool();
    const poolB = new TieredPool();
    const { a, b, ib, pb } = await pair(poolA, poolB);
    try {
      const toB = a.parseEndpoint(`${host}:${pb}`) as LinuxEndpoint;
      // TEST-NET addresses: on no interface here.
      toB.setSrc(family === 4 ? Uint8Array.of(192, 0, 2, 1) : Uint8Array.of(0x20, 0x01, 0x0d, 0xb8, ...new Uint8Array(11), 1));
      sendBatch(a, poolA, toB, 10, 3);
      await waitFor('10 datagrams', () => ib.data.length >= 10);
      assertBatch(ib, 10, 3);
      assert.equal(toB.hasSrc, false);
      assert.equal(a.srcCleared, 1);
    } finally {
      await a.close();
      await b.close();
    }
    assert.equal(poolA.outstanding + poolB.outstanding, 0);
  });

  test(`IPv${family}: a GSO run refused for a stale sticky source is retried without it, and GSO stays on`, { skip }, async () => {
    await withPair({}, async ({ a, ib, pb, poolA }) => {
      const toB = a.parseEndpoint(`${host}:${pb}`) as LinuxEndpoint;
      toB.setSrc(family === 4 ? Uint8Array.of(192, 0, 2, 1) : Uint8Array.of(0x20, 0x01, 0x0d, 0xb8, ...new Uint8Array(11), 1));
      const sizes = new Array<number>(10).fill(1000);
      a.send(sizedBatch(poolA, sizes), sizes.length, toB);
      await waitFor('10 datagrams', () => ib.data.length >= 10);
      assertSized(ib, sizes);
      assert.equal(a.srcCleared, 1);
      assert.equal(a.gsoSends, 1, 'the retried run went out as one UDP_SEGMENT send');
      a.send(sizedBatch(poolA, sizes), sizes.length, toB);
      await waitFor('10 more', () => ib.data.length >= 20);
      assertSized(ib, sizes, 10);
      assert.equal(a.gsoSends, 2, 'GSO is still on for the next batch');
    });
  });
}

test('a run of one packet early in a batch does not send the rest of it as plain datagrams', { skip }, async () => {
  await withPair({}, async ({ a, ib, pb, poolA }) => {
    const toB = a.parseEndpoint(`127.0.0.1:${pb}`);
    // Runs: [100] alone (the next is larger), [1200 x 20, 50], [80] alone, [1200 x 10].
    const sizes = [100, ...new Array<number>(20).fill(1200), 50, 80, ...new Array<number>(10).fill(1200)];
    a.send(sizedBatch(poolA, sizes), sizes.length, toB);
    await waitFor(`${sizes.length} datagrams`, () => ib.data.length >= sizes.length);
    assertSized(ib, sizes);
    assert.equal(a.gsoSends, 2, 'both runs of equal sizes left as UDP_SEGMENT sends');
    assert.equal(a.sendErrors + a.sendDropped, 0);
  });
});

test('a GSO run refused for segments larger than the path MTU goes out as plain datagrams, and GSO stays on', { skip: rootSkip }, () => {
  // In a namespace of its own whose loopback MTU is 1280: 1400-byte segments exceed it (udp_send_skb:
  // EMSGSIZE, EINVAL on older kernels); the same datagrams sent plain are fragmented and reassembled;
  // 1000-byte ones fit.
  const ns = `wgtsgso${process.pid % 10000}`;
  const script = `
    import { LinuxBind } from ${JSON.stringify(new URL('./linux.js', import.meta.url).href)};
    import { TieredPool } from ${JSON.stringify(new URL('../buffer/tiered-pool.js', import.meta.url).href)};
    const pool = new TieredPool();
    const got = [];
    const inbox = { onDatagrams(bufs, eps, n) { for (let i = 0; i < n; i++) { got.push(bufs[i].end - bufs[i].start); bufs[i].release(); } } };
    const a = new LinuxBind({ ipv6: false });
    const b = new LinuxBind({ ipv6: false, gro: false });
    await a.open(0, { onDatagrams() {} }, pool);
    const pb = await b.open(0, inbox, pool);
    const to = a.parseEndpoint('127.0.0.1:' + pb);
    const send = (size, n) => {
      const bufs = [];
      for (let i = 0; i < n; i++) { const buf = pool.get(size); buf.end = buf.start + size; bufs.push(buf); }
      a.send(bufs, n, to);
    };
    const until = async (n) => { for (let t = 0; t < 300 && got.length < n; t++) await new Promise((r) => setTimeout(r, 10)); };
    send(1400, 8);
    await until(8);
    const first = a.gsoSends;
    send(1000, 8);
    await until(16);
    await a.close();
    await b.close();
    console.log(JSON.stringify({ got, first, gsoSends: a.gsoSends, sendErrors: a.sendErrors, outstanding: pool.outstanding }));`;
  try {
    execFileSync('ip', ['netns', 'add', ns]);
    execFileSync('ip', ['-n', ns, 'link', 'set', 'lo', 'mtu', '1280', 'up']);
    const out = execFileSync('ip', ['netns', 'exec', ns, process.execPath, '--input-type=module', '-e', script], { encoding: 'utf8' });
    const r = JSON.parse(out) as { got: number[]; first: number; gsoSends: number; sendErrors: number; outstanding: number };
    assert.deepEqual(r.got, [...new Array<number>(8).fill(1400), ...new Array<number>(8).fill(1000)], 'every datagram arrived whole, in order');
    assert.equal(r.first, 0, 'the refused run was not counted as a GSO send');
    assert.equal(r.gsoSends, 1, 'the 1000-byte run still went out with UDP_SEGMENT');
    assert.equal(r.sendErrors, 0);
    assert.equal(r.outstanding, 0);
  } finally {
    try {
      execFileSync('ip', ['netns', 'del', ns], { stdio: 'ignore' });
    } catch {
      /* not created */
    }
  }
});

test('backpressure: an exhausted Source stops reading; resume() delivers the rest', { skip }, async () => {
  const poolA = new TieredPool();
  // Room for 20 small chunks: the reader runs dry with datagrams still queued in the kernel.
  const poolB = new TieredPool({ budget: new Budget(20 * 2048) });
  const { a, b, ib, pb } = await pair(poolA, poolB, { gro: false });
  try {
    ib.hold = true;
    sendBatch(a, poolA, a.parseEndpoint(`127.0.0.1:${pb}`), 60, 4);
    await waitFor('the first datagrams', () => ib.data.length > 0);
    await waitFor('the reader to starve', () => b.starvedReads > 0);
    const got = ib.data.length;
    assert.ok(got <= 20, `no more than the budget allows (${got})`);
    await new Promise((r) => setTimeout(r, 50));
    assert.equal(ib.data.length, got, 'nothing read while starved');
    ib.hold = false;
    for (const buf of ib.held.splice(0)) buf.release();
    b.resume();
    await waitFor('all 60', () => ib.data.length >= 60);
    assertBatch(ib, 60, 4);
  } finally {
    await a.close();
    await b.close();
  }
  assert.equal(poolA.outstanding + poolB.outstanding, 0);
});

test('read slots the kernel did not fill are kept for the next read, and given back on close', { skip }, async () => {
  await withPair({ gro: false }, async ({ a, ib, pb, poolA, poolB }) => {
    sendBatch(a, poolA, a.parseEndpoint(`127.0.0.1:${pb}`), 5, 7);
    await waitFor('5 datagrams', () => ib.data.length >= 5);
    // The first read took 8 slots and filled 5 (handed on and released by the inbox): 3 stay held.
    assert.equal(poolB.outstanding, 3);
  });
});

test('pause() stops delivery until resume()', { skip }, async () => {
  const pool = new TieredPool();
  const { a, b, ib, pb } = await pair(pool, pool);
  try {
    b.pause();
    sendBatch(a, pool, a.parseEndpoint(`[::1]:${pb}`), 5, 5);
    await new Promise((r) => setTimeout(r, 50));
    assert.equal(ib.data.length, 0);
    b.resume();
    await waitFor('5 datagrams', () => ib.data.length >= 5);
    assertBatch(ib, 5, 5);
  } finally {
    await a.close();
    await b.close();
  }
  assert.equal(pool.outstanding, 0);
});

test(`setMark: ${isRoot ? 'true as root' : 'false without CAP_NET_ADMIN'}`, { skip }, async () => {
  const pool = new TieredPool();
  const bind = new LinuxBind();
  await bind.open(0, new Inbox(), pool);
  try {
    assert.equal(bind.setMark(0x1234), isRoot);
    assert.equal(bind.setMark(0), isRoot);
  } finally {
    await bind.close();
  }
  assert.equal(pool.outstanding, 0);
});

test('sends to a family with no socket are dropped and released; a taken port is EADDRINUSE', { skip }, async () => {
  const pool = new TieredPool();
  const v4only = new LinuxBind({ ipv6: false });
  const port = await v4only.open(0, new Inbox(), pool);
  try {
    assert.deepEqual(v4only.boundPorts, { v4: port, v6: null });
    sendBatch(v4only, pool, v4only.parseEndpoint('[::1]:9'), 3, 6);
    assert.equal(v4only.sendDropped, 3);
    const other = new LinuxBind();
    await assert.rejects(other.open(port, new Inbox(), pool), (err: unknown) => (err as { code?: string }).code === 'EADDRINUSE');
    await other.close();
  } finally {
    await v4only.close();
  }
  assert.equal(pool.outstanding, 0);
});

test('jumbo datagrams: the first is truncated and dropped, then slots grow and the rest arrive whole', { skip }, async () => {
  await withPair({ gro: false }, async ({ a, b, ib, pb, poolA }) => {
    const toB = a.parseEndpoint(`127.0.0.1:${pb}`);
    const big = (salt: number): Uint8Array => {
      const d = new Uint8Array(34_000);
      for (let i = 0; i < d.length; i++) d[i] = (i * 7 + salt) & 0xff;
      return d;
    };
    const send = (salt: number): void => {
      const d = big(salt);
      const buf = poolA.get(d.length)!;
      buf.bytes.set(d, buf.start);
      buf.end = buf.start + d.length;
      a.send([buf], 1, toB);
    };
    send(1);
    await waitFor('the truncated one', () => b.truncated === 1);
    for (let s = 2; s <= 4; s++) send(s);
    await waitFor('3 jumbo datagrams', () => ib.data.length >= 3);
    for (let i = 0; i < 3; i++) assert.ok(Buffer.from(ib.data[i]!).equals(Buffer.from(big(i + 2))), `jumbo ${i}`);
    assert.equal(b.truncated, 1);
  });
});

test('equal-sized packets leave as UDP_SEGMENT super-datagrams and arrive as separate exact datagrams', { skip }, async () => {
  await withPair({}, async ({ a, ib, pb, poolA }) => {
    const toB = a.parseEndpoint(`127.0.0.1:${pb}`);
    const sizes = [...new Array<number>(99).fill(1200), 300];
    a.send(sizedBatch(poolA, sizes), sizes.length, toB);
    await waitFor('100 datagrams', () => ib.data.length >= 100);
    assertSized(ib, sizes);
    assert.ok(a.gsoSends >= 2 && a.gsoSends <= 4, `super-datagrams: ${a.gsoSends}`);
  });
});

test('UDP GRO: a run of equal datagrams arrives as one buffer with its segment size, cut exactly; forced off, one per buffer', { skip }, async () => {
  for (const gro of [true, false]) {
    await withPair({ gro }, async ({ a, b, ib, pb, poolA }) => {
      assert.equal(b.groSockets > 0, gro, 'the kernel took UDP_GRO (Linux 5.0+) unless told not to ask');
      const toB = a.parseEndpoint(`127.0.0.1:${pb}`);
      const sizes = [...new Array<number>(63).fill(1452), 400];
      a.send(sizedBatch(poolA, sizes), sizes.length, toB);
      await waitFor('64 datagrams', () => ib.data.length >= 64);
      assertSized(ib, sizes);
      if (gro) {
        assert.ok(ib.coalesced > 0 && b.groReads > 0, `coalesced reads: ${ib.coalesced}`);
      } else {
        assert.equal(ib.coalesced, 0);
        assert.equal(b.groReads, 0);
      }
    });
  }
});

test('UDP GRO: a busy socket holds at most GRO_READ_SLOTS read slots of the large tier', { skip }, async () => {
  await withPair({}, async ({ a, ib, pb, poolA, poolB }) => {
    ib.hold = true;
    const toB = a.parseEndpoint(`127.0.0.1:${pb}`);
    for (let round = 0; round < 8; round++) a.send(sizedBatch(poolA, new Array<number>(64).fill(1000)), 64, toB);
    await waitFor('512 datagrams', () => ib.data.length >= 512);
    const slotsHeld = poolB.outstanding - ib.held.length;
    assert.ok(slotsHeld >= 1 && slotsHeld <= GRO_READ_SLOTS, `read slots held by the socket: ${slotsHeld}`);
    assert.ok(ib.held.every((buf) => buf.capacity >= 65535), 'GRO slots are large enough for 64 KiB');
    for (const buf of ib.held.splice(0)) buf.release();
  });
});

test('a zone names an interface of ours: kept as written, resolved to its index; an unknown name is refused', { skip }, async () => {
  const bind = new LinuxBind();
  const byName = bind.parseEndpoint('[fe80::1%lo]:51820') as LinuxEndpoint;
  assert.equal(byName.toString(), '[fe80::1%lo]:51820');
  assert.equal(byName.scopeId, 1, 'lo is interface 1');
  assert.equal(bind.parseEndpoint('[fe80::1%lo]:51820'), byName, 'interned with its scope');
  const plain = bind.parseEndpoint('[fe80::1]:51820') as LinuxEndpoint;
  assert.notEqual(plain, byName, 'the same address without a zone is another endpoint');
  assert.equal(plain.scopeId, 0);
  const byIndex = bind.parseEndpoint('[fe80::2%1]:51820') as LinuxEndpoint;
  assert.equal(byIndex.toString(), '[fe80::2%1]:51820', 'an index stays an index');
  assert.equal(byIndex.scopeId, 1);
  assert.throws(() => bind.parseEndpoint(`[fe80::1%nosuch${process.pid % 1000}]:1`), /no interface has that name/);
  // One learned from a packet (scope only) prints its interface's name, as wireguard-go does.
  const learned = new LinuxEndpoint(byName.addressBytes, 9, '', 1);
  assert.equal(learned.toString(), '[fe80::1%lo]:9');
  assert.equal(new LinuxEndpoint(byName.addressBytes, 9, '', 0x7ffffff0).zone, String(0x7ffffff0), 'no such interface: its index');
  await bind.close();
});
