/**
 * Byte helpers the netstack's data path shares: address compare and copy over plain loops (4 or 16
 * bytes, where a view object would cost more than the copy), and a range copy that takes the native
 * path only when the range is long enough to pay for the view it needs.
 */

/** Below this a plain loop beats creating a subarray for TypedArray.set (no view object either). */
const LOOP_COPY_MAX_BYTES = 64;

/** Copy b[at, at + out.length) into out. */
export function copyAddress(b: Uint8Array, at: number, out: Uint8Array): void {
  for (let i = 0; i < out.length; i++) out[i] = b[at + i]!;
}

/** Whether a equals b[at, at + a.length). */
export function addressAt(a: Uint8Array, b: Uint8Array, at: number): boolean {
  for (let i = 0; i < a.length; i++) if (a[i] !== b[at + i]) return false;
  return true;
}

/** Whether two addresses of the same length are equal. */
export function sameAddress(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

/** Copy src[s, e) to dst[at, at + e - s); the two ranges must not overlap. */
export function copyBytes(src: Uint8Array, s: number, e: number, dst: Uint8Array, at: number): void {
  if (e - s <= LOOP_COPY_MAX_BYTES) {
    for (let i = s; i < e; i++) dst[at + i - s] = src[i]!;
    return;
  }
  dst.set(src.subarray(s, e), at);
}
