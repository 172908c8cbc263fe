/**
 * The proxy sections of a wireproxy configuration ([Socks5], [http], [SNI], the TCP, UDP and STDIO
 * tunnels, [Resolve]): which keys each takes and requires, and what they become (config-types.ts).
 * Conflicts visible in the file (two STDIO tunnels, one tunnel port twice) are refused here too.
 */
import type { IniEntry, IniSection } from './ini.js';
import { ProxyConfigError, type ListenerSection, type ResolveStrategy, type StdioTunnelSection } from './config-types.js';
import { hostPort, keysOf, optional, relativeTo, uint, value, type Ctx } from './config-values.js';

type Reader = (ctx: Ctx, s: IniSection) => ListenerSection;

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

export function readResolve(ctx: Ctx, s: IniSection): ResolveStrategy {
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
export const SECTION_READERS = new Map(SECTIONS.map(([t, r]) => [t.toLowerCase(), r]));
export const SECTION_TITLES = ['Interface', 'Peer', ...SECTIONS.map(([t]) => t), 'Resolve'];

/** Conflicts visible in the file: one stdin, one listener per tunnel port and protocol. */
export function checkListeners(ctx: Ctx, listeners: ListenerSection[]): void {
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
