/**
 * Helpers for tests against real peers in network namespaces (root only): namespace and veth set-up,
 * starting wireguard-go in the foreground, and the skip rule — without root these tests skip and say
 * why, except under CI=true, where a missing prerequisite is a failure.
 */
import { execFile, execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { homedir } from 'node:os';
import { join } from 'node:path';

export const IN_CI = process.env.CI === 'true';

/** Why namespace tests cannot run here, or null when they can. */
export function netnsUnavailable(tools: string[]): string | null {
  if (process.getuid?.() !== 0) return 'needs root (network namespaces and veth)';
  for (const t of ['ip', ...tools]) if (which(t) === null) return `needs ${t} (apt-get install --no-install-recommends ${aptName(t)})`;
  return null;
}

function aptName(tool: string): string {
  return ({ ip: 'iproute2', wg: 'wireguard-tools', 'wireguard-go': 'wireguard-go', ping: 'iputils-ping', iperf3: 'iperf3' } as Record<string, string>)[tool] ?? tool;
}

export function which(tool: string): string | null {
  for (const dir of (process.env.PATH ?? '').split(':')) {
    const p = join(dir, tool);
    if (dir !== '' && existsSync(p)) return p;
  }
  return null;
}

/** A userspace WireGuard peer to test against, and how to start it in the foreground. */
export interface PeerBinary {
  label: string;
  path: string;
  args(ifname: string): string[];
}

/**
 * The reference peers present: Debian's wireguard-go, an upstream wireguard-go from `go install`, and
 * boringtun from `cargo install boringtun-cli`.
 */
export function peerBinaries(): PeerBinary[] {
  const out: PeerBinary[] = [];
  const deb = which('wireguard-go');
  if (deb !== null) out.push({ label: 'wireguard-go (Debian)', path: deb, args: (i) => ['-f', i] });
  const gobin = process.env.GOBIN ?? join(process.env.GOPATH ?? join(homedir(), 'go'), 'bin');
  const upstream = join(gobin, 'wireguard');
  if (existsSync(upstream)) out.push({ label: 'wireguard-go (upstream)', path: upstream, args: (i) => ['-f', i] });
  const boringtun = join(process.env.CARGO_HOME ?? join(homedir(), '.cargo'), 'bin', 'boringtun-cli');
  if (existsSync(boringtun)) {
    out.push({ label: 'boringtun', path: boringtun, args: (i) => ['-f', '--disable-drop-privileges', '--log', '/dev/null', i] });
  }
  return out;
}

export function sh(cmd: string, args: string[], input?: string): string {
  return execFileSync(cmd, args, { encoding: 'utf8', input, stdio: ['pipe', 'pipe', 'pipe'] });
}

export function nsExec(ns: string, cmd: string, args: string[], input?: string): string {
  return sh('ip', ['netns', 'exec', ns, cmd, ...args], input);
}

/** As nsExec, without blocking the event loop: for commands that need this process to answer (ping). */
export function nsExecAsync(ns: string, cmd: string, args: string[]): Promise<string> {
  return new Promise((resolve, reject) => {
    execFile('ip', ['netns', 'exec', ns, cmd, ...args], { encoding: 'utf8' }, (err, stdout, stderr) => {
      if (err) reject(new Error(`${cmd} ${args.join(' ')} failed: ${stderr || err.message}`));
      else resolve(stdout);
    });
  });
}

/**
 * A namespace joined to the root namespace by a veth pair:
 *
 *   root ns: vethR <outerRoot>  <---->  ns: vethN <outerNs>
 */
export function makeNamespace(ns: string, vethRoot: string, outerRoot: string, outerNs: string, outer6Root: string, outer6Ns: string): void {
  removeNamespace(ns, vethRoot);
  sh('ip', ['netns', 'add', ns]);
  sh('ip', ['link', 'add', vethRoot, 'type', 'veth', 'peer', 'name', 'veth0', 'netns', ns]);
  sh('ip', ['addr', 'add', `${outerRoot}/24`, 'dev', vethRoot]);
  sh('ip', ['-6', 'addr', 'add', `${outer6Root}/64`, 'dev', vethRoot, 'nodad']);
  sh('ip', ['link', 'set', vethRoot, 'up']);
  nsExec(ns, 'ip', ['addr', 'add', `${outerNs}/24`, 'dev', 'veth0']);
  nsExec(ns, 'ip', ['-6', 'addr', 'add', `${outer6Ns}/64`, 'dev', 'veth0', 'nodad']);
  nsExec(ns, 'ip', ['link', 'set', 'veth0', 'up']);
  nsExec(ns, 'ip', ['link', 'set', 'lo', 'up']);
}

export function removeNamespace(ns: string, vethRoot: string): void {
  try {
    sh('ip', ['link', 'del', vethRoot]);
  } catch {
    /* absent */
  }
  try {
    sh('ip', ['netns', 'del', ns]);
  } catch {
    /* absent */
  }
}

/** Start a reference peer in the foreground inside `ns` and wait for its UAPI socket. */
export async function startPeerDaemon(bin: PeerBinary, ns: string, ifname: string): Promise<ChildProcess> {
  const sock = `/var/run/wireguard/${ifname}.sock`;
  const child = spawn('ip', ['netns', 'exec', ns, bin.path, ...bin.args(ifname)], {
    env: { ...process.env, WG_PROCESS_FOREGROUND: '1', LOG_LEVEL: 'error' },
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  let stderr = '';
  child.stderr?.on('data', (d: Buffer) => (stderr += d.toString()));
  for (let i = 0; i < 100; i++) {
    if (existsSync(sock)) return child;
    if (child.exitCode !== null) break;
    await new Promise((r) => setTimeout(r, 50));
  }
  child.kill();
  throw new Error(`${bin.label} did not create ${sock}: ${stderr}`);
}

export async function stopChild(child: ChildProcess): Promise<void> {
  // A child killed by a signal has no exit code, only a signal code; its exit event has passed too.
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise<void>((r) => child.once('exit', () => r()));
  child.kill('SIGTERM');
  const t = setTimeout(() => child.kill('SIGKILL'), 3000);
  await exited;
  clearTimeout(t);
}
