/**
 * DNS messages for a stub resolver (RFC 1035 §4): one A or AAAA question out, the addresses back.
 *
 * Out: a standard query with Recursion Desired, one question, and an EDNS(0) OPT record (RFC 6891)
 * advertising a 1232-byte UDP payload, the size DNS Flag Day 2020 settled on so answers fit one
 * unfragmented packet on any path.
 *
 * In: a response counts only if it answers our query: our ID, QR set, the same question (names
 * compared case-insensitively, RFC 4343). Answers are read through CNAME chains (RFC 1034 §3.6.2):
 * addresses are taken from records owned by the name asked or by an alias it leads to. Compressed
 * names (RFC 1035 §4.1.4) are followed with a bound on the jumps, so a pointer loop cannot hang us.
 * Anything malformed makes the response unusable (null), never an exception.
 */

export const DNS_TYPE_A = 1;
export const DNS_TYPE_CNAME = 5;
export const DNS_TYPE_AAAA = 28;
const DNS_TYPE_OPT = 41;
const DNS_CLASS_IN = 1;
const HEADER_BYTES = 12;
/** The EDNS(0) UDP payload size we advertise (DNS Flag Day 2020). */
export const DNS_UDP_PAYLOAD_BYTES = 1232;
/** RCODEs (RFC 1035 §4.1.1). */
export const RCODE_NOERROR = 0;
export const RCODE_SERVFAIL = 2;
export const RCODE_NXDOMAIN = 3;
/** Compression jumps followed in one name; a longer chain is a loop. */
const MAX_POINTER_JUMPS = 32;
/** Aliases followed from the name asked (resolvers use about this many). */
const MAX_CNAME_CHAIN = 16;

export interface DnsRecord {
  /** 4 or 16 bytes. */
  address: Uint8Array;
  ttl: number;
}

export interface DnsResponse {
  rcode: number;
  /** TC: the answer did not fit; ask again over TCP (RFC 7766). */
  truncated: boolean;
  records: DnsRecord[];
}

/**
 * Whether `name` can go in a question: labels of 1-63 letters, digits, hyphens or underscores, at most
 * 253 characters without the final dot (RFC 1035 §2.3.4, RFC 1123 §2.1).
 */
export function validName(name: string): boolean {
  const n = name.endsWith('.') ? name.slice(0, -1) : name;
  if (n.length === 0 || n.length > 253) return false;
  return n.split('.').every((l) => /^[A-Za-z0-9_](?:[A-Za-z0-9_-]{0,61}[A-Za-z0-9_])?$/.test(l));
}

/** A query for (name, type) with ID `id`. @throws RangeError for a name validName refuses. */
export function encodeQuery(id: number, name: string, type: number): Uint8Array {
  if (!validName(name)) throw new RangeError(`not a valid DNS name: ${JSON.stringify(name)}`);
  const labels = name.replace(/\.$/, '').split('.');
  const qname = labels.reduce((n, l) => n + 1 + l.length, 1);
  const out = new Uint8Array(HEADER_BYTES + qname + 4 + 11);
  out[0] = (id >>> 8) & 0xff;
  out[1] = id & 0xff;
  out[2] = 0x01; // RD
  out[5] = 1; // QDCOUNT
  out[11] = 1; // ARCOUNT: the OPT record
  let at = HEADER_BYTES;
  for (const l of labels) {
    out[at++] = l.length;
    for (let i = 0; i < l.length; i++) out[at++] = l.charCodeAt(i);
  }
  out[at++] = 0;
  out[at++] = type >>> 8;
  out[at++] = type & 0xff;
  out[at++] = 0;
  out[at++] = DNS_CLASS_IN;
  // OPT: root name, type 41, class = UDP payload size, TTL 0 (extended RCODE, version 0), no data.
  out[at++] = 0;
  out[at++] = 0;
  out[at++] = DNS_TYPE_OPT;
  out[at++] = DNS_UDP_PAYLOAD_BYTES >>> 8;
  out[at++] = DNS_UDP_PAYLOAD_BYTES & 0xff;
  return out;
}

