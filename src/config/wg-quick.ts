/**
 * WireGuard configuration files: the INI-like format `wg setconf` reads (wireguard-tools config.c) with
 * the extra [Interface] keys `wg-quick` reads (Address, DNS, MTU, Table, Pre/PostUp, Pre/PostDown,
 * SaveConfig), and its translation into the body of a UAPI `set=1` request (the cross-platform
 * userspace interface, wireguard.com/xplatform).
 *
 * Rules taken from those tools: sections [Interface] and [Peer]; `Key = Value` lines; keys and section
 * names are case-insensitive; '#' starts a comment anywhere on a line (so hook commands cannot contain
 * one, as in wg-quick); Address, DNS and AllowedIPs take comma-separated lists and may repeat, adding
 * up; Pre/PostUp and Pre/PostDown may repeat, each line one command; any other key that repeats takes
 * its last value, as `wg` does. Keys are base64 here and lower-case hex in UAPI.
 */
import { keyFromBase64, keyToBase64, keyToHex } from '../crypto/keys.js';
import { formatCidr, formatIp, isHostName, isZone, parseCidr, parseIp } from '../net/address.js';

export interface PeerConfig {
  publicKey: Uint8Array;
  presharedKey?: Uint8Array;
  /** "host:port" or "[v6]:port", as written; a host name is not resolved here. */
  endpoint?: string;
  /** Seconds; 0 is off. */
  persistentKeepalive?: number;
  /** Canonical CIDR text, host bits cleared (formatCidr). */
  allowedIPs: string[];
}

export interface InterfaceConfig {
  privateKey?: Uint8Array;
  listenPort?: number;
  fwmark?: number;
  /** wg-quick: interface addresses, "ip/cidr" with the host bits kept. */
  addresses: string[];
  /** wg-quick: name servers (canonical address text) and search domains, in file order. */
  dns: string[];
  mtu?: number;
  table?: string;
  preUp: string[];
  postUp: string[];
  preDown: string[];
  postDown: string[];
  saveConfig?: boolean;
}

export interface WgConfig {
  interface: InterfaceConfig;
  peers: PeerConfig[];
}

/** A configuration file that cannot be read: `line` is 1-based, `key` the key or section at fault. */
export class ConfigError extends Error {
  readonly line: number;
  readonly key: string;
  /** What was wrong, without the line and key (for callers that name the file as well). */
  readonly reason: string;
  constructor(line: number, key: string, message: string) {
    super(`line ${line}: ${key === '' ? '' : `${key}: `}${message}`);
    this.name = 'ConfigError';
    this.line = line;
    this.key = key;
    this.reason = message;
  }
}

/** wg-quick's own limits say nothing; 68 is the smallest MTU IPv4 allows (RFC 791), 65535 the largest. */
const MTU_MIN = 68;
const MTU_MAX = 65535;
const UINT16_MAX = 65535;
const UINT32_MAX = 0xffffffff;

const INTERFACE_KEYS = [
  'PrivateKey', 'ListenPort', 'FwMark',
  'Address', 'DNS', 'MTU', 'Table', 'PreUp', 'PostUp', 'PreDown', 'PostDown', 'SaveConfig',
] as const;
const PEER_KEYS = ['PublicKey', 'PresharedKey', 'AllowedIPs', 'Endpoint', 'PersistentKeepalive'] as const;
type InterfaceKey = (typeof INTERFACE_KEYS)[number];
type PeerKey = (typeof PEER_KEYS)[number];

const INTERFACE_BY_LOWER = new Map<string, InterfaceKey>(INTERFACE_KEYS.map((k) => [k.toLowerCase(), k]));
const PEER_BY_LOWER = new Map<string, PeerKey>(PEER_KEYS.map((k) => [k.toLowerCase(), k]));


function emptyInterface(): InterfaceConfig {
  return { addresses: [], dns: [], preUp: [], postUp: [], preDown: [], postDown: [] };
}

/**
 * Read a configuration file.
 * @throws ConfigError naming the line, the key and what was expected
 * @example parseConfig('[Interface]\nPrivateKey = ...\n[Peer]\nPublicKey = ...\nAllowedIPs = 0.0.0.0/0')
 */
