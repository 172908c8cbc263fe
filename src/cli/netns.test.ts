/**
 * Real-peer tests (DESIGN.md "Testing"): runs the namespace scripts in test/netns/ against the built
 * daemon (dist/cli/main.js). They need root, iproute2, wireguard-tools and python3; wireguard-go is the
 * reference peer. Without those they skip and say why, except under CI=true, where CI installs them and
 * a skip would hide a broken setup: there they fail.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const HERE = path.dirname(fileURLToPath(import.meta.url));
const ROOT = path.resolve(HERE, '../..');
const SCRIPTS = path.join(ROOT, 'test/netns');
const MAIN = path.join(ROOT, 'dist/cli/main.js');
const IN_CI = process.env['CI'] === 'true';
/** A script that runs longer is stuck (they take seconds); kill it so the suite ends. */
const SCRIPT_TIMEOUT_MS = 240_000;

function which(cmd: string): string | null {
  for (const dir of (process.env['PATH'] ?? '').split(':')) {
    const p = path.join(dir || '.', cmd);
    try {
      fs.accessSync(p, fs.constants.X_OK);
      return p;
    } catch {
      /* not here */
    }
  }
  for (const dir of ['/usr/sbin', '/sbin']) {
    const p = path.join(dir, cmd);
    if (fs.existsSync(p)) return p;
  }
  return null;
}

/** Why the whole suite cannot run here, or null. */
function missingBasics(): string | null {
  if (process.platform !== 'linux') return 'network namespaces are Linux only';
  if (process.getuid?.() !== 0) return 'needs root (network namespaces, TUN devices)';
  for (const cmd of ['ip', 'wg', 'python3', 'ping']) if (which(cmd) === null) return `\`${cmd}\` is not installed`;
  if (!fs.existsSync(MAIN)) return `${MAIN} is missing: build first`;
  return null;
}

const basics = missingBasics();
const debianGo = which('wireguard-go');
/** The current upstream build, when someone put it there (`go install`); optional everywhere. */
const upstreamGo = path.join(os.homedir(), 'go/bin/wireguard');
const hasUpstream = fs.existsSync(upstreamGo);

/** skip option for node:test: a reason to skip, or false; in CI a missing requirement fails instead. */
function skipUnless(reason: string | null, optional = false): string | false {
  if (reason === null) return false;
  if (IN_CI && !optional) return false; // run it, and fail on the reason below
  return reason;
}

/** Runs one script; returns how many checks passed (its "ok - " lines). Throws with the whole output on failure. */
function runScript(name: string, ...args: string[]): number {
  return runScriptWith({}, name, ...args);
}

/** runScript with more environment for the daemons the script starts (an offload forced off, say). */
function runScriptWith(env: Record<string, string>, name: string, ...args: string[]): number {
  if (basics !== null) assert.fail(`cannot run ${name} (CI=true forbids skipping): ${basics}`);
  // One stream, so failures read in order with the checks around them.
  const r = spawnSync('bash', ['-c', 'exec bash "$0" "$@" 2>&1', path.join(SCRIPTS, name), ...args], {
    encoding: 'utf8',
    timeout: SCRIPT_TIMEOUT_MS,
    env: { ...process.env, ...env, NODE: process.execPath },
  });
  const out = r.stdout ?? '';
  if (r.status !== 0) {
    assert.fail(`${name} ${args.join(' ')} failed (${r.signal ?? `exit ${r.status}`}):\n${out}`);
  }
  const lines = out.split('\n');
  // Skips, and figures a script measured (never asserted: performance belongs to benchmarks).
  for (const line of lines) if (line.includes('# SKIP') || line.startsWith('# measured:')) console.log(line);
  return lines.filter((l) => l.startsWith('ok - ')).length;
}

function goPeer(): string {
  if (debianGo === null) assert.fail('wireguard-go is not installed (CI installs it; CI=true forbids skipping)');
  return debianGo;
}

test('daemon lifecycle: CLI, refusals, signals, socket and interface removal, WG_*_FD', { skip: skipUnless(basics) }, (t) => {
  t.diagnostic(`${runScript('lifecycle.sh')} checks passed`);
});

test('interop: wgts <-> wgts', { skip: skipUnless(basics) }, (t) => {
  t.diagnostic(`${runScript('interop.sh', 'wgts')} checks passed`);
});

test('interop: wgts <-> wireguard-go (Debian)', { skip: skipUnless(basics ?? (debianGo === null ? 'wireguard-go is not installed' : null)) }, (t) => {
  t.diagnostic(`${runScript('interop.sh', goPeer())} checks passed`);
});

test('interop: wgts <-> wireguard-go (upstream build in ~/go/bin)', { skip: skipUnless(basics ?? (hasUpstream ? null : `${upstreamGo} not present`), !hasUpstream) }, (t) => {
  t.diagnostic(`${runScript('interop.sh', upstreamGo)} checks passed`);
});

test('wg show / showconf: wgts reads back like wireguard-go; refused settings change nothing', { skip: skipUnless(basics ?? (debianGo === null ? 'wireguard-go is not installed' : null)) }, (t) => {
  t.diagnostic(`${runScript('uapi-compat.sh', goPeer())} checks passed`);
});

test('wg-quick up/down with WG_QUICK_USERSPACE_IMPLEMENTATION=wgts', { skip: skipUnless(basics ?? (which('wg-quick') === null ? 'wg-quick is not installed' : null)) }, (t) => {
  t.diagnostic(`${runScript('wg-quick.sh', debianGo ?? 'wgts')} checks passed`);
});

test('wgts <-> wgts: setconf/addconf/syncconf, iperf3 UDP, MTU 34000, roaming both ways', { skip: skipUnless(basics) }, (t) => {
  t.diagnostic(`${runScript('features.sh', 'wgts')} checks passed`);
});

