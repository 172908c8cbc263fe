/**
 * MACs and cookies (paper 5.4.4 Cookie MACs, 5.4.7 Under Load: Cookie Reply Message).
 *
 * Every handshake message ends in mac1 = MAC(HASH("mac1----" || S_receiver), msg up to mac1), which
 * proves the sender knows the receiver's public key, and mac2 = MAC(cookie, msg up to mac2), which
 * proves it recently received a cookie bound to its source address. The responder (CookieChecker)
 * validates them and, under load, answers with an encrypted cookie; the initiator (CookieGenerator,
 * one per peer) adds the MACs and consumes cookie replies.
 */
import { randomFillSync } from 'node:crypto';
import { hash, mac } from '../crypto/blake2s.js';
import type { MacBatch } from '../crypto/mac-batch.js';
import { randomPublicBytes } from '../crypto/random.js';
import { xopen, xseal } from '../crypto/xaead.js';
import { constantTimeEqual, wipe } from '../crypto/keys.js';
import { COOKIE_REFRESH_TIME_MS } from './constants.js';
import {
  COOKIE_ENCRYPTED,
  COOKIE_LEN,
  COOKIE_NONCE,
  COOKIE_NONCE_LEN,
  COOKIE_RECEIVER,
  MAC_LEN,
  MESSAGE_COOKIE_REPLY,
  TAG_LEN,
  writeU32,
} from './messages.js';

const enc = new TextEncoder();
const LABEL_MAC1 = enc.encode('mac1----');
const LABEL_COOKIE = enc.encode('cookie--');

/** Graded outcome of checking a handshake message's MACs, as the kernel's cookie validation. */
export const enum MacResult {
  InvalidMac1 = 0,
  ValidMac1NoCookie = 1,
  ValidMac1AndCookie = 2,
}

const macOut = new Uint8Array(MAC_LEN);

/** The source-address binding of a cookie: address bytes then the port, big-endian. */
function sourceBytes(out: Uint8Array, addr: Uint8Array, port: number): Uint8Array {
  out.set(addr, 0);
  out[addr.length] = port >>> 8;
  out[addr.length + 1] = port & 0xff;
  return out.subarray(0, addr.length + 2);
}
const srcScratch = new Uint8Array(18);

/** Responder side: validates MACs against our own public key and makes cookie replies. */
export class CookieChecker {
  private readonly mac1Key = new Uint8Array(32);
  private readonly cookieKey = new Uint8Array(32);
  private readonly secret = new Uint8Array(32);
  private secretSetAt = -Infinity;
  /**
   * The cookie last made, MAC(secret, source) (5.4.7), and its source (lastSourceLen 0: none). Under a
   * flood from one address every message asks for the same cookie, so mac2 then costs one MAC, not
   * two: ~0.9 us against ~2.2 us a check (3 x 50,000 checks).
   */
  private readonly lastCookie = new Uint8Array(COOKIE_LEN);
  private readonly lastSource = new Uint8Array(18);
  private lastSourceLen = 0;
  hasKey = false;

  /** Our public key changed (or went away). */
  init(publicKey: Uint8Array | null): void {
    if (publicKey === null) {
      wipe(this.mac1Key);
      wipe(this.cookieKey);
      this.hasKey = false;
      return;
    }
    hash(this.mac1Key, LABEL_MAC1, publicKey);
    hash(this.cookieKey, LABEL_COOKIE, publicKey);
    this.hasKey = true;
  }

  /**
   * mac1 is checked a batch at a time: describeMac1 puts each message's mac1 input in a slot,
   * computeMac1 MACs every slot in one call, check reads the slot's verdict.
   */
  describeMac1(batch: MacBatch, i: number, msg: Uint8Array, at: number, len: number): void {
    batch.set(i, msg, at, len - 2 * MAC_LEN);
  }

  computeMac1(batch: MacBatch): void {
    batch.compute(this.mac1Key);
  }

  /** mac2 of msg[at, at+len) matches the cookie we would give its source now. */
  checkMac2(msg: Uint8Array, at: number, len: number, srcAddr: Uint8Array, srcPort: number, nowMs: number): boolean {
    if (nowMs - this.secretSetAt > COOKIE_REFRESH_TIME_MS) return false;
    const mac2At = at + len - MAC_LEN;
    mac(macOut, this.cookieFor(srcAddr, srcPort), msg.subarray(at, mac2At));
    return constantTimeEqual(macOut, msg.subarray(mac2At, mac2At + MAC_LEN));
  }

  /**
   * Both MACs in one graded answer (5.4.7), for msg[at, at+len) in slot i of a batch that went through
   * computeMac1. mac2 is checked only when `wantMac2` (under load): otherwise it does not matter.
   */
  check(
    batch: MacBatch,
    i: number,
    msg: Uint8Array,
    at: number,
    len: number,
    wantMac2: boolean,
    srcAddr: Uint8Array,
    srcPort: number,
    nowMs: number,
  ): MacResult {
    if (!this.hasKey || !batch.matches(i, msg, at + len - 2 * MAC_LEN)) return MacResult.InvalidMac1;
    if (!wantMac2) return MacResult.ValidMac1NoCookie;
    return this.checkMac2(msg, at, len, srcAddr, srcPort, nowMs) ? MacResult.ValidMac1AndCookie : MacResult.ValidMac1NoCookie;
  }

