/**
 * Text forms of IP addresses and prefixes, for every layer that reads or prints them (configuration,
 * UAPI, endpoints, the netstack): IPv4 dotted quads (RFC 791 text as inet_pton reads it), IPv6 in any
 * RFC 4291 §2.2 form on input and the RFC 5952 canonical form on output.
 */

const IPV4_RE = /^(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})$/;
const HEX_GROUP_RE = /^[0-9a-fA-F]{1,4}$/;

function parseIpv4Into(text: string, out: Uint8Array, at: number): boolean {
  const m = IPV4_RE.exec(text);
  if (m === null) return false;
  for (let i = 0; i < 4; i++) {
    const part = m[i + 1]!;
    // A leading zero would be octal to inet_aton and decimal to inet_pton; refuse it, as inet_pton does.
    if (part.length > 1 && part[0] === '0') return false;
    const n = Number(part);
    if (n > 255) return false;
    out[at + i] = n;
  }
  return true;
}

/**
 * Parse an IPv4 dotted quad or an IPv6 address (RFC 4291 §2.2: "::" compression, a trailing dotted
 * quad) into 4 or 16 bytes; null if the text is neither. Zone suffixes ("%eth0") are not addresses.
 */
export function parseIp(text: string): Uint8Array | null {
  if (text.indexOf(':') < 0) {
    const out = new Uint8Array(4);
    return parseIpv4Into(text, out, 0) ? out : null;
  }
  const gap = text.indexOf('::');
  if (gap >= 0 && text.indexOf('::', gap + 1) >= 0) return null;
  const head = gap >= 0 ? text.slice(0, gap) : text;
  const tail = gap >= 0 ? text.slice(gap + 2) : '';
  const headParts = head === '' ? [] : head.split(':');
  const tailParts = tail === '' ? [] : tail.split(':');
  if (gap < 0 && headParts.length === 0) return null;

  const groups: number[] = [];
  const all = headParts.concat(tailParts);
  let dotted: Uint8Array | null = null;
  for (let i = 0; i < all.length; i++) {
    const part = all[i]!;
    // A dotted quad may only end the address (RFC 4291 §2.2 form 3), never stand before a "::".
    if (i === all.length - 1 && part.indexOf('.') >= 0 && (gap < 0 || tailParts.length > 0)) {
      dotted = new Uint8Array(4);
      if (!parseIpv4Into(part, dotted, 0)) return null;
      groups.push((dotted[0]! << 8) | dotted[1]!, (dotted[2]! << 8) | dotted[3]!);
      continue;
    }
    if (!HEX_GROUP_RE.test(part)) return null;
    groups.push(parseInt(part, 16));
  }
  // "::" stands for one or more zero groups.
  if (gap >= 0 ? groups.length > 7 : groups.length !== 8) return null;
  const headGroups = gap >= 0 ? headParts.length : 8;
  const out = new Uint8Array(16);
  const tailStart = 8 - (groups.length - headGroups);
  for (let i = 0; i < groups.length; i++) {
    const slot = i < headGroups ? i : tailStart + (i - headGroups);
    out[2 * slot] = groups[i]! >>> 8;
    out[2 * slot + 1] = groups[i]! & 0xff;
  }
  return out;
}

/**
 * Text of a 4- or 16-byte address: dotted quad, or RFC 5952 §4 canonical IPv6 (lower-case, no leading
 * zeros, the longest run of two or more zero groups, the first on a tie, as "::"), with IPv4-mapped
 * addresses written "::ffff:a.b.c.d" as §5 recommends.
 */
export function formatIp(ip: Uint8Array): string {
  if (!(ip instanceof Uint8Array) || (ip.length !== 4 && ip.length !== 16)) {
    throw new TypeError(`formatIp: ip must be a Uint8Array of 4 or 16 bytes, got ${describe(ip)}`);
  }
  if (ip.length === 4) return `${ip[0]}.${ip[1]}.${ip[2]}.${ip[3]}`;
  const g: number[] = [];
  for (let i = 0; i < 8; i++) g.push((ip[2 * i]! << 8) | ip[2 * i + 1]!);
  if (g[0] === 0 && g[1] === 0 && g[2] === 0 && g[3] === 0 && g[4] === 0 && g[5] === 0xffff) {
    return `::ffff:${ip[12]}.${ip[13]}.${ip[14]}.${ip[15]}`;
  }
  let bestStart = -1;
  let bestLen = 1; // a single zero group is never compressed (RFC 5952 §4.2.2)
  for (let i = 0; i < 8; ) {
    if (g[i] !== 0) {
      i++;
      continue;
    }
    let j = i;
    while (j < 8 && g[j] === 0) j++;
    if (j - i > bestLen) {
      bestStart = i;
      bestLen = j - i;
    }
    i = j;
  }
  const hex = (from: number, to: number): string => g.slice(from, to).map((x) => x.toString(16)).join(':');
  if (bestStart < 0) return hex(0, 8);
  return `${hex(0, bestStart)}::${hex(bestStart + bestLen, 8)}`;
}

