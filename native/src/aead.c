/*
 * Batched ChaCha20-Poly1305 (RFC 8439 §2.8) with WireGuard's nonce, 32 zero bits then the 64-bit
 * counter little-endian (paper 5.4.6, "Subsequent Messages: Transport Data Messages"; the data
 * messages' authenticated data is empty). In place: a seal turns bytes[off, off+len) into ciphertext
 * and writes the 16-byte tag at off+len; an open checks the tag at the window's end and decrypts.
 *
 * The cipher is the OpenSSL that the node binary itself exports (aead-cipher.c), so nothing is
 * linked in. One cipher state per Node environment serves every call on the event loop; the crypto
 * threads (aead-threads.c) run the same per-packet code on states of their own. What makes a batch
 * cheaper than Node's createCipheriv per packet is one N-API crossing and no cipher object per packet.
 *
 * The reference with the same signature is src/crypto/aead-reference.ts; the test compares them.
 */
#include "shim.h"

#include "aead.h"

typedef struct {
  const uint8_t* keys;
  const int32_t* key_index;
  const double* counters;
  shim_batch win;
  int32_t* results;
  uint32_t count;
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
  ASSERT(b->count <= n_idx && b->count <= n_ctr && b->count <= b->win.count && b->count <= n_res);
  for (uint32_t i = 0; i < b->count; i++) {
    ASSERT(b->key_index[i] < 0 || ((size_t)b->key_index[i] + 1) * AEAD_KEY_BYTES <= n_keys);
  }
}

/* Seals (or opens) every window of the batch on this thread's cipher state. */
static void run_batch(napi_env env, aead_batch* b, int open) {
  aead_cipher* c = shim_instance_of(env)->cipher;
  int32_t last_key = -1; /* the key index the state holds from this call */
  for (uint32_t i = 0; i < b->count; i++) {
    b->results[i] = -1;
    int32_t k = b->key_index[i];
    uint8_t* p = shim_batch_window(&b->win, i, open ? 0 : AEAD_TAG_BYTES);
    if (p == NULL || k < 0) continue;
    const uint8_t* key = b->keys + (size_t)k * AEAD_KEY_BYTES;
    int len = b->win.size[i];
    int r = open ? aead_open(c, key, k == last_key, b->counters[i], p, len)
                 : aead_seal(c, key, k == last_key, b->counters[i], p, len);
    last_key = r < 0 ? -1 : k;
    b->results[i] = r;
  }
}

/*
 * aeadSeal(keys: Uint8Array(K * 32), keyIndex: Int32Array, counters: Float64Array,
 *          slabs, slabIndex: Int32Array, offsets: Int32Array, lengths: Int32Array,
 *          results: Int32Array, count: number): count
 * Packet i uses key keyIndex[i] (-1: none) and the window [offsets[i], + lengths[i]) of slab
 * slabIndex[i] (-1: none). results[i] = lengths[i] + 16, or -1 (no key, no buffer, no room for the
 * tag in the slab).
 */
static napi_value aead_seal_fn(napi_env env, napi_callback_info info) {
  napi_value argv[9];
  shim_args(env, info, 9, argv);
  aead_batch b;
  get_batch(env, argv, &b);
  run_batch(env, &b, 0);
  return shim_int(env, b.count);
}

/*
 * aeadOpen(...the same arguments): count. The window includes the tag. results[i] = lengths[i] - 16,
 * or -1 (no key, no buffer, shorter than a tag, outside its slab, or the tag does not verify). A
 * failed window holds no plaintext: the primitives check the tag before decrypting, the EVP back end
 * zeroes what it decrypted (the reference leaves the window untouched instead; either way its bytes
 * mean nothing).
 */
static napi_value aead_open_fn(napi_env env, napi_callback_info info) {
  napi_value argv[9];
  shim_args(env, info, 9, argv);
  aead_batch b;
  get_batch(env, argv, &b);
  run_batch(env, &b, 1);
  return shim_int(env, b.count);
}

/* aeadBackend(forceEvp: boolean | null): 1 when the primitives are in use, 0 for EVP (tests). */
static napi_value aead_backend(napi_env env, napi_callback_info info) {
  napi_value argv[1];
  shim_args(env, info, 1, argv);
  if (shim_is_nullish(env, argv[0])) return shim_int(env, aead_uses_primitives());
  return shim_int(env, aead_force_evp(shim_bool(env, argv[0])));
}

void shim_init_aead(napi_env env, napi_value exports) {
  shim_export(env, exports, "aeadSeal", aead_seal_fn);
  shim_export(env, exports, "aeadOpen", aead_open_fn);
  shim_export(env, exports, "aeadBackend", aead_backend);
}
