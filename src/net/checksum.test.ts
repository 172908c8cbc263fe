// The Internet checksum: RFC 1071's worked example, the fast word loop against the two-bytes-at-a-time
// reference on random data at sizes and alignments around the edges, and the pseudo-header sum.
import { strict as assert } from 'node:assert';
import { test } from 'node:test';
import { checksum, checksumReference, pseudoHeaderSum, pseudoHeaderSumOf, setIpv4HeaderChecksum } from './checksum.js';

test('RFC 1071 §3 numerical example: 00 01 f2 03 f4 f5 f6 f7 sums to ddf2', () => {
  const b = Uint8Array.from([0x00, 0x01, 0xf2, 0x03, 0xf4, 0xf5, 0xf6, 0xf7]);
  assert.equal(checksumReference(b, 0, 8, 0), 0xddf2);
  assert.equal(checksum(b, 0, 8, 0), 0xddf2);
  assert.equal(~checksumReference(b, 0, 8, 0) & 0xffff, 0x220d, 'the checksum is the complement');
});

test('an odd last byte is padded with zero; initial sums chain', () => {
  const b = Uint8Array.from([0x12, 0x34, 0x56]);
  assert.equal(checksumReference(b, 0, 3, 0), 0x1234 + 0x5600);
  assert.equal(checksumReference(b, 0, 3, 0xffff), (0x1234 + 0x5600 + 0xffff) % 0xffff);
  assert.equal(checksumReference(b, 0, 0, 7), 7, 'empty range: the initial value');
});

test('checksum (32-bit words) equals checksumReference at every alignment and edge size', () => {
  const ab = new ArrayBuffer(70000 + 64);
  let seed = 12345;
  const rnd = (): number => {
    seed = (Math.imul(seed, 1103515245) + 12345) >>> 0;
    return seed >>> 16;
  };
  const all = new Uint8Array(ab);
  for (let i = 0; i < all.length; i++) all[i] = rnd() & 0xff;
  const sizes = [0, 1, 2, 3, 4, 5, 7, 8, 15, 16, 17, 63, 64, 65, 66, 67, 127, 128, 1388, 1420, 1500, 2047, 9000, 65535];
  for (let viewOffset = 0; viewOffset < 8; viewOffset++) {
    const view = new Uint8Array(ab, viewOffset, ab.byteLength - 64);
    for (let start = 0; start < 8; start++) {
      for (const n of sizes) {
        const initial = rnd();
        assert.equal(checksum(view, start, start + n, initial), checksumReference(view, start, start + n, initial), `view +${viewOffset}, start ${start}, ${n} bytes`);
      }
    }
  }
  // All 0xff: the folded sum must come out 0xffff from both, never 0.
  const ones = new Uint8Array(4096).fill(0xff);
  assert.equal(checksum(ones, 1, 4001, 0), 0xffff);
  assert.equal(checksumReference(ones, 1, 4001, 0), 0xffff);
  assert.equal(checksum(new Uint8Array(256), 0, 256, 0), 0, 'all zero sums to zero');
  // Random lengths and starts.
  for (let k = 0; k < 2000; k++) {
    const start = rnd() % 200;
    const n = rnd() % 3000;
    assert.equal(checksum(all, start, start + n, k), checksumReference(all, start, start + n, k));
  }
});

test('pseudo-header sum: addresses, protocol and length (RFC 9293 §3.1, RFC 8200 §8.1)', () => {
  const p = new Uint8Array(40);
  p.set([10, 0, 0, 1, 10, 0, 0, 2], 12);
  assert.equal(pseudoHeaderSum(p, 12, 4, 6, 1000), 0x0a00 + 0x0001 + 0x0a00 + 0x0002 + 6 + 1000);
  const q = new Uint8Array(40);
  q[8] = 0xfd;
  q[23] = 1;
  q[24] = 0xfd;
  q[39] = 2;
  // 70000 is a 32-bit length for IPv6 (a jumbogram would need it): its high half counts too.
  assert.equal(pseudoHeaderSum(q, 8, 16, 17, 70000), (0xfd00 + 1 + 0xfd00 + 2 + 17 + 1 + (70000 & 0xffff)) % 0xffff);
  // The same sums from addresses held apart.
  assert.equal(pseudoHeaderSumOf(p.subarray(12, 16), p.subarray(16, 20), 6, 1000), pseudoHeaderSum(p, 12, 4, 6, 1000));
  assert.equal(pseudoHeaderSumOf(q.subarray(8, 24), q.subarray(24, 40), 17, 70000), pseudoHeaderSum(q, 8, 16, 17, 70000));
});

test('setIpv4HeaderChecksum makes the header sum to 0xffff', () => {
  const h = Uint8Array.from([0x45, 0, 0, 0x54, 0x12, 0x34, 0x40, 0, 64, 1, 0xaa, 0xbb, 10, 0, 0, 1, 10, 0, 0, 2]);
  setIpv4HeaderChecksum(h, 0, 20);
  assert.equal(checksumReference(h, 0, 20, 0), 0xffff);
});
