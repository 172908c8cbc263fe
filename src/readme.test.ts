/**
 * The README's examples are the files in examples/, block for block, and each runs as written.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, readdirSync } from 'node:fs';
import { execFileSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('../', import.meta.url));
const examples = readdirSync(root + 'examples').filter((f) => f.endsWith('.mjs')).sort();

/** What each example prints when it worked. */
const EXPECTED: Record<string, RegExp[]> = {
  'tunnel.mjs': [/A fetched: hello 10\.0\.0\.1, you asked for \/hi/, /A read \d+ bytes from 10\.0\.0\.2:80/, /A got: hello through the tunnel from 10\.0\.0\.2:7/, /"lastHandshake":[1-9]/],
  'two-devices.mjs': [/B received: hello through the tunnel/, /A: handshake with /],
};

test('every js block of the README is a file in examples/, and every example is in the README', () => {
  const readme = readFileSync(root + 'README.md', 'utf8');
  const blocks = [...readme.matchAll(/```js\n([\s\S]*?)```/g)].map((m) => m[1]!);
  assert.ok(blocks.length > 0, 'README has no js block');
  const files = new Map(examples.map((f) => [f, readFileSync(root + 'examples/' + f, 'utf8')]));
  for (const block of blocks) {
    assert.ok([...files.values()].includes(block), `a README block is not any file in examples/:\n${block.slice(0, 200)}`);
  }
  for (const [name, text] of files) assert.ok(blocks.includes(text), `examples/${name} is not in the README`);
  assert.deepEqual(Object.keys(EXPECTED).sort(), examples, 'each example has its expected output here');
});

for (const name of examples) {
  test(`examples/${name} runs as written`, () => {
    const out = execFileSync(process.execPath, [root + 'examples/' + name], { cwd: root, encoding: 'utf8', timeout: 30_000 });
    for (const re of EXPECTED[name] ?? []) assert.match(out, re);
  });
}
