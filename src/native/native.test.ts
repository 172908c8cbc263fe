// The shim's TypeScript face: errno names and NativeError, the SlabBatch layout (including memory
// N-API cannot take as an ArrayBuffer), address bytes, readiness, and the UDP batch calls' layouts:
// recvBatch's metadata (source, destination, interface) and sendBatch's UDP_SEGMENT hook.
import { strict as assert } from 'node:assert';
import { test } from 'node:test';
import {
  E_AGAIN,
  FdPoll,
  NativeError,
  POLL_READABLE,
  POLL_WRITABLE,
  RECV_ADDR_DST,
  RECV_ADDR_STRIDE,
  RECV_META_FAMILY,
  RECV_META_HAS_DST,
  RECV_META_IFINDEX,
  RECV_META_LENGTH,
  RECV_META_PORT,
  RECV_META_STRIDE,
  SlabBatch,
  addressBytes,
  closeFd,
  errnoCode,
  native,
  nativeError,
  openUdpSocket,
  socketPort,
} from './index.js';

const skip = native === null && process.env['CI'] !== 'true' ? `native shim not loaded: ${nativeError}` : false;

test('errno codes and NativeError name the syscall, the subject and the code', () => {
  assert.equal(errnoCode(1), 'EPERM');
  assert.equal(errnoCode(-11), 'EAGAIN');
  assert.equal(errnoCode(77), 'EBADFD');
  assert.equal(errnoCode(4095), 'E4095');
  const e = new NativeError(-16, 'ioctl(TUNSETIFF)', 'wg0');
  assert.equal(e.message, 'ioctl(TUNSETIFF) wg0: EBUSY');
  assert.equal(e.errno, 16);
  assert.equal(e.code, 'EBUSY');
  assert.equal(e.syscall, 'ioctl(TUNSETIFF)');
  assert.equal(e.subject, 'wg0');
  assert.equal(E_AGAIN, -11);
});

test('addressBytes reads IPv4, IPv6 (compressed, v4-mapped, zoned) and refuses names', () => {
  assert.deepEqual([...addressBytes(4, '192.0.2.7')], [192, 0, 2, 7]);
  assert.deepEqual([...addressBytes(6, '::1')], [...new Uint8Array(15), 1]);
  assert.deepEqual([...addressBytes(6, '2001:DB8::a:0:1')], [0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0x0a, 0, 0, 0, 1]);
  assert.deepEqual([...addressBytes(6, '::ffff:1.2.3.4')], [0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff, 1, 2, 3, 4]);
  assert.deepEqual([...addressBytes(6, 'fe80::1%lo')], [0xfe, 0x80, ...new Uint8Array(13), 1]);
  assert.deepEqual([...addressBytes(6, '1:2:3:4:5:6:7:8')], [0, 1, 0, 2, 0, 3, 0, 4, 0, 5, 0, 6, 0, 7, 0, 8]);
  assert.throws(() => addressBytes(4, 'localhost'), TypeError);
  assert.throws(() => addressBytes(6, '1.2.3.4'), TypeError);
});

test('SlabBatch shares one table entry per slab and views shared memory whole', () => {
  const b = new SlabBatch(8);
  const slab = new ArrayBuffer(4096);
  const shared = new SharedArrayBuffer(4096);
  b.set(0, new Uint8Array(slab, 0, 2048), 16, 100);
  b.set(1, new Uint8Array(slab, 2048, 2048), 16, 200);
  b.set(2, new Uint8Array(shared, 1024, 1024), 8, 50);
  b.set(3, new Uint8Array(shared, 2048, 1024), 8, 60);
  b.setEmpty(4);
  assert.equal(b.slabCount, 2);
  assert.deepEqual([...b.slabIndex.subarray(0, 5)], [0, 0, 1, 1, -1]);
  assert.deepEqual([...b.offsets.subarray(0, 4)], [16, 2064, 1032, 2056]);
  assert.deepEqual([...b.sizes.subarray(0, 4)], [100, 200, 50, 60]);
  assert.equal(b.slabs[0], slab);
  assert.ok(b.slabs[1] instanceof Uint8Array && b.slabs[1].buffer === shared && b.slabs[1].byteOffset === 0);
  b.clear();
  assert.equal(b.slabCount, 0);
  assert.equal((b.slabs[0] as ArrayBuffer).byteLength, 0, 'no slab stays pinned');
  assert.throws(() => new SlabBatch(129), RangeError);
});

