/**
 * The outbound path's contract with buffers it did not make: a PacketBuffer's headroom and tailroom
 * are its own chunk's (BufferOrigin is public, so a back end may carve chunks that start anywhere in
 * shared memory), and sealing must never write outside the chunk.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { PacketBuffer, type BufferOrigin } from '../buffer/packet-buffer.js';
import { closePair, equalBytes, exchange, ipv4Packet, makePair, until } from './_testing.js';

const CHUNK = 256;

/** Three chunks back to back in one ArrayBuffer, as a foreign allocator might hand them out. */
class SharedChunks implements BufferOrigin {
  readonly bytes = new Uint8Array(3 * CHUNK);
  released = 0;
  release(buf: PacketBuffer): void {
    buf.live = false;
    this.released++;
  }
  /** Chunk i with `packet` filling it from its first byte: no headroom, and tailroom only past the packet. */
  chunk(i: number, packet: Uint8Array): PacketBuffer {
    const buf = new PacketBuffer(this.bytes, this, 0, i * CHUNK, (i + 1) * CHUNK);
    buf.live = true;
    buf.start = buf.base;
    buf.end = buf.start + packet.length;
    this.bytes.set(packet, buf.start);
    return buf;
  }
}

test('a foreign buffer without headroom or tailroom is sealed in a copy: its neighbours stay untouched', async () => {
  const p = await makePair();
  await exchange(p, 1);
  const shared = new SharedChunks();
  shared.bytes.fill(0xaa, 0, CHUNK);
  shared.bytes.fill(0xbb, 2 * CHUNK);
  const before = shared.bytes.slice();
  // A packet that fills chunk 1 exactly: the header would land in chunk 0, padding and tag in chunk 2.
  const packet = ipv4Packet('10.0.0.1', '10.0.0.2', CHUNK - 28, 7);
  const received = p.b.received.length;
  p.a.dev.onPackets([shared.chunk(1, packet)], 1);
  assert.ok(await until(() => p.b.received.length > received), 'the packet did not arrive');
  assert.ok(equalBytes(p.b.received[p.b.received.length - 1]!, packet));
  assert.ok(equalBytes(shared.bytes.subarray(0, CHUNK), before.subarray(0, CHUNK)), 'the header was written into the chunk before');
  assert.ok(equalBytes(shared.bytes.subarray(2 * CHUNK), before.subarray(2 * CHUNK)), 'padding or tag was written into the chunk after');
  assert.equal(shared.released, 1, 'the foreign buffer went back to its origin');
  const [oa, ob] = await closePair(p);
  assert.equal(oa + ob, 0);
});
