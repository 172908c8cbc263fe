// Test helpers (internal): load the published vectors kept in src/crypto/vectors/ and convert hex.
// tsc does not copy JSON into dist/, so the path climbs from dist/crypto/ back to src/crypto/vectors/.
import { readFileSync } from 'node:fs';

export function loadVectors<T>(name: string): T {
  const url = new URL(`../../src/crypto/vectors/${name}`, import.meta.url);
  return JSON.parse(readFileSync(url, 'utf8')) as T;
}

export function fromHex(s: string): Uint8Array {
  return new Uint8Array(Buffer.from(s, 'hex'));
}

export function toHex(b: Uint8Array): string {
  return Buffer.from(b.buffer, b.byteOffset, b.length).toString('hex');
}
