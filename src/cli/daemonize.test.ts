// The detached daemon's Node flags: our young-generation cap, unless the user chose one.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { YOUNG_GENERATION_FLAG, daemonExecArgv } from './daemonize.js';

test('the daemon child gets the young-generation cap, and keeps a cap the user set instead', () => {
  assert.deepEqual(daemonExecArgv([]), [YOUNG_GENERATION_FLAG]);
  assert.deepEqual(daemonExecArgv(['--enable-source-maps']), [YOUNG_GENERATION_FLAG, '--enable-source-maps']);
  assert.deepEqual(daemonExecArgv(['--max-semi-space-size=16']), ['--max-semi-space-size=16']);
});
