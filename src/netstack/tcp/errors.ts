/**
 * Errors as Node's sockets report them: an Error whose message reads "<syscall> <CODE> <detail>" with
 * code, errno (os.constants.errno, negative as libuv reports it; Linux numbering) and syscall, so code
 * written for net.Socket's errors (err.code === 'ECONNREFUSED', retry on 'ECONNRESET') works unchanged.
 */

/** Errors a connection ends with. */
export type TcpErrorCode = 'ECONNREFUSED' | 'ECONNRESET' | 'ETIMEDOUT' | 'EHOSTUNREACH' | 'ENETUNREACH' | 'ECONNABORTED';

/** Every code this stack reports, connection errors and those of connect/listen/write. */
export type TcpErrnoCode = TcpErrorCode | 'EADDRINUSE' | 'EADDRNOTAVAIL' | 'EMFILE' | 'EPIPE' | 'ENOTFOUND' | 'EINVAL';

const ERRNO: Record<TcpErrnoCode, number> = {
  ECONNREFUSED: -111,
  ECONNRESET: -104,
  ETIMEDOUT: -110,
  EHOSTUNREACH: -113,
  ENETUNREACH: -101,
  ECONNABORTED: -103,
  EADDRINUSE: -98,
  EADDRNOTAVAIL: -99,
  EMFILE: -24,
  EPIPE: -32,
  EINVAL: -22,
  // getaddrinfo's EAI_NONAME as Node reports it.
  ENOTFOUND: -3008,
};

/** An Error shaped as Node's system errors: code, errno, syscall. */
export function tcpError(code: TcpErrnoCode, syscall: string, detail: string): NodeJS.ErrnoException {
  const err = new Error(`${syscall} ${code}${detail !== '' ? ` ${detail}` : ''}`) as NodeJS.ErrnoException;
  err.code = code;
  err.errno = ERRNO[code];
  err.syscall = syscall;
  return err;
}
