/*
 * XChaCha20-Poly1305 (draft-irtf-cfrg-xchacha-03 §2): HChaCha20 turns the key and the first 16 nonce
 * bytes into a subkey (§2.2), then RFC 8439 ChaCha20-Poly1305 runs under that subkey with the nonce
 * 0x00000000 || the last 8 nonce bytes (§2.3). WireGuard's XAEAD seals the cookie of a cookie reply
 * under a random 24-byte nonce (paper 5.4.7 Under Load: Cookie Reply Message), which a responder
 * under a flood does for every initiation it refuses.
 *
 * HChaCha20 is the 20 ChaCha rounds of RFC 8439 §2.3 over the constants, the key and the 16 nonce
 * bytes, without the final addition; its output is state words 0..3 and 12..15. OpenSSL has no
 * HChaCha20, so it is here; the AEAD is the node binary's EVP_chacha20_poly1305, as in aead.c.
 *
 * The references with the same signatures are in src/crypto/xaead-reference.ts; a test compares.
 */
#include "shim.h"

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <stdlib.h>
#include <string.h>

#define KEY_BYTES 32
#define XNONCE_BYTES 24
#define HNONCE_BYTES 16
#define TAG_BYTES 16
/*
 * Plaintext bytes an open may hold: it decrypts into this scratch and copies out only once the tag
 * verifies, so a forged message writes nothing (OpenSSL decrypts before it can check). A cookie is
 * 16 bytes; src/crypto/xaead.ts sends anything longer to the TypeScript reference.
 */
#define MAX_OPEN_BYTES 1024

typedef struct {
  EVP_CIPHER_CTX* ctx;
} xaead_state;

static void free_state(void* data) {
  xaead_state* s = (xaead_state*)data;
  EVP_CIPHER_CTX_free(s->ctx);
  free(s);
}

static uint32_t load32(const uint8_t* p) {
  return (uint32_t)p[0] | ((uint32_t)p[1] << 8) | ((uint32_t)p[2] << 16) | ((uint32_t)p[3] << 24);
}

static void store32(uint8_t* p, uint32_t v) {
  p[0] = (uint8_t)v;
  p[1] = (uint8_t)(v >> 8);
  p[2] = (uint8_t)(v >> 16);
  p[3] = (uint8_t)(v >> 24);
}

#define ROTL(v, n) (((v) << (n)) | ((v) >> (32 - (n))))
/* RFC 8439 §2.1: the quarter round. */
#define QR(a, b, c, d)              \
  do {                              \
    a += b; d ^= a; d = ROTL(d, 16); \
    c += d; b ^= c; b = ROTL(b, 12); \
    a += b; d ^= a; d = ROTL(d, 8);  \
    c += d; b ^= c; b = ROTL(b, 7);  \
  } while (0)

/* draft-irtf-cfrg-xchacha-03 §2.2. */
static void hchacha20_core(uint8_t out[KEY_BYTES], const uint8_t key[KEY_BYTES], const uint8_t nonce[HNONCE_BYTES]) {
  uint32_t x[16] = {0x61707865, 0x3320646e, 0x79622d32, 0x6b206574};
  for (int i = 0; i < 8; i++) x[4 + i] = load32(key + 4 * i);
  for (int i = 0; i < 4; i++) x[12 + i] = load32(nonce + 4 * i);
  for (int r = 0; r < 10; r++) {
    QR(x[0], x[4], x[8], x[12]); /* column rounds */
    QR(x[1], x[5], x[9], x[13]);
    QR(x[2], x[6], x[10], x[14]);
    QR(x[3], x[7], x[11], x[15]);
    QR(x[0], x[5], x[10], x[15]); /* diagonal rounds */
    QR(x[1], x[6], x[11], x[12]);
    QR(x[2], x[7], x[8], x[13]);
    QR(x[3], x[4], x[9], x[14]);
  }
  for (int i = 0; i < 4; i++) {
    store32(out + 4 * i, x[i]);
    store32(out + 16 + 4 * i, x[12 + i]);
  }
  OPENSSL_cleanse(x, sizeof(x));
}

/* hchacha20(key: Uint8Array(32), nonce: Uint8Array(16), out: Uint8Array(32)): 32 */
static napi_value hchacha20(napi_env env, napi_callback_info info) {
  napi_value argv[3];
  shim_args(env, info, 3, argv);
  size_t key_len, nonce_len, out_len;
  const uint8_t* key = shim_bytes(env, argv[0], &key_len);
  const uint8_t* nonce = shim_bytes(env, argv[1], &nonce_len);
  uint8_t* out = shim_bytes(env, argv[2], &out_len);
  ASSERT(key_len == KEY_BYTES && nonce_len == HNONCE_BYTES && out_len == KEY_BYTES);
  hchacha20_core(out, key, nonce);
  return shim_int(env, KEY_BYTES);
}

