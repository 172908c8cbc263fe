// Reassembly ranges, table-driven: merging (overlap, touching, spanning several), the table bound,
// advancing RCV.NXT through the first range, duplicates, sequence wrap, and RFC 2018 §4's SACK block
// order (most recent first, then recently reported, then the rest highest first).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Reassembly } from './reassembly.js';
import { MAX_OOO_RANGES } from './constants.js';

function ranges(r: Reassembly): [number, number][] {
  const out: [number, number][] = [];
  for (let i = 0; i < r.count; i++) out.push([r.starts[i]! >>> 0, r.ends[i]! >>> 0]);
  return out;
}

const cases: { name: string; adds: [number, number][]; want: [number, number][] }[] = [
  { name: 'one range', adds: [[10, 20]], want: [[10, 20]] },
  { name: 'disjoint, kept sorted', adds: [[50, 60], [10, 20], [30, 40]], want: [[10, 20], [30, 40], [50, 60]] },
  { name: 'touching merges', adds: [[10, 20], [20, 30]], want: [[10, 30]] },
  { name: 'touching on the left merges', adds: [[20, 30], [10, 20]], want: [[10, 30]] },
  { name: 'overlap extends both ways', adds: [[20, 30], [15, 35]], want: [[15, 35]] },
  { name: 'inside an existing range', adds: [[10, 40], [20, 30]], want: [[10, 40]] },
  { name: 'spanning several', adds: [[10, 20], [30, 40], [50, 60], [70, 80], [15, 55]], want: [[10, 60], [70, 80]] },
  { name: 'filling a gap exactly', adds: [[10, 20], [30, 40], [20, 30]], want: [[10, 40]] },
];

for (const c of cases) {
  test(`add: ${c.name}`, () => {
    const r = new Reassembly();
    for (const [s, e] of c.adds) assert.equal(r.add(s, e, 0), true);
    assert.deepEqual(ranges(r), c.want);
  });
}

test('add across the 2^32 wrap, relative to RCV.NXT', () => {
  const r = new Reassembly();
  const base = 2 ** 32 - 100;
  r.add(2 ** 32 - 50, 2 ** 32 - 20, base);
  r.add(30, 60, base);
  r.add(2 ** 32 - 20, 30, base);
  assert.deepEqual(ranges(r), [[2 ** 32 - 50, 60]]);
});

test('the table is bounded: a range that needs a new slot is refused, a merging one is not', () => {
  const r = new Reassembly();
  for (let i = 0; i < MAX_OOO_RANGES; i++) assert.equal(r.add(100 + 20 * i, 110 + 20 * i, 0), true);
  assert.equal(r.add(5000, 5010, 0), false);
  assert.equal(r.count, MAX_OOO_RANGES);
  assert.equal(r.add(110, 120, 0), true, 'joins two ranges');
  assert.equal(r.count, MAX_OOO_RANGES - 1);
});

test('advance: RCV.NXT takes the first range when it reaches it', () => {
  const r = new Reassembly();
  r.add(100, 200, 0);
  r.add(300, 400, 0);
  assert.equal(r.advance(50), 50, 'a hole remains');
  assert.equal(r.advance(100), 200);
  assert.equal(r.advance(250), 250);
  assert.equal(r.advance(350), 400, 'overlapping delivery');
  assert.equal(r.count, 0);
});

test('holds: duplicates of held data', () => {
  const r = new Reassembly();
  r.add(100, 200, 0);
  assert.equal(r.holds(120, 180), true);
  assert.equal(r.holds(100, 200), true);
  assert.equal(r.holds(150, 250), false);
});

test('SACK blocks: most recent first, then the recently reported, then highest first (RFC 2018 §4)', () => {
  const r = new Reassembly();
  const out = new Int32Array(8);
  r.add(100, 110, 0);
  r.add(300, 310, 0);
  r.add(200, 210, 0);
  assert.equal(r.sackBlocks(out, 0, 3), 3);
  assert.deepEqual([...out.subarray(0, 6)], [200, 210, 300, 310, 100, 110]);
  // A segment extending the first range makes it the first block.
  r.add(110, 120, 0);
  assert.equal(r.sackBlocks(out, 0, 2), 2);
  assert.deepEqual([...out.subarray(0, 4)], [100, 120, 200, 210]);
  // Five ranges, three blocks: the two recent ones, then the highest of the rest.
  r.add(500, 510, 0);
  r.add(400, 410, 0);
  r.add(600, 610, 0);
  assert.equal(r.sackBlocks(out, 0, 3), 3);
  assert.deepEqual([...out.subarray(0, 6)], [600, 610, 400, 410, 500, 510]);
  // Delivered ranges drop out.
  assert.equal(r.advance(100), 120);
  r.add(250, 260, 120);
  assert.equal(r.sackBlocks(out, 0, 4), 4);
  assert.deepEqual([...out.subarray(0, 8)], [250, 260, 600, 610, 400, 410, 500, 510]);
});

test('no tables until the first range; clear() gives them back and they come again', () => {
  const r = new Reassembly();
  assert.equal(r.starts.length, 0);
  assert.ok(r.add(2000, 3000, 1000));
  assert.ok(r.starts.length > 0);
  assert.deepEqual([r.count, r.highest(0)], [1, 3000]);
  r.clear();
  assert.deepEqual([r.count, r.starts.length, r.ends.length], [0, 0, 0]);
  assert.ok(r.add(5000, 5100, 1000));
  const out = new Int32Array(8);
  assert.equal(r.sackBlocks(out, 0, 4), 1);
  assert.deepEqual([out[0], out[1]], [5000, 5100]);
});
