/**
 * The command line, as wireguard-go takes it: `wgts [-f|--foreground] INTERFACE-NAME`, plus --version
 * and --help. Anything else is a usage error. WG_PROCESS_FOREGROUND=1 also means foreground, so a
 * supervisor can keep the process attached without changing the arguments wg-quick passes.
 */

export type Command =
  | { kind: 'version' }
  | { kind: 'help' }
  | { kind: 'usage'; error: string }
  | { kind: 'run'; name: string; foreground: boolean };

export const USAGE = 'Usage: wgts [-f/--foreground] INTERFACE-NAME';

export const HELP = `${USAGE}

Userspace WireGuard daemon: creates the TUN interface INTERFACE-NAME and the UAPI socket
/var/run/wireguard/INTERFACE-NAME.sock, through which wg(8) and wg-quick(8) configure it
(WG_QUICK_USERSPACE_IMPLEMENTATION=wgts). Without -f it detaches once both exist.

Options:
  -f, --foreground  stay in the foreground
  --version         print the version
  --help            print this help

Environment:
  WG_PROCESS_FOREGROUND=1        same as -f
  LOG_LEVEL=verbose|error|silent default error; a detached daemon keeps stdout/stderr only when set
  WG_TUN_FD=N                    use the TUN device already open on fd N
  WG_UAPI_FD=N                   serve UAPI on the unix socket already listening on fd N
  WGTS_METRICS_ADDRESS=HOST:PORT serve /metrics (Prometheus text) there

wgts proxy -c FILE runs the rootless proxy instead (wgts proxy --help).
`;

/** IFNAMSIZ less the terminating NUL: the longest name Linux accepts. */
const MAX_IFNAME_BYTES = 15;

/**
 * Why Linux would refuse `name` as an interface name (net/core/dev.c, dev_valid_name), or null. Checked
 * up front because the name also becomes a file name under /var/run/wireguard.
 */
export function invalidInterfaceName(name: string): string | null {
  if (name === '') return 'the interface name is empty';
  if (Buffer.byteLength(name) > MAX_IFNAME_BYTES) return `interface name "${name}" is longer than ${MAX_IFNAME_BYTES} bytes`;
  if (name === '.' || name === '..') return `"${name}" is not a valid interface name`;
  if (/[/:\s]/.test(name)) return `interface name "${name}" contains "/", ":" or white space`;
  return null;
}

export function parseArgs(args: readonly string[], env: NodeJS.ProcessEnv): Command {
  if (args.length === 1 && args[0] === '--version') return { kind: 'version' };
  if (args.length === 1 && (args[0] === '--help' || args[0] === '-h')) return { kind: 'help' };
  let foreground = false;
  let name: string;
  if (args[0] === '-f' || args[0] === '--foreground') {
    if (args.length !== 2) return { kind: 'usage', error: 'expected one interface name after ' + args[0] };
    foreground = true;
    name = args[1]!;
  } else {
    if (args.length !== 1) return { kind: 'usage', error: args.length === 0 ? 'missing interface name' : 'too many arguments' };
    name = args[0]!;
  }
  if (name.startsWith('-')) return { kind: 'usage', error: `unknown option "${name}"` };
  const bad = invalidInterfaceName(name);
  if (bad !== null) return { kind: 'usage', error: bad };
  return { kind: 'run', name, foreground: foreground || env['WG_PROCESS_FOREGROUND'] === '1' };
}
