// The crypto layer of wgts: the primitives the WireGuard paper lists in 5.4 Messages (DH, HASH, MAC,
// HMAC, KDF, AEAD, XAEAD, TIMESTAMP) plus key encodings. Knows nothing of peers or devices.
export {
  KEY_LEN,
  keyFromBase64,
  keyToBase64,
  keyFromHex,
  keyToHex,
  constantTimeEqual,
  isZero,
  wipe,
} from './keys.js';
export { generatePrivateKey, publicKey, x25519, clamp } from './x25519.js';
export { HASH_LEN, MAC_LEN, hash, mac, hmac, kdf, blake2s } from './blake2s.js';
export {
  TAG_LEN,
  NONCE_LEN,
  type AeadKey,
  aeadKey,
  destroyAeadKey,
  sealInPlace,
  openInPlace,
  seal,
  open,
  sealRaw,
  openRaw,
  AeadBatch,
  sealBatch,
  openBatch,
} from './aead.js';
export { XNONCE_LEN, xseal, xopen } from './xaead.js';
export { TAI64N_LEN, tai64n, tai64nFromNs, compareTai64n } from './tai64n.js';
