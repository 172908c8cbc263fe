import { test } from 'node:test';
import assert from 'node:assert/strict';
import { daemonPool, DEFAULT_BUDGET_MIB } from './memory.js';

test('the daemon pool has a budget (64 MiB by default, settable, 0 for none) and refuses bad values', () => {
  const def = daemonPool({});
  assert.equal(def.budget?.limit, DEFAULT_BUDGET_MIB * 1024 * 1024);
  assert.equal(daemonPool({ WGTS_BUFFER_BUDGET_MIB: '8' }).budget?.limit, 8 * 1024 * 1024);
  assert.equal(daemonPool({ WGTS_BUFFER_BUDGET_MIB: '0' }).budget, null);
  for (const bad of ['-1', '1.5', 'lots', '9999999']) {
    assert.throws(() => daemonPool({ WGTS_BUFFER_BUDGET_MIB: bad }), /WGTS_BUFFER_BUDGET_MIB/);
  }
  // A tiny budget refuses buffers past it: readers then pause (backpressure) rather than grow.
  const small = daemonPool({ WGTS_BUFFER_BUDGET_MIB: '1' });
  const held = [];
  for (let b = small.get(1400); b !== null; b = small.get(1400)) held.push(b);
  assert.equal(held.length, (1024 * 1024) / 2048);
  for (const b of held) b.release();
  assert.equal(small.outstanding, 0);
  assert.notEqual(small.get(1400), null);
});
