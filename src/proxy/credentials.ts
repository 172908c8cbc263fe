/**
 * The username and password a SOCKS5 ([Socks5]) or HTTP ([http]) listener requires, compared in
 * constant time so that response timing tells an attacker nothing about how much of a guess was right.
 */
import { createHash, timingSafeEqual } from 'node:crypto';

export class Credentials {
  private readonly user: Buffer;
  private readonly pass: Buffer;

  constructor(username: string, password: string) {
    this.user = digest(Buffer.from(username, 'utf8'));
    this.pass = digest(Buffer.from(password, 'utf8'));
  }

  /** Both must match; each is compared whole, whatever the other's outcome. */
  check(username: Uint8Array, password: Uint8Array): boolean {
    const u = timingSafeEqual(digest(username), this.user);
    const p = timingSafeEqual(digest(password), this.pass);
    return u && p;
  }
}

/** Equal-length inputs for timingSafeEqual, whatever was typed: the length leaks nothing either. */
function digest(b: Uint8Array): Buffer {
  return createHash('sha256').update(b).digest();
}
