/**
 * A growable list of IP prefixes in one typed array: what a configuration request collects before it
 * is applied (cross-platform UAPI description, "allowed_ip="). A request may carry a million of them,
 * so each is 18 bytes in place (family, prefix length, 16 address bytes) rather than an object and an
 * array of its own.
 */

/** Bytes per entry: family (4 or 6), cidr, then the address (4 or 16 bytes used). */
const STRIDE = 18;
const INITIAL_ENTRIES = 16;

export class PrefixList {
  private bytes: Uint8Array;
  private count: number;

  constructor() {
    this.bytes = new Uint8Array(INITIAL_ENTRIES * STRIDE);
    this.count = 0;
  }

  get length(): number {
    return this.count;
  }

  /** Forget the entries from `n` on (a peer's "replace_allowed_ips" drops the ones listed before it). */
  truncate(n: number): void {
    if (n < this.count) this.count = n;
  }

  /** Append ip/cidr; `ip` is 4 or 16 bytes, copied. */
  push(ip: Uint8Array, cidr: number): void {
    if ((this.count + 1) * STRIDE > this.bytes.length) {
      const bigger = new Uint8Array(this.bytes.length * 2);
      bigger.set(this.bytes);
      this.bytes = bigger;
    }
    const at = this.count * STRIDE;
    this.bytes[at] = ip.length === 4 ? 4 : 6;
    this.bytes[at + 1] = cidr;
    this.bytes.set(ip, at + 2);
    this.count++;
  }

  /** Entry i's address: a view into the list (valid until the next push), 4 or 16 bytes. */
  ip(i: number): Uint8Array {
    const at = i * STRIDE;
    return this.bytes.subarray(at + 2, at + 2 + (this.bytes[at] === 4 ? 4 : 16));
  }

  cidr(i: number): number {
    return this.bytes[i * STRIDE + 1]!;
  }
}
