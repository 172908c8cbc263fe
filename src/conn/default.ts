/**
 * The bind a program gets when it does not choose one: the batched native bind when the shim loaded
 * (recvmmsg/sendmmsg with GRO/GSO, Linux), node:dgram otherwise, which works everywhere but costs a copy
 * and a syscall per datagram. The daemon and the Tunnel both take it from here.
 */
import type { Logger } from '../base/logger.js';
import { native, nativeError } from '../native/index.js';
import type { Bind } from './bind.js';
import { LinuxBind } from './linux.js';
import { StdBind } from './std.js';

/** The fast bind when the addon is there; the portable one, said so through `log`, when it is not. */
export function defaultBind(log: Logger): Bind {
  if (native !== null) {
    try {
      return new LinuxBind();
    } catch (err) {
      log.error?.(`Native bind unavailable (${(err as Error).message}): using the portable node:dgram bind`);
      return new StdBind();
    }
  }
  log.error?.(`Native addon not loaded (${nativeError ?? 'unknown reason'}): using the portable node:dgram bind`);
  return new StdBind();
}
