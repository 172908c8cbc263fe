/**
 * The daemon's back ends on Linux: the kernel TUN, and the batched native bind when the addon loaded
 * (node:dgram otherwise, which works everywhere but costs a copy and a syscall per datagram).
 */
import { LinuxBind } from '../conn/linux.js';
import { StdBind } from '../conn/std.js';
import type { Bind } from '../conn/bind.js';
import type { Logger } from '../base/logger.js';
import { interfaceFlags, IFF_UP, native, nativeError } from '../native/index.js';
import { LinuxTun } from '../tun/linux.js';
import { DEFAULT_MTU } from '../tun/tun.js';

/** A startup failure with the message to print; the daemon exits 1 on it. */
export class StartupError extends Error {
  override readonly name = 'StartupError';
}

/** Create the interface, or adopt the TUN open on `fd` (WG_TUN_FD) as wireguard-go does. */
export function openTun(name: string, fd: number | null): LinuxTun {
  try {
    // TSO/GRO through the vnet header: on unless WGTS_TUN_OFFLOAD=0 (the kernel may still refuse it;
    // then the TUN runs plain and says so in offloadActive).
    const offload = process.env['WGTS_TUN_OFFLOAD'] !== '0';
    return fd === null ? LinuxTun.create(name, { mtu: DEFAULT_MTU, offload }) : LinuxTun.fromFd(fd, name, { offload });
  } catch (err) {
    // LinuxTun's messages already say what to do (run as root, modprobe tun, the shim is missing).
    throw new StartupError(`Failed to create TUN device: ${(err as Error).message}`);
  }
}

/** The fast bind when the addon is there; the portable one, said so, when it is not. */
export function openBind(log: Logger): Bind {
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

/**
 * Whether the interface is up now. A TUN reports link changes as events, but one already up when
 * handed in (WG_TUN_FD) says so while the Device is still being built, before anyone listens.
 */
export function linkIsUp(name: string): boolean {
  try {
    return (interfaceFlags(name) & IFF_UP) !== 0;
  } catch {
    return false;
  }
}
