#!/usr/bin/env node
/**
 * wgts: a userspace WireGuard daemon, a drop-in for wireguard-go. `wgts [-f|--foreground] INTERFACE`
 * creates the interface and its UAPI socket for `wg` and wg-quick
 * (WG_QUICK_USERSPACE_IMPLEMENTATION=wgts), and detaches unless told to stay in the foreground.
 * `wgts proxy -c FILE` is the rootless proxy (cli/proxy.ts); the daemon's command line is unchanged
 * (an interface cannot be named "proxy" here, as "proxy" is not an option wireguard-go takes either).
 */
import fs from 'node:fs';
import { HELP, parseArgs, USAGE } from './args.js';
import { fdFrom, logLevelFrom, runDaemon } from './daemon.js';
import { daemonize, READY_FD_ENV } from './daemonize.js';
import { StartupError } from './platform.js';
import { packageVersion } from './version.js';
import { parseProxyArgs } from './proxy-args.js';
import { reexecWithSettings } from './reexec.js';
import { daemonPool } from './memory.js';
import type { OpenTunnel } from './proxy.js';

/**
 * wireguard-go shows a box telling Linux users the kernel module is the better choice; we say it in one
 * line, and only when the kernel in fact has WireGuard. As there, a daemon child stays quiet.
 */
function kernelNote(env: NodeJS.ProcessEnv): void {
  if (env['WG_PROCESS_FOREGROUND'] === '1' || process.platform !== 'linux') return;
  if (!fs.existsSync('/sys/module/wireguard')) return;
  process.stderr.write('wgts: note: this kernel has WireGuard built in, which is faster than any userspace implementation\n');
}

/**
 * `wgts proxy ...`: runs until the proxy stops, then exits (its sockets would keep the loop alive).
 * The proxy, the Tunnel and the netstack are loaded only here: in the daemon they were ~10 MB of RSS
 * (measured: importing proxy/open-tunnel.js took a process from 58 to 68 MB) that it never uses.
 */
async function proxy(args: string[], env: NodeJS.ProcessEnv): Promise<never> {
  // A proxy that runs here (not a check, not the detaching parent, whose child gets them from
  // daemonize.ts) takes the daemon's start-up settings: under connection churn V8's young generation
  // otherwise grows to 16 MiB semi-spaces (BENCHMARKS.md, the rootless soak).
  const cmd = parseProxyArgs(args);
  if (cmd.kind === 'run' && !cmd.configTest && !cmd.daemon) reexecWithSettings(env);
  const { proxyMain } = await import('./proxy.js');
  const { openTunnel } = await import('../proxy/open-tunnel.js');
  const open: OpenTunnel = (config, logger) => openTunnel(config, { logger, pool: daemonPool(env) });
  const code = await proxyMain(args, env, { stdin: process.stdin, stdout: process.stdout, stderr: process.stderr }, open);
  process.exit(code);
}

async function main(): Promise<number> {
  const env = process.env;
  if (process.argv[2] === 'proxy') return proxy(process.argv.slice(3), env);
  const cmd = parseArgs(process.argv.slice(2), env);
  switch (cmd.kind) {
    case 'version':
      process.stdout.write(`wgts v${packageVersion()}\n`);
      return 0;
    case 'help':
      process.stdout.write(HELP);
      return 0;
    case 'usage':
      process.stderr.write(`wgts: ${cmd.error}\n${USAGE}\n`);
      return 1;
    case 'run':
      break;
  }
  kernelNote(env);
  try {
    const tunFd = fdFrom(env, 'WG_TUN_FD');
    const uapiFd = fdFrom(env, 'WG_UAPI_FD');
    if (!cmd.foreground) return await daemonize(process.argv.slice(2), env, { tun: tunFd, uapi: uapiFd });
    reexecWithSettings(env); // returns when nothing is missing (or it cannot)
    return await runDaemon({ name: cmd.name, logLevel: logLevelFrom(env), tunFd, uapiFd, readyFd: fdFrom(env, READY_FD_ENV) });
  } catch (err) {
    process.stderr.write(`wgts: ${err instanceof StartupError ? err.message : String(err)}\n`);
    return 1;
  }
}

main().then(
  (code) => {
    process.exitCode = code;
  },
  (err: unknown) => {
    process.stderr.write(`wgts: ${(err as Error).stack ?? String(err)}\n`);
    process.exitCode = 1;
  },
);