export function parseConfig(text: string): WgConfig {
  if (typeof text !== 'string') throw new TypeError(`parseConfig: expected a string, got ${typeof text}`);
  const iface = emptyInterface();
  const peers: PeerConfig[] = [];
  let section: 'none' | 'interface' | 'peer' = 'none';
  let peer: PeerConfig | null = null;
  let peerLine = 0;
  let peerHasKey = false;

  const finishPeer = (): void => {
    if (peer !== null && !peerHasKey) {
      throw new ConfigError(peerLine, 'PublicKey', 'this [Peer] section has no PublicKey');
    }
  };

  const lines = text.replace(/^\uFEFF/, '').split(/\r?\n/);
  for (let i = 0; i < lines.length; i++) {
    const lineNo = i + 1;
    let line = lines[i]!;
    const hash = line.indexOf('#');
    if (hash >= 0) line = line.slice(0, hash);
    line = line.trim();
    if (line === '') continue;

    if (line[0] === '[') {
      const m = /^\[\s*([A-Za-z]+)\s*\]$/.exec(line);
      const name = m === null ? '' : m[1]!.toLowerCase();
      if (name === 'interface') {
        finishPeer();
        section = 'interface';
        peer = null;
      } else if (name === 'peer') {
        finishPeer();
        section = 'peer';
        peer = { publicKey: new Uint8Array(32), allowedIPs: [] };
        peers.push(peer);
        peerLine = lineNo;
        peerHasKey = false;
      } else {
        throw new ConfigError(lineNo, line, 'unknown section header; expected [Interface] or [Peer]');
      }
      continue;
    }

    const eq = line.indexOf('=');
    if (eq < 0) throw new ConfigError(lineNo, line, "expected 'Key = Value'");
    const rawKey = line.slice(0, eq).trim();
    const value = line.slice(eq + 1).trim();
    if (rawKey === '') throw new ConfigError(lineNo, '', "expected 'Key = Value', found no key before '='");

    if (section === 'none') {
      throw new ConfigError(lineNo, rawKey, 'key outside a section; expected [Interface] or [Peer] first');
    }
    if (section === 'interface') {
      const key = INTERFACE_BY_LOWER.get(rawKey.toLowerCase());
      if (key === undefined) {
        throw new ConfigError(lineNo, rawKey, `unknown key in [Interface]; expected one of ${INTERFACE_KEYS.join(', ')}`);
      }
      parseInterfaceKey(iface, key, value, lineNo);
    } else {
      const key = PEER_BY_LOWER.get(rawKey.toLowerCase());
      if (key === undefined) {
        throw new ConfigError(lineNo, rawKey, `unknown key in [Peer]; expected one of ${PEER_KEYS.join(', ')}`);
      }
      if (key === 'PublicKey') peerHasKey = true;
      parsePeerKey(peer!, key, value, lineNo);
    }
  }
  finishPeer();
  return { interface: iface, peers };
}

function parseInterfaceKey(iface: InterfaceConfig, key: InterfaceKey, value: string, line: number): void {
  switch (key) {
    case 'PrivateKey':
      iface.privateKey = parseKey(value, line, key);
      return;
    case 'ListenPort':
      iface.listenPort = parseUint(value, 0, UINT16_MAX, line, key, 'a port number 0..65535');
      return;
    case 'FwMark':
      iface.fwmark = parseFwmark(value, line);
      return;
    case 'Address':
      for (const item of splitList(value, line, key)) iface.addresses.push(parseAddress(item, line));
      return;
    case 'DNS':
      for (const item of splitList(value, line, key)) iface.dns.push(parseDns(item, line));
      return;
    case 'MTU':
      iface.mtu = parseUint(value, MTU_MIN, MTU_MAX, line, key, `an MTU ${MTU_MIN}..${MTU_MAX}`);
      return;
    case 'Table':
      if (!/^\S+$/.test(value)) throw new ConfigError(line, key, `expected off, auto, or a routing table name or number, got '${value}'`);
      iface.table = value;
      return;
    case 'PreUp':
      iface.preUp.push(value);
      return;
    case 'PostUp':
      iface.postUp.push(value);
      return;
    case 'PreDown':
      iface.preDown.push(value);
      return;
    case 'PostDown':
      iface.postDown.push(value);
      return;
    case 'SaveConfig': {
      const v = value.toLowerCase();
      if (v !== 'true' && v !== 'false') throw new ConfigError(line, key, `expected true or false, got '${value}'`);
      iface.saveConfig = v === 'true';
      return;
    }
  }
}

function parsePeerKey(peer: PeerConfig, key: PeerKey, value: string, line: number): void {
  switch (key) {
    case 'PublicKey':
      peer.publicKey = parseKey(value, line, key);
      return;
    case 'PresharedKey':
      peer.presharedKey = parseKey(value, line, key);
      return;
    case 'AllowedIPs':
      // An empty value is allowed and adds nothing, as in `wg`.
      if (value === '') return;
      for (const item of splitList(value, line, key)) {
        let p: { ip: Uint8Array; cidr: number };
        try {
          p = parseCidr(item);
        } catch (e) {
          throw new ConfigError(line, key, `expected an IP prefix like 10.0.0.0/8 or fd00::/64: ${reason(e)}`);
        }
        peer.allowedIPs.push(formatCidr(p.ip, p.cidr));
      }
      return;
    case 'Endpoint': {
      const problem = endpointProblem(value);
      if (problem !== null) throw new ConfigError(line, key, `${problem}, got '${value}'`);
      peer.endpoint = value;
      return;
    }
    case 'PersistentKeepalive':
      peer.persistentKeepalive =
        value.toLowerCase() === 'off' ? 0 : parseUint(value, 0, UINT16_MAX, line, key, 'off or seconds 0..65535');
      return;
  }
}

