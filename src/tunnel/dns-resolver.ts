/**
 * A stub resolver that asks the tunnel's name servers (wg-quick `DNS =`) through the tunnel itself, as
 * a host behind `wg-quick up` would through resolv.conf:
 *
 * - A and AAAA asked in parallel, each over a fresh UDP socket with a random ID and a random source
 *   port (RFC 5452 §9), connected to the server so only its answers count and a port unreachable ends
 *   the wait at once. A truncated answer is asked again over TCP when the tunnel gives one (RFC 7766
 *   §5), otherwise what it holds is used.
 * - Servers in order, ATTEMPTS rounds over all of them, each try bounded by TIMEOUT (resolv.conf's
 *   `attempts` and `timeout`, shorter defaults since a tunnel's servers are one hop away).
 * - The search list (the non-address `DNS =` entries) as resolv.conf uses it with ndots:1: a name with
 *   a dot is tried as given first, a single label after the search domains; a final dot means "as
 *   given only".
 * - Answers are cached for their TTL (at most CACHE_MAX_TTL_MS), in a bounded table.
 * - Errors as Node's dns.lookup reports them: ENOTFOUND when every server said the name does not
 *   exist (or has no address), EAI_AGAIN when none answered in time.
 */
import { randomInt } from 'node:crypto';
import type { Clock } from '../base/clock.js';
import { formatIp, parseIp } from '../net/address.js';
import type { UdpSocket } from '../netstack/udp-socket.js';
import { DNS_TYPE_A, DNS_TYPE_AAAA, RCODE_NOERROR, RCODE_NXDOMAIN, decodeResponse, encodeQuery, validName, type DnsResponse } from './dns-message.js';

export const DNS_PORT = 53;
/** One try at one server. glibc waits 5 s; a tunnel's server answers in a round trip or not at all. */
export const DNS_TIMEOUT_MS = 2000;
/** Rounds over the server list. */
export const DNS_ATTEMPTS = 2;
/** Names cached; the oldest leaves first. */
export const DNS_CACHE_ENTRIES = 256;
/** An answer is kept at most this long, whatever its TTL. */
export const DNS_CACHE_MAX_TTL_MS = 300_000;

export interface DnsResolverOptions {
  /** Name servers, numeric addresses, in order of preference. */
  servers: readonly string[];
  /** Search domains. */
  search?: readonly string[];
  /** A UDP socket of the tunnel. */
  udp: (type: 'udp4' | 'udp6') => UdpSocket;
  /** Ask over TCP (the whole query message, answered with the whole response), for truncated answers. */
  tcp?: (server: string, query: Uint8Array, timeoutMs: number) => Promise<Uint8Array>;
  clock: Clock;
  timeoutMs?: number;
  attempts?: number;
}

/** An error as Node's dns.lookup makes it: "getaddrinfo ENOTFOUND name". */
export function dnsError(code: 'ENOTFOUND' | 'EAI_AGAIN' | 'ECANCELLED', hostname: string): Error & { code: string; syscall: string; hostname: string } {
  const err = new Error(`getaddrinfo ${code} ${hostname}`) as Error & { code: string; syscall: string; hostname: string };
  err.code = code;
  err.syscall = 'getaddrinfo';
  err.hostname = hostname;
  return err;
}

interface CacheEntry {
  addresses: string[];
  expires: number;
}

/** What one question came to: addresses (possibly none), a definite "no such name", or no answer. */
type Outcome = { kind: 'answer'; addresses: string[]; ttlMs: number } | { kind: 'nxdomain' } | { kind: 'failed' };

export class DnsResolver {
  private readonly servers: string[];
  private readonly search: string[];
  private readonly timeoutMs: number;
  private readonly attempts: number;
  private readonly cache = new Map<string, CacheEntry>();
  /** Queries in flight, each with a way to end it (close()). */
  private readonly inflight = new Set<() => void>();
  private closed = false;

  constructor(private readonly options: DnsResolverOptions) {
    this.servers = options.servers.map((s) => {
      const ip = parseIp(s);
      if (ip === null) throw new RangeError(`DNS server must be a numeric address, got ${JSON.stringify(s)}`);
      return formatIp(ip);
    });
    this.search = (options.search ?? []).map((d) => d.replace(/\.$/, ''));
    this.timeoutMs = options.timeoutMs ?? DNS_TIMEOUT_MS;
    this.attempts = options.attempts ?? DNS_ATTEMPTS;
  }

