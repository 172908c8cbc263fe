// IndexTable: indices are found exactly (an index sharing the map key's top 30 bits is not the same
// index), live indices never share a key, and delete removes only the index given.
import { strict as assert } from 'node:assert';
import { test } from 'node:test';
import { IndexTable } from './index-table.js';
import type { Handshake } from './noise.js';

const hs = {} as Handshake;

test('lookup and delete match the whole 32-bit index, not only the key bits', () => {
  const t = new IndexTable<string>();
  const i = t.newHandshakeIndex('peer', hs);
  assert.equal(t.lookup(i)?.peer, 'peer');
  const sibling = (i ^ 1) >>> 0; // same top 30 bits
  assert.equal(t.lookup(sibling), undefined);
  t.delete(sibling);
  assert.equal(t.lookup(i)?.peer, 'peer', 'deleting a sibling index leaves this one');
  t.delete(i);
  assert.equal(t.lookup(i), undefined);
  assert.equal(t.size, 0);
});

test('a thousand live indices: all distinct keys, each found', () => {
  const t = new IndexTable<number>();
  const all: number[] = [];
  for (let p = 0; p < 1000; p++) all.push(t.newHandshakeIndex(p, hs));
  assert.equal(new Set(all.map((i) => i >>> 2)).size, 1000);
  for (let p = 0; p < 1000; p++) assert.equal(t.lookup(all[p]!)?.peer, p);
  assert.ok(all.some((i) => i >= 2 ** 31), 'indices use all 32 bits');
});
