/**
 * The connection states of RFC 9293 §3.3.2 (LISTEN is a Listener, not a connection) and what a
 * connection tells its user, the Node socket.
 */
import type { TcpErrorCode } from './errors.js';

export const enum State {
  CLOSED = 0,
  SYN_SENT = 1,
  SYN_RECEIVED = 2,
  ESTABLISHED = 3,
  FIN_WAIT_1 = 4,
  FIN_WAIT_2 = 5,
  CLOSE_WAIT = 6,
  CLOSING = 7,
  LAST_ACK = 8,
  TIME_WAIT = 9,
}

export const STATE_NAMES: readonly string[] = [
  'CLOSED', 'SYN-SENT', 'SYN-RECEIVED', 'ESTABLISHED', 'FIN-WAIT-1', 'FIN-WAIT-2', 'CLOSE-WAIT', 'CLOSING', 'LAST-ACK', 'TIME-WAIT',
];

/** States after the handshake. */
export function isSynchronized(s: State): boolean {
  return s >= State.ESTABLISHED;
}

/** States where the user may still queue data. */
export function canSend(s: State): boolean {
  return s === State.ESTABLISHED || s === State.CLOSE_WAIT || s === State.SYN_SENT || s === State.SYN_RECEIVED;
}

/** What a connection tells its user (the Node socket). Called only from the end-of-batch flush. */
export interface ConnectionHandler {
  /** Active open completed (ESTABLISHED). */
  onConnect(): void;
  /** In-order data or the end of the stream can be pulled. */
  onReadable(): void;
  /** Send-buffer space was freed. */
  onWritable(): void;
  /** The connection failed; no more events follow. */
  onError(code: TcpErrorCode): void;
  /** Bytes the user's stream holds that it has not consumed (they count against the window). */
  heldBytes(): number;
}
