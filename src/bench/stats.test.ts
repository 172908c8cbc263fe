// The benchmark tables' figures: medians that skip missing runs, ratios matched by round, and '-'
// for what is missing.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { fmt, median, ratioMedian } from './stats.js';

test('median: middle value, mean of the middle two, NaN runs skipped, NaN when none', () => {
  assert.equal(median([3, 1, 2]), 2);
  assert.equal(median([4, 1, 3, 2]), 2.5);
  assert.equal(median([NaN, 5, NaN, 1, 3]), 3);
  assert.ok(Number.isNaN(median([])));
  assert.ok(Number.isNaN(median([NaN, NaN])));
});

test('median does not reorder its input', () => {
  const xs = [3, 1, 2];
  median(xs);
  assert.deepEqual(xs, [3, 1, 2]);
});

test('ratioMedian pairs samples by round, not by position, and skips unmatched rounds', () => {
  const mine = [
    { round: 0, v: 2 },
    { round: 1, v: 3 },
    { round: 2, v: 8 },
  ];
  // Listed out of order, and round 2 missing: the ratios are 2/1 and 3/2.
  const theirs = [
    { round: 1, v: 2 },
    { round: 0, v: 1 },
  ];
  assert.equal(
    ratioMedian(mine, theirs, (s) => s.v),
    (2 / 1 + 3 / 2) / 2,
  );
  assert.ok(Number.isNaN(ratioMedian(mine, [], (s) => s.v)));
});

test('ratioMedian: a failed round (NaN) does not poison the others', () => {
  const mine = [
    { round: 0, v: NaN },
    { round: 1, v: 4 },
    { round: 2, v: 6 },
  ];
  const theirs = [
    { round: 0, v: 1 },
    { round: 1, v: 2 },
    { round: 2, v: 2 },
  ];
  assert.equal(
    ratioMedian(mine, theirs, (s) => s.v),
    2.5,
  );
});

test('fmt: fixed digits, and a dash for NaN and infinities', () => {
  assert.equal(fmt(1.23456), '1.23');
  assert.equal(fmt(1.25, 1), '1.3');
  assert.equal(fmt(7, 0), '7');
  assert.equal(fmt(NaN), '-');
  assert.equal(fmt(1 / 0), '-');
});
