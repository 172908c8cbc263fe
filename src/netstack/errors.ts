/**
 * Errors in Node's own shapes, so code written against node:net and node:dgram handles ours unchanged:
 * - system errors as libuv reports them: `code` ("ECONNREFUSED"), a negative `errno`, `syscall`, and
 *   `address`/`port` when one is involved, with the message Node prints ("connect ECONNREFUSED
 *   10.0.0.1:80");
 * - usage errors with Node's ERR_* codes (ERR_SOCKET_DGRAM_NOT_RUNNING, ...), thrown at the call.
 */
import { constants } from 'node:os';

const ERRNO = constants.errno as Readonly<Record<string, number>>;

/** A system error of a socket: what Node's errnoException / exceptionWithHostPort make. */
export interface SocketError extends Error {
  code: string;
  errno: number;
  syscall: string;
  address?: string;
  port?: number;
}

/** A system error in Node's shape; `code` is an errno name ("ECONNREFUSED", "ETIMEDOUT", ...). */
export function socketError(code: string, syscall: string, address?: string, port?: number): SocketError {
  const where = address === undefined ? '' : port === undefined || port === 0 ? ` ${address}` : ` ${address}:${port}`;
  const err = new Error(`${syscall} ${code}${where}`) as SocketError;
  err.errno = -(ERRNO[code] ?? 0);
  err.code = code;
  err.syscall = syscall;
  if (address !== undefined) err.address = address;
  if (port !== undefined && port !== 0) err.port = port;
  return err;
}

/** A usage error with one of Node's ERR_* codes, of the class Node throws for it. */
export function usageError(code: string, message: string, Kind: ErrorConstructor | RangeErrorConstructor | TypeErrorConstructor = Error): Error & { code: string } {
  const err = new Kind(message) as Error & { code: string };
  err.code = code;
  return err;
}