/** Never echoes the value: it may be a private or preshared key with a typo. */
function parseKey(value: string, line: number, key: string): Uint8Array {
  try {
    return keyFromBase64(value);
  } catch (e) {
    throw new ConfigError(line, key, `not a 32-byte base64 key: ${(e as Error).message.replace(/^key: /, '')}`);
  }
}

function parseUint(value: string, min: number, max: number, line: number, key: string, what: string): number {
  if (!/^\d{1,10}$/.test(value)) throw new ConfigError(line, key, `expected ${what}, got '${value}'`);
  const n = Number(value);
  if (n < min || n > max) throw new ConfigError(line, key, `expected ${what}, got ${n}`);
  return n;
}

/** `wg`'s parse_fwmark: "off", decimal, or 0x-prefixed hex, up to 2^32 - 1. */
function parseFwmark(value: string, line: number): number {
  const what = 'off or a number 0..0xffffffff (decimal or 0x hex)';
  if (value.toLowerCase() === 'off') return 0;
  let n: number;
  if (/^0[xX][0-9a-fA-F]{1,8}$/.test(value)) n = parseInt(value.slice(2), 16);
  else if (/^\d{1,10}$/.test(value)) n = Number(value);
  else throw new ConfigError(line, 'FwMark', `expected ${what}, got '${value}'`);
  if (n > UINT32_MAX) throw new ConfigError(line, 'FwMark', `expected ${what}, got ${value}`);
  return n;
}

function splitList(value: string, line: number, key: string): string[] {
  const items = value.split(',').map((s) => s.trim());
  for (const item of items) {
    if (item === '') throw new ConfigError(line, key, `empty item in the comma-separated list '${value}'`);
  }
  return items;
}

/** An interface address keeps its host bits: "10.0.0.1/24" is the address 10.0.0.1 on a /24. */
function parseAddress(item: string, line: number): string {
  try {
    const p = parseCidr(item);
    return `${formatIp(p.ip)}/${p.cidr}`;
  } catch (e) {
    throw new ConfigError(line, 'Address', `expected an address with optional prefix like 10.0.0.1/24: ${reason(e)}`);
  }
}

/** parseCidr's message without its function name; it quotes the text at fault. */
function reason(e: unknown): string {
  return (e as Error).message.replace(/^parseCidr: /, '');
}

/** wg-quick: an address is a name server, anything else a search domain. */
function parseDns(item: string, line: number): string {
  const ip = parseIp(item);
  if (ip !== null) return formatIp(ip);
  if (isHostName(item)) return item;
  throw new ConfigError(line, 'DNS', `expected a name server address or a search domain, got '${item}'`);
}

/** Why an Endpoint is not "host:port" or "[v6]:port", or null when it is. */
function endpointProblem(value: string): string | null {
  let host: string;
  let port: string;
  if (value.startsWith('[')) {
    const close = value.indexOf(']');
    if (close < 0) return "expected '[v6]:port', found no closing ']'";
    if (value[close + 1] !== ':') return "expected ':port' after ']'";
    host = value.slice(1, close);
    port = value.slice(close + 2);
    const pct = host.indexOf('%');
    const addr = pct >= 0 ? host.slice(0, pct) : host;
    const ip = parseIp(addr);
    if (ip === null || ip.length !== 16) return 'expected an IPv6 address inside [ ]';
    if (pct >= 0 && !isZone(host.slice(pct + 1))) return 'expected an interface name or index after %';
  } else {
    const colon = value.lastIndexOf(':');
    if (colon < 0) return "expected 'host:port' or '[v6]:port', found no port";
    host = value.slice(0, colon);
    port = value.slice(colon + 1);
    if (host.indexOf(':') >= 0) return "expected an IPv6 address in brackets, as '[v6]:port'";
    if (host === '') return "expected a host before ':'";
    if (/^[\d.]+$/.test(host)) {
      if (parseIp(host) === null) return 'expected a valid IPv4 address';
    } else if (!isHostName(host)) {
      return 'expected a host name or address';
    }
  }
  if (!/^\d{1,5}$/.test(port) || Number(port) < 1 || Number(port) > UINT16_MAX) return 'expected a port 1..65535';
  return null;
}

// ---------------------------------------------------------------------------------------------------

