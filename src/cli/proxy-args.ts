/**
 * `wgts proxy` arguments, as wireproxy takes them (its cmd/wireproxy/main.go, argparse): -c/--config
 * FILE, -s/--silent, -d/--daemon, -i/--info ADDR, -n/--configtest, -v/--version, -h/--help. Without -c
 * the first of wireproxy's default paths that exists is used.
 */
import fs from 'node:fs';
import path from 'node:path';

export type ProxyCommand =
  | { kind: 'help' }
  | { kind: 'version' }
  | { kind: 'usage'; error: string }
  | { kind: 'run'; config: string | null; silent: boolean; daemon: boolean; info: string | null; configTest: boolean };

export const PROXY_USAGE = 'Usage: wgts proxy [-c FILE] [-s] [-d] [-i HOST:PORT] [-n]';

export const PROXY_HELP = `${PROXY_USAGE}

A WireGuard client without root or a TUN device: SOCKS5 and HTTP proxies and TCP/UDP forwards through
the tunnel, configured as wireproxy is (the same file works unchanged).

Options:
  -c, --config FILE     configuration file (default: the first of
                        /etc/wireproxy/wireproxy.conf, $HOME/.config/wireproxy.conf that exists)
  -s, --silent          log nothing
  -d, --daemon          run in the background once every listener is up
  -i, --info HOST:PORT  serve /readyz and /metrics (Prometheus) there
  -n, --configtest      check the configuration and exit
  -v, --version         print the version
  -h, --help            print this help

Environment:
  LOG_LEVEL=verbose     also log the tunnel's running commentary
`;

/** wireproxy's default configuration paths, in its order. */
export function defaultConfigPaths(env: NodeJS.ProcessEnv): string[] {
  const home = env['HOME'];
  return ['/etc/wireproxy/wireproxy.conf', ...(home === undefined || home === '' ? [] : [path.join(home, '.config/wireproxy.conf')])];
}

export function findDefaultConfig(env: NodeJS.ProcessEnv): string | null {
  for (const p of defaultConfigPaths(env)) if (fs.existsSync(p)) return p;
  return null;
}

const FLAGS: Record<string, 'silent' | 'daemon' | 'configTest' | 'help' | 'version'> = {
  '-s': 'silent',
  '--silent': 'silent',
  '-d': 'daemon',
  '--daemon': 'daemon',
  '-n': 'configTest',
  '--configtest': 'configTest',
  '-h': 'help',
  '--help': 'help',
  '-v': 'version',
  '--version': 'version',
};
const VALUED: Record<string, 'config' | 'info'> = { '-c': 'config', '--config': 'config', '-i': 'info', '--info': 'info' };

/** Parse the arguments after `proxy`. */
export function parseProxyArgs(args: readonly string[]): ProxyCommand {
  const run = { kind: 'run' as const, config: null as string | null, silent: false, daemon: false, info: null as string | null, configTest: false };
  let help = false;
  let version = false;
  for (let i = 0; i < args.length; i++) {
    const a = args[i]!;
    const eq = a.startsWith('--') ? a.indexOf('=') : -1;
    const name = eq > 0 ? a.slice(0, eq) : a;
    const valued = VALUED[name];
    if (valued !== undefined) {
      const v = eq > 0 ? a.slice(eq + 1) : args[++i];
      if (v === undefined || v === '') return { kind: 'usage', error: `${name} needs a value` };
      run[valued] = v;
      continue;
    }
    const flag = FLAGS[a];
    if (flag === undefined) return { kind: 'usage', error: a.startsWith('-') ? `unknown option "${a}"` : `unexpected argument "${a}"` };
    if (flag === 'help') help = true;
    else if (flag === 'version') version = true;
    else run[flag] = true;
  }
  if (help) return { kind: 'help' };
  if (version) return { kind: 'version' };
  return run;
}
