/*
 * ChaCha20-Poly1305 for one packet (RFC 8439 §2.8) with WireGuard's nonce, 32 zero bits then the
 * 64-bit counter little-endian (paper 5.4.6, "Subsequent Messages: Transport Data Messages"; the
 * authenticated data is empty), from the OpenSSL the node binary carries. Two back ends, one result:
 *
 * - primitives: OpenSSL's ChaCha20_ctr32 and Poly1305_Init/Update/Final, the assembly that its own
 *   EVP chacha20-poly1305 runs underneath, composed here as RFC 8439 §2.8 composes them: the
 *   Poly1305 key is the first 32 bytes of keystream block 0 (§2.6), the payload is encrypted from
 *   block 1 (§2.4), the tag covers the ciphertext padded to 16 bytes and the two lengths (§2.8).
 *   An open checks the tag (in constant time) before it decrypts, so a forgery leaves the window as
 *   it came. These symbols are exported by the node binary but are not OpenSSL's public API, so
 *   they are looked up at run time and must agree with EVP on a known input before they are used.
 * - EVP: EVP_chacha20_poly1305 with a reused context, re-initialised per packet with the nonce
 *   (and the key when it changed). The fallback where the primitives are absent or fail the vector.
 *
 * Measured (Node 20.20 / OpenSSL 3.0, 2-core AMD EPYC VM with AVX-512, batch of 128 in one call,
 * median of 11): 1420 B seal ~1,010 ns through EVP, of which ~350 ns is the per-packet EVP overhead
 * (provider dispatch, OSSL_PARAM lookups for the tag); through the primitives see aead-bench.
 */
#define _GNU_SOURCE
#include "aead.h"

#include <dlfcn.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

#include "shim.h"

#define NONCE_BYTES 12
#define BLOCK_BYTES 64

typedef void (*chacha_fn)(unsigned char* out, const unsigned char* in, size_t len, const unsigned int key[8],
                          const unsigned int counter[4]);
typedef size_t (*poly_size_fn)(void);
typedef void (*poly_init_fn)(void* ctx, const unsigned char key[32]);
typedef void (*poly_update_fn)(void* ctx, const unsigned char* in, size_t len);
typedef void (*poly_final_fn)(void* ctx, unsigned char mac[16]);

static struct {
  chacha_fn chacha;
  poly_size_fn poly_size;
  poly_init_fn poly_init;
  poly_update_fn poly_update;
  poly_final_fn poly_final;
  int resolved; /* found (1) or not (-1); set once, by resolve() */
} prim;

/* 1 while the primitives are in use; the tests may force EVP. */
static atomic_int use_prims;

struct aead_cipher {
  EVP_CIPHER_CTX* seal;
  EVP_CIPHER_CTX* open;
  void* poly; /* Poly1305 state, prim.poly_size() bytes; NULL without the primitives */
};

void aead_wipe(void* p, size_t n) {
  OPENSSL_cleanse(p, n);
}

/* The counter in [0, 2^64), or 0 (and *ok = 0) outside it: converting one would be undefined. */
static uint64_t counter_of(double counter, int* ok) {
  *ok = counter >= 0 && counter < 18446744073709551616.0;
  return *ok ? (uint64_t)counter : 0;
}

/* ---- primitives ---- */

static uint32_t le32(const uint8_t* b) {
  return (uint32_t)b[0] | (uint32_t)b[1] << 8 | (uint32_t)b[2] << 16 | (uint32_t)b[3] << 24;
}

static void put_le64(uint8_t* b, uint64_t v) {
  for (int i = 0; i < 8; i++) b[i] = (uint8_t)(v >> (8 * i));
}

/* The ChaCha20 key words and the block-0 input words of WireGuard's nonce for `counter`. */
static void prim_setup(const uint8_t* key, uint64_t counter, unsigned int k[8], unsigned int block[4]) {
  for (int i = 0; i < 8; i++) k[i] = le32(key + 4 * i);
  block[0] = 0; /* block counter (RFC 8439 §2.3) */
  block[1] = 0; /* nonce bytes 0..3: zero (paper 5.4.6) */
  block[2] = (unsigned int)(counter & 0xffffffffu);
  block[3] = (unsigned int)(counter >> 32);
}

