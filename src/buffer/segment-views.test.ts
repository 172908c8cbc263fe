// SegmentViews: views of a parent's segments share its memory, each has the segment as its chunk and
// window, the parent goes back with the last view (in any order), handles are reused, and a second
// release is refused.
import { strict as assert } from 'node:assert';
import { test } from 'node:test';
import { SegmentViews } from './segment-views.js';
import { TieredPool } from './tiered-pool.js';
import type { PacketBuffer } from './packet-buffer.js';

test('views window the segments in place; the parent goes back with the last one', () => {
  const pool = new TieredPool({ debug: false });
  const views = new SegmentViews();
  const parent = pool.get(5000)!;
  for (let i = 0; i < 4500; i++) parent.bytes[parent.start + i] = i & 0xff;
  parent.end = parent.start + 4500;
  const seg = 1000;
  const g = views.group(parent, 5);
  const vs: PacketBuffer[] = [];
  for (let off = parent.start; off < parent.end; off += seg) vs.push(views.view(g, off, Math.min(off + seg, parent.end)));
  assert.equal(vs.length, 5);
  assert.deepEqual(vs.map((v) => v.end - v.start), [1000, 1000, 1000, 1000, 500]);
  for (const v of vs) {
    assert.equal(v.bytes, parent.bytes, 'the same memory, no copy');
    assert.equal(v.headroom, 0);
    assert.equal(v.bytes[v.start], (v.start - parent.start) & 0xff);
  }
  vs[4]!.bytes[vs[4]!.start] = 0xee;
  assert.equal(parent.bytes[parent.start + 4000], 0xee);
  assert.equal(views.outstanding, 5);
  // Released out of order: the parent stays out until the last.
  for (const i of [3, 0, 4, 1]) vs[i]!.release();
  assert.equal(pool.outstanding, 1);
  vs[2]!.release();
  assert.equal(pool.outstanding, 0);
  assert.equal(views.outstanding, 0);
  assert.throws(() => vs[2]!.release(), /released twice/);
});

test('handles and groups are reused: a second round makes no new ones', () => {
  const pool = new TieredPool({ debug: false });
  const views = new SegmentViews();
  const round = () => {
    const out: PacketBuffer[] = [];
    for (let p = 0; p < 3; p++) {
      const parent = pool.get(3000)!;
      parent.end = parent.start + 3000;
      const g = views.group(parent, 3);
      for (let k = 0; k < 3; k++) out.push(views.view(g, parent.start + k * 1000, parent.start + (k + 1) * 1000));
    }
    for (const v of out) v.release();
    return new Set(out);
  };
  const first = round();
  const second = round();
  assert.equal(first.size, 9);
  assert.ok([...second].every((v) => first.has(v)), 'the same nine handles');
  assert.equal(pool.outstanding, 0);
});
