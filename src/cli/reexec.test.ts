// The daemon's start-up settings: which flags are missing, the tunables added only when none are set,
// and a real restart through execve (same pid, the flags and tunables in the new image, no loop), for
// the daemon and for `wgts proxy`.
import { strict as assert } from 'node:assert';
import { execFileSync, spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
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

test('wgts proxy in the foreground runs with the settings too (same pid, the flag on its command line)', { skip: skip || (process.platform !== 'linux' ? 'reads /proc' : false) }, async () => {
  const { generatePrivateKey, publicKey } = await import('../crypto/x25519.js');
  const { keyToBase64 } = await import('../crypto/keys.js');
  const dir = mkdtempSync(join(tmpdir(), 'wgts-reexec-'));
  const conf = join(dir, 'proxy.conf');
  writeFileSync(
    conf,
    `[Interface]\nPrivateKey = ${keyToBase64(generatePrivateKey())}\nAddress = 10.77.0.2/32\n\n` +
      `[Peer]\nPublicKey = ${keyToBase64(publicKey(generatePrivateKey()))}\nEndpoint = 127.0.0.1:9\nAllowedIPs = 10.77.0.0/24\n\n` +
      `[Socks5]\nBindAddress = 127.0.0.1:0\n`,
  );
  const env: NodeJS.ProcessEnv = { ...process.env };
  delete env['GLIBC_TUNABLES'];
  delete env[REEXEC_ENV];
  const main = fileURLToPath(new URL('./main.js', import.meta.url));
  const child = spawn(process.execPath, [main, 'proxy', '-c', conf], { env, stdio: ['ignore', 'ignore', 'pipe'] });
  try {
    let err = '';
    await new Promise<void>((resolve, reject) => {
      child.stderr.on('data', (d: Buffer) => {
        err += d.toString();
        if (err.includes('listening')) resolve();
      });
      child.on('exit', (code) => reject(new Error(`proxy exited ${code}: ${err}`)));
    });
    const cmdline = readFileSync(`/proc/${child.pid}/cmdline`, 'utf8').split('\0');
    for (const flag of DAEMON_NODE_FLAGS) assert.ok(cmdline.includes(flag), `${flag} in ${cmdline.join(' ')}`);
    const environ = readFileSync(`/proc/${child.pid}/environ`, 'utf8').split('\0');
    assert.ok(environ.includes(`GLIBC_TUNABLES=${MMAP_THRESHOLD_TUNABLE}`));
  } finally {
    child.kill('SIGTERM');
    rmSync(dir, { recursive: true, force: true });
  }
});
