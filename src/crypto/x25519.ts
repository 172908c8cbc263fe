// X25519 Diffie-Hellman (RFC 7748 §5, §6.1): the DH(private, public) and DH-GENERATE of the WireGuard
// paper, 5.4 Messages. OpenSSL does the curve arithmetic through node:crypto KeyObjects made from raw
// 32-byte keys; nothing secret outlives a call in this module.
//
// Import path, measured (Node 20.20, OpenSSL 3.0, 2-core VM; µs per call, 500 calls):
//   private key from PKCS#8 DER (fixed 16-byte prefix || key)   713
//   public key from SPKI DER (fixed 12-byte prefix || key)      169
//   private key from JWK {kty:'OKP', crv:'X25519', d}            66  (includes deriving its public key)
//   public key from JWK {x}                                      17
//   diffieHellman() on ready KeyObjects                          63
//   public key export: DER 137, JWK 5.5
// OpenSSL 3's generic DER decoder dominates the DER path: one x25519() costs 600-950 µs through DER
// and 100-145 µs through JWK (this table and bench.ts, over several runs). A handshake takes up to
// four DHs a side and a responder must keep up under load (5.3 Denial of Service Mitigation:
// Cookies), so the JWK path is used. Its price: the private key passes through a base64url string,
// which cannot be wiped and lingers until the collector reuses its memory (Node's own import copies
// it too). The DER construction stays, as `x25519ViaDer`, the slow twin that tests compare against.
import {
  createPrivateKey,
  createPublicKey,
  diffieHellman,
  randomFillSync,
  type KeyObject,
} from 'node:crypto';
import { abytes } from './_assert.js';
import { KEY_LEN, isZero } from './keys.js';

/**
 * Returns a fresh random private key, clamped as RFC 7748 §5 decodeScalar25519 clamps it (and as
 * `wg genkey` stores it): clear the low 3 bits, clear bit 255, set bit 254.
 */
export function generatePrivateKey(): Uint8Array {
  const k = new Uint8Array(KEY_LEN);
  randomFillSync(k);
  clamp(k);
  return k;
}

/** RFC 7748 §5 clamping, in place. X25519 clamps internally anyway; this makes the stored key canonical. */
export function clamp(k: Uint8Array): void {
  k[0]! &= 248;
  k[31] = (k[31]! & 127) | 64;
}

function privateKeyObject(privateKey: Uint8Array): KeyObject {
  // Node (lib/internal/crypto/keys.js) requires `x` to be a string but ignores it for a private OKP
  // key: the public half is derived from `d`. The RFC 7748 vector tests pin this behaviour.
  const d = Buffer.from(privateKey.buffer, privateKey.byteOffset, KEY_LEN).toString('base64url');
  return createPrivateKey({ key: { kty: 'OKP', crv: 'X25519', d, x: '' }, format: 'jwk' });
}

function publicKeyObject(publicKey: Uint8Array): KeyObject {
  const x = Buffer.from(publicKey.buffer, publicKey.byteOffset, KEY_LEN).toString('base64url');
  return createPublicKey({ key: { kty: 'OKP', crv: 'X25519', x }, format: 'jwk' });
}

/**
 * Computes the public key of a private key (RFC 7748 §6.1: X25519(k, 9)).
 * @throws RangeError unless `privateKey` is 32 bytes.
 */
export function publicKey(privateKey: Uint8Array): Uint8Array {
  abytes('privateKey', privateKey, KEY_LEN);
  const jwk = createPublicKey(privateKeyObject(privateKey)).export({ format: 'jwk' });
  const tmp = Buffer.from(jwk.x ?? '', 'base64url');
  const pub = new Uint8Array(KEY_LEN);
  pub.set(tmp.subarray(0, KEY_LEN));
  return pub;
}

/**
 * DH(privateKey, publicKey): writes the 32-byte shared secret into `out`.
 *
 * Returns false, with `out` zeroed, when the result is all zero, that is when `publicKey` is a point
 * of small order. RFC 7748 §6.1 lets a protocol check for this; WireGuard must (the kernel's
 * curve25519() returns false and noise.c aborts the handshake), or a peer could force a known
 * shared secret. OpenSSL 3 itself refuses such a point ("failed during derivation"); that error is
 * the same outcome and is reported the same way.
 * @throws RangeError unless all three arrays are 32 bytes (a caller bug, not bad input).
 */
export function x25519(out: Uint8Array, privateKey: Uint8Array, publicKey: Uint8Array): boolean {
  abytes('out', out, KEY_LEN);
  abytes('privateKey', privateKey, KEY_LEN);
  abytes('publicKey', publicKey, KEY_LEN);
  return derive(out, privateKeyObject(privateKey), publicKey, publicKeyObject);
}

// `publicKey` usually comes off the wire (an ephemeral, a static key inside a handshake), so any
// failure to import it or to derive with it is reported as false, never thrown.
function derive(
  out: Uint8Array,
  priv: KeyObject,
  publicKey: Uint8Array,
  importPublic: (k: Uint8Array) => KeyObject,
): boolean {
  let shared: Buffer;
  try {
    shared = diffieHellman({ privateKey: priv, publicKey: importPublic(publicKey) });
  } catch {
    out.fill(0);
    return false;
  }
  out.set(shared);
  shared.fill(0);
  if (isZero(out)) return false; // already zero: nothing more to clear
  return true;
}

// Fixed DER wrappers for a raw X25519 key (RFC 8410 §7 and §4, id-X25519 = 1.3.101.110).
const PKCS8_PREFIX = Buffer.from('302e020100300506032b656e04220420', 'hex');
const SPKI_PREFIX = Buffer.from('302a300506032b656e032100', 'hex');

/**
 * The same DH through PKCS#8 / SPKI DER imports: ~6x slower (see the top of the file), kept as the
 * reference twin that tests compare `x25519` against. The DER copy of the private key is wiped.
 */
export function x25519ViaDer(out: Uint8Array, privateKey: Uint8Array, publicKey: Uint8Array): boolean {
  abytes('out', out, KEY_LEN);
  abytes('privateKey', privateKey, KEY_LEN);
  abytes('publicKey', publicKey, KEY_LEN);
  const der = new Uint8Array(PKCS8_PREFIX.length + KEY_LEN);
  der.set(PKCS8_PREFIX);
  der.set(privateKey, PKCS8_PREFIX.length);
  let priv: KeyObject;
  try {
    priv = createPrivateKey({ key: Buffer.from(der.buffer), format: 'der', type: 'pkcs8' });
  } finally {
    der.fill(0);
  }
  return derive(out, priv, publicKey, publicKeyObjectViaDer);
}

function publicKeyObjectViaDer(publicKey: Uint8Array): KeyObject {
  const spki = new Uint8Array(SPKI_PREFIX.length + KEY_LEN);
  spki.set(SPKI_PREFIX);
  spki.set(publicKey, SPKI_PREFIX.length);
  return createPublicKey({ key: Buffer.from(spki.buffer), format: 'der', type: 'spki' });
}
