/**
 * The daemon's start-up settings, which only take effect when a process starts, so the daemon sees
 * to them itself rather than relying on how it was launched:
 *
 * - GLIBC_TUNABLES=glibc.malloc.mmap_threshold=524288: every packet slab is its own mapping, so a
 *   slab the pool drops leaves RSS (buffer/slab.ts has the measurements). Only when the environment
 *   has no tunables of its own.
 * - --max-semi-space-size=1 (MiB): V8's young generation stays small. Under load it otherwise grows
 *   its semi-spaces to 8-16 MiB and gives them back only tens of seconds after the load, when V8's
 *   memory reducer gets to it (a full GC does not shrink them). Measured on two daemons at 32 streams:
 *   see BENCHMARKS.md. Configuring many peers at once also grows it to its cap (`npm run bench:peers`:
 *   right after 10,000 peers set, 3.1-3.3 KB a peer with Node's default, 2.7-2.8 KB capped at 4 MiB;
 *   30 s later both 1.1-1.2 KB). Only when the command line sets no semi-space size of its own.
 *
 * The detaching parent starts its child with them (daemonize.ts); a daemon (or `wgts proxy`) started in
 * the foreground without them replaces itself once (execve: same pid, same descriptors) with the same command plus
 * them. WGTS_REEXEC marks the second start, so it never loops.
 */
import { native } from '../native/load.js';

/** 512 KiB: below our 1 MiB slabs, so every slab is its own mapping. */
export const MMAP_THRESHOLD_TUNABLE = 'glibc.malloc.mmap_threshold=524288';
/** V8's young generation cap, in MiB a semi-space. */
export const YOUNG_GENERATION_FLAG = '--max-semi-space-size=1';
/** Node flags the daemon runs with. */
export const DAEMON_NODE_FLAGS: readonly string[] = [YOUNG_GENERATION_FLAG];
/** Variables that hand the daemon a descriptor by number (WG_TUN_FD, WG_UAPI_FD, the readiness pipe). */
const KEPT_FD_ENV = ['WG_TUN_FD', 'WG_UAPI_FD', 'WGTS_READY_FD'];
/** Set in the environment of the restarted daemon. */
export const REEXEC_ENV = 'WGTS_REEXEC';

/** The Node flags of DAEMON_NODE_FLAGS that `execArgv` does not set already. */
export function missingNodeFlags(execArgv: readonly string[]): string[] {
  // V8 takes --max_semi_space_size as well as --max-semi-space-size.
  const given = execArgv.map((a) => a.split('=')[0]!.replace(/_/g, '-'));
  return DAEMON_NODE_FLAGS.filter((flag) => !given.includes(flag.split('=')[0]!));
}

/** `env` with the daemon's glibc tunables added when it has none. */
export function withTunables(env: NodeJS.ProcessEnv): NodeJS.ProcessEnv {
  return env['GLIBC_TUNABLES'] === undefined ? { ...env, GLIBC_TUNABLES: MMAP_THRESHOLD_TUNABLE } : env;
}

/**
 * Restarts this process with the start-up settings it lacks (foreground daemon only). Returns only
 * when nothing is missing, on the second start, without the shim, or when execve fails (the daemon
 * then runs as it is: the settings are about memory, not correctness).
 */
export function reexecWithSettings(env: NodeJS.ProcessEnv): void {
  if (env[REEXEC_ENV] === '1' || native === null) return;
  const flags = missingNodeFlags(process.execArgv);
  if (flags.length === 0 && env['GLIBC_TUNABLES'] !== undefined) return;
  const next = { ...withTunables(env), [REEXEC_ENV]: '1' };
  const argv = [process.execPath, ...flags, ...process.execArgv, ...process.argv.slice(1)];
  const envList = Object.entries(next).map(([k, v]) => `${k}=${v ?? ''}`);
  // stdio, and whatever descriptors were handed in by number (they must reach the new image).
  const keep = [0, 1, 2];
  for (const key of KEPT_FD_ENV) {
    const v = env[key];
    if (v !== undefined && /^[0-9]{1,9}$/.test(v)) keep.push(Number(v));
  }
  native.execve(process.execPath, argv, envList, Int32Array.from(keep));
}
