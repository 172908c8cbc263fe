// Micro-benchmark of the crypto primitives (not a test: nothing is asserted). Prints the median
// ns/op over several rounds. Run: node dist/crypto/bench.js
//
// "sealInPlace, KeyObject" repeats sealInPlace's body with a createSecretKey() handle instead of the
// raw Buffer that aeadKey() keeps, to re-check the choice recorded at the top of aead.ts.
import { createCipheriv, createSecretKey, randomBytes, type KeyObject } from 'node:crypto';
import { aeadKey, openInPlace, sealInPlace, TAG_LEN } from './aead.js';
import { hash, kdf, mac } from './blake2s.js';
import { generatePrivateKey, publicKey, x25519, x25519ViaDer } from './x25519.js';

const ROUNDS = 7;

function bench(name: string, iterations: number, fn: () => void): void {
  for (let i = 0; i < Math.max(1, iterations >> 3); i++) fn();
  const samples: number[] = [];
  for (let r = 0; r < ROUNDS; r++) {
    const t0 = process.hrtime.bigint();
    for (let i = 0; i < iterations; i++) fn();
    samples.push(Number(process.hrtime.bigint() - t0) / iterations);
  }
  samples.sort((a, b) => a - b);
  const median = samples[ROUNDS >> 1]!;
  console.log(`${name.padEnd(36)} ${median.toFixed(0).padStart(9)} ns/op`);
}

const PACKET = 1420;
const raw = new Uint8Array(randomBytes(32));
const key = aeadKey(raw);
const keyObject: KeyObject = createSecretKey(raw);
const buf = new Uint8Array(PACKET + TAG_LEN);
buf.set(randomBytes(PACKET));
const nonce = Buffer.alloc(12);
let counter = 0;

console.log(`node ${process.version}, openssl ${process.versions.openssl}, median of ${ROUNDS} rounds`);

bench(`sealInPlace ${PACKET} B, raw key`, 20000, () => {
  sealInPlace(key, counter++, buf, 0, PACKET, null);
});
bench(`sealInPlace ${PACKET} B, KeyObject`, 20000, () => {
  nonce.writeUInt32LE(counter++ >>> 0, 4);
  const c = createCipheriv('chacha20-poly1305', keyObject, nonce, { authTagLength: TAG_LEN });
  const ct = c.update(buf.subarray(0, PACKET));
  c.final();
  buf.set(ct, 0);
  buf.set(c.getAuthTag(), PACKET);
});

const sealed = new Uint8Array(PACKET + TAG_LEN);
sealed.set(randomBytes(PACKET));
sealInPlace(key, 7, sealed, 0, PACKET, null);
const work = new Uint8Array(PACKET + TAG_LEN);
bench(`openInPlace ${PACKET} B`, 20000, () => {
  work.set(sealed);
  if (openInPlace(key, 7, work, 0, PACKET + TAG_LEN, null) !== PACKET) throw new Error('open failed');
});
bench(`openInPlace ${PACKET} B, bad tag`, 20000, () => {
  work.set(sealed);
  work[PACKET] ^= 1;
  openInPlace(key, 7, work, 0, PACKET + TAG_LEN, null);
});

const priv = generatePrivateKey();
const peer = publicKey(generatePrivateKey());
const shared = new Uint8Array(32);
bench('x25519 (JWK import)', 400, () => {
  x25519(shared, priv, peer);
});
bench('x25519 (DER import, reference twin)', 100, () => {
  x25519ViaDer(shared, priv, peer);
});
bench('publicKey', 400, () => {
  publicKey(priv);
});

const h = new Uint8Array(32);
const data32 = new Uint8Array(randomBytes(32));
bench('hash (32 B || 32 B)', 50000, () => {
  hash(h, h, data32);
});
const msg = new Uint8Array(randomBytes(116)); // mac1 covers the 116 bytes before it
const m = new Uint8Array(16);
bench('mac (116 B, 32 B key)', 50000, () => {
  mac(m, h, msg);
});
const ck = new Uint8Array(randomBytes(32));
const t2 = new Uint8Array(32);
const t3 = new Uint8Array(32);
bench('kdf3 (32 B input)', 20000, () => {
  kdf(ck, data32, ck, t2, t3);
});