test('wgts <-> wireguard-go (Debian): setconf/addconf/syncconf, iperf3 UDP, MTU 34000, roaming both ways', { skip: skipUnless(basics ?? (debianGo === null ? 'wireguard-go is not installed' : null)) }, (t) => {
  t.diagnostic(`${runScript('features.sh', goPeer())} checks passed`);
});

test('wgts <-> wireguard-go (upstream): setconf/addconf/syncconf, iperf3 UDP, MTU 34000, roaming both ways', { skip: skipUnless(basics ?? (hasUpstream ? null : `${upstreamGo} not present`), !hasUpstream) }, (t) => {
  t.diagnostic(`${runScript('features.sh', upstreamGo)} checks passed`);
});

test('a fresh source address after listen-port and endpoint changes (renumbered loopback): wgts', { skip: skipUnless(basics) }, (t) => {
  t.diagnostic(`${runScript('source-address.sh', 'wgts')} checks passed`);
});

test('a fresh source address after listen-port and endpoint changes: wireguard-go (Debian) does the same', { skip: skipUnless(basics ?? (debianGo === null ? 'wireguard-go is not installed' : null)) }, (t) => {
  t.diagnostic(`${runScript('source-address.sh', goPeer())} checks passed`);
});

test('link-local endpoints keep their zone (set and learned), through showconf and syncconf/setconf: wgts <-> wgts', { skip: skipUnless(basics) }, (t) => {
  t.diagnostic(`${runScript('link-local.sh', 'wgts')} checks passed`);
});

// Debian's wireguard-go drops the zone (as wgts did); the current upstream keeps it, as here.
test('link-local endpoints keep their zone: wgts <-> wireguard-go (upstream), both ways', { skip: skipUnless(basics ?? (hasUpstream ? null : `${upstreamGo} not present`), !hasUpstream) }, (t) => {
  t.diagnostic(`${runScript('link-local.sh', 'wgts', upstreamGo)} + ${runScript('link-local.sh', upstreamGo, 'wgts')} checks passed`);
});

test('interfaces moved to other namespaces answer the first pings at once (wgts, and wireguard-go beside it)', { skip: skipUnless(basics) }, (t) => {
  const reference = hasUpstream ? upstreamGo : debianGo;
  t.diagnostic(`${reference === null ? runScript('move-first-ping.sh', 'wgts') : runScript('move-first-ping.sh', 'wgts', reference)} checks passed`);
});

test('interface moved to another namespace keeps working', { skip: skipUnless(basics) }, (t) => {
  t.diagnostic(`${runScript('netns-move.sh', 'wgts')} checks passed`);
});

/**
 * The data path with each offload forced off in turn (the daemon's switches), against wgts and the
 * upstream wireguard-go: ping and iperf3 TCP both ways must pass either way.
 */
const FORCED_OFF: readonly [string, string][] = [
  ['WGTS_TUN_OFFLOAD', 'TUN TSO/GRO'],
  ['WGTS_UDP_GRO', 'UDP GRO'],
  ['WGTS_UDP_GSO', 'UDP GSO'],
  ['WGTS_CRYPTO_THREADS', 'crypto threads'],
];
for (const [variable, what] of FORCED_OFF) {
  test(`interop with ${what} forced off (${variable}=0): wgts <-> wgts`, { skip: skipUnless(basics) }, (t) => {
    t.diagnostic(`${runScriptWith({ [variable]: '0' }, 'interop.sh', 'wgts')} checks passed`);
  });
  test(`interop with ${what} forced off (${variable}=0): wgts <-> wireguard-go (upstream)`, { skip: skipUnless(basics ?? (hasUpstream ? null : `${upstreamGo} not present`), !hasUpstream) }, (t) => {
    t.diagnostic(`${runScriptWith({ [variable]: '0' }, 'interop.sh', upstreamGo)} checks passed`);
  });
}

test('configurations of any size: 130,560 allowed IPs and 10,000 peers in one wg setconf, compared with wireguard-go', { skip: skipUnless(basics) }, (t) => {
  // The current upstream build when present (it is what the figures are compared with), else Debian's.
  const reference = hasUpstream ? [upstreamGo] : debianGo === null ? [] : [debianGo];
  t.diagnostic(`${runScript('uapi-scale.sh', 'wgts', ...reference)} checks passed`);
});

/** Why the proxy script cannot run here (its clients), or null. */
function proxyMissing(): string | null {
  for (const cmd of ['curl', 'dig', 'socat', 'setpriv', 'iperf3']) if (which(cmd) === null) return `\`${cmd}\` is not installed`;
  return null;
}

test('wgts proxy as nobody <-> wireguard-go (Debian): SOCKS5, HTTP, TCP/UDP tunnels, STDIO, metrics, 1,000 connections, bad configs', { skip: skipUnless(basics ?? (debianGo === null ? 'wireguard-go is not installed' : proxyMissing())) }, (t) => {
  t.diagnostic(`${runScript('proxy.sh', goPeer())} checks passed`);
});

test('wgts proxy as nobody <-> a wgts daemon', { skip: skipUnless(basics ?? proxyMissing()) }, (t) => {
  t.diagnostic(`${runScript('proxy.sh', 'wgts')} checks passed`);
});

test('wgts proxy follows a peer whose name now resolves elsewhere (/etc/hosts), once its handshakes fail', { skip: skipUnless(basics ?? (debianGo === null ? 'wireguard-go is not installed' : proxyMissing())) }, (t) => {
  t.diagnostic(`${runScript('proxy-ddns.sh', goPeer())} checks passed`);
});
