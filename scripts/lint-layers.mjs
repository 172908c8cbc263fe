// npm run lint:layers: the layer rule of DESIGN.md "Layers", checked on the source. Every relative
// import under src/ (static, re-export, type-only and literal dynamic import() alike) must point to
// the same layer or one below it in LAYERS, and the files must not import each other in a cycle.
// bench/ and demo/ may import anything; the package root files (src/index.ts, src/*.test.ts) may
// import anything, and no layer may import them. A directory under src/ that is not listed fails:
// a new module takes its place in the list first. Exits 1 with one line per violation.
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, join, relative, resolve, sep } from 'node:path';
import { fileURLToPath } from 'node:url';

/** Bottom to top: a layer may import only itself and the layers before it. */
export const LAYERS = [
  'base', 'buffer', 'net', 'native', 'crypto', 'tun', 'conn', 'netstack',
  'config', 'device', 'tunnel', 'ipc', 'proxy', 'cli',
];
/** May import any layer; no layer may import them. */
const FREE = ['bench', 'demo'];

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..', 'src');

function sourceFiles(dir, out) {
  for (const name of readdirSync(dir)) {
    const p = join(dir, name);
    if (statSync(p).isDirectory()) sourceFiles(p, out);
    else if (name.endsWith('.ts') && !name.endsWith('.d.ts')) out.push(p);
  }
  return out;
}

// Imports and re-exports start a line (the house format): `import '...'`, or `import`/`export`, a
// list of names (braces, commas, `type`, `as`, `*`, possibly over several lines), `from '...'`. A line
// that starts so inside a template literal would count too: none does.
const STATIC = /^(?:import|export)\s+(?:[\w$*\s{},]*?\bfrom\s*)?(['"])([^'"\n]+)\1/gm;
const DYNAMIC = /\bimport\(\s*(['"])([^'"\n]+)\1\s*\)/g;

/** The relative specifiers `file` imports, with their line numbers. */
function importsOf(text) {
  const found = [];
  for (const re of [STATIC, DYNAMIC]) {
    re.lastIndex = 0;
    for (let m = re.exec(text); m !== null; m = re.exec(text)) {
      if (!m[2].startsWith('.')) continue; // node: built-ins and packages
      found.push({ spec: m[2], line: text.slice(0, m.index).split('\n').length });
    }
  }
  return found;
}

/** 'device' for src/device/peer.ts, '' for a file at the root of src/. */
function layerOf(root, file) {
  const parts = relative(root, file).split(sep);
  return parts.length > 1 ? parts[0] : '';
}

/** Every violation under `root` (a src/ directory), one line each; empty when the layers hold. */
export function lint(root = ROOT) {
  const problems = [];
  const files = sourceFiles(root, []).sort();
  const known = new Set(files);
  const graph = new Map();
  for (const file of files) {
    const from = layerOf(root, file);
    const where = relative(resolve(root, '..'), file);
    if (from !== '' && !LAYERS.includes(from) && !FREE.includes(from)) {
      problems.push(`${where}: directory src/${from}/ is not in the layer list of scripts/lint-layers.mjs`);
    }
    const edges = [];
    for (const { spec, line } of importsOf(readFileSync(file, 'utf8'))) {
      const target = resolve(dirname(file), spec.replace(/\.js$/, '.ts'));
      if (!known.has(target)) {
        problems.push(`${where}:${line}: imports ${spec}, which is not a source file under src/`);
        continue;
      }
      edges.push(target);
      const to = layerOf(root, target);
      const at = `${where}:${line}: ${from || 'src'} imports ${to || 'src'} (${spec})`;
      if (!LAYERS.includes(from)) continue; // the package root, bench/ and demo/ may import anything
      if (to === '' || FREE.includes(to)) {
        problems.push(`${at}: no layer may import the package root, bench/ or demo/`);
      } else if (LAYERS.indexOf(to) > LAYERS.indexOf(from)) {
        problems.push(`${at}: points up the layer list`);
      }
    }
    graph.set(file, edges);
  }
  for (const cycle of cycles(graph)) {
    problems.push(`import cycle: ${cycle.map((f) => relative(resolve(root, '..'), f)).join(' -> ')}`);
  }
  return problems;
}

/** One cycle per strongly connected component of more than one file (Tarjan), or a self-import. */
function cycles(graph) {
  const index = new Map();
  const low = new Map();
  const stack = [];
  const onStack = new Set();
  const out = [];
  let next = 0;
  const visit = (v) => {
    index.set(v, next);
    low.set(v, next);
    next++;
    stack.push(v);
    onStack.add(v);
    for (const w of graph.get(v)) {
      if (!index.has(w)) {
        visit(w);
        low.set(v, Math.min(low.get(v), low.get(w)));
      } else if (onStack.has(w)) {
        low.set(v, Math.min(low.get(v), index.get(w)));
      }
    }
    if (low.get(v) !== index.get(v)) return;
    const scc = [];
    let w;
    do {
      w = stack.pop();
      onStack.delete(w);
      scc.push(w);
    } while (w !== v);
    if (scc.length > 1 || graph.get(v).includes(v)) out.push(cyclePath(graph, new Set(scc), v));
  };
  for (const v of graph.keys()) if (!index.has(v)) visit(v);
  return out;
}

/** A concrete cycle through `start` inside one component, for the message: breadth-first back to start. */
function cyclePath(graph, scc, start) {
  const prev = new Map([[start, null]]);
  const queue = [start];
  while (queue.length > 0) {
    const v = queue.shift();
    for (const w of graph.get(v)) {
      if (!scc.has(w)) continue;
      if (w === start) {
        const path = [start];
        for (let u = v; u !== start; u = prev.get(u)) path.splice(1, 0, u);
        return [...path, start];
      }
      if (!prev.has(w)) {
        prev.set(w, v);
        queue.push(w);
      }
    }
  }
  return [start, start];
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const problems = lint();
  for (const p of problems) console.error(p);
  if (problems.length > 0) {
    console.error(`lint:layers: ${problems.length} problem(s); the layers, bottom to top: ${LAYERS.join(' -> ')}`);
    process.exit(1);
  }
  console.log(`lint:layers: imports point down (${LAYERS.join(' -> ')}), no cycles`);
}