/* The Poly1305 tag of ciphertext p[0, len) under the one-time key from block 0 (RFC 8439 §2.8). */
static void prim_tag(aead_cipher* c, const unsigned int k[8], unsigned int block[4], const uint8_t* p, size_t len,
                     uint8_t tag[AEAD_TAG_BYTES]) {
  static const uint8_t zeros[BLOCK_BYTES];
  uint8_t otk[BLOCK_BYTES];
  block[0] = 0;
  prim.chacha(otk, zeros, BLOCK_BYTES, k, block);
  prim.poly_init(c->poly, otk);
  prim.poly_update(c->poly, p, len);
  if (len % 16 != 0) prim.poly_update(c->poly, zeros, 16 - len % 16);
  uint8_t lengths[16];
  put_le64(lengths, 0); /* no authenticated data */
  put_le64(lengths + 8, (uint64_t)len);
  prim.poly_update(c->poly, lengths, sizeof(lengths));
  prim.poly_final(c->poly, tag);
  aead_wipe(otk, sizeof(otk));
}

static int prim_seal(aead_cipher* c, const uint8_t* key, uint64_t counter, uint8_t* p, int len) {
  unsigned int k[8], block[4];
  prim_setup(key, counter, k, block);
  block[0] = 1;
  if (len > 0) prim.chacha(p, p, (size_t)len, k, block);
  prim_tag(c, k, block, p, (size_t)len, p + len);
  aead_wipe(k, sizeof(k));
  return len + AEAD_TAG_BYTES;
}

static int prim_open(aead_cipher* c, const uint8_t* key, uint64_t counter, uint8_t* p, int len) {
  unsigned int k[8], block[4];
  uint8_t tag[AEAD_TAG_BYTES];
  int pt = len - AEAD_TAG_BYTES;
  prim_setup(key, counter, k, block);
  prim_tag(c, k, block, p, (size_t)pt, tag);
  int ok = CRYPTO_memcmp(tag, p + pt, AEAD_TAG_BYTES) == 0;
  if (ok && pt > 0) {
    block[0] = 1;
    prim.chacha(p, p, (size_t)pt, k, block);
  }
  aead_wipe(k, sizeof(k));
  return ok ? pt : -1;
}

/* ---- EVP ---- */

static EVP_CIPHER_CTX* new_ctx(int enc) {
  EVP_CIPHER_CTX* ctx = EVP_CIPHER_CTX_new();
  ASSERT(ctx != NULL);
  ASSERT(EVP_CipherInit_ex(ctx, EVP_chacha20_poly1305(), NULL, NULL, NULL, enc) == 1);
  return ctx;
}

/* A nonce-only init keeps the key schedule and resets the Poly1305 state. */
static int evp_init(EVP_CIPHER_CTX* ctx, const uint8_t* key, int same_key, uint64_t counter) {
  uint8_t nonce[NONCE_BYTES];
  memset(nonce, 0, 4);
  put_le64(nonce + 4, counter);
  return EVP_CipherInit_ex(ctx, NULL, NULL, same_key ? NULL : key, nonce, -1) == 1;
}

static int evp_seal(aead_cipher* c, const uint8_t* key, int same_key, uint64_t counter, uint8_t* p, int len) {
  EVP_CIPHER_CTX* ctx = c->seal;
  int outl = 0, finl = 0;
  if (!evp_init(ctx, key, same_key, counter)) return -1;
  if (len > 0 && EVP_CipherUpdate(ctx, p, &outl, p, len) != 1) return -1;
  if (EVP_CipherFinal_ex(ctx, p + outl, &finl) != 1) return -1;
  if (EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_AEAD_GET_TAG, AEAD_TAG_BYTES, p + len) != 1) return -1;
  return len + AEAD_TAG_BYTES;
}

/* OpenSSL decrypts before it can verify: on a bad tag the plaintext is zeroed, never left behind. */
static int evp_open(aead_cipher* c, const uint8_t* key, int same_key, uint64_t counter, uint8_t* p, int len) {
  EVP_CIPHER_CTX* ctx = c->open;
  int pt = len - AEAD_TAG_BYTES, outl = 0, finl = 0;
  if (!evp_init(ctx, key, same_key, counter)) return -1;
  if (EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_AEAD_SET_TAG, AEAD_TAG_BYTES, p + pt) != 1) return -1;
  if ((pt > 0 && EVP_CipherUpdate(ctx, p, &outl, p, pt) != 1) || EVP_CipherFinal_ex(ctx, p + outl, &finl) != 1) {
    memset(p, 0, (size_t)pt);
    return -1;
  }
  return pt;
}

/* ---- the choice ---- */

static aead_cipher* cipher_new(void);

