/**
 * `wgts proxy` configuration: wireproxy's file format read unchanged (its config.go and README, in the
 * octeep / whyvl / pufferffish / windtf line), plus the UDP tunnels wireproxy lacks.
 *
 * - The WireGuard part is a wg-quick file, inline ([Interface], [Peer]) or named by `WGConfig = path`
 *   before the first section (a bare file name is looked for beside this file, as windtf's wireproxy
 *   does; another relative path is relative to the working directory). It is read by the wg-quick
 *   parser (config/wg-quick.ts) line for line, so its errors name the same lines. wireproxy's additions
 *   to [Interface] (CheckAlive, CheckAliveInterval) are read here. wireproxy's defaults apply: MTU 1420,
 *   and a [Peer] without AllowedIPs routes everything (0.0.0.0/0, ::/0).
 * - Proxy sections, each may repeat: [Socks5], [http], [SNI], [TCPClientTunnel], [TCPServerTunnel],
 *   [STDIOTunnel] (at most one: there is one stdin), [UDPClientTunnel], [UDPServerTunnel],
 *   [UDPProxyTunnel] (windtf's name for a UDP client tunnel), and [Resolve] once.
 * - A value written `$NAME` is the environment variable NAME (an error when unset); `$$` stands for a
 *   literal '$'. wireproxy reads keys that way.
 *
 * Stricter than wireproxy, which ignores what it does not know: an unknown section or key, a key given
 * twice, a missing required key, a bad address or port, or a file that cannot be read is an error that
 * names the file, the line and the key. Nothing is started from a configuration with an error.
 */
import fs from 'node:fs';
import path from 'node:path';
import { ConfigError, parseConfig, type WgConfig } from '../config/wg-quick.js';
import { parseIp, formatIp } from '../net/address.js';
import { parseHostPort, type HostPort } from '../net/host-port.js';
import { IniSyntaxError, scanIni, type IniEntry, type IniSection } from './ini.js';

/** Where a section or key was written. */
export interface Place {
  file: string;
  line: number;
}

export interface Socks5Section {
  kind: 'socks5';
  at: Place;
  bind: HostPort;
  /** Both set, or both null: username/password authentication (RFC 1929) is on when set. */
  username: string | null;
  password: string | null;
}

export interface HttpSection {
  kind: 'http';
  at: Place;
  bind: HostPort;
  username: string | null;
  password: string | null;
  /** Both set: the proxy speaks TLS to its clients. Absolute paths. */
  certFile: string | null;
  keyFile: string | null;
}

export interface SniSection {
  kind: 'sni';
  at: Place;
  bind: HostPort;
}

export interface TcpClientTunnelSection {
  kind: 'tcp-client';
  at: Place;
  bind: HostPort;
  target: HostPort;
}

export interface TcpServerTunnelSection {
  kind: 'tcp-server';
  at: Place;
  listenPort: number;
  target: HostPort;
}

export interface StdioTunnelSection {
  kind: 'stdio';
  at: Place;
  target: HostPort;
}

export interface UdpClientTunnelSection {
  kind: 'udp-client';
  at: Place;
  bind: HostPort;
  target: HostPort;
  /** Seconds a client's session lives without traffic; 0: until evicted by newer ones. */
  inactivityTimeoutSec: number;
}

export interface UdpServerTunnelSection {
  kind: 'udp-server';
  at: Place;
  listenPort: number;
  target: HostPort;
  inactivityTimeoutSec: number;
}

export type ListenerSection =
  | Socks5Section
  | HttpSection
  | SniSection
  | TcpClientTunnelSection
  | TcpServerTunnelSection
  | StdioTunnelSection
  | UdpClientTunnelSection
  | UdpServerTunnelSection;

export type ResolveStrategy = 'auto' | 'ipv4' | 'ipv6';

export interface ProxyConfig {
  /** The file read (as given). */
  file: string;
  /** The file that held [Interface] and [Peer]. */
  wgFile: string;
  /** The WireGuard part, wireproxy's defaults applied. Peer endpoints may still name hosts. */
  wg: WgConfig;
  /** wireproxy's CheckAlive addresses (canonical text) and interval. */
  checkAlive: string[];
  checkAliveIntervalSec: number;
  resolveStrategy: ResolveStrategy;
  listeners: ListenerSection[];
  /** Keys read and ignored, as "file:line: Key ..." notes for the log (wg-quick keys without meaning here). */
  notes: string[];
}

