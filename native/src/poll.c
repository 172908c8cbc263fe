/*
 * Readiness on a raw fd: a libuv uv_poll_t that calls one JS callback, installed once at pollOpen,
 * as callback(status, events) — status 0 or a negative errno (libuv reports EPOLLERR as UV_EBADF and
 * stops the handle), events a mask of 1 (readable) and 2 (writable). The callback runs through
 * napi_make_callback so microtasks and async hooks behave as for any Node I/O callback.
 *
 * Lifetime: JS holds the handle as an external. pollClose() must be called to stop it; the memory is
 * freed once libuv has closed the handle and the external has been collected, whichever is last. An
 * external collected while still open is closed then (a leak in the caller, but not a crash). An
 * environment torn down with the handle open (a Worker ending) closes it through an async cleanup
 * hook, so libuv never finds a live handle on a loop being closed.
 */
#include "shim.h"

#include <errno.h>
#include <stdlib.h>
#include <uv.h>

typedef struct {
  uv_poll_t poll;
  napi_env env;
  napi_ref callback;
  napi_async_context async;
  napi_async_cleanup_hook_handle hook; /* until closed */
  int closing;   /* uv_close has been called */
  int closed;    /* ...and its callback has run */
  int collected; /* the JS external is gone */
} shim_poll;

static void on_closed(uv_handle_t* h) {
  shim_poll* p = (shim_poll*)h->data;
  p->closed = 1;
  napi_delete_reference(p->env, p->callback);
  napi_async_destroy(p->env, p->async);
  /* Also tells an environment being torn down that this handle is done. */
  napi_remove_async_cleanup_hook(p->hook);
  p->hook = NULL;
  if (p->collected) free(p);
}

static void begin_close(shim_poll* p) {
  if (p->closing) return;
  p->closing = 1;
  uv_poll_stop(&p->poll);
  uv_close((uv_handle_t*)&p->poll, on_closed);
}

static void on_env_teardown(napi_async_cleanup_hook_handle hook, void* data) {
  (void)hook;
  begin_close((shim_poll*)data);
}

static void on_collected(napi_env env, void* data, void* hint) {
  (void)env;
  (void)hint;
  shim_poll* p = (shim_poll*)data;
  p->collected = 1;
  if (p->closed) free(p);
  else begin_close(p);
}

static void on_poll(uv_poll_t* h, int status, int events) {
  shim_poll* p = (shim_poll*)h->data;
  if (p->closing) return;
  napi_env env = p->env;
  napi_handle_scope scope;
  CHECK(napi_open_handle_scope(env, &scope));
  napi_value argv[2] = {shim_int(env, status), shim_int(env, events)};
  shim_make_callback(env, p->async, p->callback, 2, argv);
  CHECK(napi_close_handle_scope(env, scope));
}

static shim_poll* unwrap(napi_env env, napi_value v) {
  void* data;
  CHECK(napi_get_value_external(env, v, &data));
  return (shim_poll*)data;
}

/* pollOpen(fd: number, callback: (status: number, events: number) => void): handle | -errno */
static napi_value poll_open(napi_env env, napi_callback_info info) {
  napi_value argv[2];
  shim_args(env, info, 2, argv);
  int fd = shim_i32(env, argv[0]);
  uv_loop_t* loop;
  CHECK(napi_get_uv_event_loop(env, &loop));
  shim_poll* p = (shim_poll*)calloc(1, sizeof(shim_poll));
  ASSERT(p != NULL);
  int r = uv_poll_init(loop, &p->poll, fd);
  if (r < 0) {
    free(p);
    return shim_int(env, r);
  }
  p->poll.data = p;
  p->env = env;
  napi_value name;
  CHECK(napi_create_string_utf8(env, "wgts:poll", NAPI_AUTO_LENGTH, &name));
  CHECK(napi_async_init(env, NULL, name, &p->async));
  CHECK(napi_create_reference(env, argv[1], 1, &p->callback));
  CHECK(napi_add_async_cleanup_hook(env, on_env_teardown, p, &p->hook));
  napi_value external;
  CHECK(napi_create_external(env, p, on_collected, NULL, &external));
  return external;
}

/* pollStart(handle, events: 1 | 2 | 3): 0 | -errno. Replaces the previous event mask. */
static napi_value poll_start(napi_env env, napi_callback_info info) {
  napi_value argv[2];
  shim_args(env, info, 2, argv);
  shim_poll* p = unwrap(env, argv[0]);
  if (p->closing) return shim_int(env, -EBADF);
  return shim_int(env, uv_poll_start(&p->poll, (int)shim_u32(env, argv[1]), on_poll));
}

/* pollStop(handle): 0 */
static napi_value poll_stop(napi_env env, napi_callback_info info) {
  napi_value argv[1];
  shim_args(env, info, 1, argv);
  shim_poll* p = unwrap(env, argv[0]);
  if (!p->closing) uv_poll_stop(&p->poll);
  return shim_int(env, 0);
}

/* pollClose(handle): 0. Idempotent; the fd itself is the caller's to close, after this. */
static napi_value poll_close(napi_env env, napi_callback_info info) {
  napi_value argv[1];
  shim_args(env, info, 1, argv);
  begin_close(unwrap(env, argv[0]));
  return shim_int(env, 0);
}

/* pollRef(handle, ref: boolean): 0. An unref'd poll does not keep the event loop alive. */
static napi_value poll_ref(napi_env env, napi_callback_info info) {
  napi_value argv[2];
  shim_args(env, info, 2, argv);
  shim_poll* p = unwrap(env, argv[0]);
  if (!p->closing) {
    if (shim_bool(env, argv[1])) uv_ref((uv_handle_t*)&p->poll);
    else uv_unref((uv_handle_t*)&p->poll);
  }
  return shim_int(env, 0);
}

void shim_init_poll(napi_env env, napi_value exports) {
  shim_export(env, exports, "pollOpen", poll_open);
  shim_export(env, exports, "pollStart", poll_start);
  shim_export(env, exports, "pollStop", poll_stop);
  shim_export(env, exports, "pollClose", poll_close);
  shim_export(env, exports, "pollRef", poll_ref);
}
