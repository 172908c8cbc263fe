/**
 * Loads the C shim, build/Release/wgts_native.node at the package root (built by
 * scripts/build-native.mjs at `npm install`). From dist/native/load.js the root is two levels up.
 *
 * Loading never throws: where the shim is missing, stale or refused, `native` is null and
 * `nativeError` says why, and the library runs on its portable paths (DESIGN.md, "The native shim").
 * WGTS_NATIVE=0 turns the shim off (to test those paths); WGTS_NATIVE_PATH loads another build.
 */
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';
import { NATIVE_FUNCTIONS, type NativeBinding } from './binding.js';

/** Where the shim is looked for. */
export const NATIVE_PATH: string =
  process.env['WGTS_NATIVE_PATH'] ?? fileURLToPath(new URL('../../build/Release/wgts_native.node', import.meta.url));

function load(): { binding: NativeBinding | null; error: string | null } {
  if (process.env['WGTS_NATIVE'] === '0') return { binding: null, error: 'disabled by WGTS_NATIVE=0' };
  if (process.platform !== 'linux') return { binding: null, error: `the native shim is Linux-only (this is ${process.platform})` };
  let mod: unknown;
  try {
    mod = createRequire(import.meta.url)(NATIVE_PATH);
  } catch (err) {
    const e = err as NodeJS.ErrnoException;
    const why =
      e.code === 'MODULE_NOT_FOUND'
        ? `${NATIVE_PATH} is missing: build it with \`node scripts/build-native.mjs\` (needs python3, make, a C compiler)`
        : `${NATIVE_PATH} did not load: ${e.message}`;
    return { binding: null, error: why };
  }
  const obj = mod as Record<string, unknown>;
  const missing = NATIVE_FUNCTIONS.filter((f) => typeof obj[f] !== 'function');
  if (missing.length > 0) {
    return { binding: null, error: `${NATIVE_PATH} is stale (no ${missing.join(', ')}): rebuild with \`node scripts/build-native.mjs\`` };
  }
  return { binding: mod as NativeBinding, error: null };
}

const loaded = load();

/** The shim, or null where it could not be loaded (see nativeError). */
export const native: NativeBinding | null = loaded.binding;
/** Why `native` is null; null when it loaded. */
export const nativeError: string | null = loaded.error;

/** The shim, or a thrown Error saying why it is not available (for code that cannot do without). */
export function requireNative(what: string): NativeBinding {
  if (native === null) throw new Error(`${what} needs the wgts native shim: ${nativeError}`);
  return native;
}
