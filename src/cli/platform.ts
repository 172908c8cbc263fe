/**
 * The daemon's TUN on Linux: the kernel device, created or adopted, and its link state. (The bind
 * comes from conn/default.ts.)
 */
import { interfaceFlags, IFF_UP } from '../native/index.js';
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