/**
 * Parse "address/prefix" (or a bare address, which means the full-length prefix), as `wg` reads
 * AllowedIPs and wg-quick reads Address. The address comes back as written, host bits included, since
 * an interface Address needs them; insert() and formatCidr() mask them.
 * @throws TypeError if `text` is not a string; RangeError naming the text for a bad address or prefix
 * @example parseCidr('10.0.0.1/24') // { ip: Uint8Array [10, 0, 0, 1], cidr: 24, family: 4 }
 */
export function parseCidr(text: string): { ip: Uint8Array; cidr: number; family: 4 | 6 } {
  if (typeof text !== 'string') throw new TypeError(`parseCidr: expected a string, got ${describe(text)}`);
  const slash = text.indexOf('/');
  const addr = slash >= 0 ? text.slice(0, slash) : text;
  const ip = parseIp(addr);
  if (ip === null) throw new RangeError(`parseCidr: '${text}' does not hold a valid IPv4 or IPv6 address`);
  const max = ip.length * 8;
  let cidr = max;
  if (slash >= 0) {
    const prefix = text.slice(slash + 1);
    if (!/^\d{1,3}$/.test(prefix)) {
      throw new RangeError(`parseCidr: '${text}' has a prefix length that is not a number 0..${max}`);
    }
    cidr = Number(prefix);
    if (cidr > max) throw new RangeError(`parseCidr: '${text}' has prefix length ${cidr}, expected 0..${max}`);
  }
  return { ip, cidr, family: ip.length === 4 ? 4 : 6 };
}

/**
 * Canonical "address/prefix" text with the host bits cleared, as `wg show` prints an allowed IP.
 * @throws TypeError for an ip that is not 4 or 16 bytes, RangeError for a cidr out of range
 * @example formatCidr(parseCidr('FD00:0::1/64').ip, 64) // 'fd00::/64'
 */
export function formatCidr(ip: Uint8Array, cidr: number): string {
  checkPrefix('formatCidr', ip, cidr);
  const masked = new Uint8Array(ip.length);
  for (let i = 0; i < ip.length; i++) {
    const bits = cidr - 8 * i;
    masked[i] = bits >= 8 ? ip[i]! : bits <= 0 ? 0 : ip[i]! & (0xff << (8 - bits));
  }
  return `${formatIp(masked)}/${cidr}`;
}

/**
 * Checks that `ip` is 4 or 16 bytes and `cidr` a prefix length for it.
 * @throws TypeError naming `fn` for an ip that is not 4 or 16 bytes, RangeError for a cidr out of range
 */
export function checkPrefix(fn: string, ip: Uint8Array, cidr: number): void {
  if (!(ip instanceof Uint8Array) || (ip.length !== 4 && ip.length !== 16)) {
    throw new TypeError(`${fn}: ip must be a Uint8Array of 4 or 16 bytes, got ${describe(ip)}`);
  }
  const max = ip.length * 8;
  if (!Number.isInteger(cidr) || cidr < 0 || cidr > max) {
    throw new RangeError(`${fn}: cidr must be an integer in 0..${max}, got ${cidr}`);
  }
}

/** RFC 1123 host name labels (underscores tolerated, as resolvers do), optionally fully qualified. */
const HOSTNAME_RE = /^(?=.{1,253}\.?$)[A-Za-z0-9_](?:[A-Za-z0-9_-]{0,61}[A-Za-z0-9_])?(?:\.[A-Za-z0-9_](?:[A-Za-z0-9_-]{0,61}[A-Za-z0-9_])?)*\.?$/;

/** A DNS name as configuration files write one; all-numeric dotted text is a (bad) address, not a name. */
export function isHostName(text: string): boolean {
  return HOSTNAME_RE.test(text) && !/^[\d.]+$/.test(text);
}

/** A short description of a bad argument for an error message. */
export function describe(x: unknown): string {
  if (x instanceof Uint8Array) return `Uint8Array(${x.length})`;
  return x === null ? 'null' : typeof x;
}