/** A string value must survive the file format: one line, and no '#', which would start a comment. */
function checkText(field: string, value: string): string {
  if (typeof value !== 'string' || /[\r\n#]/.test(value) || value !== value.trim()) {
    throw new RangeError(`formatConfig: ${field} cannot be written to a config file: ${JSON.stringify(value)}`);
  }
  return value;
}

function checkUint(field: string, value: number, max: number): number {
  if (!Number.isInteger(value) || value < 0 || value > max) {
    throw new RangeError(`formatConfig: ${field} must be an integer 0..${max}, got ${value}`);
  }
  return value;
}

/** `Key = Value`, without a trailing space when the value is empty (an empty hook line). */
function line(key: string, value: string): string {
  return value === '' ? `${key} =` : `${key} = ${value}`;
}

/**
 * Write a configuration that parseConfig reads back to the same value (given canonical list text,
 * as parseConfig produces). Key order follows `wg showconf` within what `wg-quick save` writes.
 * @throws RangeError for a value the format cannot carry (a newline or '#' in text, a number out of range)
 */
export function formatConfig(cfg: WgConfig): string {
  const out: string[] = ['[Interface]'];
  const i = cfg.interface;
  if (i.privateKey !== undefined) out.push(`PrivateKey = ${keyToBase64(i.privateKey)}`);
  if (i.listenPort !== undefined) out.push(`ListenPort = ${checkUint('listenPort', i.listenPort, UINT16_MAX)}`);
  if (i.fwmark !== undefined) {
    const mark = checkUint('fwmark', i.fwmark, UINT32_MAX);
    out.push(`FwMark = ${mark === 0 ? 'off' : `0x${mark.toString(16)}`}`);
  }
  if (i.addresses.length > 0) out.push(`Address = ${i.addresses.map((a) => checkText('address', a)).join(', ')}`);
  if (i.dns.length > 0) out.push(`DNS = ${i.dns.map((d) => checkText('dns', d)).join(', ')}`);
  if (i.mtu !== undefined) out.push(`MTU = ${checkUint('mtu', i.mtu, MTU_MAX)}`);
  if (i.table !== undefined) out.push(`Table = ${checkText('table', i.table)}`);
  for (const c of i.preUp) out.push(line('PreUp', checkText('preUp', c)));
  for (const c of i.postUp) out.push(line('PostUp', checkText('postUp', c)));
  for (const c of i.preDown) out.push(line('PreDown', checkText('preDown', c)));
  for (const c of i.postDown) out.push(line('PostDown', checkText('postDown', c)));
  if (i.saveConfig !== undefined) out.push(`SaveConfig = ${i.saveConfig ? 'true' : 'false'}`);

  for (const p of cfg.peers) {
    out.push('', '[Peer]', `PublicKey = ${keyToBase64(p.publicKey)}`);
    if (p.presharedKey !== undefined) out.push(`PresharedKey = ${keyToBase64(p.presharedKey)}`);
    if (p.allowedIPs.length > 0) out.push(`AllowedIPs = ${p.allowedIPs.map((a) => checkText('allowedIPs', a)).join(', ')}`);
    if (p.endpoint !== undefined) out.push(`Endpoint = ${checkText('endpoint', p.endpoint)}`);
    if (p.persistentKeepalive !== undefined) {
      out.push(`PersistentKeepalive = ${checkUint('persistentKeepalive', p.persistentKeepalive, UINT16_MAX)}`);
    }
  }
  return out.join('\n') + '\n';
}

/**
 * The body of a UAPI `set=1` request carrying this configuration, each line ending in '\n', without
 * the leading "set=1\n" and the blank line that ends the request. Lines come in the order `wg setconf`
 * sends them. Unlike `wg setconf`, a field the file leaves out is left out here too (it is not reset to
 * zero), and the wg-quick keys have no UAPI form. An Endpoint naming a host is passed as written: the
 * UAPI wants an address, so resolve host names first when the receiver needs one.
 */
export function configToUapi(cfg: WgConfig, options?: { replacePeers?: boolean }): string {
  const replacePeers = options?.replacePeers ?? true;
  let s = '';
  const i = cfg.interface;
  if (i.privateKey !== undefined) s += `private_key=${keyToHex(i.privateKey)}\n`;
  if (i.listenPort !== undefined) s += `listen_port=${i.listenPort}\n`;
  if (i.fwmark !== undefined) s += `fwmark=${i.fwmark}\n`;
  if (replacePeers) s += 'replace_peers=true\n';
  for (const p of cfg.peers) {
    s += `public_key=${keyToHex(p.publicKey)}\n`;
    if (p.presharedKey !== undefined) s += `preshared_key=${keyToHex(p.presharedKey)}\n`;
    if (p.endpoint !== undefined) s += `endpoint=${p.endpoint}\n`;
    if (p.persistentKeepalive !== undefined) s += `persistent_keepalive_interval=${p.persistentKeepalive}\n`;
    s += 'replace_allowed_ips=true\n';
    for (const a of p.allowedIPs) s += `allowed_ip=${a}\n`;
  }
  return s;
}