/** A configuration that cannot be used: names the file, the line (0: the file as a whole) and the key. */
export class ProxyConfigError extends Error {
  readonly file: string;
  readonly line: number;
  readonly key: string;
  constructor(file: string, line: number, key: string, reason: string) {
    super(`${file}${line > 0 ? `:${line}` : ''}: ${key === '' ? '' : `${key}: `}${reason}`);
    this.name = 'ProxyConfigError';
    this.file = file;
    this.line = line;
    this.key = key;
  }
}

export interface LoadOptions {
  env?: NodeJS.ProcessEnv;
  /** Reads a file as text; tests pass a map. Defaults to fs.readFileSync. */
  readFile?: (file: string) => string;
  /** Base of relative paths other than bare file names (default: the working directory). */
  cwd?: string;
}

/** wireproxy's default MTU (config.go: DeviceConfig{MTU: 1420}), wg-quick's usual value too. */
export const DEFAULT_MTU = 1420;
/** wireproxy's default CheckAliveInterval, seconds. */
export const DEFAULT_CHECK_ALIVE_INTERVAL_SEC = 5;

const WG_SECTIONS = new Set(['interface', 'peer']);
/** wg-quick keys that act on a kernel interface or a file, which the proxy has neither of. */
const NO_MEANING_HERE = new Set(['fwmark', 'table', 'preup', 'postup', 'predown', 'postdown', 'saveconfig']);
/** wireproxy's own [Interface] keys, read here rather than by the wg-quick parser. */
const CHECK_ALIVE_KEYS = new Set(['checkalive', 'checkaliveinterval']);

/**
 * Read the configuration at `file`.
 * @throws ProxyConfigError naming the file, line and key
 */
export function loadProxyConfig(file: string, options: LoadOptions = {}): ProxyConfig {
  const read = options.readFile ?? ((f: string) => fs.readFileSync(f, 'utf8'));
  let text: string;
  try {
    text = read(file);
  } catch (err) {
    throw new ProxyConfigError(file, 0, '', `cannot read the configuration: ${describeFsError(err)}`);
  }
  return parseProxyConfig(text, file, options);
}

/**
 * Parse configuration `text` that was read from `file` (named in errors; WGConfig and TLS files
 * written as bare names are looked for beside it).
 * @throws ProxyConfigError naming the file, line and key
 */
