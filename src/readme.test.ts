/**
 * The README's library example is the file examples/two-devices.mjs, and it runs as written.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { execFileSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('../', import.meta.url));

test('README example equals examples/two-devices.mjs', () => {
  const readme = readFileSync(root + 'README.md', 'utf8');
  const example = readFileSync(root + 'examples/two-devices.mjs', 'utf8');
  const block = /```js\n([\s\S]*?)```/.exec(readme);
  assert.ok(block, 'README has no js block');
  assert.equal(block[1], example);
});

test('the example runs and a packet crosses the tunnel', () => {
  const out = execFileSync(process.execPath, [root + 'examples/two-devices.mjs'], { cwd: root, encoding: 'utf8', timeout: 30_000 });
  assert.match(out, /B received: hello through the tunnel/);
  assert.match(out, /A: handshake with /);
});
