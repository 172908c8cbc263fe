// Tests for TAI64N: the byte layout against a BigInt reference, the whitener, wireguard-go's
// TestMonotonic cases (tai64n_test.go), and the ms and ns entry points against each other.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { randomInt } from 'node:crypto';
import { TAI64N_LEN, compareTai64n, tai64n, tai64nFromNs } from './tai64n.js';
import { toHex } from './_testing.js';

/** The definition, in BigInt: label 2^62 + 10 + seconds, then whitened nanoseconds. */
function reference(ns: bigint): string {
  let s = ns / 1_000_000_000n;
  let n = ns % 1_000_000_000n;
  if (n < 0n) {
    n += 1_000_000_000n;
    s -= 1n;
  }
  const label = (1n << 62n) + 10n + s;
  const whitened = n & ~0xffffffn;
  return label.toString(16).padStart(16, '0') + whitened.toString(16).padStart(8, '0');
}

function stampNs(ns: bigint): Uint8Array {
  const out = new Uint8Array(TAI64N_LEN);
  tai64nFromNs(out, ns);
  return out;
}

test('the Unix epoch is label 2^62 + 10', () => {
  const out = new Uint8Array(12);
  tai64n(out, 0);
  assert.equal(toHex(out), '400000000000000a00000000');
});

test('nanoseconds are rounded down to a multiple of 2^24', () => {
  const out = new Uint8Array(12);
  tai64n(out, 1_000_000_123.456); // 1,000,000 s + 123,456,000 ns
  assert.equal(toHex(out), reference(1_000_000_123_456_000n));
  assert.equal(toHex(out.subarray(8)), '07000000'); // 7 * 2^24 = 117,440,512 ns
});

test('wireguard-go TestMonotonic: whitened to more than 10 ms, fewer than 20 ms', () => {
  const start = 123_456_789n; // time.Unix(0, 123456789)
  const cases: [string, bigint, boolean][] = [
    ['after_10_ns', 10n, false],
    ['after_10_us', 10_000n, false],
    ['after_1_ms', 1_000_000n, false],
    ['after_10_ms', 10_000_000n, false],
    ['after_20_ms', 20_000_000n, true],
  ];
  for (const [name, delta, after] of cases) {
    const t1 = stampNs(start);
    const t2 = stampNs(start + delta);
    assert.equal(compareTai64n(t2, t1) > 0, after, name);
  }
});

test('layout against the BigInt reference, including the carry past 2^32 seconds and pre-1970', () => {
  const specials = [
    0n,
    1n,
    999_999_999n,
    (2n ** 32n - 11n) * 1_000_000_000n, // low word + 10 lands exactly on 2^32 - 1
    (2n ** 32n - 10n) * 1_000_000_000n, // ... carries into the high word
    (2n ** 32n + 5n) * 1_000_000_000n + 500_000_000n,
    -1n,
    -1_000_000_001n,
    1_700_000_000_123_456_789n,
  ];
  for (const ns of specials) assert.equal(toHex(stampNs(ns)), reference(ns), `ns ${ns}`);
});

test('tai64n(ms) agrees with tai64nFromNs on random wall-clock times', () => {
  for (let i = 0; i < 500; i++) {
    const ms = randomInt(0, 2 ** 47); // to ~6429 AD
    const frac = randomInt(0, 1000) / 1000;
    const a = new Uint8Array(12);
    tai64n(a, ms + frac);
    // Compare against the integer-ms reference; fractions below 1 ms move nanos by < 2^24 ns only
    // when they cross a whitener boundary, so bracket the result.
    const lo = reference(BigInt(ms) * 1_000_000n);
    const hi = reference(BigInt(ms + 1) * 1_000_000n);
    const got = toHex(a);
    assert.ok(got >= lo && got <= hi, `${ms + frac}: ${got} not in [${lo}, ${hi}]`);
    const b = new Uint8Array(12);
    tai64n(b, ms);
    assert.equal(toHex(b), lo);
  }
});

test('writes at an offset and nowhere else', () => {
  const buf = new Uint8Array(20).fill(0xcc);
  tai64n(buf, 1234.5, 5);
  assert.deepEqual(buf.subarray(0, 5), new Uint8Array(5).fill(0xcc));
  assert.deepEqual(buf.subarray(17), new Uint8Array(3).fill(0xcc));
  assert.equal(toHex(buf.subarray(5, 17)), reference(1_234_500_000n));
  assert.throws(() => tai64n(buf, 0, 9), RangeError);
  assert.throws(() => tai64n(new Uint8Array(11), 0), RangeError);
  assert.throws(() => tai64n(buf, Number.NaN), RangeError);
});

test('compareTai64n orders by seconds, then nanoseconds', () => {
  const a = stampNs(5_000_000_000n);
  const b = stampNs(5_100_000_000n);
  const c = stampNs(6_000_000_000n);
  assert.ok(compareTai64n(a, b) < 0);
  assert.ok(compareTai64n(b, a) > 0);
  assert.ok(compareTai64n(b, c) < 0);
  assert.equal(compareTai64n(a, stampNs(5_000_000_001n)), 0); // same whitened slot
  assert.ok(compareTai64n(new Uint8Array(12), a) < 0); // a zeroed "last seen" is before everything
});
