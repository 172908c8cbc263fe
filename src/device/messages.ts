/**
 * Wire format of the four WireGuard messages (paper 5.4.2-5.4.7), as offsets and lengths. All fields
 * are little-endian. The one-byte type and its three reserved zero bytes are read as one u32, so a
 * message with non-zero reserved bytes fails the same comparison as a wrong type.
 */

export const MESSAGE_INITIATION = 1;
export const MESSAGE_RESPONSE = 2;
export const MESSAGE_COOKIE_REPLY = 3;
export const MESSAGE_TRANSPORT = 4;

export const KEY_LEN = 32;
export const TAG_LEN = 16; // Poly1305
export const MAC_LEN = 16;
export const TIMESTAMP_LEN = 12; // TAI64N
export const COOKIE_NONCE_LEN = 24; // XChaCha20
export const COOKIE_LEN = 16;

/** 5.4.2 First Message: Initiator to Responder. */
export const INIT_SENDER = 4;
export const INIT_EPHEMERAL = 8;
export const INIT_STATIC = INIT_EPHEMERAL + KEY_LEN; // 40
export const INIT_TIMESTAMP = INIT_STATIC + KEY_LEN + TAG_LEN; // 88
export const INIT_MAC1 = INIT_TIMESTAMP + TIMESTAMP_LEN + TAG_LEN; // 116
export const INIT_MAC2 = INIT_MAC1 + MAC_LEN; // 132
export const INITIATION_LEN = INIT_MAC2 + MAC_LEN; // 148

/** 5.4.3 Second Message: Responder to Initiator. */
export const RESP_SENDER = 4;
export const RESP_RECEIVER = 8;
export const RESP_EPHEMERAL = 12;
export const RESP_EMPTY = RESP_EPHEMERAL + KEY_LEN; // 44
export const RESP_MAC1 = RESP_EMPTY + TAG_LEN; // 60
export const RESP_MAC2 = RESP_MAC1 + MAC_LEN; // 76
export const RESPONSE_LEN = RESP_MAC2 + MAC_LEN; // 92

/** 5.4.7 Under Load: Cookie Reply Message. */
export const COOKIE_RECEIVER = 4;
export const COOKIE_NONCE = 8;
export const COOKIE_ENCRYPTED = COOKIE_NONCE + COOKIE_NONCE_LEN; // 32
export const COOKIE_REPLY_LEN = COOKIE_ENCRYPTED + COOKIE_LEN + TAG_LEN; // 64

/** 5.4.6 Subsequent Messages: Transport Data Messages. */
export const DATA_RECEIVER = 4;
export const DATA_COUNTER = 8;
export const DATA_HEADER_LEN = 16;
/** The smallest transport message: header plus the tag of an empty (keepalive) payload. */
export const DATA_MIN_LEN = DATA_HEADER_LEN + TAG_LEN;
/** Plaintext is zero-padded to a multiple of this (5.4.6), capped at the MTU. */
export const PADDING_MULTIPLE = 16;

/** Read the type word: the type byte with its three reserved bytes, as one little-endian u32. */
export function messageType(b: Uint8Array, start: number): number {
  return (b[start]! | (b[start + 1]! << 8) | (b[start + 2]! << 16) | (b[start + 3]! << 24)) >>> 0;
}

export function readU32(b: Uint8Array, at: number): number {
  return (b[at]! | (b[at + 1]! << 8) | (b[at + 2]! << 16) | (b[at + 3]! << 24)) >>> 0;
}

export function writeU32(b: Uint8Array, at: number, v: number): void {
  b[at] = v & 0xff;
  b[at + 1] = (v >>> 8) & 0xff;
  b[at + 2] = (v >>> 16) & 0xff;
  b[at + 3] = (v >>> 24) & 0xff;
}
