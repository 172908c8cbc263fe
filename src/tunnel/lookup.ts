/**
 * Name to addresses for a Tunnel, in the order getaddrinfo would consult its sources: numeric
 * addresses as they are, then the hosts table (the embedder's /etc/hosts), then "localhost" (RFC 6761
 * §6.3: the tunnel's own addresses, which loop back inside the stack), then DNS through the tunnel when
 * the configuration names servers, else the system resolver. Only families the tunnel has an address
 * of are asked for and returned (AI_ADDRCONFIG): an IPv6 answer is no use to an IPv4-only tunnel.
 */
import { promises as dns } from 'node:dns';
import { formatIp, parseIp } from '../net/address.js';
import type { IpFamily } from '../netstack/transport.js';
import { dnsError, type DnsResolver } from './dns-resolver.js';

export interface LookupOptions {
  /** 4 or 6 for that family only; 0 (the default) for both. */
  family?: 0 | 4 | 6;
  /** Which family comes first when both answer (default 'ipv4first'). */
  order?: 'ipv4first' | 'ipv6first';
}

export interface LookupContext {
  has4: boolean;
  has6: boolean;
  /** The tunnel's own addresses of a family, as text. */
  own(family: IpFamily): string[];
  /** Lower-case names without a final dot -> canonical address text. */
  hosts: ReadonlyMap<string, readonly string[]>;
  resolver: DnsResolver | null;
}

/** @throws (rejects) TypeError for a name that is not a non-empty string; Node's dns errors otherwise */
export async function lookupAddresses(name: string, options: LookupOptions, ctx: LookupContext): Promise<string[]> {
  if (typeof name !== 'string' || name === '') throw new TypeError(`lookup: name must be a non-empty string, got ${JSON.stringify(name)}`);
  const family = options.family ?? 0;
  if (family !== 0 && family !== 4 && family !== 6) throw new TypeError(`lookup: family must be 0, 4 or 6, got ${String(family)}`);
  const numeric = parseIp(name);
  if (numeric !== null) return [formatIp(numeric)];
  const want4 = family !== 6 && ctx.has4;
  const want6 = family !== 4 && ctx.has6;
  if (!want4 && !want6) throw dnsError('ENOTFOUND', name);
  const key = name.toLowerCase().replace(/\.$/, '');
  let found: string[];
  const listed = ctx.hosts.get(key);
  if (listed !== undefined) found = listed.slice();
  else if (key === 'localhost' || key.endsWith('.localhost')) found = [...ctx.own(4), ...ctx.own(6)];
  else if (ctx.resolver !== null) found = await ctx.resolver.resolve(name, want4, want6);
  else found = (await dns.lookup(name, { all: true, family })).map((a) => a.address);
  const v4 = found.filter((a) => want4 && !a.includes(':'));
  const v6 = found.filter((a) => want6 && a.includes(':'));
  if (v4.length + v6.length === 0) throw dnsError('ENOTFOUND', name);
  return options.order === 'ipv6first' ? [...v6, ...v4] : [...v4, ...v6];
}
