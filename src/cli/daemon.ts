/**
 * The daemon proper, in the foreground: open the TUN, start the device and the UAPI socket, then follow
 * wireguard-go's main loop. The device is brought up when the link goes up (wg-quick sets the address
 * and `ip link set up` after configuring), binding the configured port or, until one is configured, a
 * random one; it goes down with the link. It stops on SIGINT/SIGTERM, when the interface is deleted, and
 * when the UAPI socket file is removed, cleaning up in that order: socket, device, TUN.
 */
import v8 from 'node:v8';
import { Device } from '../device/device.js';
import { consoleLogger, type Logger } from '../base/logger.js';
import type { TunEvent } from '../tun/tun.js';
import { exclusive } from '../ipc/exclusive.js';
import { UapiServer } from '../ipc/uapi-server.js';
import { linkIsUp, openTun, StartupError } from './platform.js';
import { defaultBind } from '../conn/default.js';
import { gcStatsFromEnv } from './gc-stats.js';
import { daemonPool } from './memory.js';
import { IdleMemory } from '../tunnel/idle-memory.js';
import { defaultCryptoThreads } from '../crypto/aead-queue.js';
import { reportReady } from './daemonize.js';
import { GcMeter } from '../base/gc-meter.js';
import { MetricsText, writeDeviceMetrics, writeProcessMetrics } from '../ipc/metrics.js';
import { MetricsServer } from '../ipc/metrics-server.js';
import { parseHostPort } from '../net/host-port.js';

export type LogLevel = 'verbose' | 'error' | 'silent';

export interface DaemonOptions {
  name: string;
  logLevel: LogLevel;
  /** WG_TUN_FD: a TUN already open. */
  tunFd: number | null;
  /** WG_UAPI_FD: a unix socket already listening. */
  uapiFd: number | null;
  /** Where to report readiness ("ok\n") or the startup error: the daemonising parent's pipe. */
  readyFd: number | null;
}

/** Shutdown must not hang on a stuck close: past this the process exits anyway. */
const SHUTDOWN_GRACE_MS = 5000;

/** LOG_LEVEL as wireguard-go reads it ("debug" is its older name for verbose); default error. */
export function logLevelFrom(env: NodeJS.ProcessEnv): LogLevel {
  switch (env['LOG_LEVEL']) {
    case 'verbose':
    case 'debug':
      return 'verbose';
    case 'silent':
      return 'silent';
    default:
      return 'error';
  }
}

/** An fd number from the environment, or null when unset; throws on garbage. */
export function fdFrom(env: NodeJS.ProcessEnv, key: string): number | null {
  const v = env[key];
  if (v === undefined || v === '') return null;
  if (!/^[0-9]{1,9}$/.test(v)) throw new StartupError(`${key}=${JSON.stringify(v)} is not a file descriptor number`);
  return Number(v);
}

/** WGTS_CRYPTO_THREADS (crypto/aead-queue.ts); @throws StartupError naming the variable when it is not a number. */
function cryptoThreadsFrom(env: NodeJS.ProcessEnv): number {
  try {
    return defaultCryptoThreads(env);
  } catch (err) {
    throw new StartupError((err as Error).message);
  }
}

/** Run until shutdown; never returns. Startup errors are printed (and reported to the parent), exit 1. */
export async function runDaemon(opts: DaemonOptions): Promise<never> {
  let log: Logger = consoleLogger(opts.logLevel, opts.name);
  let dev: Device | null = null;
  let server: UapiServer | null = null;
  let metrics: MetricsServer | null = null;
  try {
    const tun = openTun(opts.name, opts.tunFd);
    // With WG_TUN_FD the kernel's name is the truth, for the log and the socket alike.
    const name = tun.name;
    log = consoleLogger(opts.logLevel, name);
    log.verbose?.(`Starting wgts on ${name}`);
    dev = new Device({ tun, bind: defaultBind(log), logger: log, pool: daemonPool(process.env), cryptoThreads: cryptoThreadsFrom(process.env) });
    try {
      const options = { logger: log, beforeRequest: () => tun.refresh() };
      server = await UapiServer.listen(dev, name, opts.uapiFd === null ? options : { ...options, fd: opts.uapiFd });
    } catch (err) {
      throw new StartupError(`UAPI listen error: ${(err as Error).message}`);
    }
    log.verbose?.('UAPI listener started');
    metrics = await startMetrics(dev, process.env);
  } catch (err) {
    const msg = err instanceof StartupError ? err.message : `startup failed: ${(err as Error).stack ?? String(err)}`;
    // A daemon child reports to its parent, which prints it once; in the foreground we print it.
    if (opts.readyFd !== null) reportReady(opts.readyFd, msg + '\n');
    else log.error?.(msg);
    await server?.close();
    await dev?.close(); // closes the TUN too: the interface goes away with its fd
    process.exit(1);
  }
  return serve(dev, server, metrics, log, opts.readyFd);
}