/* The ChaCha20-Poly1305 context keyed with the subkey for (key, nonce), with the ad absorbed. */
static int xinit(EVP_CIPHER_CTX* ctx, int enc, const uint8_t* key, const uint8_t* nonce, const uint8_t* ad, size_t ad_len) {
  uint8_t subkey[KEY_BYTES];
  uint8_t iv[12] = {0};
  int outl = 0;
  hchacha20_core(subkey, key, nonce);
  memcpy(iv + 4, nonce + HNONCE_BYTES, XNONCE_BYTES - HNONCE_BYTES);
  int ok = EVP_CipherInit_ex(ctx, EVP_chacha20_poly1305(), NULL, subkey, iv, enc) == 1 &&
           (ad_len == 0 || EVP_CipherUpdate(ctx, NULL, &outl, ad, (int)ad_len) == 1);
  OPENSSL_cleanse(subkey, sizeof(subkey));
  return ok;
}

/* The (key, nonce, data, ad, out, outOffset) arguments both directions share. */
typedef struct {
  const uint8_t* key;
  const uint8_t* nonce;
  const uint8_t* data;
  size_t data_len;
  const uint8_t* ad;
  size_t ad_len;
  uint8_t* out;
  size_t out_len;
  size_t out_at;
} xargs;

static xaead_state* get_args(napi_env env, napi_callback_info info, xargs* a) {
  napi_value argv[6];
  xaead_state* s = (xaead_state*)shim_args_data(env, info, 6, argv);
  size_t key_len, nonce_len;
  a->key = shim_bytes(env, argv[0], &key_len);
  a->nonce = shim_bytes(env, argv[1], &nonce_len);
  a->data = shim_bytes(env, argv[2], &a->data_len);
  a->ad = shim_bytes(env, argv[3], &a->ad_len);
  a->out = shim_bytes(env, argv[4], &a->out_len);
  a->out_at = (size_t)shim_u32(env, argv[5]);
  ASSERT(key_len == KEY_BYTES && nonce_len == XNONCE_BYTES && a->data_len <= INT32_MAX - TAG_BYTES && a->ad_len <= INT32_MAX);
  return s;
}

/*
 * xaeadSeal(key: Uint8Array(32), nonce: Uint8Array(24), plaintext, ad, out, outOffset):
 * plaintext.length + 16 | -1. Writes ciphertext || tag at out[outOffset]; out may alias plaintext.
 */
static napi_value xaead_seal(napi_env env, napi_callback_info info) {
  xargs a;
  xaead_state* s = get_args(env, info, &a);
  ASSERT(a.out_at + a.data_len + TAG_BYTES <= a.out_len);
  uint8_t* o = a.out + a.out_at;
  int outl = 0, finl = 0;
  if (!xinit(s->ctx, 1, a.key, a.nonce, a.ad, a.ad_len)) return shim_int(env, -1);
  if (a.data_len > 0 && EVP_CipherUpdate(s->ctx, o, &outl, a.data, (int)a.data_len) != 1) return shim_int(env, -1);
  if (EVP_CipherFinal_ex(s->ctx, o + outl, &finl) != 1) return shim_int(env, -1);
  if (EVP_CIPHER_CTX_ctrl(s->ctx, EVP_CTRL_AEAD_GET_TAG, TAG_BYTES, o + a.data_len) != 1) return shim_int(env, -1);
  return shim_int(env, (int64_t)(a.data_len + TAG_BYTES));
}

/*
 * xaeadOpen(key: Uint8Array(32), nonce: Uint8Array(24), sealed, ad, out, outOffset):
 * sealed.length - 16 | -1. Writes the plaintext at out[outOffset] only when the tag verifies; a
 * sealed message shorter than a tag or not authentic writes nothing and returns -1.
 */
static napi_value xaead_open(napi_env env, napi_callback_info info) {
  xargs a;
  xaead_state* s = get_args(env, info, &a);
  if (a.data_len < TAG_BYTES) return shim_int(env, -1);
  size_t pt = a.data_len - TAG_BYTES;
  ASSERT(pt <= MAX_OPEN_BYTES && a.out_at + pt <= a.out_len);
  uint8_t scratch[MAX_OPEN_BYTES];
  int outl = 0, finl = 0;
  int ok = xinit(s->ctx, 0, a.key, a.nonce, a.ad, a.ad_len) &&
           EVP_CIPHER_CTX_ctrl(s->ctx, EVP_CTRL_AEAD_SET_TAG, TAG_BYTES, (void*)(a.data + pt)) == 1 &&
           (pt == 0 || EVP_CipherUpdate(s->ctx, scratch, &outl, a.data, (int)pt) == 1) &&
           EVP_CipherFinal_ex(s->ctx, scratch + outl, &finl) == 1;
  if (ok) memcpy(a.out + a.out_at, scratch, pt);
  OPENSSL_cleanse(scratch, pt);
  return shim_int(env, ok ? (int64_t)pt : -1);
}

void shim_init_xaead(napi_env env, napi_value exports) {
  xaead_state* s = (xaead_state*)calloc(1, sizeof(xaead_state));
  ASSERT(s != NULL);
  s->ctx = EVP_CIPHER_CTX_new();
  ASSERT(s->ctx != NULL);
  CHECK(napi_add_env_cleanup_hook(env, free_state, s));
  shim_export(env, exports, "hchacha20", hchacha20);
  shim_export_data(env, exports, "xaeadSeal", xaead_seal, s);
  shim_export_data(env, exports, "xaeadOpen", xaead_open, s);
}
