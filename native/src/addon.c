/*
 * The wgts native shim's entry point and argument helpers. The shim does syscalls Node lacks (TUN
 * ioctls, recvmmsg/sendmmsg with control messages, readiness on a raw fd) and the crypto Node makes
 * costly per call (the batched AEAD, keyed BLAKE2s, XChaCha20-Poly1305), and nothing else: no protocol
 * logic, no buffer policy, no packet memory (DESIGN.md, "The native shim").
 * Every byte it touches belongs to a JS ArrayBuffer described by the caller's typed arrays.
 */
#include "shim.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "aead.h"

void shim_args(napi_env env, napi_callback_info info, size_t n, napi_value* argv) {
  size_t argc = n;
  CHECK(napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  ASSERT(argc == n);
}

void* shim_args_data(napi_env env, napi_callback_info info, size_t n, napi_value* argv) {
  size_t argc = n;
  void* data = NULL;
  CHECK(napi_get_cb_info(env, info, &argc, argv, NULL, &data));
  ASSERT(argc == n && data != NULL);
  return data;
}

int32_t shim_i32(napi_env env, napi_value v) {
  int32_t out;
  CHECK(napi_get_value_int32(env, v, &out));
  return out;
}

uint32_t shim_u32(napi_env env, napi_value v) {
  uint32_t out;
  CHECK(napi_get_value_uint32(env, v, &out));
  return out;
}

double shim_f64(napi_env env, napi_value v) {
  double out;
  CHECK(napi_get_value_double(env, v, &out));
  return out;
}

int shim_bool(napi_env env, napi_value v) {
  bool out;
  CHECK(napi_get_value_bool(env, v, &out));
  return out ? 1 : 0;
}

int shim_is_nullish(napi_env env, napi_value v) {
  napi_valuetype t;
  CHECK(napi_typeof(env, v, &t));
  return t == napi_null || t == napi_undefined;
}

uint8_t* shim_bytes(napi_env env, napi_value v, size_t* len) {
  bool is_typed;
  CHECK(napi_is_typedarray(env, v, &is_typed));
  if (is_typed) {
    napi_typedarray_type type;
    size_t count;
    void* data;
    CHECK(napi_get_typedarray_info(env, v, &type, &count, &data, NULL, NULL));
    ASSERT(type == napi_uint8_array || type == napi_uint8_clamped_array || type == napi_int8_array);
    *len = count;
    return (uint8_t*)data;
  }
  void* data;
  CHECK(napi_get_arraybuffer_info(env, v, &data, len));
  return (uint8_t*)data;
}

void* shim_typed(napi_env env, napi_value v, napi_typedarray_type type, size_t* count) {
  napi_typedarray_type actual;
  void* data;
  CHECK(napi_get_typedarray_info(env, v, &actual, count, &data, NULL, NULL));
  ASSERT(actual == type);
  return data;
}

void shim_string(napi_env env, napi_value v, char* buf, size_t size) {
  size_t len;
  CHECK(napi_get_value_string_utf8(env, v, NULL, 0, &len));
  ASSERT(len < size);
  CHECK(napi_get_value_string_utf8(env, v, buf, size, &len));
}

napi_value shim_int(napi_env env, int64_t n) {
  napi_value out;
  CHECK(napi_create_int64(env, n, &out));
  return out;
}

napi_value shim_errno(napi_env env) {
  return shim_int(env, -(int64_t)errno);
}

void shim_make_callback(napi_env env, napi_async_context context, napi_ref callback, size_t argc, const napi_value* argv) {
  napi_value cb, recv, result;
  CHECK(napi_get_reference_value(env, callback, &cb));
  CHECK(napi_get_global(env, &recv)); /* napi_make_callback needs an object */
  if (napi_make_callback(env, context, recv, cb, argc, argv, &result) == napi_ok) return;
  bool pending;
  CHECK(napi_is_exception_pending(env, &pending));
  if (pending) {
    napi_value err;
    CHECK(napi_get_and_clear_last_exception(env, &err));
    CHECK(napi_fatal_exception(env, err));
  }
}

void shim_batch_init(napi_env env, shim_batch* b, const napi_value* argv) {
  size_t n_slab, n_off, n_size;
  b->env = env;
  b->slabs = argv[0];
  b->slab = shim_typed(env, argv[1], napi_int32_array, &n_slab);
  b->offset = shim_typed(env, argv[2], napi_int32_array, &n_off);
  b->size = shim_typed(env, argv[3], napi_int32_array, &n_size);
  b->count = (uint32_t)(n_slab < n_off ? (n_slab < n_size ? n_slab : n_size) : (n_off < n_size ? n_off : n_size));
  memset(b->base, 0, sizeof(b->base));
}

uint8_t* shim_batch_window(shim_batch* b, uint32_t i, size_t extra) {
  ASSERT(i < b->count);
  int32_t s = b->slab[i];
  if (s < 0) return NULL;
  ASSERT(s < WGTS_MAX_BATCH);
  if (b->base[s] == NULL) {
    napi_value v;
    CHECK(napi_get_element(b->env, b->slabs, (uint32_t)s, &v));
    b->base[s] = shim_bytes(b->env, v, &b->len[s]);
    if (b->base[s] == NULL) return NULL; /* a zero-length ArrayBuffer has no data pointer */
  }
  int32_t off = b->offset[i], size = b->size[i];
  if (off < 0 || size < 0 || (size_t)off + (size_t)size + extra > b->len[s]) return NULL;
  return b->base[s] + off;
}

void shim_export(napi_env env, napi_value exports, const char* name, napi_callback fn) {
  napi_value f;
  CHECK(napi_create_function(env, name, NAPI_AUTO_LENGTH, fn, NULL, &f));
  CHECK(napi_set_named_property(env, exports, name, f));
}

static void free_instance(napi_env env, void* data, void* hint) {
  (void)env;
  (void)hint;
  shim_instance* s = (shim_instance*)data;
  /* The crypto threads were stopped by their own cleanup hook, before the loop closed. */
  ASSERT(s->pool == NULL);
  if (s->cipher != NULL) aead_cipher_free(s->cipher);
  free(s);
}

shim_instance* shim_instance_of(napi_env env) {
  void* data;
  CHECK(napi_get_instance_data(env, &data));
  return (shim_instance*)data;
}

void shim_export_data(napi_env env, napi_value exports, const char* name, napi_callback fn, void* data) {
  napi_value f;
  CHECK(napi_create_function(env, name, NAPI_AUTO_LENGTH, fn, data, &f));
  CHECK(napi_set_named_property(env, exports, name, f));
}

static napi_value init(napi_env env, napi_value exports) {
  shim_instance* s = (shim_instance*)calloc(1, sizeof(shim_instance));
  ASSERT(s != NULL);
  s->cipher = aead_cipher_new();
  CHECK(napi_set_instance_data(env, s, free_instance, NULL));
  shim_init_fd(env, exports);
  shim_init_netdev(env, exports);
  shim_init_poll(env, exports);
  shim_init_udp(env, exports);
  shim_init_aead(env, exports);
  shim_init_bytes(env, exports);
  shim_init_aead_threads(env, exports);
  shim_init_memory(env, exports);
  shim_init_process(env, exports);
  shim_init_mac(env, exports);
  shim_init_xaead(env, exports);
  shim_init_memory(env, exports);
  return exports;
}

NAPI_MODULE(NODE_GYP_MODULE_NAME, init)
