// Builds the native shim (native/ -> build/Release/wgts_native.node) with node-gyp, offline, against
// the running Node's own headers: <prefix>/include/node, where prefix is two levels above the node
// binary (/usr for /usr/bin/node). Run at `npm install`. A failed build is not an install failure:
// the library stays usable on its portable paths (node:dgram bind, Node's crypto, memory TUN), so this
// prints why and exits 0. WGTS_NATIVE_REQUIRED=1 makes a failure exit 1 (CI wants to know).
import { spawnSync } from 'node:child_process';
import { copyFileSync, existsSync, mkdirSync, rmSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const nativeDir = join(root, 'native');
const output = join(root, 'build', 'Release', 'wgts_native.node');
const required = process.env.WGTS_NATIVE_REQUIRED === '1';

function give_up(why) {
  console.warn(`wgts: native shim not built: ${why}`);
  console.warn('wgts: the library still works on its portable paths (node:dgram, node:crypto, memory TUN);');
  console.warn('wgts: the kernel TUN, the batched Linux bind and the daemon need the shim.');
  process.exit(required ? 1 : 0);
}

if (process.env.WGTS_SKIP_NATIVE === '1') give_up('WGTS_SKIP_NATIVE=1');
if (process.platform !== 'linux') give_up(`the shim is Linux-only (this is ${process.platform})`);

const nodedir = dirname(dirname(process.execPath));
if (!existsSync(join(nodedir, 'include', 'node', 'node_api.h'))) {
  give_up(`no Node headers at ${join(nodedir, 'include', 'node')} (install Node with its headers, e.g. the nodejs package or an official tarball)`);
}

// node-gyp: npm hands its bundled copy to install scripts (npm_config_node_gyp); otherwise a local
// install, then the copy inside npm next to this node. Never `npx`, which may reach the network.
const candidates = [
  process.env.npm_config_node_gyp,
  join(root, 'node_modules', 'node-gyp', 'bin', 'node-gyp.js'),
  join(nodedir, 'lib', 'node_modules', 'npm', 'node_modules', 'node-gyp', 'bin', 'node-gyp.js'),
];
const gyp = candidates.find((p) => p !== undefined && p !== '' && existsSync(p));
if (gyp === undefined) give_up('node-gyp not found (npm install --save-dev node-gyp)');

const args = [gyp, 'rebuild', '--release', `--nodedir=${nodedir}`, '--jobs=max'];
console.log(`wgts: building the native shim: node ${args.map((a) => JSON.stringify(a)).join(' ')}`);
const r = spawnSync(process.execPath, args, {
  cwd: nativeDir,
  stdio: 'inherit',
  // No proxy, no download: a missing header must fail here rather than fetch a tarball.
  env: { ...process.env, npm_config_nodedir: nodedir },
});
if (r.error !== undefined) give_up(`could not run node-gyp: ${r.error.message}`);
if (r.status !== 0) give_up(`node-gyp exited with ${r.status ?? r.signal} (needs python3, make and a C compiler)`);

const built = join(nativeDir, 'build', 'Release', 'wgts_native.node');
if (!existsSync(built)) give_up(`node-gyp succeeded but ${built} is missing`);
mkdirSync(dirname(output), { recursive: true });
copyFileSync(built, output);
// node-gyp's tree under native/ is scratch: "files" publishes native/, and a build/ inside it would go
// along. WGTS_KEEP_NATIVE_BUILD=1 keeps it (to look at the objects or the generated Makefile).
if (process.env.WGTS_KEEP_NATIVE_BUILD !== '1') rmSync(join(nativeDir, 'build'), { recursive: true, force: true });
console.log(`wgts: native shim built: ${output}`);
