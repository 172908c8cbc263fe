/**
 * Reading values out of the scanned configuration (ini.ts) for config.ts and config-sections.ts:
 * wireproxy's `$NAME` environment references, single keys, addresses, numbers and file paths, each
 * failure a ProxyConfigError naming the file, line and key.
 */
import path from 'node:path';
import { parseHostPort, type HostPort } from '../net/host-port.js';
import { ProxyConfigError } from './config-types.js';
import type { IniEntry, IniSection } from './ini.js';

/** The file being read and what its values may refer to. */
export interface Ctx {
  file: string;
  env: NodeJS.ProcessEnv;
  cwd: string;
}

/** A value with wireproxy's `$NAME` environment references resolved. */
export function value(ctx: Ctx, e: IniEntry): string {
  const v = e.value;
  if (!v.startsWith('$')) return v;
  if (v.startsWith('$$')) return v.slice(1);
  const name = v.slice(1);
  const got = ctx.env[name];
  if (got === undefined) throw new ProxyConfigError(ctx.file, e.line, e.key, `references the environment variable ${name}, which is not set`);
  return got;
}

/** The one entry named `name` in `s`, or null; a second one is an error. */
export function single(ctx: Ctx, s: IniSection, name: string): IniEntry | null {
  let found: IniEntry | null = null;
  for (const e of s.entries) {
    if (e.name !== name) continue;
    if (found !== null) throw new ProxyConfigError(ctx.file, e.line, e.key, `given twice in this section (first on line ${found.line})`);
    found = e;
  }
  return found;
}

export function hostPort(ctx: Ctx, e: IniEntry, role: 'listen' | 'target'): HostPort {
  const r = parseHostPort(value(ctx, e), role);
  if (typeof r === 'string') throw new ProxyConfigError(ctx.file, e.line, e.key, r);
  return r;
}

export function uint(ctx: Ctx, e: IniEntry, min: number, max: number, what: string): number {
  const v = value(ctx, e);
  if (!/^\d{1,10}$/.test(v) || Number(v) < min || Number(v) > max) {
    throw new ProxyConfigError(ctx.file, e.line, e.key, `expected ${what} ${min}..${max}, got '${v}'`);
  }
  return Number(v);
}

/** A file path: bare names beside the configuration file (windtf's wireproxy), others from `cwd`. */
export function relativeTo(configFile: string, p: string, cwd: string): string {
  if (path.isAbsolute(p)) return p;
  if (path.basename(p) === p) return path.resolve(cwd, path.dirname(configFile), p);
  return path.resolve(cwd, p);
}

/** Keys a section accepts (lower-case name -> as documented) and which of them it requires. */
export function keysOf(ctx: Ctx, s: IniSection, allowed: readonly string[], required: readonly string[]): Map<string, IniEntry> {
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
export function optional(ctx: Ctx, keys: Map<string, IniEntry>, name: string): string | null {
  const e = keys.get(name);
  if (e === undefined) return null;
  const v = value(ctx, e);
  return v === '' ? null : v;
}
