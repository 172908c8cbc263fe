/**
 * From the shim's -errno results to errors people can read. The C returns -errno and never throws
 * (STYLE.md, "The C boundary"); this is where a failure becomes a NativeError naming the errno code,
 * the syscall and the interface or endpoint involved. Data-path code compares results against the
 * negated constants below instead (no Error per dropped packet) and raises a NativeError only for
 * what it reports.
 */
import { constants } from 'node:os';

const ERRNO = constants.errno as Readonly<Record<string, number>>;

/** errno number -> code name ("EPERM"), built once from os.constants.errno. */
const CODE_BY_ERRNO: ReadonlyMap<number, string> = (() => {
  const m = new Map<number, string>();
  for (const name of Object.keys(ERRNO)) {
    const n = ERRNO[name]!;
    // Aliases share numbers (EAGAIN/EWOULDBLOCK, EDEADLK/EDEADLOCK): keep the first, the usual name.
    if (!m.has(n)) m.set(n, name);
  }
  return m;
})();

function errnoOf(name: string, linuxValue: number): number {
  return ERRNO[name] ?? linuxValue;
}

/**
 * The negated errno values the data path and the watchers test results against. Negated so that a
 * result compares directly: `r === E_AGAIN`. (Linux values as fallbacks; os.constants has them all.)
 */
export const E_AGAIN = -errnoOf('EAGAIN', 11);
export const E_INTR = -errnoOf('EINTR', 4);
export const E_IO = -errnoOf('EIO', 5);
export const E_BADF = -errnoOf('EBADF', 9);
/** EBADFD is absent from os.constants.errno; 77 on every Linux architecture Node runs on. */
export const E_BADFD = -77;
export const E_NODEV = -errnoOf('ENODEV', 19);
export const E_NXIO = -errnoOf('ENXIO', 6);
export const E_NOENT = -errnoOf('ENOENT', 2);
export const E_PERM = -errnoOf('EPERM', 1);
export const E_ACCES = -errnoOf('EACCES', 13);
export const E_BUSY = -errnoOf('EBUSY', 16);
export const E_INVAL = -errnoOf('EINVAL', 22);
export const E_NOTTY = -errnoOf('ENOTTY', 25);
export const E_NOBUFS = -errnoOf('ENOBUFS', 105);
export const E_NOMEM = -errnoOf('ENOMEM', 12);
export const E_MSGSIZE = -errnoOf('EMSGSIZE', 90);
export const E_ADDRINUSE = -errnoOf('EADDRINUSE', 98);
export const E_ADDRNOTAVAIL = -errnoOf('EADDRNOTAVAIL', 99);
export const E_AFNOSUPPORT = -errnoOf('EAFNOSUPPORT', 97);
export const E_NETUNREACH = -errnoOf('ENETUNREACH', 101);
export const E_OPNOTSUPP = -errnoOf('EOPNOTSUPP', 95);
export const E_HOSTUNREACH = -errnoOf('EHOSTUNREACH', 113);
export const E_CONNREFUSED = -errnoOf('ECONNREFUSED', 111);
export const E_NOPROTOOPT = -errnoOf('ENOPROTOOPT', 92);

/** "EPERM" for 1 (or -1); "EBADFD" for 77; "E<n>" for a number without a name. */
export function errnoCode(errno: number): string {
  const n = Math.abs(errno);
  if (n === -E_BADFD) return 'EBADFD';
  return CODE_BY_ERRNO.get(n) ?? `E${n}`;
}

/** A failed syscall in the shim: which one, on what, and why. */
export class NativeError extends Error {
  /** Positive errno, as Node's ErrnoException has it. */
  readonly errno: number;
  /** "EPERM", "ENODEV", ... */
  readonly code: string;
  /** The syscall (and ioctl request) that failed: "ioctl(TUNSETIFF)", "bind", "sendmmsg". */
  readonly syscall: string;
  /** The interface or endpoint involved: "wg0", "udp4 0.0.0.0:51820". */
  readonly subject: string;

  constructor(result: number, syscall: string, subject: string, detail?: string) {
    const errno = Math.abs(result);
    const code = errnoCode(errno);
    super(`${syscall} ${subject}: ${code}${detail === undefined ? '' : ` (${detail})`}`);
    this.name = 'NativeError';
    this.errno = errno;
    this.code = code;
    this.syscall = syscall;
    this.subject = subject;
  }
}

/** Returns `result` when it is a count (>= 0); throws a NativeError for -errno. */
export function check(result: number, syscall: string, subject: string): number {
  if (result < 0) throw new NativeError(result, syscall, subject);
  return result;
}