/**
 * WGTS_METRICS_ADDRESS=HOST:PORT (opt-in): /metrics in Prometheus text format, the same figures as the
 * proxy's info server (peers, drops, packet pool, process).
 */
async function startMetrics(dev: Device, env: NodeJS.ProcessEnv): Promise<MetricsServer | null> {
  const text = env['WGTS_METRICS_ADDRESS'];
  if (text === undefined || text === '') return null;
  const bind = parseHostPort(text, 'listen');
  if (typeof bind === 'string') throw new StartupError(`WGTS_METRICS_ADDRESS: ${bind}`);
  const gc = new GcMeter();
  const server = new MetricsServer({
    metrics: () => {
      const m = new MetricsText();
      writeDeviceMetrics(m, dev, Date.now());
      writeProcessMetrics(m, gc);
      return m.text();
    },
    ready: null,
  });
  try {
    await server.listen(bind);
  } catch (err) {
    gc.stop();
    throw new StartupError(`WGTS_METRICS_ADDRESS=${text}: ${(err as Error).message}`);
  }
  return server;
}

/** Numeric fields of an object (the back ends' counters), without reaching into their types. */
function counters(o: object): Record<string, number> {
  const out: Record<string, number> = {};
  for (const [k, v] of Object.entries(o)) if (typeof v === 'number') out[k] = v;
  return out;
}

function statsOf(dev: Device): object {
  const pool = dev.pool.stats();
  return {
    cryptoThreads: dev.cryptoThreads,
    drops: dev.drops.snapshot(),
    tun: counters(dev.tun),
    bind: counters(dev.bind),
    pool: { outstanding: pool.outstanding, peakOutstanding: pool.peakOutstanding, slabs: pool.slabs, reservedBytes: pool.reservedBytes },
    memory: process.memoryUsage(),
    heapSpaces: Object.fromEntries(v8.getHeapSpaceStatistics().map((s) => [s.space_name, s.space_size])),
  };
}

function serve(dev: Device, server: UapiServer, metrics: MetricsServer | null, log: Logger, readyFd: number | null): Promise<never> {
  let stopping = false;
  const gc = gcStatsFromEnv(process.env);
  // Memory back when a load is over: free slabs, a GC, glibc's free pages (idle-memory.ts).
  const idle = new IdleMemory({ pool: dev.pool });
  idle.start();
  const shutdown = async (reason: string, code = 0): Promise<void> => {
    if (stopping) return;
    stopping = true;
    idle.stop();
    log.verbose?.(`Shutting down: ${reason}`);
    setTimeout(() => {
      log.error?.('Shutdown timed out; exiting');
      process.exit(1);
    }, SHUTDOWN_GRACE_MS).unref();
    try {
      await server.close();
      await metrics?.close();
      const leaked = await dev.close();
      if (leaked !== 0) log.verbose?.(`${leaked} packet buffers still outstanding at close`);
    } catch (err) {
      log.error?.(`Error while shutting down: ${(err as Error).message}`);
    }
    gc.flush();
    process.exit(code);
  };

  // Link state drives the device, as wireguard-go's TUN event reader does; queued with UAPI requests.
  const onTun = (event: TunEvent): void => {
    if (event === 'closed') {
      void shutdown('the interface was removed');
      return;
    }
    if (event !== 'up' && event !== 'down') return;
    void exclusive(dev, async () => {
      if (stopping) return;
      if (event === 'up') {
        const port = await dev.up();
        log.verbose?.(`Interface up; listening on UDP port ${port}`);
      } else {
        await dev.down();
        log.verbose?.('Interface down');
      }
    }).catch((err: unknown) => log.error?.(`Unable to bring the device ${event}: ${(err as Error).message}`));
  };
  dev.on('tun', onTun);
  if (linkIsUp(dev.tun.name)) onTun('up');

  // SIGUSR1: the counters an operator needs when packets go missing (drop reasons, I/O counters, pools).
  process.on('SIGUSR1', () => process.stderr.write(`wgts ${dev.tun.name} stats: ${JSON.stringify(statsOf(dev))}\n`));
  server.on('removed', () => void shutdown('the UAPI socket was removed'));
  for (const sig of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) process.on(sig, () => void shutdown(sig));
  process.on('uncaughtException', (err) => {
    log.error?.(`Internal error: ${err.stack ?? err.message}`);
    void shutdown('internal error', 1);
  });

  reportReady(readyFd, 'ok\n');
  log.verbose?.('Device started');
  // Keeps the caller's promise pending: the process ends through shutdown() only.
  return new Promise<never>(() => {});
}