  /**
   * Write a 64-byte cookie reply to msg (whose mac1 was valid) into out[oat, oat+64). The secret
   * changes every two minutes, so old cookies die with it.
   */
  createReply(
    msg: Uint8Array,
    at: number,
    len: number,
    receiverIndex: number,
    srcAddr: Uint8Array,
    srcPort: number,
    nowMs: number,
    out: Uint8Array,
    oat: number,
  ): void {
    if (nowMs - this.secretSetAt > COOKIE_REFRESH_TIME_MS) {
      randomFillSync(this.secret);
      this.secretSetAt = nowMs;
      this.lastSourceLen = 0;
    }
    const cookie = this.cookieFor(srcAddr, srcPort);
    writeU32(out, oat, MESSAGE_COOKIE_REPLY);
    writeU32(out, oat + COOKIE_RECEIVER, receiverIndex);
    randomPublicBytes(out, oat + COOKIE_NONCE, COOKIE_NONCE_LEN);
    const nonce = out.subarray(oat + COOKIE_NONCE, oat + COOKIE_NONCE + COOKIE_NONCE_LEN);
    const mac1At = at + len - 2 * MAC_LEN;
    xseal(this.cookieKey, nonce, cookie, msg.subarray(mac1At, mac1At + MAC_LEN), out, oat + COOKIE_ENCRYPTED);
  }

  /** The cookie a source gets under the current secret: MAC(secret, address || port). */
  private cookieFor(srcAddr: Uint8Array, srcPort: number): Uint8Array {
    const src = sourceBytes(srcScratch, srcAddr, srcPort);
    let same = src.length === this.lastSourceLen;
    for (let i = 0; same && i < src.length; i++) same = src[i] === this.lastSource[i];
    if (!same) {
      mac(this.lastCookie, this.secret, src);
      this.lastSource.set(src);
      this.lastSourceLen = src.length;
    }
    return this.lastCookie;
  }

  destroy(): void {
    wipe(this.secret);
    wipe(this.lastCookie);
    this.lastSourceLen = 0;
    this.init(null);
  }
}

/** Initiator side, one per peer: adds MACs to our handshake messages and keeps the peer's cookie. */
export class CookieGenerator {
  /** The peer's public key, kept rather than copied: the peer's own never changes. */
  private readonly peerPublicKey: Uint8Array;
  private readonly mac1Key = new Uint8Array(32);
  private readonly cookieKey = new Uint8Array(32);
  private hasKeys = false;
  private readonly cookie = new Uint8Array(COOKIE_LEN);
  private cookieSetAt = -Infinity;
  private readonly lastMac1 = new Uint8Array(MAC_LEN);
  private hasLastMac1 = false;

  constructor(peerPublicKey: Uint8Array) {
    this.peerPublicKey = peerPublicKey;
  }

  /**
   * HASH("mac1----" || S_pub) and HASH("cookie--" || S_pub) of the peer's key, derived at the first
   * message to the peer rather than per configured peer: two BLAKE2s (about 10 us through node:crypto)
   * for each of 10,000 peers of a setconf, most of which may never be written to.
   */
  private deriveKeys(): void {
    if (this.hasKeys) return;
    hash(this.mac1Key, LABEL_MAC1, this.peerPublicKey);
    hash(this.cookieKey, LABEL_COOKIE, this.peerPublicKey);
    this.hasKeys = true;
  }

  /** Fill mac1 and mac2 of msg[at, at+len) (mac2 zero unless we hold a fresh cookie). */
  addMacs(msg: Uint8Array, at: number, len: number, nowMs: number): void {
    const mac1At = at + len - 2 * MAC_LEN;
    const mac2At = mac1At + MAC_LEN;
    this.deriveKeys();
    mac(macOut, this.mac1Key, msg.subarray(at, mac1At));
    msg.set(macOut, mac1At);
    this.lastMac1.set(macOut);
    this.hasLastMac1 = true;
    if (nowMs - this.cookieSetAt < COOKIE_REFRESH_TIME_MS) {
      mac(macOut, this.cookie, msg.subarray(at, mac2At));
      msg.set(macOut, mac2At);
    } else {
      msg.fill(0, mac2At, mac2At + MAC_LEN);
    }
  }

  /** Take the cookie from a reply to the last message we MACed. False if it does not decrypt. */
  consumeReply(msg: Uint8Array, at: number, nowMs: number): boolean {
    if (!this.hasLastMac1) return false;
    this.deriveKeys();
    const nonce = msg.subarray(at + COOKIE_NONCE, at + COOKIE_NONCE + COOKIE_NONCE_LEN);
    const sealed = msg.subarray(at + COOKIE_ENCRYPTED, at + COOKIE_ENCRYPTED + COOKIE_LEN + TAG_LEN);
    if (!xopen(this.cookieKey, nonce, sealed, this.lastMac1, this.cookie, 0)) return false;
    this.cookieSetAt = nowMs;
    this.hasLastMac1 = false;
    return true;
  }

  get hasCookie(): boolean {
    return this.cookieSetAt !== -Infinity;
  }

  destroy(): void {
    wipe(this.cookie);
    wipe(this.lastMac1);
  }
}
