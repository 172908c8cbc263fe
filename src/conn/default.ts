/**
 * The bind a program gets when it does not choose one: the batched native bind when the shim loaded
 * (recvmmsg/sendmmsg with GRO/GSO, Linux), node:dgram otherwise, which works everywhere but costs a copy
 * and a syscall per datagram. The daemon and the Tunnel both take it from here.
 *
 * WGTS_UDP_GRO=0 and WGTS_UDP_GSO=0 turn the native bind's UDP offloads off (receive coalescing,
 * segmented sends); they are on by default where the kernel has them. For comparisons and tests.
 */
import type { Logger } from '../base/logger.js';
import { native, nativeError } from '../native/index.js';
import type { Bind } from './bind.js';
import { LinuxBind } from './linux.js';
import { StdBind } from './std.js';

/** The fast bind when the addon is there; the portable one, said so through `log`, when it is not. */
export function defaultBind(log: Logger, env: NodeJS.ProcessEnv = process.env): Bind {
  if (native !== null) {
    try {
      return new LinuxBind({ gro: env['WGTS_UDP_GRO'] !== '0', gso: env['WGTS_UDP_GSO'] !== '0' });
    } catch (err) {
      log.error?.(`Native bind unavailable (${(err as Error).message}): using the portable node:dgram bind`);
      return new StdBind();
    }
  }
  log.error?.(`Native addon not loaded (${nativeError ?? 'unknown reason'}): using the portable node:dgram bind`);
  return new StdBind();
}
