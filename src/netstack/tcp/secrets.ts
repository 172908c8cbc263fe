/**
 * The keyed values TCP derives from a connection's addresses, as Linux's secure_seq.c and
 * syncookies.c do, each with its own random key (HalfSipHash, secret-hash.ts):
 *
 * - ISN (RFC 6528 §3): ISN = M + F(local, lport, remote, rport, key), M a clock ticking every 4 us,
 *   so a new incarnation of a 4-tuple starts above the old one and an off-path attacker cannot guess.
 * - Timestamp offset (RFC 7323 §5.4, §7.1): a per-address-pair offset added to the TSval clock, so
 *   TSvals reveal no uptime and stay monotonic for one pair across connections (PAWS after reuse).
 * - SYN cookies (RFC 4987 §3.6): when the SYN queue is full, the SYN-ACK's ISN encodes the state a
 *   half-open connection would have held: a 5-bit time slot, a 3-bit MSS index, and a 24-bit MAC of
 *   the 4-tuple, the client's ISN, the slot and the index. The final ACK (ack - 1 = cookie) rebuilds
 *   the connection. Window scale and SACK-permitted travel in the low 6 bits of the SYN-ACK's TSval
 *   (as Linux's cookie_init_timestamp) when the client offered timestamps; without them the
 *   connection goes without those options.
 */
import { randomBytes } from 'node:crypto';
import { halfSipHash } from './secret-hash.js';
import { MAX_WSCALE } from './constants.js';

/** MSS values a cookie can carry: the largest not above the client's MSS is announced. */
export const COOKIE_MSS_TABLE: readonly number[] = [536, 1024, 1220, 1280, 1300, 1340, 1380, 1440];
/** A cookie slot lasts 64 s; the current and the previous slot are accepted. */
const COOKIE_SLOT_MS = 64_000;
/** TSval low bits for cookie options: 4 bits window scale (15 = none), 1 bit SACK. */
const TS_OPTION_BITS = 6;
const TS_OPTION_MASK = (1 << TS_OPTION_BITS) - 1;
const WSCALE_NONE = 0xf;

/** What a valid cookie restores. */
export interface CookieState {
  mss: number;
  /** Peer's window-scale shift, -1 when the connection goes without window scaling. */
  wscale: number;
  sackOk: boolean;
}

export class TcpSecrets {
  private readonly keys: Uint32Array;
  private readonly scratch: Uint8Array;

  /** `seed`: 24 bytes of key material (tests pass fixed bytes; default random). */
  constructor(seed: Uint8Array = randomBytes(24)) {
    this.keys = new Uint32Array(6);
    for (let i = 0; i < 6; i++) {
      this.keys[i] = (seed[4 * i]! | (seed[4 * i + 1]! << 8) | (seed[4 * i + 2]! << 16) | (seed[4 * i + 3]! << 24)) >>> 0;
    }
    this.scratch = new Uint8Array(48);
  }

  /** RFC 6528 ISN for the 4-tuple at `nowMs`. */
  isn(local: Uint8Array, localPort: number, remote: Uint8Array, remotePort: number, nowMs: number): number {
    const n = this.tuple(local, localPort, remote, remotePort, 0, 0);
    const f = halfSipHash(this.keys[0]!, this.keys[1]!, this.scratch, n);
    // M: 4 us ticks, taken modulo 2^32 before the add so the sum stays exact.
    const m = Math.floor(nowMs * 250) % 0x1_0000_0000;
    return (f + m) | 0;
  }

  /** RFC 7323 §5.4 per-address-pair TSval offset. */
  tsOffset(local: Uint8Array, remote: Uint8Array): number {
    let n = 0;
    for (let i = 0; i < local.length; i++) this.scratch[n++] = local[i]!;
    for (let i = 0; i < remote.length; i++) this.scratch[n++] = remote[i]!;
    return halfSipHash(this.keys[2]!, this.keys[3]!, this.scratch, n);
  }