export function parseProxyConfig(text: string, file: string, options: LoadOptions = {}): ProxyConfig {
  const env = options.env ?? process.env;
  const read = options.readFile ?? ((f: string) => fs.readFileSync(f, 'utf8'));
  const cwd = options.cwd ?? process.cwd();
  const sections = scan(text, file);
  const ctx: Ctx = { file, env, cwd };

  // The root section holds WGConfig and nothing else.
  const root = sections[0]!;
  let wgFile = file;
  let wgSections = sections.filter((s) => WG_SECTIONS.has(s.name));
  for (const e of root.entries) {
    if (e.name !== 'wgconfig') {
      throw new ProxyConfigError(file, e.line, e.key, 'unknown key before the first section; only WGConfig may stand there');
    }
  }
  const wgEntry = single(ctx, root, 'wgconfig');
  if (wgEntry !== null) {
    if (wgSections.length > 0) {
      throw new ProxyConfigError(file, wgSections[0]!.line, wgSections[0]!.title, `WGConfig (line ${wgEntry.line}) already names the WireGuard configuration; remove one of the two`);
    }
    wgFile = relativeTo(file, value(ctx, wgEntry), cwd);
    let wgText: string;
    try {
      wgText = read(wgFile);
    } catch (err) {
      throw new ProxyConfigError(file, wgEntry.line, wgEntry.key, `cannot read '${wgFile}': ${describeFsError(err)}`);
    }
    const wgAll = scan(wgText, wgFile);
    const stray = wgAll[0]!.entries[0];
    if (stray !== undefined) throw new ProxyConfigError(wgFile, stray.line, stray.key, 'key outside a section; expected [Interface] or [Peer] first');
    for (const s of wgAll.slice(1)) {
      if (!WG_SECTIONS.has(s.name)) throw new ProxyConfigError(wgFile, s.line, s.title, 'unknown section in a WireGuard configuration; expected [Interface] or [Peer]');
    }
    wgSections = wgAll.slice(1);
  }

  const notes: string[] = [];
  const wgCtx: Ctx = { file: wgFile, env, cwd };
  const { wg, checkAlive, checkAliveIntervalSec } = readWireGuard(wgCtx, wgSections, notes);

  const listeners: ListenerSection[] = [];
  let resolveStrategy: ResolveStrategy = 'auto';
  let resolveLine = 0;
  for (const s of sections.slice(1)) {
    if (WG_SECTIONS.has(s.name)) continue;
    if (s.name === 'resolve') {
      if (resolveLine !== 0) throw new ProxyConfigError(file, s.line, s.title, `only one [Resolve] section is allowed (the first is on line ${resolveLine})`);
      resolveLine = s.line;
      resolveStrategy = readResolve(ctx, s);
      continue;
    }
    const reader = SECTION_READERS.get(s.name);
    if (reader === undefined) {
      throw new ProxyConfigError(file, s.line, s.title, `unknown section; expected one of ${SECTION_TITLES.join(', ')}`);
    }
    listeners.push(reader(ctx, s));
  }
  checkListeners(ctx, listeners);
  return { file, wgFile, wg, checkAlive, checkAliveIntervalSec, resolveStrategy, listeners, notes };
}

// ---- reading values --------------------------------------------------------------------------------

interface Ctx {
  file: string;
  env: NodeJS.ProcessEnv;
  cwd: string;
}

function scan(text: string, file: string): IniSection[] {
  try {
    return scanIni(text);
  } catch (err) {
    if (err instanceof IniSyntaxError) throw new ProxyConfigError(file, err.line, '', `${err.message}: '${err.key}'`);
    throw err;
  }
}

/** A value with wireproxy's `$NAME` environment references resolved. */
function value(ctx: Ctx, e: IniEntry): string {
  const v = e.value;
  if (!v.startsWith('$')) return v;
  if (v.startsWith('$$')) return v.slice(1);
  const name = v.slice(1);
  const got = ctx.env[name];
  if (got === undefined) throw new ProxyConfigError(ctx.file, e.line, e.key, `references the environment variable ${name}, which is not set`);
  return got;
}

/** The one entry named `name` in `s`, or null; a second one is an error. */
function single(ctx: Ctx, s: IniSection, name: string): IniEntry | null {
  let found: IniEntry | null = null;
  for (const e of s.entries) {
    if (e.name !== name) continue;
    if (found !== null) throw new ProxyConfigError(ctx.file, e.line, e.key, `given twice in this section (first on line ${found.line})`);
    found = e;
  }
  return found;
}

function hostPort(ctx: Ctx, e: IniEntry, role: 'listen' | 'target'): HostPort {
  const r = parseHostPort(value(ctx, e), role);
  if (typeof r === 'string') throw new ProxyConfigError(ctx.file, e.line, e.key, r);
  return r;
}

function uint(ctx: Ctx, e: IniEntry, min: number, max: number, what: string): number {
  const v = value(ctx, e);
  if (!/^\d{1,10}$/.test(v) || Number(v) < min || Number(v) > max) {
    throw new ProxyConfigError(ctx.file, e.line, e.key, `expected ${what} ${min}..${max}, got '${v}'`);
  }
  return Number(v);
}

/** A file path: bare names beside the configuration file (windtf's wireproxy), others from `cwd`. */
function relativeTo(configFile: string, p: string, cwd: string): string {
  if (path.isAbsolute(p)) return p;
  if (path.basename(p) === p) return path.resolve(cwd, path.dirname(configFile), p);
  return path.resolve(cwd, p);
}

function describeFsError(err: unknown): string {
  const e = err as NodeJS.ErrnoException;
  switch (e.code) {
    case 'ENOENT':
      return 'no such file';
    case 'EACCES':
    case 'EPERM':
      return 'permission denied';
    case 'EISDIR':
      return 'it is a directory';
    default:
      return e.message;
  }
}

