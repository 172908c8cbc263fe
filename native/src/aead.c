/*
 * Batched ChaCha20-Poly1305 (RFC 8439 §2.8) with WireGuard's nonce, 32 zero bits then the 64-bit
 * counter little-endian (paper 5.4.6, "Subsequent Messages: Transport Data Messages"; the data
 * messages' authenticated data is empty). In place: a seal turns bytes[off, off+len) into ciphertext
 * and writes the 16-byte tag at off+len; an open checks the tag at the window's end and decrypts.
 *
 * The cipher is the OpenSSL that the node binary itself exports (EVP_chacha20_poly1305), so nothing
 * is linked in. One EVP_CIPHER_CTX per direction per Node environment is reused for every packet: the
 * per-packet cost is one re-init with the new nonce (and the key, when it differs from the previous
 * slot's), which is what makes a batch cheaper than Node's createCipheriv per packet.
 *
 * The reference with the same signature is src/native/aead-reference.ts; the test compares them.
 */
#include "shim.h"

#include <openssl/evp.h>
#include <stdlib.h>
#include <string.h>

#define KEY_BYTES 32
#define TAG_BYTES 16
#define NONCE_BYTES 12

typedef struct {
  EVP_CIPHER_CTX* seal;
  EVP_CIPHER_CTX* open;
} aead_state;

static void free_state(napi_env env, void* data, void* hint) {
  (void)env;
  (void)hint;
  aead_state* s = (aead_state*)data;
  EVP_CIPHER_CTX_free(s->seal); /* frees wipe the key schedule */
  EVP_CIPHER_CTX_free(s->open);
  free(s);
}

static EVP_CIPHER_CTX* new_ctx(int enc) {
  EVP_CIPHER_CTX* ctx = EVP_CIPHER_CTX_new();
  ASSERT(ctx != NULL);
  ASSERT(EVP_CipherInit_ex(ctx, EVP_chacha20_poly1305(), NULL, NULL, NULL, enc) == 1);
  return ctx;
}

static aead_state* state(napi_env env) {
  void* data;
  CHECK(napi_get_instance_data(env, &data));
  if (data != NULL) return (aead_state*)data;
  aead_state* s = (aead_state*)malloc(sizeof(aead_state));
  ASSERT(s != NULL);
  s->seal = new_ctx(1);
  s->open = new_ctx(0);
  CHECK(napi_set_instance_data(env, s, free_state, NULL));
  return s;
}

/*
 * Counters arrive as doubles: integers below 2^53 by the caller's invariant (a keypair is retired
 * long before, 6.2 Transport Message Limits). One outside [0, 2^64) would be undefined behaviour to
 * convert, so it fails its slot instead (returns 0).
 */
static int make_nonce(uint8_t nonce[NONCE_BYTES], double counter) {
  if (!(counter >= 0 && counter < 18446744073709551616.0)) return 0;
  uint64_t c = (uint64_t)counter;
  memset(nonce, 0, 4);
  for (int i = 0; i < 8; i++) nonce[4 + i] = (uint8_t)(c >> (8 * i));
  return 1;
}

typedef struct {
  const uint8_t* keys;
  const int32_t* key_index;
  const double* counters;
  shim_batch win;
  int32_t* results;
  uint32_t count;
  int32_t last_key; /* the key index the context holds, within this call; -1 for none */
} aead_batch;

/* Reads (keys, keyIndex, counters, slabs, slabIndex, offsets, lengths, results, count). */
static void get_batch(napi_env env, const napi_value* argv, aead_batch* b) {
  size_t n_keys, n_idx, n_ctr, n_res;
  b->keys = shim_typed(env, argv[0], napi_uint8_array, &n_keys);
  b->key_index = shim_typed(env, argv[1], napi_int32_array, &n_idx);
  b->counters = shim_typed(env, argv[2], napi_float64_array, &n_ctr);
  shim_batch_init(env, &b->win, argv + 3);
  b->results = shim_typed(env, argv[7], napi_int32_array, &n_res);
  b->count = shim_u32(env, argv[8]);
  b->last_key = -1;
  ASSERT(b->count <= n_idx && b->count <= n_ctr && b->count <= b->win.count && b->count <= n_res);
  for (uint32_t i = 0; i < b->count; i++) {
    ASSERT(b->key_index[i] < 0 || ((size_t)b->key_index[i] + 1) * KEY_BYTES <= n_keys);
  }
}

