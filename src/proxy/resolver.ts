/**
 * Names to addresses for destinations inside the tunnel, as wireproxy resolves them: through the
 * tunnel's DNS servers when the configuration names some (DNS = in [Interface]), through this host's
 * resolver otherwise. [Resolve] ResolveStrategy orders the answer: ipv4 puts A records first, ipv6 AAAA
 * records first, auto means ipv4 when the interface has IPv4 addresses only and ipv6 otherwise.
 *
 * Destinations on this host (a TCPServerTunnel's Target) always use this host's resolver: see
 * systemLookup.
 */
import { lookup as dnsLookup } from 'node:dns/promises';
import { isIP } from 'node:net';
import type { ResolveStrategy } from './config.js';

export type Lookup = (name: string) => Promise<string[]>;

/** This host's resolver (getaddrinfo, /etc/hosts included), every address of every family. */
export const systemLookup: Lookup = async (name) => (await dnsLookup(name, { all: true, verbatim: true })).map((a) => a.address);

export interface ResolverOptions {
  /** The tunnel's DNS, or null to use `system` for everything. */
  tunnelLookup: Lookup | null;
  system?: Lookup;
  strategy: ResolveStrategy;
  /** Interface address families, for strategy auto. */
  hasIpv4: boolean;
  hasIpv6: boolean;
}

/** An error with the code a resolver failure carries, so socks5/http map it like getaddrinfo's. */
function notFound(name: string, cause?: unknown): Error {
  const why = cause instanceof Error ? `: ${cause.message}` : '';
  return Object.assign(new Error(`cannot resolve ${name}${why}`), { code: (cause as NodeJS.ErrnoException | undefined)?.code ?? 'ENOTFOUND' });
}

export class Resolver {
  private readonly tunnelLookup: Lookup | null;
  private readonly system: Lookup;
  private readonly v4First: boolean;

  constructor(options: ResolverOptions) {
    this.tunnelLookup = options.tunnelLookup;
    this.system = options.system ?? systemLookup;
    const s = options.strategy;
    this.v4First = s === 'ipv4' || (s === 'auto' && options.hasIpv4 && !options.hasIpv6);
  }

  /** Whether names go to the tunnel's DNS servers. */
  get throughTunnel(): boolean {
    return this.tunnelLookup !== null;
  }

  /**
   * Addresses for `host` in the configured order: a literal is itself; a name is looked up.
   * @throws an Error with code ENOTFOUND (or the resolver's own code) when there is none
   */
  async resolve(host: string): Promise<string[]> {
    if (isIP(host) !== 0) return [host];
    let all: string[];
    try {
      all = await (this.tunnelLookup ?? this.system)(host);
    } catch (err) {
      throw notFound(host, err);
    }
    const v4 = all.filter((a) => isIP(a) === 4);
    const v6 = all.filter((a) => isIP(a) === 6);
    const ordered = this.v4First ? v4.concat(v6) : v6.concat(v4);
    if (ordered.length === 0) throw notFound(host);
    return ordered;
  }
}
