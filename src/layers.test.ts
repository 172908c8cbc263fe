// scripts/lint-layers.mjs (npm run lint:layers) on a small tree of its own: it passes imports that
// point down, and names every upward import, import of the package root, cycle (type-only imports
// included), unlisted directory and unresolvable import; and the real src/ passes.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

type Lint = (root?: string) => string[];
const { lint } = (await import(new URL('../scripts/lint-layers.mjs', import.meta.url).href)) as { lint: Lint };

function tree(files: Record<string, string>): string {
  const root = mkdtempSync(join(tmpdir(), 'wgts-layers-'));
  const src = join(root, 'src');
  for (const [path, text] of Object.entries(files)) {
    mkdirSync(dirname(join(src, path)), { recursive: true });
    writeFileSync(join(src, path), text);
  }
  return src;
}

test('imports that point down, and a root file importing anything, pass', () => {
  const src = tree({
    'base/clock.ts': 'export const A = 1;\n',
    'net/address.ts': "import { A } from '../base/clock.js';\nexport const B = A;\n",
    'device/peer.ts': "import type { B } from '../net/address.js';\nimport {\n  A,\n} from '../base/clock.js';\nexport { A };\n",
    'index.ts': "export * from './device/peer.js';\n",
    'index.test.ts': "import './index.js';\n",
    'bench/run.ts': "import { A } from '../base/clock.js';\nimport '../index.js';\n",
  });
  try {
    assert.deepEqual(lint(src), []);
  } finally {
    rmSync(dirname(src), { recursive: true, force: true });
  }
});

test('upward imports, the root or bench/ imported, cycles, unknown directories and missing files fail', () => {
  const src = tree({
    'base/clock.ts': "import type { P } from '../device/peer.js';\nexport type C = P;\n",
    'device/peer.ts': "export type P = number;\nimport { x } from './timers.js';\n",
    // (A dynamic import spelled out here would be one of this file's own.)
    'device/timers.ts': "import type { P } from './peer.js';\nexport const x: P = 1;\nconst y = await imp" + "ort('../bench/run.js');\n",
    'bench/run.ts': 'export const z = 1;\n',
    'tun/tun.ts': "import '../index.js';\nimport { q } from './missing.js';\n",
    'index.ts': 'export {};\n',
    'extra/thing.ts': 'export {};\n',
  });
  try {
    const problems = lint(src).join('\n');
    assert.match(problems, /src\/base\/clock\.ts:1: base imports device \(\.\.\/device\/peer\.js\): points up the layer list/);
    assert.match(problems, /src\/device\/timers\.ts:3: device imports bench .*no layer may import the package root, bench\/ or demo\//);
    assert.match(problems, /src\/tun\/tun\.ts:1: tun imports src .*no layer may import the package root/);
    assert.match(problems, /src\/tun\/tun\.ts:2: imports \.\/missing\.js, which is not a source file under src\//);
    assert.match(problems, /import cycle: src\/device\/peer\.ts -> src\/device\/timers\.ts -> src\/device\/peer\.ts/);
    assert.match(problems, /directory src\/extra\/ is not in the layer list/);
  } finally {
    rmSync(dirname(src), { recursive: true, force: true });
  }
});

test('the source tree itself holds to the layers', () => {
  const src = join(dirname(fileURLToPath(import.meta.url)), '..', 'src');
  assert.deepEqual(lint(src), []);
});
