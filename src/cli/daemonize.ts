/**
 * Detaching, as wireguard-go does it: the command re-executes itself in the background with
 * WG_PROCESS_FOREGROUND=1 and returns only once the interface and its UAPI socket exist, so wg-quick
 * can configure it right after. Unlike wireguard-go, which opens both in the parent and hands the fds
 * over, our child opens them itself and reports on a pipe (fd 3): "ok\n", or the error to print. The
 * outcome is the same (exit 0 means ready; exit 1 prints why not) with no fd passing in Node.
 */
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { missingNodeFlags, withTunables } from './reexec.js';

/** The child's end of the readiness pipe; the variable tells it to report there. */
export const READY_FD = 3;
export const READY_FD_ENV = 'WGTS_READY_FD';

/** A child that neither reports nor exits within this is killed and the start fails. */
const READY_TIMEOUT_MS = 30_000;

/** The child's side: tell the waiting parent "ok\n" or why it could not start, once. */
export function reportReady(fd: number | null, text: string): void {
  if (fd === null) return;
  try {
    fs.writeSync(fd, text);
    fs.closeSync(fd);
  } catch {
    /* the parent went away: nothing to tell */
  }
}

/**
 * Start the daemon in the background and wait for its word. Returns the exit code for the parent: 0
 * when the child reported ready, 1 (with the reason on stderr) otherwise. `cwd` is where the child
 * runs: '/' (the default) so a daemon holds no directory busy; the proxy keeps its own, since its
 * configuration may name files relative to it.
 */
export function daemonize(args: readonly string[], env: NodeJS.ProcessEnv, fds: { tun: number | null; uapi: number | null }, cwd = '/'): Promise<number> {
  // The child writes to our stdout/stderr only when LOG_LEVEL asks for logs (wireguard-go's rule):
  // otherwise a caller capturing our output would wait on a pipe the daemon keeps open for ever.
  const keepOutput = env['LOG_LEVEL'] !== undefined && env['LOG_LEVEL'] !== '' && env['LOG_LEVEL'] !== 'silent';
  const out = keepOutput ? 'inherit' : 'ignore';
  const script = path.resolve(process.argv[1]!);
  // A TUN or UAPI fd handed to us (WG_TUN_FD, WG_UAPI_FD) goes on to the child, renumbered after the
  // readiness pipe.
  const stdio: ('ignore' | 'inherit' | 'pipe' | number)[] = ['ignore', out, out, 'pipe'];
  // The daemon's start-up settings (reexec.ts): glibc's mmap threshold pinned, so packet slabs the
  // pool trims really leave RSS, and V8's young generation kept small.
  const childEnv: NodeJS.ProcessEnv = { ...withTunables(env), WG_PROCESS_FOREGROUND: '1', [READY_FD_ENV]: String(READY_FD) };
  if (fds.tun !== null) {
    childEnv['WG_TUN_FD'] = String(stdio.length);
    stdio.push(fds.tun);
  }
  if (fds.uapi !== null) {
    childEnv['WG_UAPI_FD'] = String(stdio.length);
    stdio.push(fds.uapi);
  }
  const child = spawn(process.execPath, [...missingNodeFlags(process.execArgv), ...process.execArgv, script, ...args], {
    // A new session: the daemon must outlive this process and not get the terminal's SIGINT/SIGHUP.
    detached: true,
    stdio,
    env: childEnv,
    cwd,
  });

  return new Promise<number>((resolve) => {
    let said = '';
    let settled = false;
    const pipe = child.stdio[READY_FD] as NodeJS.ReadableStream & { destroy(): void };
    const finish = (code: number, message: string | null): void => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      if (message !== null) process.stderr.write(`wgts: ${message.trimEnd()}\n`);
      pipe.destroy();
      child.unref();
      resolve(code);
    };
    const timer = setTimeout(() => {
      child.kill('SIGTERM');
      finish(1, `the daemon did not report ready within ${READY_TIMEOUT_MS / 1000} s; stopped it`);
    }, READY_TIMEOUT_MS);

    pipe.setEncoding('utf8');
    pipe.on('data', (d: string) => (said += d));
    pipe.on('error', () => undefined);
    pipe.on('end', () => {
      if (said === 'ok\n') finish(0, null);
      else if (said !== '') finish(1, said);
      // Nothing said: wait for the exit to report how it died.
    });
    child.on('error', (err) => finish(1, `cannot start the daemon: ${err.message}`));
    child.on('exit', (code, signal) => {
      if (said === 'ok\n') return; // exited after reporting ready: its own business now
      const how = signal !== null ? `was killed by ${signal}` : `exited with code ${code}`;
      finish(1, said !== '' ? said : `the daemon ${how} before it was ready`);
    });
  });
}
