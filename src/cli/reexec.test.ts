// The daemon's start-up settings: which flags are missing, the tunables added only when none are set,
// and a real restart through execve (same pid, the flags and tunables in the new image, no loop).
import { strict as assert } from 'node:assert';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { native, nativeError } from '../native/load.js';
import { DAEMON_NODE_FLAGS, MMAP_THRESHOLD_TUNABLE, REEXEC_ENV, missingNodeFlags, withTunables } from './reexec.js';

const skip = native === null && process.env['CI'] !== 'true' ? `native shim not loaded: ${nativeError}` : false;

test('missingNodeFlags: a flag given in either spelling, with any value, is not added again', () => {
  assert.deepEqual(missingNodeFlags([]), [...DAEMON_NODE_FLAGS]);
  assert.deepEqual(missingNodeFlags(['--max-semi-space-size=4']), []);
  assert.deepEqual(missingNodeFlags(['--max_semi_space_size=2', '--inspect']), []);
  assert.deepEqual(missingNodeFlags(['--max-old-space-size=100']), [...DAEMON_NODE_FLAGS]);
});

test('withTunables adds the mmap threshold only when the environment sets no tunables', () => {
  assert.equal(withTunables({})['GLIBC_TUNABLES'], MMAP_THRESHOLD_TUNABLE);
  assert.equal(withTunables({ GLIBC_TUNABLES: 'glibc.malloc.arena_max=1' })['GLIBC_TUNABLES'], 'glibc.malloc.arena_max=1');
});

test('a process without the settings restarts once, keeping its pid, with them', { skip }, () => {
  const dir = mkdtempSync(join(tmpdir(), 'wgts-reexec-'));
  try {
    const script = join(dir, 'probe.mjs');
    const reexec = fileURLToPath(new URL('./reexec.js', import.meta.url));
    writeFileSync(
      script,
      `import { reexecWithSettings } from ${JSON.stringify(reexec)};\n` +
        `console.log(JSON.stringify({ pid: process.pid, flags: process.execArgv, tunables: process.env.GLIBC_TUNABLES ?? null, marked: process.env.${REEXEC_ENV} ?? null }));\n` +
        `reexecWithSettings(process.env);\n`,
    );
    const env: NodeJS.ProcessEnv = { ...process.env };
    delete env['GLIBC_TUNABLES'];
    delete env[REEXEC_ENV];
    const out = execFileSync(process.execPath, [script], { env, encoding: 'utf8' }).trim().split('\n').map((l) => JSON.parse(l) as { pid: number; flags: string[]; tunables: string | null; marked: string | null });
    assert.equal(out.length, 2, 'one restart, not a loop');
    assert.equal(out[0]!.pid, out[1]!.pid, 'execve keeps the pid');
    assert.deepEqual(out[0]!.flags, []);
    assert.deepEqual(out[1]!.flags, [...DAEMON_NODE_FLAGS]);
    assert.equal(out[1]!.tunables, MMAP_THRESHOLD_TUNABLE);
    assert.equal(out[1]!.marked, '1');
    // Started with the settings already: no restart.
    const again = execFileSync(process.execPath, [...DAEMON_NODE_FLAGS, script], { env: { ...env, GLIBC_TUNABLES: MMAP_THRESHOLD_TUNABLE }, encoding: 'utf8' });
    assert.equal(again.trim().split('\n').length, 1);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
