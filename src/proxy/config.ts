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
 *
 * Here: the file as a whole and its WireGuard part; the proxy sections are config-sections.ts, the
 * value readers config-values.ts, the shapes config-types.ts.
 */
import fs from 'node:fs';
import { ConfigError, parseConfig, type WgConfig } from '../config/wg-quick.js';
import { parseIp, formatIp } from '../net/address.js';
import { checkListeners, readResolve, SECTION_READERS, SECTION_TITLES } from './config-sections.js';
import { ProxyConfigError, type ListenerSection, type ProxyConfig, type ResolveStrategy } from './config-types.js';
import { relativeTo, single, uint, value, type Ctx } from './config-values.js';
import { IniSyntaxError, scanIni, type IniEntry, type IniSection } from './ini.js';

export * from './config-types.js';

export interface LoadOptions {
  env?: NodeJS.ProcessEnv;
  /** Reads a file as text; tests pass a map. Defaults to fs.readFileSync. */
  readFile?: (file: string) => string;
  /** Base of relative paths other than bare file names (default: the working directory). */
  cwd?: string;
}

/** wireproxy's default MTU (config.go: DeviceConfig{MTU: 1420}), wg-quick's usual value too. */
export const WIREPROXY_DEFAULT_MTU = 1420;
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

function scan(text: string, file: string): IniSection[] {
  try {
    return scanIni(text);
  } catch (err) {
    if (err instanceof IniSyntaxError) throw new ProxyConfigError(file, err.line, '', `${err.message}: '${err.key}'`);
    throw err;
  }
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
  wg.interface.mtu ??= WIREPROXY_DEFAULT_MTU;
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