  /** Index into COOKIE_MSS_TABLE for a client that announced `mss`. */
  static cookieMssIndex(mss: number): number {
    let i = COOKIE_MSS_TABLE.length - 1;
    while (i > 0 && COOKIE_MSS_TABLE[i]! > mss) i--;
    return i;
  }

  /** The ISN of a cookie SYN-ACK (RFC 4987 §3.6). */
  cookie(local: Uint8Array, localPort: number, remote: Uint8Array, remotePort: number, clientIsn: number, mssIndex: number, nowMs: number): number {
    const slot = Math.floor(nowMs / COOKIE_SLOT_MS);
    return this.cookieAt(local, localPort, remote, remotePort, clientIsn, mssIndex, slot);
  }

  /**
   * Check the cookie `ack - 1` of a final ACK whose `seq - 1` is the client's ISN; returns the MSS
   * it carried, or 0 when the cookie is forged or older than two slots.
   */
  checkCookie(local: Uint8Array, localPort: number, remote: Uint8Array, remotePort: number, clientIsn: number, cookie: number, nowMs: number): number {
    const slot = Math.floor(nowMs / COOKIE_SLOT_MS);
    const mssIndex = (cookie >>> 24) & 7;
    for (let s = slot; s >= slot - 1; s--) {
      if (((cookie >>> 27) & 0x1f) !== (s & 0x1f)) continue;
      if (this.cookieAt(local, localPort, remote, remotePort, clientIsn, mssIndex, s) === cookie) return COOKIE_MSS_TABLE[mssIndex]!;
    }
    return 0;
  }

  /** TSval for a cookie SYN-ACK: the clock's value with the options in its low bits, never ahead of it. */
  static cookieTsVal(ts: number, wscale: number, sackOk: boolean): number {
    const bits = (wscale < 0 ? WSCALE_NONE : Math.min(wscale, MAX_WSCALE)) | (sackOk ? 0x10 : 0);
    let v = (ts & ~TS_OPTION_MASK) | bits;
    if (((v - ts) | 0) > 0) v = (v - (1 << TS_OPTION_BITS)) | 0;
    return v;
  }

  /** Options a cookie ACK's TSecr carries back. */
  static cookieOptions(tsEcr: number, out: CookieState): void {
    const w = tsEcr & 0xf;
    out.wscale = w === WSCALE_NONE ? -1 : w;
    out.sackOk = (tsEcr & 0x10) !== 0;
  }

  private cookieAt(local: Uint8Array, localPort: number, remote: Uint8Array, remotePort: number, clientIsn: number, mssIndex: number, slot: number): number {
    const n = this.tuple(local, localPort, remote, remotePort, clientIsn, ((slot & 0xffffff) << 3) | mssIndex);
    const mac = halfSipHash(this.keys[4]!, this.keys[5]!, this.scratch, n + 8);
    return ((slot & 0x1f) << 27) | (mssIndex << 24) | (mac & 0xffffff);
  }

  /** Pack the 4-tuple and two extra words into the scratch; returns the bytes before the extras. */
  private tuple(local: Uint8Array, localPort: number, remote: Uint8Array, remotePort: number, a: number, b: number): number {
    const s = this.scratch;
    let n = 0;
    for (let i = 0; i < local.length; i++) s[n++] = local[i]!;
    for (let i = 0; i < remote.length; i++) s[n++] = remote[i]!;
    s[n++] = localPort >>> 8;
    s[n++] = localPort & 0xff;
    s[n++] = remotePort >>> 8;
    s[n++] = remotePort & 0xff;
    s[n] = a & 0xff;
    s[n + 1] = (a >>> 8) & 0xff;
    s[n + 2] = (a >>> 16) & 0xff;
    s[n + 3] = a >>> 24;
    s[n + 4] = b & 0xff;
    s[n + 5] = (b >>> 8) & 0xff;
    s[n + 6] = (b >>> 16) & 0xff;
    s[n + 7] = b >>> 24;
    return n;
  }
}
