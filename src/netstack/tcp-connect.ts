/**
 * The arguments of net.Socket#connect as Node takes them: connect(options[, listener]) or
 * connect(port[, host][, listener]), the port checked as Node checks it; and the host resolved: an IP
 * literal at once (on the next tick, as a socket never connects synchronously), a name through the
 * `lookup` option (Node's dns.lookup signature: the Tunnel passes its DNS), else ENOTFOUND.
 */
import type { LookupFunction } from 'node:net';
import { parseIp } from '../net/address.js';
import { tcpError } from './tcp/errors.js';

export interface TcpConnectOptions {
  port: number;
  /** An IP literal, or a name resolved by `lookup`. Default 'localhost'. */
  host?: string;
  localAddress?: string;
  localPort?: number;
  /** 4 or 6 to pick the address family of a name; 0 either. */
  family?: number;
  lookup?: LookupFunction;
  noDelay?: boolean;
  keepAlive?: boolean;
  keepAliveInitialDelay?: number;
  timeout?: number;
}

/** Normalize connect()'s overloads. @throws RangeError for a bad port, as net.Socket does. */
export function connectArgs(
  options: TcpConnectOptions | number,
  host: string | (() => void) | undefined,
  listener: (() => void) | undefined,
): { opts: TcpConnectOptions; port: number; done: (() => void) | undefined } {
  let opts: TcpConnectOptions;
  if (typeof options === 'number') {
    if (typeof host === 'function') {
      listener = host;
      host = undefined;
    }
    opts = { port: options, host: host as string | undefined };
  } else {
    opts = options;
    if (typeof host === 'function') listener = host;
  }
  const port = Number(opts.port);
  if (!Number.isInteger(port) || port <= 0 || port > 65535) {
    throw new RangeError(`options.port should be >= 1 and < 65536, got ${String(opts.port)}`);
  }
  return { opts, port, done: listener };
}

/**
 * Resolve `name` to an address; `cb` runs on a later tick with the bytes, the text, the family, and
 * whether a lookup was asked (Node then emits 'lookup').
 */
export function resolveHost(
  name: string,
  opts: TcpConnectOptions,
  cb: (err: Error | null, ip: Uint8Array | null, address: string, family: number, looked: boolean) => void,
): void {
  const literal = parseIp(name);
  if (literal !== null) {
    process.nextTick(cb, null, literal, name, literal.length === 4 ? 4 : 6, false);
    return;
  }
  const lookup = opts.lookup;
  if (lookup === undefined) {
    const err = tcpError('ENOTFOUND', 'getaddrinfo', name) as NodeJS.ErrnoException & { hostname: string };
    err.hostname = name;
    process.nextTick(cb, err, null, '', 0, false);
    return;
  }
  const fam = opts.family === 4 || opts.family === 6 ? opts.family : 0;
  lookup(name, { family: fam, all: false }, (err, address, family) => {
    const addr = typeof address === 'string' ? address : '';
    if (err) {
      cb(err, null, addr, family ?? 0, true);
      return;
    }
    const ip = parseIp(addr);
    if (ip === null) cb(tcpError('EINVAL', 'connect', `lookup returned ${addr}`), null, addr, family ?? 0, true);
    else cb(null, ip, addr, family ?? 0, true);
  });
}
