/*
 * Memory management the daemon asks for when it goes quiet (DESIGN.md, "Give memory back"): glibc
 * keeps freed heap memory mapped for reuse; malloc_trim(0) returns the free pages of every arena to
 * the kernel (madvise(MADV_DONTNEED) inside the heap, and the heap's top). No packet policy here.
 */
#include "shim.h"

#ifdef __GLIBC__
#include <malloc.h>
#endif

/* mallocTrim(): 1 when memory went back to the kernel, 0 when none did (or not glibc) */
static napi_value malloc_trim_fn(napi_env env, napi_callback_info info) {
  napi_value argv[1];
  shim_args(env, info, 0, argv);
#ifdef __GLIBC__
  return shim_int(env, malloc_trim(0));
#else
  return shim_int(env, 0);
#endif
}

void shim_init_memory(napi_env env, napi_value exports) {
  shim_export(env, exports, "mallocTrim", malloc_trim_fn);
}
