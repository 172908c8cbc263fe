/*
 * Shared by every file of the wgts native shim: the pinned N-API version, the assertion that an
 * N-API call succeeded, and the argument helpers.
 *
 * The contract (STYLE.md, "The C boundary"): JavaScript validates, C asserts. A failed CHECK means the
 * TypeScript in src/native/ passed something it promised not to: that is a bug, so the process aborts
 * with the file and line rather than returning garbage. Syscall failures are data, never exceptions:
 * every function returns a count (>= 0) or -errno.
 */
#ifndef WGTS_SHIM_H
#define WGTS_SHIM_H

#define NAPI_VERSION 8
#include <node_api.h>
#include <stddef.h>
#include <stdint.h>

#define STR_(x) #x
#define STR(x) STR_(x)
#define CHECK(call)                                                                         \
  do {                                                                                      \
    if ((call) != napi_ok) napi_fatal_error(__FILE__ ":" STR(__LINE__), NAPI_AUTO_LENGTH, \
                                            #call, NAPI_AUTO_LENGTH);                       \
  } while (0)
#define ASSERT(cond)                                                                         \
  do {                                                                                       \
    if (!(cond)) napi_fatal_error(__FILE__ ":" STR(__LINE__), NAPI_AUTO_LENGTH, #cond,     \
                                  NAPI_AUTO_LENGTH);                                         \
  } while (0)

/* The largest batch any call moves: JS never asks for more (src/native/binding.ts MAX_BATCH). */
#define WGTS_MAX_BATCH 128

/* Fetches exactly `n` arguments (asserting the count) into argv. */
void shim_args(napi_env env, napi_callback_info info, size_t n, napi_value* argv);
/* shim_args for a function exported with shim_export_data: returns its data pointer. */
void* shim_args_data(napi_env env, napi_callback_info info, size_t n, napi_value* argv);
int32_t shim_i32(napi_env env, napi_value v);
uint32_t shim_u32(napi_env env, napi_value v);
double shim_f64(napi_env env, napi_value v);
int shim_bool(napi_env env, napi_value v);
int shim_is_nullish(napi_env env, napi_value v);
/* Bytes of a TypedArray (from its byte offset) or an ArrayBuffer; asserts it is one of those. */
uint8_t* shim_bytes(napi_env env, napi_value v, size_t* len);
/* The elements of a TypedArray of the given type (asserted), and their count. */
void* shim_typed(napi_env env, napi_value v, napi_typedarray_type type, size_t* count);
/* A NUL-terminated copy of a JS string into buf (asserting it fits with its NUL). */
void shim_string(napi_env env, napi_value v, char* buf, size_t size);
napi_value shim_int(napi_env env, int64_t n);
/*
 * Calls the JS function `callback` from a libuv callback (inside the caller's handle scope) through
 * napi_make_callback, so microtasks and async hooks behave as for any Node I/O callback; a throw is
 * an uncaught exception, as for any other Node callback.
 */
void shim_make_callback(napi_env env, napi_async_context context, napi_ref callback, size_t argc, const napi_value* argv);
/* -errno of the last failed syscall. */
napi_value shim_errno(napi_env env);

/*
 * A batch of windows into JS memory, described as src/native/slab-batch.ts lays it out: a table of
 * slabs (ArrayBuffers, or Uint8Arrays for memory N-API cannot take as an ArrayBuffer) and per packet
 * Int32Arrays of slab index, offset into that slab and size. Slab pointers are fetched once per slab
 * used, not once per packet: a batch of 128 packets from one 1 MiB slab makes one N-API lookup.
 */
typedef struct {
  napi_env env;
  napi_value slabs;
  const int32_t* slab;
  const int32_t* offset;
  const int32_t* size;
  uint32_t count; /* packets described (the typed arrays' common length) */
  uint8_t* base[WGTS_MAX_BATCH];
  size_t len[WGTS_MAX_BATCH];
} shim_batch;

/* Reads the descriptor from argv[0..3] (slabs, slabIndex, offsets, sizes). */
void shim_batch_init(napi_env env, shim_batch* b, const napi_value* argv);
/*
 * The i-th window, or NULL when its slab index is negative (an empty slot) or the window
 * [offset, offset + size + extra) does not fit in its slab. `extra` is room needed past the size
 * (the AEAD tag).
 */
uint8_t* shim_batch_window(shim_batch* b, uint32_t i, size_t extra);

/*
 * Per Node environment state (a Worker has its own): the event loop's AEAD cipher state and the
 * crypto threads, made when first needed, freed when the environment goes.
 */
struct aead_cipher;
struct aead_pool;
typedef struct {
  struct aead_cipher* cipher;
  struct aead_pool* pool;
} shim_instance;
shim_instance* shim_instance_of(napi_env env);

/* Each concern registers its functions on the exports object. */
void shim_init_fd(napi_env env, napi_value exports);
void shim_init_netdev(napi_env env, napi_value exports);
void shim_init_poll(napi_env env, napi_value exports);
void shim_init_udp(napi_env env, napi_value exports);
void shim_init_aead(napi_env env, napi_value exports);
void shim_init_bytes(napi_env env, napi_value exports);
void shim_init_aead_threads(napi_env env, napi_value exports);
void shim_init_memory(napi_env env, napi_value exports);
void shim_init_process(napi_env env, napi_value exports);
void shim_init_mac(napi_env env, napi_value exports);
void shim_init_xaead(napi_env env, napi_value exports);
void shim_init_memory(napi_env env, napi_value exports);

void shim_export(napi_env env, napi_value exports, const char* name, napi_callback fn);
/*
 * shim_export with a pointer the function receives on every call (shim_args_data): per-environment
 * state such as a reused OpenSSL context, made by the concern's init and freed by its cleanup hook.
 */
void shim_export_data(napi_env env, napi_value exports, const char* name, napi_callback fn, void* data);

#endif