test('sendBatch with UDP_SEGMENT splits one send into datagrams; recvBatch reports who and where', { skip }, async () => {
  const n = native!;
  const rx = openUdpSocket(4, '127.0.0.1', 0);
  const tx = openUdpSocket(4, '127.0.0.1', 0);
  try {
    const rxPort = socketPort(rx, 'rx');
    const txPort = socketPort(tx, 'tx');
    // Three windows in one SharedArrayBuffer-backed slab (the view path): 100 + 100 + 37 bytes.
    const mem = new Uint8Array(new SharedArrayBuffer(1024));
    for (let i = 0; i < mem.length; i++) mem[i] = i & 0xff;
    const w = new SlabBatch(3);
    w.set(0, mem, 0, 100);
    w.set(1, mem, 200, 100);
    w.set(2, mem, 400, 37);
    const sent = n.sendBatch(tx, w.slabs, w.slabIndex, w.offsets, w.sizes, 0, 3, 4, Uint8Array.of(127, 0, 0, 1), rxPort, Uint8Array.of(127, 0, 0, 1), 0, 100, 0);
    assert.equal(sent, 3, 'all segments or none');

    const slab = new ArrayBuffer(4 * 256);
    const r = new SlabBatch(4);
    for (let i = 0; i < 4; i++) r.set(i, new Uint8Array(slab), i * 256, 256);
    const meta = new Int32Array(4 * RECV_META_STRIDE);
    const addrs = new Uint8Array(4 * RECV_ADDR_STRIDE);
    let got = 0;
    const until = Date.now() + 2000;
    while (got < 3 && Date.now() < until) {
      const k = n.recvBatch(rx, r.slabs, r.slabIndex, r.offsets.subarray(got), r.sizes.subarray(got), 4 - got, meta.subarray(got * RECV_META_STRIDE), addrs.subarray(got * RECV_ADDR_STRIDE));
      assert.ok(k >= 0, `recvBatch: ${k}`);
      got += k;
      if (k === 0) await new Promise((res) => setTimeout(res, 5));
    }
    assert.equal(got, 3);
    const expect = [[0, 100], [200, 100], [400, 37]] as const;
    for (let i = 0; i < 3; i++) {
      const m = i * RECV_META_STRIDE;
      const a = i * RECV_ADDR_STRIDE;
      assert.equal(meta[m + RECV_META_LENGTH], expect[i]![1]);
      assert.ok(Buffer.from(slab, i * 256, expect[i]![1]).equals(Buffer.from(mem.subarray(expect[i]![0], expect[i]![0] + expect[i]![1]))), `datagram ${i}`);
      assert.equal(meta[m + RECV_META_FAMILY], 4);
      assert.equal(meta[m + RECV_META_PORT], txPort);
      assert.deepEqual([...addrs.subarray(a, a + 4)], [127, 0, 0, 1], 'source');
      assert.equal(meta[m + RECV_META_HAS_DST], 1);
      assert.deepEqual([...addrs.subarray(a + RECV_ADDR_DST, a + RECV_ADDR_DST + 4)], [127, 0, 0, 1], 'destination');
      assert.equal(meta[m + RECV_META_IFINDEX], 1, 'arrived on lo');
    }
  } finally {
    closeFd(rx);
    closeFd(tx);
  }
});

test('FdPoll calls its one callback on readiness, and start/stop/close are idempotent', { skip }, async () => {
  const fd = openUdpSocket(6, '::1', 0);
  const seen: number[] = [];
  const poll = new FdPoll(fd, (status, events) => {
    assert.equal(status, 0);
    seen.push(events);
    poll.stop();
  }, 'udp6 test');
  try {
    poll.start(POLL_READABLE | POLL_WRITABLE);
    // The first callback stops the poll; wait for it (a busy machine may take longer than a moment).
    for (let t = 0; t < 200 && seen.length === 0; t++) await new Promise((r) => setTimeout(r, 10));
    assert.deepEqual(seen, [POLL_WRITABLE], 'an idle socket is writable, not readable');
    assert.equal(poll.events, 0);
    poll.stop();
  } finally {
    poll.close();
    poll.close();
    closeFd(fd);
  }
  assert.throws(() => poll.start(POLL_READABLE), /closed/);
});