/** The response to our query (id, name, type) in msg, or null when msg is not one. */
export function decodeResponse(msg: Uint8Array, id: number, name: string, type: number): DnsResponse | null {
  if (msg.length < HEADER_BYTES) return null;
  if (((msg[0]! << 8) | msg[1]!) !== id) return null;
  const flags = (msg[2]! << 8) | msg[3]!;
  if ((flags & 0x8000) === 0 || (flags & 0x7800) !== 0) return null; // QR set, opcode QUERY
  const qd = (msg[4]! << 8) | msg[5]!;
  const an = (msg[6]! << 8) | msg[7]!;
  if (qd !== 1) return null;
  const q = readName(msg, HEADER_BYTES);
  if (q === null || q.next + 4 > msg.length) return null;
  const asked = name.replace(/\.$/, '').toLowerCase();
  if (q.name !== asked || u16(msg, q.next) !== type || u16(msg, q.next + 2) !== DNS_CLASS_IN) return null;
  const owners: string[] = [];
  const kinds: number[] = [];
  const rdata: Array<[number, number, number]> = []; // [start, length, ttl]
  let at = q.next + 4;
  for (let i = 0; i < an; i++) {
    const owner = readName(msg, at);
    if (owner === null || owner.next + 10 > msg.length) return null;
    const rtype = u16(msg, owner.next);
    const rclass = u16(msg, owner.next + 2);
    const ttl = ((msg[owner.next + 4]! << 24) | (msg[owner.next + 5]! << 16) | (msg[owner.next + 6]! << 8) | msg[owner.next + 7]!) >>> 0;
    const len = u16(msg, owner.next + 8);
    const start = owner.next + 10;
    if (start + len > msg.length) return null;
    if (rclass === DNS_CLASS_IN) {
      owners.push(owner.name);
      kinds.push(rtype);
      rdata.push([start, len, ttl > 0x7fffffff ? 0 : ttl]); // RFC 2181 §8: a TTL with the top bit set is 0
    }
    at = start + len;
  }
  // The names that stand for the one asked: itself and its aliases, followed in any record order.
  const names = new Set([asked]);
  for (let round = 0; round < MAX_CNAME_CHAIN; round++) {
    let grew = false;
    for (let i = 0; i < owners.length; i++) {
      if (kinds[i] !== DNS_TYPE_CNAME || !names.has(owners[i]!)) continue;
      const target = readName(msg, rdata[i]![0]);
      if (target !== null && !names.has(target.name)) {
        names.add(target.name);
        grew = true;
      }
    }
    if (!grew) break;
  }
  const want = type === DNS_TYPE_A ? 4 : 16;
  const records: DnsRecord[] = [];
  for (let i = 0; i < owners.length; i++) {
    const [start, len, ttl] = rdata[i]!;
    if (kinds[i] === type && len === want && names.has(owners[i]!)) records.push({ address: msg.slice(start, start + len), ttl });
  }
  return { rcode: flags & 0x0f, truncated: (flags & 0x0200) !== 0, records };
}

function u16(b: Uint8Array, at: number): number {
  return (b[at]! << 8) | b[at + 1]!;
}

/** The (lower-case, dotted) name at `at` and the offset after it in place; null when malformed. */
function readName(msg: Uint8Array, at: number): { name: string; next: number } | null {
  const labels: string[] = [];
  let next = -1;
  let i = at;
  let jumps = 0;
  let length = 0;
  for (;;) {
    if (i >= msg.length) return null;
    const len = msg[i]!;
    if (len === 0) {
      if (next < 0) next = i + 1;
      break;
    }
    if ((len & 0xc0) === 0xc0) {
      if (i + 1 >= msg.length || ++jumps > MAX_POINTER_JUMPS) return null;
      if (next < 0) next = i + 2;
      i = ((len & 0x3f) << 8) | msg[i + 1]!;
      continue;
    }
    if ((len & 0xc0) !== 0 || i + 1 + len > msg.length) return null;
    length += len + 1;
    if (length > 255) return null;
    let label = '';
    for (let k = 0; k < len; k++) label += String.fromCharCode(msg[i + 1 + k]!);
    labels.push(label.toLowerCase());
    i += 1 + len;
  }
  return { name: labels.join('.'), next };
}
