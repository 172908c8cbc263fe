/**
 * A tiny authoritative DNS responder for tests (not part of the public API): answers A, AAAA and CNAME
 * questions from a table, NXDOMAIN for names it does not hold, and can set TC to force a client to
 * TCP. Used on a Tunnel's UDP socket in process and, through _dns-serve.ts, by a kernel in a namespace.
 */

export interface ZoneEntry {
  A?: string[];
  AAAA?: string[];
  CNAME?: string;
  ttl?: number;
  /** Over UDP: answer with TC set and no records (the client should ask over TCP). */
  truncate?: boolean;
}

export type Zone = Record<string, ZoneEntry>;

function addressBytes(text: string): number[] {
  if (text.includes(':')) {
    const [head, tail] = text.split('::') as [string, string | undefined];
    const h = head === '' ? [] : head.split(':');
    const t = tail === undefined || tail === '' ? [] : tail.split(':');
    const groups = tail === undefined ? h : [...h, ...new Array<string>(8 - h.length - t.length).fill('0'), ...t];
    return groups.flatMap((g) => [parseInt(g, 16) >> 8, parseInt(g, 16) & 0xff]);
  }
  return text.split('.').map(Number);
}

function encodeName(name: string): number[] {
  const out: number[] = [];
  for (const label of name.replace(/\.$/, '').split('.')) {
    out.push(label.length, ...[...label].map((c) => c.charCodeAt(0)));
  }
  out.push(0);
  return out;
}

function rr(name: string, type: number, ttl: number, data: number[]): number[] {
  return [...encodeName(name), type >> 8, type & 0xff, 0, 1, (ttl >>> 24) & 0xff, (ttl >>> 16) & 0xff, (ttl >>> 8) & 0xff, ttl & 0xff, data.length >> 8, data.length & 0xff, ...data];
}

/** The response to `query`, or null for something that is not a query. `tcp`: no truncation. */
export function answer(query: Uint8Array, zone: Zone, tcp = false): Uint8Array | null {
  if (query.length < 17 || (query[2]! & 0x80) !== 0) return null;
  const labels: string[] = [];
  let at = 12;
  while (at < query.length && query[at] !== 0) {
    const len = query[at]!;
    labels.push(String.fromCharCode(...query.subarray(at + 1, at + 1 + len)));
    at += 1 + len;
  }
  if (at + 5 > query.length) return null;
  const qname = labels.join('.').toLowerCase();
  const qtype = (query[at + 1]! << 8) | query[at + 2]!;
  const question = [...query.subarray(12, at + 5)];
  const answers: number[][] = [];
  let name = qname;
  let entry = zone[name];
  let truncated = false;
  for (let hops = 0; entry !== undefined && hops < 8; hops++) {
    const ttl = entry.ttl ?? 60;
    if (entry.truncate === true && !tcp) {
      truncated = true;
      break;
    }
    if (entry.CNAME !== undefined && qtype !== 5) {
      answers.push(rr(name, 5, ttl, encodeName(entry.CNAME)));
      name = entry.CNAME.toLowerCase();
      entry = zone[name];
      continue;
    }
    const list = qtype === 1 ? entry.A : qtype === 28 ? entry.AAAA : undefined;
    for (const a of list ?? []) answers.push(rr(name, qtype, ttl, addressBytes(a)));
    break;
  }
  const rcode = zone[qname] === undefined ? 3 : 0;
  const flags = 0x8000 | 0x0400 | (query[2]! & 0x01) << 8 | 0x0080 | (truncated ? 0x0200 : 0) | rcode;
  const header = [query[0]!, query[1]!, flags >> 8, flags & 0xff, 0, 1, answers.length >> 8, answers.length & 0xff, 0, 0, 0, 0];
  return Uint8Array.from([...header, ...question, ...answers.flat()]);
}