/*
 * The primitives must agree with EVP on a known input (RFC 8439 §2.8.2's key, a WireGuard nonce
 * with both counter halves non-zero, 114 bytes), open what they sealed, and refuse a flipped bit.
 */
static int prim_self_test(aead_cipher* c) {
  uint8_t key[AEAD_KEY_BYTES], a[114 + AEAD_TAG_BYTES], b[114 + AEAD_TAG_BYTES], plain[114];
  for (int i = 0; i < AEAD_KEY_BYTES; i++) key[i] = (uint8_t)(0x80 + i);
  for (int i = 0; i < 114; i++) a[i] = b[i] = plain[i] = (uint8_t)(i * 7 + 1);
  uint64_t counter = 0x0807060504030201u;
  int ok = prim_seal(c, key, counter, a, 114) == 114 + AEAD_TAG_BYTES &&
           evp_seal(c, key, 0, counter, b, 114) == 114 + AEAD_TAG_BYTES && memcmp(a, b, sizeof(a)) == 0 &&
           prim_open(c, key, counter, a, sizeof(a)) == 114 && memcmp(a, plain, sizeof(plain)) == 0;
  b[50] ^= 1;
  return ok && prim_open(c, key, counter, b, sizeof(b)) == -1;
}

static pthread_once_t resolve_once = PTHREAD_ONCE_INIT;

/* Looks the primitives up once per process, on whichever thread first makes a cipher state. */
static void resolve(void) {
  prim.chacha = (chacha_fn)dlsym(RTLD_DEFAULT, "ChaCha20_ctr32");
  prim.poly_size = (poly_size_fn)dlsym(RTLD_DEFAULT, "Poly1305_ctx_size");
  prim.poly_init = (poly_init_fn)dlsym(RTLD_DEFAULT, "Poly1305_Init");
  prim.poly_update = (poly_update_fn)dlsym(RTLD_DEFAULT, "Poly1305_Update");
  prim.poly_final = (poly_final_fn)dlsym(RTLD_DEFAULT, "Poly1305_Final");
  if (prim.chacha == NULL || prim.poly_size == NULL || prim.poly_init == NULL || prim.poly_update == NULL ||
      prim.poly_final == NULL) {
    prim.resolved = -1;
    return;
  }
  prim.resolved = 1;
  aead_cipher* c = cipher_new();
  if (!prim_self_test(c)) prim.resolved = -1;
  aead_cipher_free(c);
  atomic_store(&use_prims, prim.resolved == 1);
}

static aead_cipher* cipher_new(void) {
  aead_cipher* c = (aead_cipher*)calloc(1, sizeof(aead_cipher));
  ASSERT(c != NULL);
  c->seal = new_ctx(1);
  c->open = new_ctx(0);
  if (prim.resolved == 1) {
    size_t size = (prim.poly_size() + 63) & ~(size_t)63;
    c->poly = aligned_alloc(64, size);
    ASSERT(c->poly != NULL);
  }
  return c;
}

aead_cipher* aead_cipher_new(void) {
  pthread_once(&resolve_once, resolve);
  return cipher_new();
}

void aead_cipher_free(aead_cipher* c) {
  EVP_CIPHER_CTX_free(c->seal); /* frees wipe the key schedule */
  EVP_CIPHER_CTX_free(c->open);
  if (c->poly != NULL) {
    aead_wipe(c->poly, prim.poly_size());
    free(c->poly);
  }
  free(c);
}

int aead_seal(aead_cipher* c, const uint8_t* key, int same_key, double counter, uint8_t* p, int len) {
  int ok;
  uint64_t n = counter_of(counter, &ok);
  if (!ok || len < 0) return -1;
  if (atomic_load_explicit(&use_prims, memory_order_relaxed)) return prim_seal(c, key, n, p, len);
  return evp_seal(c, key, same_key, n, p, len);
}

int aead_open(aead_cipher* c, const uint8_t* key, int same_key, double counter, uint8_t* p, int len) {
  int ok;
  uint64_t n = counter_of(counter, &ok);
  if (!ok || len < AEAD_TAG_BYTES) return -1;
  if (atomic_load_explicit(&use_prims, memory_order_relaxed)) return prim_open(c, key, n, p, len);
  return evp_open(c, key, same_key, n, p, len);
}

int aead_uses_primitives(void) {
  pthread_once(&resolve_once, resolve);
  return atomic_load(&use_prims);
}

int aead_force_evp(int evp) {
  pthread_once(&resolve_once, resolve);
  atomic_store(&use_prims, !evp && prim.resolved == 1);
  return atomic_load(&use_prims);
}
