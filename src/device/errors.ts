/**
 * Typed errors of the control path. A UAPI failure carries the errno the configuration protocol
 * reports back to `wg`: the reply ends in "errno=0" on success and, as wireguard-go writes it,
 * "errno=-N" with N the Linux errno on failure.
 */

/** errno values as Linux numbers them; the UAPI reply carries their negation. */
export const Errno = {
  EIO: 5,
  /** A request past one of our bounds, as the kernel refuses a peer past MAX_PEERS_PER_DEVICE. */
  ENOMEM: 12,
  EINVAL: 22,
  EADDRINUSE: 98,
  EPROTO: 71,
  /** wireguard-go's code for "anything else". */
  ENOANO: 55,
} as const;

export type ErrnoName = keyof typeof Errno;

export class WgError extends Error {
  override readonly name: string = 'WgError';
}

/** A configuration (UAPI) request was refused; nothing it asked for was applied. */
export class UapiError extends WgError {
  override readonly name = 'UapiError';
  /** Positive errno; the protocol writes errno=-code. */
  readonly errno: number;
  readonly code: ErrnoName;
  constructor(code: ErrnoName, message: string) {
    super(message);
    this.code = code;
    this.errno = Errno[code];
  }
}

/** The device was used in a state that does not allow it (closed, already open). */
export class DeviceStateError extends WgError {
  override readonly name = 'DeviceStateError';
}