// ---- the WireGuard part ---------------------------------------------------------------------------

/**
 * [Interface] and [Peer] through the wg-quick parser, fed the same lines at the same line numbers (values
 * with `$NAME` resolved, CheckAlive keys taken out), then wireproxy's defaults and requirements.
 */
function readWireGuard(ctx: Ctx, sections: IniSection[], notes: string[]): { wg: WgConfig; checkAlive: string[]; checkAliveIntervalSec: number } {
  const interfaces = sections.filter((s) => s.name === 'interface');
  if (interfaces.length === 0) throw new ProxyConfigError(ctx.file, 0, 'Interface', 'no [Interface] section; one is required');
  if (interfaces.length > 1) throw new ProxyConfigError(ctx.file, interfaces[1]!.line, interfaces[1]!.title, `only one [Interface] section is allowed (the first is on line ${interfaces[0]!.line})`);
  const iface = interfaces[0]!;
  if (!sections.some((s) => s.name === 'peer')) throw new ProxyConfigError(ctx.file, iface.line, 'Peer', 'no [Peer] section; at least one is required');

  let checkAlive: string[] = [];
  let checkAliveIntervalSec = DEFAULT_CHECK_ALIVE_INTERVAL_SEC;
  const lines: string[] = [];
  for (const s of sections) {
    lines[s.line - 1] = `[${s.name === 'interface' ? 'Interface' : 'Peer'}]`;
    for (const e of s.entries) {
      if (s.name === 'interface' && CHECK_ALIVE_KEYS.has(e.name)) continue;
      if (NO_MEANING_HERE.has(e.name)) notes.push(`${ctx.file}:${e.line}: ${e.key} has no meaning for a proxy (no kernel interface); ignored`);
      const v = value(ctx, e);
      if (/[\r\n#]/.test(v)) throw new ProxyConfigError(ctx.file, e.line, e.key, "a value here cannot contain '#'");
      lines[e.line - 1] = `${e.key} = ${v}`;
    }
  }
  const checkAliveEntry = single(ctx, iface, 'checkalive');
  if (checkAliveEntry !== null) checkAlive = addressList(ctx, checkAliveEntry);
  const intervalEntry = single(ctx, iface, 'checkaliveinterval');
  if (intervalEntry !== null) {
    if (checkAliveEntry === null) throw new ProxyConfigError(ctx.file, intervalEntry.line, intervalEntry.key, 'only valid when CheckAlive is set');
    checkAliveIntervalSec = uint(ctx, intervalEntry, 1, 86400, 'seconds');
  }

  let wg: WgConfig;
  try {
    wg = parseConfig(Array.from(lines, (l) => l ?? '').join('\n'));
  } catch (err) {
    if (err instanceof ConfigError) throw new ProxyConfigError(ctx.file, err.line, err.key, err.reason);
    throw err;
  }
  if (wg.interface.privateKey === undefined) throw new ProxyConfigError(ctx.file, iface.line, 'PrivateKey', 'the [Interface] section has no PrivateKey');
  if (wg.interface.addresses.length === 0) throw new ProxyConfigError(ctx.file, iface.line, 'Address', 'the [Interface] section has no Address: the proxy needs an address inside the tunnel');
  wg.interface.mtu ??= DEFAULT_MTU;
  for (const p of wg.peers) if (p.allowedIPs.length === 0) p.allowedIPs.push('0.0.0.0/0', '::/0');
  return { wg, checkAlive, checkAliveIntervalSec };
}

function addressList(ctx: Ctx, e: IniEntry): string[] {
  const out: string[] = [];
  for (const item of value(ctx, e).split(',')) {
    const t = item.trim();
    if (t === '') continue;
    const ip = parseIp(t);
    if (ip === null) throw new ProxyConfigError(ctx.file, e.line, e.key, `expected IP addresses separated by commas, got '${t}'`);
    out.push(formatIp(ip));
  }
  return out;
}

// ---- proxy sections --------------------------------------------------------------------------------

type Reader = (ctx: Ctx, s: IniSection) => ListenerSection;

/** Keys a section accepts (lower-case name -> as documented) and which of them it requires. */
function keysOf(ctx: Ctx, s: IniSection, allowed: readonly string[], required: readonly string[]): Map<string, IniEntry> {
  const byLower = new Map(allowed.map((k) => [k.toLowerCase(), k]));
  const out = new Map<string, IniEntry>();
  for (const e of s.entries) {
    if (!byLower.has(e.name)) throw new ProxyConfigError(ctx.file, e.line, e.key, `unknown key in [${s.title}]; expected one of ${allowed.join(', ')}`);
    const first = out.get(e.name);
    if (first !== undefined) throw new ProxyConfigError(ctx.file, e.line, e.key, `given twice in this section (first on line ${first.line})`);
    out.set(e.name, e);
  }
  for (const k of required) {
    if (!out.has(k.toLowerCase())) throw new ProxyConfigError(ctx.file, s.line, k, `[${s.title}] needs ${k}`);
  }
  return out;
}

/** An optional text value; empty means unset, as wireproxy treats `Username =`. */
function optional(ctx: Ctx, keys: Map<string, IniEntry>, name: string): string | null {
  const e = keys.get(name);
  if (e === undefined) return null;
  const v = value(ctx, e);
  return v === '' ? null : v;
}

function credentials(ctx: Ctx, s: IniSection, keys: Map<string, IniEntry>): { username: string | null; password: string | null } {
  const username = optional(ctx, keys, 'username');
  const password = optional(ctx, keys, 'password');
  // RFC 1929 carries each in one length byte.
  for (const [k, v] of [['username', username], ['password', password]] as const) {
    if (v !== null && Buffer.byteLength(v) > 255) throw new ProxyConfigError(ctx.file, keys.get(k)!.line, keys.get(k)!.key, 'longer than 255 bytes');
  }
  if (username === null && password !== null) throw new ProxyConfigError(ctx.file, keys.get('password')!.line, 'Password', `[${s.title}] has a Password but no Username`);
  return { username, password: username === null ? null : (password ?? '') };
}

const readSocks5: Reader = (ctx, s) => {
  const k = keysOf(ctx, s, ['BindAddress', 'Username', 'Password'], ['BindAddress']);
  return { kind: 'socks5', at: { file: ctx.file, line: s.line }, bind: hostPort(ctx, k.get('bindaddress')!, 'listen'), ...credentials(ctx, s, k) };
};

const readHttp: Reader = (ctx, s) => {
  const k = keysOf(ctx, s, ['BindAddress', 'Username', 'Password', 'CertFile', 'KeyFile'], ['BindAddress']);
  const cert = optional(ctx, k, 'certfile');
  const key = optional(ctx, k, 'keyfile');
  if ((cert === null) !== (key === null)) {
    const has = cert !== null ? 'certfile' : 'keyfile';
    throw new ProxyConfigError(ctx.file, k.get(has)!.line, k.get(has)!.key, 'CertFile and KeyFile go together: give both for TLS, or neither');
  }
  return {
    kind: 'http',
    at: { file: ctx.file, line: s.line },
    bind: hostPort(ctx, k.get('bindaddress')!, 'listen'),
    ...credentials(ctx, s, k),
    certFile: cert === null ? null : relativeTo(ctx.file, cert, ctx.cwd),
    keyFile: key === null ? null : relativeTo(ctx.file, key, ctx.cwd),
  };
};

const readSni: Reader = (ctx, s) => {
  const k = keysOf(ctx, s, ['BindAddress'], ['BindAddress']);
  return { kind: 'sni', at: { file: ctx.file, line: s.line }, bind: hostPort(ctx, k.get('bindaddress')!, 'listen') };
};

const readTcpClient: Reader = (ctx, s) => {
  const k = keysOf(ctx, s, ['BindAddress', 'Target'], ['BindAddress', 'Target']);
  return { kind: 'tcp-client', at: { file: ctx.file, line: s.line }, bind: hostPort(ctx, k.get('bindaddress')!, 'listen'), target: hostPort(ctx, k.get('target')!, 'target') };
};

const readTcpServer: Reader = (ctx, s) => {
  const k = keysOf(ctx, s, ['ListenPort', 'Target'], ['ListenPort', 'Target']);
  return { kind: 'tcp-server', at: { file: ctx.file, line: s.line }, listenPort: uint(ctx, k.get('listenport')!, 1, 65535, 'a port'), target: hostPort(ctx, k.get('target')!, 'target') };
};

const readStdio: Reader = (ctx, s) => {
  const k = keysOf(ctx, s, ['Target'], ['Target']);
  return { kind: 'stdio', at: { file: ctx.file, line: s.line }, target: hostPort(ctx, k.get('target')!, 'target') };
};

/** InactivityTimeout of the UDP sections: seconds, 0 (the default, as windtf's) for none. */
function inactivity(ctx: Ctx, k: Map<string, IniEntry>): number {
  const t = k.get('inactivitytimeout');
  return t === undefined ? 0 : uint(ctx, t, 0, 86400, 'seconds');
}

const readUdpClient: Reader = (ctx, s) => {
  const k = keysOf(ctx, s, ['BindAddress', 'Target', 'InactivityTimeout'], ['BindAddress', 'Target']);
  const bind = hostPort(ctx, k.get('bindaddress')!, 'listen');
  return { kind: 'udp-client', at: { file: ctx.file, line: s.line }, bind, target: hostPort(ctx, k.get('target')!, 'target'), inactivityTimeoutSec: inactivity(ctx, k) };
};

const readUdpServer: Reader = (ctx, s) => {
  const k = keysOf(ctx, s, ['ListenPort', 'Target', 'InactivityTimeout'], ['ListenPort', 'Target']);
  const listenPort = uint(ctx, k.get('listenport')!, 1, 65535, 'a port');
  return { kind: 'udp-server', at: { file: ctx.file, line: s.line }, listenPort, target: hostPort(ctx, k.get('target')!, 'target'), inactivityTimeoutSec: inactivity(ctx, k) };
};

function readResolve(ctx: Ctx, s: IniSection): ResolveStrategy {
  const k = keysOf(ctx, s, ['ResolveStrategy'], []);
  const e = k.get('resolvestrategy');
  if (e === undefined) return 'auto';
  const v = value(ctx, e).toLowerCase();
  if (v !== 'auto' && v !== 'ipv4' && v !== 'ipv6') throw new ProxyConfigError(ctx.file, e.line, e.key, `expected auto, ipv4 or ipv6, got '${v}'`);
  return v;
}

const SECTIONS: readonly [string, Reader][] = [
  ['Socks5', readSocks5],
  ['http', readHttp],
  ['SNI', readSni],
  ['TCPClientTunnel', readTcpClient],
  ['TCPServerTunnel', readTcpServer],
  ['STDIOTunnel', readStdio],
  ['UDPClientTunnel', readUdpClient],
  ['UDPProxyTunnel', readUdpClient],
  ['UDPServerTunnel', readUdpServer],
];
const SECTION_READERS = new Map(SECTIONS.map(([t, r]) => [t.toLowerCase(), r]));
const SECTION_TITLES = ['Interface', 'Peer', ...SECTIONS.map(([t]) => t), 'Resolve'];

/** Conflicts visible in the file: one stdin, one listener per tunnel port and protocol. */
function checkListeners(ctx: Ctx, listeners: ListenerSection[]): void {
  let stdio: StdioTunnelSection | null = null;
  const tunnelPorts = new Map<string, number>();
  for (const l of listeners) {
    if (l.kind === 'stdio') {
      if (stdio !== null) throw new ProxyConfigError(ctx.file, l.at.line, 'STDIOTunnel', `only one [STDIOTunnel] is possible (the first is on line ${stdio.at.line})`);
      stdio = l;
    }
    if (l.kind === 'tcp-server' || l.kind === 'udp-server') {
      const key = `${l.kind}:${l.listenPort}`;
      const first = tunnelPorts.get(key);
      if (first !== undefined) throw new ProxyConfigError(ctx.file, l.at.line, 'ListenPort', `port ${l.listenPort} is already taken by the section on line ${first}`);
      tunnelPorts.set(key, l.at.line);
    }
  }
}
