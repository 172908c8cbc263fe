// The batched Linux bind over loopback (127.0.0.1 and ::1): no root needed, except for SO_MARK.
// Two binds exchange batches with exact bytes; endpoints are interned and carry the sticky source
// address; backpressure stops and resumes reading; close gives every buffer back.
import { strict as assert } from 'node:assert';
import { test } from 'node:test';
import { Budget } from '../buffer/budget.js';
import type { PacketBuffer } from '../buffer/packet-buffer.js';
import { TieredPool } from '../buffer/tiered-pool.js';
import { native, nativeError } from '../native/index.js';
import type { BindHandler, Endpoint } from './bind.js';
import { LinuxBind, LinuxEndpoint } from './linux.js';

const skip = native === null && process.env['CI'] !== 'true' ? `native shim not loaded: ${nativeError}` : false;
const isRoot = process.getuid?.() === 0;

/** Keeps copies of what arrives, and (unless told to hold them) releases the buffers at once. */
class Inbox implements BindHandler {
  data: Uint8Array[] = [];
  from: Endpoint[] = [];
  held: PacketBuffer[] = [];
  batches = 0;
  hold = false;
  onDatagrams(bufs: PacketBuffer[], endpoints: Endpoint[], count: number): void {
    this.batches++;
    for (let i = 0; i < count; i++) {
      this.data.push(bufs[i]!.data().slice());
      this.from.push(endpoints[i]!);
      if (this.hold) this.held.push(bufs[i]!);
      else bufs[i]!.release();
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

function assertBatch(inbox: Inbox, n: number, salt: number): void {
  assert.equal(inbox.data.length, n);
  for (let i = 0; i < n; i++) assert.ok(Buffer.from(inbox.data[i]!).equals(Buffer.from(datagram(i, salt))), `datagram ${i}`);
}

async function pair(poolA: TieredPool, poolB: TieredPool): Promise<{ a: LinuxBind; b: LinuxBind; ia: Inbox; ib: Inbox; pa: number; pb: number }> {
  const a = new LinuxBind();
  const b = new LinuxBind();
  const ia = new Inbox();
  const ib = new Inbox();
  const pa = await a.open(0, ia, poolA);
  const pb = await b.open(0, ib, poolB);
  return { a, b, ia, ib, pa, pb };
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
      assert.deepEqual([...fromA.srcAddress], family === 4 ? [127, 0, 0, 1] : [...new Uint8Array(15), 1]);
      sendBatch(b, poolB, fromA, 100, 2);
      await waitFor('100 replies', () => ia.data.length >= 100);
      assertBatch(ia, 100, 2);
      for (const ep of ia.from) assert.equal(ep, toB, "A sees the replies from the endpoint it sent to");
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
}

test('backpressure: an exhausted Source stops reading; resume() delivers the rest', { skip }, async () => {
  const poolA = new TieredPool();
  // Room for 20 small chunks: the reader runs dry with datagrams still queued in the kernel.
  const poolB = new TieredPool({ budget: new Budget(20 * 2048) });
  const { a, b, ib, pb } = await pair(poolA, poolB);
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
  const poolA = new TieredPool();
  const poolB = new TieredPool();
  const { a, b, ib, pb } = await pair(poolA, poolB);
  try {
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
  } finally {
    await a.close();
    await b.close();
  }
  assert.equal(poolA.outstanding + poolB.outstanding, 0);
});

test('equal-sized packets leave as UDP_SEGMENT super-datagrams and arrive as separate exact datagrams', { skip }, async () => {
  const poolA = new TieredPool();
  const poolB = new TieredPool();
  const { a, b, ib, pb } = await pair(poolA, poolB);
  try {
    const toB = a.parseEndpoint(`127.0.0.1:${pb}`);
    const sizes = [...new Array<number>(99).fill(1200), 300];
    const bufs: PacketBuffer[] = [];
    for (let i = 0; i < sizes.length; i++) {
      const buf = poolA.get(sizes[i]!)!;
      for (let k = 0; k < sizes[i]!; k++) buf.bytes[buf.start + k] = (i * 13 + k) & 0xff;
      buf.end = buf.start + sizes[i]!;
      bufs.push(buf);
    }
    a.send(bufs, bufs.length, toB);
    await waitFor('100 datagrams', () => ib.data.length >= 100);
    for (let i = 0; i < sizes.length; i++) {
      const d = ib.data[i]!;
      assert.equal(d.length, sizes[i]);
      for (let k = 0; k < d.length; k++) if (d[k] !== ((i * 13 + k) & 0xff)) assert.fail(`datagram ${i} byte ${k}`);
    }
    assert.ok(a.gsoSends >= 2 && a.gsoSends <= 4, `super-datagrams: ${a.gsoSends}`);
  } finally {
    await a.close();
    await b.close();
  }
  assert.equal(poolA.outstanding + poolB.outstanding, 0);
});