  /**
   * Addresses of `name`: IPv4 ones first when `want4`, then IPv6 when `want6`.
   * @throws (rejects) ENOTFOUND, EAI_AGAIN or ECANCELLED (resolver closed) as Node's dns errors
   */
  async resolve(name: string, want4: boolean, want6: boolean): Promise<string[]> {
    if (this.closed) throw dnsError('ECANCELLED', name);
    if (!validName(name)) throw dnsError('ENOTFOUND', name);
    let timedOut = false;
    for (const candidate of this.candidates(name)) {
      const [a, aaaa] = await Promise.all([
        want4 ? this.question(candidate, DNS_TYPE_A) : null,
        want6 ? this.question(candidate, DNS_TYPE_AAAA) : null,
      ]);
      if (this.closed) throw dnsError('ECANCELLED', name);
      const addresses: string[] = [];
      for (const o of [a, aaaa]) {
        if (o === null) continue;
        if (o.kind === 'failed') timedOut = true;
        if (o.kind === 'answer') addresses.push(...o.addresses);
      }
      if (addresses.length > 0) return addresses;
    }
    throw dnsError(timedOut ? 'EAI_AGAIN' : 'ENOTFOUND', name);
  }

  /** End every query in flight (they reject with ECANCELLED) and refuse new ones. */
  close(): void {
    this.closed = true;
    for (const end of [...this.inflight]) end();
    this.inflight.clear();
    this.cache.clear();
  }

  private candidates(name: string): string[] {
    if (name.endsWith('.')) return [name];
    const searched = this.search.map((d) => `${name}.${d}`).filter(validName);
    return name.includes('.') ? [name, ...searched] : [...searched, name];
  }

  /** An answer for (name, type) from the cache, or from the servers (and then cached for its TTL). */
  private async question(name: string, type: number): Promise<Outcome> {
    const key = `${type}:${name.toLowerCase().replace(/\.$/, '')}`;
    const now = this.options.clock.now();
    const hit = this.cache.get(key);
    if (hit !== undefined && hit.expires > now) return { kind: 'answer', addresses: hit.addresses, ttlMs: hit.expires - now };
    if (hit !== undefined) this.cache.delete(key);
    const o = await this.ask(name, type);
    if (o.kind === 'answer' && o.addresses.length > 0 && o.ttlMs > 0 && !this.closed) {
      if (this.cache.size >= DNS_CACHE_ENTRIES) this.cache.delete(this.cache.keys().next().value!);
      this.cache.set(key, { addresses: o.addresses, expires: now + Math.min(o.ttlMs, DNS_CACHE_MAX_TTL_MS) });
    }
    return o;
  }

  /** Ask each server in turn, round after round, until one answers for sure. */
  private async ask(name: string, type: number): Promise<Outcome> {
    for (let round = 0; round < this.attempts; round++) {
      for (const server of this.servers) {
        if (this.closed) return { kind: 'failed' };
        let r = await this.askUdp(server, name, type);
        if (r !== null && r.truncated && this.options.tcp !== undefined) r = await this.askTcp(server, name, type);
        if (r === null) continue;
        if (r.rcode === RCODE_NXDOMAIN) return { kind: 'nxdomain' };
        if (r.rcode !== RCODE_NOERROR) continue; // SERVFAIL, REFUSED, ...: the next server may know
        const addresses = r.records.map((rec) => formatIp(rec.address));
        const ttl = r.records.reduce((m, rec) => Math.min(m, rec.ttl), Number.MAX_SAFE_INTEGER);
        return { kind: 'answer', addresses, ttlMs: addresses.length === 0 ? 0 : ttl * 1000 };
      }
    }
    return { kind: 'failed' };
  }

  /** One query over UDP; null on timeout, refusal or a socket error. */
  private askUdp(server: string, name: string, type: number): Promise<DnsResponse | null> {
    return new Promise((resolve) => {
      const id = randomInt(0x10000);
      const query = encodeQuery(id, name, type);
      const sock = this.options.udp(server.includes(':') ? 'udp6' : 'udp4');
      const clock = this.options.clock;
      let timer: unknown = null;
      const done = (r: DnsResponse | null): void => {
        if (!this.inflight.delete(end)) return;
        if (timer !== null) clock.cancel(timer);
        sock.close();
        resolve(r);
      };
      const end = (): void => done(null);
      this.inflight.add(end);
      timer = clock.schedule(end, this.timeoutMs);
      sock.on('error', end);
      sock.on('message', (msg) => {
        const r = decodeResponse(msg, id, name, type);
        if (r !== null) done(r);
      });
      sock.connect(DNS_PORT, server, () => sock.send(query, (err) => err && end()));
    });
  }

  private async askTcp(server: string, name: string, type: number): Promise<DnsResponse | null> {
    const id = randomInt(0x10000);
    try {
      const msg = await this.options.tcp!(server, encodeQuery(id, name, type), this.timeoutMs);
      return decodeResponse(msg, id, name, type);
    } catch {
      return null;
    }
  }
}
