/*
 * Plain file descriptors: O_NONBLOCK, close, and batched read()/write() into JS buffers in place.
 * The TUN is a character device that hands over one packet per read() and takes one per write(), so
 * a batch is a loop of syscalls until EAGAIN or the batch is full, as wireguard-go's tun_linux.go
 * reads; what the batch saves is the crossings between JS and C, one per batch instead of per packet.
 */
#include "shim.h"

#include <errno.h>
#include <fcntl.h>
#include <unistd.h>

/* setNonblock(fd: number): 0 | -errno */
static napi_value set_nonblock(napi_env env, napi_callback_info info) {
  napi_value argv[1];
  shim_args(env, info, 1, argv);
  int fd = shim_i32(env, argv[0]);
  int flags = fcntl(fd, F_GETFL);
  if (flags < 0 || fcntl(fd, F_SETFL, flags | O_NONBLOCK) < 0) return shim_errno(env);
  return shim_int(env, 0);
}

/* closeFd(fd: number): 0 | -errno */
static napi_value close_fd(napi_env env, napi_callback_info info) {
  napi_value argv[1];
  shim_args(env, info, 1, argv);
  /* Linux releases the descriptor even when close() reports EINTR, so it is never retried. */
  if (close(shim_i32(env, argv[0])) < 0) return shim_errno(env);
  return shim_int(env, 0);
}

/*
 * readBatch(fd, slabs, slabIndex: Int32Array, offsets: Int32Array, capacities: Int32Array,
 *           lengths: Int32Array, count: number): packets read | -errno
 * Reads one packet into each window until EAGAIN or `count`; lengths[i] receives its size. An error
 * after at least one packet ends the batch early; the next call reports it.
 */
static napi_value read_batch(napi_env env, napi_callback_info info) {
  napi_value argv[7];
  shim_args(env, info, 7, argv);
  int fd = shim_i32(env, argv[0]);
  shim_batch b;
  shim_batch_init(env, &b, argv + 1);
  size_t n_len;
  int32_t* lengths = shim_typed(env, argv[5], napi_int32_array, &n_len);
  uint32_t count = shim_u32(env, argv[6]);
  ASSERT(count <= b.count && count <= n_len);
  uint32_t i = 0;
  while (i < count) {
    uint8_t* p = shim_batch_window(&b, i, 0);
    ASSERT(p != NULL);
    ssize_t r = read(fd, p, (size_t)b.size[i]);
    if (r < 0) {
      if (errno == EINTR) continue;
      if (i == 0 && errno != EAGAIN) return shim_errno(env);
      break;
    }
    lengths[i++] = (int32_t)r;
  }
  return shim_int(env, i);
}

/*
 * writeBatch(fd, slabs, slabIndex: Int32Array, offsets: Int32Array, lengths: Int32Array,
 *            start: number, end: number): packets written from `start` | -errno of the first write
 * Stops at the first failure; the caller decides whether to skip that packet or drop the rest.
 */
static napi_value write_batch(napi_env env, napi_callback_info info) {
  napi_value argv[7];
  shim_args(env, info, 7, argv);
  int fd = shim_i32(env, argv[0]);
  shim_batch b;
  shim_batch_init(env, &b, argv + 1);
  uint32_t start = shim_u32(env, argv[5]);
  uint32_t end = shim_u32(env, argv[6]);
  ASSERT(start <= end && end <= b.count);
  uint32_t i = start;
  while (i < end) {
    uint8_t* p = shim_batch_window(&b, i, 0);
    ASSERT(p != NULL);
    ssize_t r = write(fd, p, (size_t)b.size[i]);
    if (r < 0) {
      if (errno == EINTR) continue;
      if (i == start) return shim_errno(env);
      break;
    }
    i++;
  }
  return shim_int(env, i - start);
}

void shim_init_fd(napi_env env, napi_value exports) {
  shim_export(env, exports, "setNonblock", set_nonblock);
  shim_export(env, exports, "closeFd", close_fd);
  shim_export(env, exports, "readBatch", read_batch);
  shim_export(env, exports, "writeBatch", write_batch);
}
