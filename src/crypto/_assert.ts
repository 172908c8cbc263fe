// Argument checks shared by the crypto module (internal: the leading underscore marks it, as in
// @noble's _md.ts). Control-path functions call these and throw; data-path functions (sealInPlace,
// openInPlace) never do, and report bad bounds as -1 instead.
//
// TypeError for a wrong type, RangeError for a wrong length, each naming the parameter and giving
// the expected and actual values. The success test comes first, so the common case builds no
// message.

/** Throws unless `value` is a Uint8Array (a Buffer is one) of exactly `length` bytes, if given. */
export function abytes(name: string, value: unknown, length?: number): asserts value is Uint8Array {
  if (value instanceof Uint8Array && (length === undefined || value.length === length)) return;
  if (!(value instanceof Uint8Array)) {
    throw new TypeError(`${name}: expected Uint8Array, got ${value === null ? 'null' : typeof value}`);
  }
  throw new RangeError(`${name}: expected ${length} bytes, got ${value.length}`);
}

/** Throws unless `out` has room for `need` bytes starting at `offset`. */
export function aroom(name: string, out: Uint8Array, offset: number, need: number): void {
  if (Number.isInteger(offset) && offset >= 0 && offset + need <= out.length) return;
  throw new RangeError(
    `${name}: need ${need} bytes at offset ${offset}, but the buffer holds ${out.length} bytes`,
  );
}
