/*
 * execve for the daemon's restart with its own start-up settings (src/cli/reexec.ts): V8 flags and
 * glibc tunables are read only when a process starts, and Node has no exec. The process image is
 * replaced, the pid kept. Node marks stdin, stdout and stderr close-on-exec at start-up, so the
 * descriptors to keep (those three, and any TUN, UAPI or readiness fd handed in) are unmarked first;
 * the signal mask is emptied, as a freshly started process has it.
 */
#include "shim.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <pthread.h>
#include <unistd.h>

/* Most arguments or environment entries passed on; a longer list is refused (E2BIG). */
#define MAX_STRINGS 4096

/* A NULL-terminated copy of a JS string array, or NULL with errno = E2BIG; free with free_strings. */
static char** strings_of(napi_env env, napi_value array) {
  uint32_t n;
  CHECK(napi_get_array_length(env, array, &n));
  if (n >= MAX_STRINGS) {
    errno = E2BIG;
    return NULL;
  }
  char** out = (char**)calloc(n + 1, sizeof(char*));
  ASSERT(out != NULL);
  for (uint32_t i = 0; i < n; i++) {
    napi_value v;
    size_t len;
    CHECK(napi_get_element(env, array, i, &v));
    CHECK(napi_get_value_string_utf8(env, v, NULL, 0, &len));
    out[i] = (char*)malloc(len + 1);
    ASSERT(out[i] != NULL);
    CHECK(napi_get_value_string_utf8(env, v, out[i], len + 1, &len));
  }
  return out;
}

static void free_strings(char** s) {
  if (s == NULL) return;
  for (char** p = s; *p != NULL; p++) free(*p);
  free(s);
}

/*
 * execve(path: string, argv: string[], env: string[], keepFds: Int32Array): -errno (only returns on
 * failure; the descriptors stay unmarked then, which matters to no one: the daemon does not exec).
 */
static napi_value execve_fn(napi_env env, napi_callback_info info) {
  napi_value argv[4];
  shim_args(env, info, 4, argv);
  char path[4096];
  shim_string(env, argv[0], path, sizeof(path));
  char** args = strings_of(env, argv[1]);
  char** envp = strings_of(env, argv[2]);
  size_t n_keep;
  const int32_t* keep = shim_typed(env, argv[3], napi_int32_array, &n_keep);
  int err = E2BIG;
  if (args != NULL && envp != NULL) {
    for (size_t i = 0; i < n_keep; i++) {
      int flags = fcntl(keep[i], F_GETFD);
      if (flags >= 0) fcntl(keep[i], F_SETFD, flags & ~FD_CLOEXEC);
    }
    sigset_t none;
    sigemptyset(&none);
    pthread_sigmask(SIG_SETMASK, &none, NULL);
    execve(path, args, envp);
    err = errno;
  }
  free_strings(args);
  free_strings(envp);
  return shim_int(env, -err);
}

void shim_init_process(napi_env env, napi_value exports) {
  shim_export(env, exports, "execve", execve_fn);
}
