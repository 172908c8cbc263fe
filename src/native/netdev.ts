/**
 * Network interfaces through the shim: open and adopt TUN queues, read an interface's flags and
 * index and read or set its MTU, by name. Control path: each function validates, calls the C once, and turns
 * -errno into a NativeError naming the ioctl and the interface. The two lookups whose failure is an
 * answer (the interface is gone) return null instead of throwing.
 */
import { IFNAMSIZ } from './binding.js';
import { E_BADFD, E_NODEV, E_NXIO, NativeError } from './errno.js';
import { requireNative } from './load.js';

/** Interface names the kernel accepts: 1..15 bytes, no '/', ':' or whitespace (dev_valid_name). */
export function validInterfaceName(name: string): boolean {
  return (
    name.length > 0 &&
    Buffer.byteLength(name) < IFNAMSIZ &&
    name !== '.' &&
    name !== '..' &&
    !/[/:\s]/.test(name)
  );
}

function assertName(name: string): void {
  if (!validInterfaceName(name)) {
    throw new TypeError(`invalid interface name ${JSON.stringify(name)}: 1..15 bytes, no '/', ':' or whitespace`);
  }
}

function decodeName(bytes: Uint8Array): string {
  let end = bytes.indexOf(0);
  if (end < 0) end = bytes.length;
  return Buffer.from(bytes.buffer, bytes.byteOffset, end).toString('utf8');
}

/** A queue of a TUN interface: its fd (nonblocking, close-on-exec) and the kernel's name for it. */
export interface TunQueue {
  fd: number;
  name: string;
}

/**
 * Opens /dev/net/tun and attaches it to TUN interface `name` (created if absent), IFF_TUN |
 * IFF_NO_PI, plus IFF_VNET_HDR when `vnetHdr`. An empty name lets the kernel pick ("tun0").
 * @throws NativeError with syscall "open(/dev/net/tun)" or "ioctl(TUNSETIFF)".
 */
export function openTunQueue(name: string, vnetHdr: boolean): TunQueue {
  if (name !== '') assertName(name);
  const n = requireNative('a kernel TUN');
  const fd = n.tunOpen();
  if (fd < 0) throw new NativeError(fd, 'open(/dev/net/tun)', name === '' ? 'tun' : name);
  const out = new Uint8Array(IFNAMSIZ);
  const r = n.tunSetIff(fd, name, vnetHdr, out);
  if (r < 0) {
    n.closeFd(fd);
    throw new NativeError(r, 'ioctl(TUNSETIFF)', name === '' ? 'tun' : name);
  }
  return { fd, name: decodeName(out) };
}

/** What TUNGETIFF says about the interface a TUN fd is attached to. */
export interface TunInfo {
  name: string;
  /** IFF_TUN, IFF_NO_PI, IFF_VNET_HDR, ... as set at TUNSETIFF. */
  flags: number;
}

/**
 * TUNGETIFF on `fd`: the attached interface's current name (renames show) and flags, or null when
 * the interface was deleted (EBADFD: the fd is detached for good).
 * @throws NativeError for any other failure (EBADF: not an open fd; EINVAL: not a TUN fd).
 */
export function tunInfo(fd: number, subject: string): TunInfo | null {
  const out = new Uint8Array(IFNAMSIZ);
  const r = requireNative('a kernel TUN').tunGetIff(fd, out);
  if (r === E_BADFD) return null;
  if (r < 0) throw new NativeError(r, 'ioctl(TUNGETIFF)', subject);
  return { name: decodeName(out), flags: r };
}

// The functions below act in the network namespace of control socket `ctl` (see interfaceControl),
// or, by default (-1), in ours.

/**
 * The interface's index, or 0 when there is no such interface in the namespace (deleted, or moved
 * to another one). @throws NativeError for other failures.
 */
export function interfaceIndex(name: string, ctl = -1): number {
  assertName(name);
  const r = requireNative('interface lookup').ifIndex(name, ctl);
  if (r === E_NODEV || r === E_NXIO) return 0;
  if (r < 0) throw new NativeError(r, 'ioctl(SIOCGIFINDEX)', name);
  return r;
}

/**
 * The name of the interface with index `index` in our namespace, or null when there is none.
 * @throws NativeError for any other failure.
 */
export function interfaceName(index: number): string | null {
  const out = new Uint8Array(IFNAMSIZ);
  const r = requireNative('interface lookup').ifName(index, out);
  if (r === E_NODEV || r === E_NXIO) return null;
  if (r < 0) throw new NativeError(r, 'if_indextoname', `interface ${index}`);
  return decodeName(out);
}

/** SIOCGIFMTU. @throws NativeError (ENODEV: no such interface). */
export function interfaceMtu(name: string, ctl = -1): number {
  assertName(name);
  const r = requireNative('interface MTU').ifMtu(name, ctl);
  if (r < 0) throw new NativeError(r, 'ioctl(SIOCGIFMTU)', name);
  return r;
}

/** SIOCSIFMTU. @throws RangeError for an MTU outside 68..65535; NativeError (EPERM without root). */
export function setInterfaceMtu(name: string, mtu: number, ctl = -1): void {
  assertName(name);
  if (!Number.isInteger(mtu) || mtu < 68 || mtu > 65535) throw new RangeError(`MTU must be 68..65535, got ${mtu}`);
  const r = requireNative('interface MTU').ifSetMtu(name, mtu, ctl);
  if (r < 0) throw new NativeError(r, 'ioctl(SIOCSIFMTU)', name, `mtu ${mtu}`);
}

/** SIOCGIFFLAGS: IFF_UP and friends. @throws NativeError (ENODEV: no such interface). */
export function interfaceFlags(name: string, ctl = -1): number {
  assertName(name);
  const r = requireNative('interface flags').ifFlags(name, ctl);
  if (r < 0) throw new NativeError(r, 'ioctl(SIOCGIFFLAGS)', name);
  return r;
}

/** A control socket in the network namespace a TUN's interface is in; close its fd when done. */
export interface InterfaceControl {
  fd: number;
  /** The interface is in another namespace than this process (moved there). */
  otherNamespace: boolean;
}

const otherOut = new Int32Array(1);

/**
 * A control socket in the namespace the TUN on `tunFd` is in now, so its flags and MTU can be read
 * and set after `ip link set dev X netns NS`. Null where that cannot be had: kernels before 5.2
 * (ENOTTY, EINVAL), no CAP_NET_ADMIN/CAP_SYS_ADMIN there (EPERM), a deleted interface (EBADFD);
 * callers then fall back to our namespace.
 */
export function interfaceControl(tunFd: number): InterfaceControl | null {
  const fd = requireNative('a kernel TUN').tunNetnsSocket(tunFd, otherOut);
  if (fd < 0) return null;
  return { fd, otherNamespace: otherOut[0] === 1 };
}

/** Closes an fd this package opened. Errors are ignored: Linux releases the fd either way. */
export function closeFd(fd: number): void {
  requireNative('close').closeFd(fd);
}

/** Makes an adopted fd nonblocking (a WG_TUN_FD may arrive blocking). @throws NativeError. */
export function setNonblock(fd: number, subject: string): void {
  const r = requireNative('fcntl').setNonblock(fd);
  if (r < 0) throw new NativeError(r, 'fcntl(O_NONBLOCK)', subject);
}
