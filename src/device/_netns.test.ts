// The namespace tests' helpers that need no namespace: stopChild ends a running child, and returns at
// once for one that already exited or was killed by a signal (whose exit event will not come again).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { stopChild } from './_netns.js';

test('stopChild terminates a running child and resolves once it has exited', { timeout: 10_000 }, async () => {
  const child = spawn(process.execPath, ['-e', 'setInterval(() => {}, 1000)']);
  await once(child, 'spawn');
  await stopChild(child);
  assert.equal(child.signalCode, 'SIGTERM');
});

test('stopChild returns for a child already killed by a signal (no exit code)', { timeout: 10_000 }, async () => {
  const child = spawn(process.execPath, ['-e', 'setInterval(() => {}, 1000)']);
  await once(child, 'spawn');
  child.kill('SIGKILL');
  await once(child, 'exit');
  assert.equal(child.exitCode, null);
  await stopChild(child);
  assert.equal(child.signalCode, 'SIGKILL');
});

test('stopChild returns for a child that exited on its own', { timeout: 10_000 }, async () => {
  const child = spawn(process.execPath, ['-e', 'process.exit(3)']);
  await once(child, 'exit');
  await stopChild(child);
  assert.equal(child.exitCode, 3);
});
