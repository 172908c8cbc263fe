/**
 * `wgts proxy`: read a wireproxy configuration, open the tunnel (no root, no TUN), start every section's
 * listener, and, with -i, the info server. A bad configuration is reported with its file, line and key
 * and nothing starts (exit 1); -n stops after the check ("Config OK", as wireproxy prints). -d detaches
 * once everything listens (daemonize.ts). With [STDIOTunnel] the process ends when that connection
 * does (ssh's ProxyCommand); otherwise it runs until SIGINT, SIGTERM or SIGHUP. Logs go to stderr only:
 * stdout may be a STDIOTunnel's.
 */
import fs from 'node:fs';
import path from 'node:path';
import type { Logger } from '../base/logger.js';
import { GcMeter } from '../base/gc-meter.js';
import { MetricsServer } from '../ipc/metrics-server.js';
import { parseHostPort } from '../net/host-port.js';
import { loadProxyConfig, ProxyConfigError, type ProxyConfig } from '../proxy/config.js';
import { Proxy } from '../proxy/proxy.js';
import type { TunnelLike } from '../proxy/tunnel-like.js';
import { daemonize, READY_FD_ENV, reportReady } from './daemonize.js';
import { findDefaultConfig, parseProxyArgs, PROXY_HELP, PROXY_USAGE } from './proxy-args.js';
import { packageVersion } from './version.js';

export type OpenTunnel = (config: ProxyConfig, logger: Logger) => Promise<TunnelLike>;

export interface ProxyIo {
  stdin: NodeJS.ReadableStream;
  stdout: NodeJS.WritableStream;
  stderr: NodeJS.WritableStream;
}

/** Shutdown must not hang on a stuck close. */
const SHUTDOWN_GRACE_MS = 5000;

function stderrLogger(io: ProxyIo, silent: boolean, env: NodeJS.ProcessEnv): Logger {
  const line = (level: string, m: string): void => void io.stderr.write(`${level}: ${new Date().toISOString().replace('T', ' ').slice(0, 19)} ${m}\n`);
  const log: Logger = {};
  if (silent) return log;
  if (env['LOG_LEVEL'] === 'verbose' || env['LOG_LEVEL'] === 'debug') log.verbose = (m) => line('DEBUG', m);
  log.error = (m) => line('ERROR', m);
  return log;
}

/**
 * Run `wgts proxy ARGS`; resolves with the exit code once the proxy has stopped (or never started).
 * `open` brings the tunnel up from the configuration.
 */
export async function proxyMain(args: readonly string[], env: NodeJS.ProcessEnv, io: ProxyIo, open: OpenTunnel): Promise<number> {
  const cmd = parseProxyArgs(args);
  switch (cmd.kind) {
    case 'help':
      io.stdout.write(PROXY_HELP);
      return 0;
    case 'version':
      io.stdout.write(`wgts proxy v${packageVersion()}\n`);
      return 0;
    case 'usage':
      io.stderr.write(`wgts proxy: ${cmd.error}\n${PROXY_USAGE}\n`);
      return 1;
    case 'run':
      break;
  }
  const readyFd = env['WG_PROCESS_FOREGROUND'] === '1' && env[READY_FD_ENV] !== undefined ? Number(env[READY_FD_ENV]) : null;
  const fail = (message: string): number => {
    if (readyFd !== null) reportReady(readyFd, message + '\n');
    else io.stderr.write(`wgts proxy: ${message}\n`);
    return 1;
  };

  const file = cmd.config ?? findDefaultConfig(env);
  if (file === null) return fail('no configuration: give one with -c FILE');
  const info = cmd.info === null ? null : parseHostPort(cmd.info, 'listen');
  if (typeof info === 'string') return fail(`-i ${cmd.info}: ${info}`);
  let config: ProxyConfig;
  try {
    config = loadProxyConfig(file, { env });
  } catch (err) {
    if (err instanceof ProxyConfigError) return fail(err.message);
    throw err;
  }
  const log = stderrLogger(io, cmd.silent, env);
  for (const note of config.notes) log.error?.(note);
  if (cmd.configTest) {
    io.stdout.write('Config OK\n');
    return 0;
  }
  const hasStdio = config.listeners.some((l) => l.kind === 'stdio');
  if (cmd.daemon && hasStdio) return fail('-d cannot be used with [STDIOTunnel]: it needs this terminal\'s stdin and stdout');
  if (cmd.daemon && env['WG_PROCESS_FOREGROUND'] !== '1') {
    // The child reads the same file from the same directory, so relative paths mean the same.
    const childArgs = ['proxy', ...args.map((a) => a)];
    const at = childArgs.findIndex((a) => a === '-c' || a === '--config');
    if (at >= 0) childArgs[at + 1] = path.resolve(childArgs[at + 1]!);
    else childArgs.push('-c', path.resolve(file));
    return daemonize(childArgs, env, { tun: null, uapi: null }, usableCwd());
  }

  let tunnel: TunnelLike;
  try {
    tunnel = await open(config, log);
  } catch (err) {
    return fail(`cannot open the tunnel: ${(err as Error).message}`);
  }
  const gc = info === null ? null : new GcMeter();
  let proxy: Proxy;
  let server: MetricsServer | null = null;
  try {
    proxy = await Proxy.start(config, tunnel, { logger: log, gc, stdio: { input: io.stdin, output: io.stdout } });
  } catch (err) {
    await tunnel.close();
    gc?.stop();
    return fail(err instanceof Error ? err.message : String(err));
  }
  if (info !== null) {
    const s = new MetricsServer({ metrics: () => proxy.metrics(), ready: () => proxy.readiness() });
    try {
      await s.listen(info);
      server = s;
    } catch (err) {
      await proxy.close();
      await tunnel.close();
      gc?.stop();
      return fail(`-i ${cmd.info}: cannot listen: ${(err as Error).message}`);
    }
  }
  if (!cmd.silent) {
    for (const s of proxy.stats) io.stderr.write(`wgts proxy: ${s.kind} listening on ${s.address}\n`);
    if (info !== null) io.stderr.write(`wgts proxy: info server on ${cmd.info} (/readyz, /metrics)\n`);
  }
  reportReady(readyFd, 'ok\n');

  return new Promise<number>((resolve) => {
    let stopping = false;
    const onSignal = (sig: NodeJS.Signals): void => void stop(0, sig);
    const signals = ['SIGINT', 'SIGTERM', 'SIGHUP'] as const;
    const stop = async (code: number, why: string): Promise<void> => {
      if (stopping) return;
      stopping = true;
      for (const sig of signals) process.off(sig, onSignal);
      log.verbose?.(`stopping: ${why}`);
      setTimeout(() => resolve(code), SHUTDOWN_GRACE_MS).unref();
      await server?.close();
      await proxy.close();
      await tunnel.close();
      gc?.stop();
      resolve(code);
    };
    for (const sig of signals) process.on(sig, onSignal);
    proxy.stdioDone?.then(
      () => void stop(0, 'the STDIOTunnel connection ended'),
      (err: Error) => {
        log.error?.(`STDIOTunnel: ${err.message}`);
        void stop(1, 'the STDIOTunnel connection failed');
      },
    );
  });
}

/**
 * The directory the detached proxy runs in: ours, so relative paths in its configuration mean the same;
 * '/' when this user cannot enter ours (a process keeps a working directory it may not search, as an
 * unprivileged user started inside root's home does, and spawning into it would fail).
 */
function usableCwd(): string {
  const cwd = process.cwd();
  try {
    fs.accessSync(cwd, fs.constants.X_OK);
    return cwd;
  } catch {
    return '/';
  }
}
