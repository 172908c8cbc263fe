/**
 * UDP sockets through the shim, control path: create and bind (v6-only for IPv6, PKTINFO on), the
 * bound port, SO_MARK, socket buffers. Each turns -errno into a NativeError naming the
 * syscall and the socket ("udp6 [::]:51820"). The data path (recvBatch, sendBatch) is called on the
 * binding directly; binding.ts describes its layouts.
 */
import { parseIp } from '../net/address.js';
import { NativeError } from './errno.js';
import { requireNative } from './load.js';

/** "udp4 0.0.0.0:51820", "udp6 [::1]:0": how a socket is named in errors. */
export function socketLabel(family: 4 | 6, address: string | null, port: number): string {
  const a = address ?? (family === 4 ? '0.0.0.0' : '::');
  return family === 4 ? `udp4 ${a}:${port}` : `udp6 [${a}]:${port}`;
}

/**
 * 4 or 16 bytes of a numeric address of `family` (net/address.ts parseIp; an IPv6 %zone is dropped,
 * a v4-mapped tail is read). @throws TypeError for anything else.
 */
export function addressBytes(family: 4 | 6, address: string): Uint8Array {
  const zone = family === 6 ? address.indexOf('%') : -1;
  const ip = parseIp(zone < 0 ? address : address.slice(0, zone));
  if (ip === null || ip.length !== (family === 4 ? 4 : 16)) {
    throw new TypeError(`not an IPv${family} address: ${JSON.stringify(address)}`);
  }
  return ip;
}

/**
 * A nonblocking, close-on-exec UDP socket bound to address:port (null: any), with IP_PKTINFO
 * (IPv4) or IPV6_V6ONLY + IPV6_RECVPKTINFO (IPv6). Returns the fd.
 * @throws RangeError for a bad port; TypeError for a bad address; NativeError (EADDRINUSE,
 *   EAFNOSUPPORT where the host has no IPv6, EADDRNOTAVAIL for an address not on this host).
 */
export function openUdpSocket(family: 4 | 6, address: string | null, port: number): number {
  if (!Number.isInteger(port) || port < 0 || port > 65535) throw new RangeError(`port must be 0..65535, got ${port}`);
  const bytes = address === null ? null : addressBytes(family, address);
  const fd = requireNative('the Linux bind').udpSocket(family, bytes, port);
  if (fd < 0) throw new NativeError(fd, 'socket/bind', socketLabel(family, address, port));
  return fd;
}

/** The port a socket is bound to. @throws NativeError. */
export function socketPort(fd: number, label: string): number {
  const r = requireNative('the Linux bind').sockPort(fd);
  if (r < 0) throw new NativeError(r, 'getsockname', label);
  return r;
}

/** SO_MARK (fwmark for policy routing, as `wg set ... fwmark`). @throws NativeError (EPERM). */
export function setSocketMark(fd: number, mark: number, label: string): void {
  if (!Number.isInteger(mark) || mark < 0 || mark > 0xffffffff) throw new RangeError(`fwmark must be 0..2^32-1, got ${mark}`);
  const r = requireNative('the Linux bind').sockSetMark(fd, mark);
  if (r < 0) throw new NativeError(r, 'setsockopt(SO_MARK)', label, `mark ${mark}`);
}

/**
 * Kernel receive and send buffer sizes: SO_RCVBUFFORCE/SO_SNDBUFFORCE with CAP_NET_ADMIN (past
 * net.core.rmem_max), else the plain options (capped by it). @throws NativeError.
 */
export function setSocketBuffers(fd: number, recvBytes: number, sendBytes: number, label: string): void {
  const r = requireNative('the Linux bind').sockSetBuffers(fd, recvBytes | 0, sendBytes | 0);
  if (r < 0) throw new NativeError(r, 'setsockopt(SO_RCVBUF/SO_SNDBUF)', label);
}

