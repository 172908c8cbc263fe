/**
 * "host:port" as wireproxy's sections write addresses (Go's net.SplitHostPort): `127.0.0.1:1080`,
 * `[::1]:1080`, `localhost:1080`, and for a listening address `:1080` (every interface). A host is an
 * IPv4 or IPv6 literal or a DNS name; names are resolved where they are used, not here.
 */
import { isIP } from 'node:net';
import { isHostName } from './address.js';

export interface HostPort {
  /** Literal or name, without brackets; '' means every interface (listening addresses only). */
  host: string;
  port: number;
  /** 4 or 6 for a literal, 0 for a name or ''. */
  family: 0 | 4 | 6;
}

/**
 * Parse `text`; `role` says whether the host may be empty (a listening address) and the port 0 (any).
 * Returns the problem as text (for the caller's error, which names file, line and key) or the value.
 */
export function parseHostPort(text: string, role: 'listen' | 'target'): HostPort | string {
  let host: string;
  let portText: string;
  if (text.startsWith('[')) {
    const close = text.indexOf(']');
    if (close < 0) return `expected '[IPv6]:port', found no closing ']' in '${text}'`;
    if (text[close + 1] !== ':') return `expected ':port' after ']' in '${text}'`;
    host = text.slice(1, close);
    portText = text.slice(close + 2);
    if (isIP(host) !== 6) return `expected an IPv6 address inside [ ] in '${text}'`;
  } else {
    const colon = text.lastIndexOf(':');
    if (colon < 0) return `expected 'host:port', found no port in '${text}'`;
    host = text.slice(0, colon);
    portText = text.slice(colon + 1);
    if (host.indexOf(':') >= 0) return `expected an IPv6 address in brackets, as '[${host}]:${portText}'`;
    if (host === '' && role === 'target') return `expected a host before ':' in '${text}'`;
    if (host !== '' && isIP(host) === 0 && !isHostName(host)) return `expected a host name or an IP address, got '${host}'`;
  }
  const min = role === 'listen' ? 0 : 1;
  if (!/^\d{1,5}$/.test(portText) || Number(portText) < min || Number(portText) > 65535) {
    return `expected a port ${min}..65535, got '${portText}'`;
  }
  const v = isIP(host);
  return { host, port: Number(portText), family: v === 4 ? 4 : v === 6 ? 6 : 0 };
}

/** "host:port" or "[v6]:port" for messages and metric labels. */
export function formatHostPort(host: string, port: number): string {
  return isIP(host) === 6 ? `[${host}]:${port}` : `${host}:${port}`;
}
