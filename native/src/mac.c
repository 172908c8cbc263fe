/*
 * Keyed BLAKE2s (RFC 7693 §2.5, keyed mode, with a chosen output length): WireGuard's
 * MAC(key, input) = Keyed-Blake2s(key, input, 16) (paper 5.4 Messages), the function behind mac1,
 * mac2 and the cookie (5.4.4 Cookie MACs, 5.4.7 Under Load: Cookie Reply Message). A responder
 * checks mac1 of every handshake message it receives, so under a flood this is the hot function.
 *
 * The hash is the OpenSSL that the node binary itself exports (EVP_MAC "BLAKE2SMAC" with its "size"
 * parameter), so nothing is linked in. One EVP_MAC_CTX per Node environment is reused for every call.
 * Two entry points: one MAC of one buffer, and a batch of windows (described like the AEAD batch's)
 * under one key, so a batch of received handshake messages costs one crossing into C.
 *
 * The references with the same signatures are in src/crypto/blake2s-reference.ts; a test compares.
 */
#include "shim.h"

#include <openssl/core_names.h>
#include <openssl/evp.h>
#include <openssl/params.h>
#include <stdlib.h>
#include <string.h>

#define MAX_KEY_BYTES 32
#define MAX_OUT_BYTES 32

typedef struct {
  EVP_MAC* mac;
  EVP_MAC_CTX* ctx;
  size_t size; /* the output length the context is set to, 0 before the first call */
} mac_state;

static void free_state(void* data) {
  mac_state* s = (mac_state*)data;
  EVP_MAC_CTX_free(s->ctx); /* the free wipes the key block */
  EVP_MAC_free(s->mac);
  free(s);
}

/*
 * One MAC: EVP_MAC_init copies the key and processes the key block, so a message of n bytes costs
 * 1 + ceil(n / 64) compressions. The output length is a parameter only when it changes.
 */
static int mac_one(mac_state* s, const uint8_t* key, size_t key_len, size_t out_len, const uint8_t* data, size_t len,
                   uint8_t* out) {
  OSSL_PARAM params[2] = {OSSL_PARAM_END, OSSL_PARAM_END};
  size_t outl = 0;
  if (out_len != s->size) params[0] = OSSL_PARAM_construct_size_t(OSSL_MAC_PARAM_SIZE, &out_len);
  if (EVP_MAC_init(s->ctx, key, key_len, params) != 1) return 0;
  s->size = out_len;
  if (len > 0 && EVP_MAC_update(s->ctx, data, len) != 1) return 0;
  return EVP_MAC_final(s->ctx, out, &outl, out_len) == 1 && outl == out_len;
}

/*
 * blake2sMac(key: Uint8Array (1..32 bytes), data: Uint8Array, out: Uint8Array (1..32 bytes)):
 * out.length, or -1 when OpenSSL refuses. `out` receives the MAC of all of `data`.
 */
static napi_value blake2s_mac(napi_env env, napi_callback_info info) {
  napi_value argv[3];
  mac_state* s = (mac_state*)shim_args_data(env, info, 3, argv);
  size_t key_len, data_len, out_len;
  const uint8_t* key = shim_bytes(env, argv[0], &key_len);
  const uint8_t* data = shim_bytes(env, argv[1], &data_len);
  uint8_t* out = shim_bytes(env, argv[2], &out_len);
  ASSERT(key_len >= 1 && key_len <= MAX_KEY_BYTES && out_len >= 1 && out_len <= MAX_OUT_BYTES);
  if (!mac_one(s, key, key_len, out_len, data, data_len, out)) return shim_int(env, -1);
  return shim_int(env, (int64_t)out_len);
}

/*
 * blake2sMacBatch(key: Uint8Array (1..32 bytes), slabs, slabIndex: Int32Array, offsets: Int32Array,
 *                 lengths: Int32Array, out: Uint8Array, outLen: number, results: Int32Array,
 *                 count: number): count
 * Window i's MAC goes to out[i * outLen, (i + 1) * outLen) and results[i] = outLen; an empty slot
 * (slab index -1) or a window outside its slab gets results[i] = -1 and its output bytes are zeroed.
 */
static napi_value blake2s_mac_batch(napi_env env, napi_callback_info info) {
  napi_value argv[9];
  mac_state* s = (mac_state*)shim_args_data(env, info, 9, argv);
  size_t key_len, out_bytes, n_res;
  const uint8_t* key = shim_bytes(env, argv[0], &key_len);
  shim_batch win;
  shim_batch_init(env, &win, argv + 1);
  uint8_t* out = shim_bytes(env, argv[5], &out_bytes);
  uint32_t out_len = shim_u32(env, argv[6]);
  int32_t* results = shim_typed(env, argv[7], napi_int32_array, &n_res);
  uint32_t count = shim_u32(env, argv[8]);
  ASSERT(key_len >= 1 && key_len <= MAX_KEY_BYTES && out_len >= 1 && out_len <= MAX_OUT_BYTES);
  ASSERT(count <= win.count && count <= n_res && (size_t)count * out_len <= out_bytes);
  for (uint32_t i = 0; i < count; i++) {
    uint8_t* o = out + (size_t)i * out_len;
    const uint8_t* p = shim_batch_window(&win, i, 0);
    results[i] = -1;
    if (p != NULL && mac_one(s, key, key_len, out_len, p, (size_t)win.size[i], o)) {
      results[i] = (int32_t)out_len;
    } else {
      memset(o, 0, out_len);
    }
  }
  return shim_int(env, count);
}

void shim_init_mac(napi_env env, napi_value exports) {
  mac_state* s = (mac_state*)calloc(1, sizeof(mac_state));
  ASSERT(s != NULL);
  s->mac = EVP_MAC_fetch(NULL, "BLAKE2SMAC", NULL);
  ASSERT(s->mac != NULL);
  s->ctx = EVP_MAC_CTX_new(s->mac);
  ASSERT(s->ctx != NULL);
  CHECK(napi_add_env_cleanup_hook(env, free_state, s));
  shim_export_data(env, exports, "blake2sMac", blake2s_mac, s);
  shim_export_data(env, exports, "blake2sMacBatch", blake2s_mac_batch, s);
}