/*
 * Re-initialises ctx for packet i with its nonce, and with its key only when that differs from the
 * key the context already holds from this call: a nonce-only init keeps the key and resets the
 * Poly1305 state. Returns 0 for a counter out of range or when OpenSSL refuses.
 */
static int init_packet(EVP_CIPHER_CTX* ctx, aead_batch* b, uint32_t i) {
  uint8_t nonce[NONCE_BYTES];
  if (!make_nonce(nonce, b->counters[i])) return 0;
  int32_t k = b->key_index[i];
  const uint8_t* key = k == b->last_key ? NULL : b->keys + (size_t)k * KEY_BYTES;
  if (EVP_CipherInit_ex(ctx, NULL, NULL, key, nonce, -1) != 1) {
    b->last_key = -1;
    return 0;
  }
  b->last_key = k;
  return 1;
}

/*
 * aeadSeal(keys: Uint8Array(K * 32), keyIndex: Int32Array, counters: Float64Array,
 *          slabs, slabIndex: Int32Array, offsets: Int32Array, lengths: Int32Array,
 *          results: Int32Array, count: number): count
 * Packet i uses key keyIndex[i] (-1: none) and the window [offsets[i], + lengths[i]) of slab
 * slabIndex[i] (-1: none). results[i] = lengths[i] + 16, or -1 (no key, no buffer, no room for the
 * tag in the slab).
 */
static napi_value aead_seal(napi_env env, napi_callback_info info) {
  napi_value argv[9];
  shim_args(env, info, 9, argv);
  aead_batch b;
  get_batch(env, argv, &b);
  EVP_CIPHER_CTX* ctx = state(env)->seal;
  for (uint32_t i = 0; i < b.count; i++) {
    b.results[i] = -1;
    uint8_t* p = shim_batch_window(&b.win, i, TAG_BYTES);
    if (p == NULL || b.key_index[i] < 0) continue;
    int len = b.win.size[i], outl = 0, finl = 0;
    if (!init_packet(ctx, &b, i)) continue;
    if (len > 0 && EVP_CipherUpdate(ctx, p, &outl, p, len) != 1) continue;
    if (EVP_CipherFinal_ex(ctx, p + outl, &finl) != 1) continue;
    if (EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_AEAD_GET_TAG, TAG_BYTES, p + len) != 1) continue;
    b.results[i] = len + TAG_BYTES;
  }
  return shim_int(env, b.count);
}

/*
 * aeadOpen(...the same arguments): count. The window includes the tag. results[i] = lengths[i] - 16,
 * or -1 (no key, no buffer, shorter than a tag, outside its slab, or the tag does not verify). On a
 * bad tag the plaintext bytes of the window are zeroed: OpenSSL decrypts before it can check, and
 * unauthenticated plaintext is never left behind for a careless caller (the reference leaves the
 * window untouched instead; either way its bytes mean nothing).
 */
static napi_value aead_open(napi_env env, napi_callback_info info) {
  napi_value argv[9];
  shim_args(env, info, 9, argv);
  aead_batch b;
  get_batch(env, argv, &b);
  EVP_CIPHER_CTX* ctx = state(env)->open;
  for (uint32_t i = 0; i < b.count; i++) {
    b.results[i] = -1;
    uint8_t* p = shim_batch_window(&b.win, i, 0);
    int len = b.win.size[i];
    if (p == NULL || b.key_index[i] < 0 || len < TAG_BYTES) continue;
    int pt = len - TAG_BYTES, outl = 0, finl = 0;
    if (!init_packet(ctx, &b, i)) continue;
    if (EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_AEAD_SET_TAG, TAG_BYTES, p + pt) != 1) continue;
    if ((pt > 0 && EVP_CipherUpdate(ctx, p, &outl, p, pt) != 1) ||
        EVP_CipherFinal_ex(ctx, p + outl, &finl) != 1) {
      memset(p, 0, (size_t)pt);
      continue;
    }
    b.results[i] = pt;
  }
  return shim_int(env, b.count);
}

void shim_init_aead(napi_env env, napi_value exports) {
  shim_export(env, exports, "aeadSeal", aead_seal);
  shim_export(env, exports, "aeadOpen", aead_open);
}
