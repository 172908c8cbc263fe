// `npm start` must keep working: the demo runs (small) and reports every check passed.
import { strict as assert } from 'node:assert';
import { spawnSync } from 'node:child_process';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';

test('the demo (npm start) moves data both ways through two Tunnels, checks it and leaks nothing', () => {
  const main = fileURLToPath(new URL('./main.js', import.meta.url));
  const r = spawnSync(process.execPath, [main], { env: { ...process.env, WGTS_DEMO_MIB: '2' }, encoding: 'utf8', timeout: 60_000 });
  assert.equal(r.status, 0, `demo exited ${r.status}: ${r.stdout}\n${r.stderr}`);
  assert.match(r.stdout, /download \(fetch, B -> A\): 2097152 bytes .* SHA-256 ok/);
  assert.match(r.stdout, /upload \(TCP socket over IPv6, A -> B\): 2097152 bytes .* SHA-256 ok/);
  assert.match(r.stdout, /UDP echo: ok/);
  assert.match(r.stdout, /buffers outstanding after close: 0\n/);
  assert.match(r.stdout, /demo OK/);
});
