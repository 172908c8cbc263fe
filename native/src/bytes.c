/*
 * Pure byte helpers that profiles proved hot (DESIGN.md, "The native shim"), over a batch of windows
 * described as every other batch call describes them (shim_batch): scatterSum cuts one contiguous
 * range into windows, each behind a copy of one header, and returns each window's Internet checksum
 * (RFC 1071) from the same pass, for the TSO split (src/tun/offload-tso.ts); gather copies windows
 * back to back into one range, for GRO (src/tun/offload-gro.ts). In JS each copy needed a view object (Node 20 has no copy between two
 * typed arrays without one: garbage per packet) and the checksum loop ran at ~2.4 GB/s. One call per
 * super-packet, because an N-API call costs ~35 ns plus ~10-15 ns per argument read, more than
 * copying a small segment.
 *
 * The TypeScript twins with the same signatures are in src/native/bytes.ts; a test compares them on
 * random inputs at the edge sizes and offsets. JS validates the ranges; C asserts them.
 */
#include "shim.h"

#include <string.h>

/*
 * Copies len bytes and returns their one's-complement sum as big-endian 16-bit words (an odd last
 * byte padded with zero), folded to 16 bits and not complemented.
 *
 * The bytes are summed in host order as 32-bit words into two 64-bit accumulators, which cannot
 * overflow below 2^32 words, then folded and byte-swapped on a little-endian host (RFC 1071 §2(B):
 * the sum is independent of byte order up to that swap; §2(C): wider words fold to the same sum).
 */
static uint32_t copy_sum(uint8_t* dst, const uint8_t* src, size_t len) {
  uint64_t a0 = 0, a1 = 0;
  size_t i = 0;
  for (; i + 8 <= len; i += 8) {
    uint64_t w;
    memcpy(&w, src + i, 8);
    memcpy(dst + i, &w, 8);
    a0 += (uint32_t)w;
    a1 += w >> 32;
  }
  /* The tail, padded with zeros to 8 bytes: the bytes keep their positions inside the word. */
  if (i < len) {
    uint64_t w = 0;
    memcpy(&w, src + i, len - i);
    memcpy(dst + i, src + i, len - i);
    a0 += (uint32_t)w;
    a1 += w >> 32;
  }
  uint64_t sum = a0 + a1; /* < 2^62 */
  sum = (sum & 0xffffffffu) + (sum >> 32);
  sum = (sum & 0xffffffffu) + (sum >> 32);
  sum = (sum & 0xffff) + (sum >> 16);
  sum = (sum & 0xffff) + (sum >> 16);
  sum = (sum & 0xffff) + (sum >> 16);
#if __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
  sum = ((sum & 0xff) << 8) | (sum >> 8);
#endif
  return (uint32_t)sum;
}

/*
 * scatterSum(src: Uint8Array, from: number, headerAt: number, headerLen: number, slabs,
 *            slabIndex: Int32Array, offsets: Int32Array, sizes: Int32Array, sums: Int32Array,
 *            count: number): payload bytes copied
 * Cuts src[from...] into windows 0..count-1 in order: window i receives src[headerAt, headerAt +
 * headerLen) and then the next sizes[i] - headerLen bytes from `from`; sums[i] is the folded
 * one's-complement sum (0..0xffff, not complemented) of those payload bytes. The TSO split: every
 * segment starts with the super-packet's headers, patched afterwards in JS.
 */
static napi_value scatter_sum(napi_env env, napi_callback_info info) {
  napi_value argv[10];
  shim_args(env, info, 10, argv);
  size_t src_len, n_sums;
  const uint8_t* src = shim_bytes(env, argv[0], &src_len);
  int64_t from = (int64_t)shim_f64(env, argv[1]);
  int64_t header_at = (int64_t)shim_f64(env, argv[2]);
  int64_t header_len = (int64_t)shim_f64(env, argv[3]);
  shim_batch b;
  shim_batch_init(env, &b, argv + 4);
  int32_t* sums = shim_typed(env, argv[8], napi_int32_array, &n_sums);
  uint32_t count = shim_u32(env, argv[9]);
  ASSERT(count <= b.count && count <= n_sums && from >= 0 && (size_t)from <= src_len);
  ASSERT(header_at >= 0 && header_len >= 0 && (size_t)(header_at + header_len) <= src_len);
  size_t at = (size_t)from, hlen = (size_t)header_len;
  for (uint32_t i = 0; i < count; i++) {
    uint8_t* p = shim_batch_window(&b, i, 0);
    size_t size = (size_t)b.size[i];
    ASSERT(p != NULL && size >= hlen && size - hlen <= src_len - at);
    memcpy(p, src + header_at, hlen);
    sums[i] = (int32_t)copy_sum(p + hlen, src + at, size - hlen);
    at += size - hlen;
  }
  return shim_int(env, (int64_t)(at - (size_t)from));
}

/*
 * gather(dst: Uint8Array, at: number, slabs, slabIndex: Int32Array, offsets: Int32Array,
 *        sizes: Int32Array, count: number): bytes copied
 * Copies windows 0..count-1 back to back into dst[at...]; none may overlap the destination. GRO's
 * super-packets.
 */
static napi_value gather(napi_env env, napi_callback_info info) {
  napi_value argv[7];
  shim_args(env, info, 7, argv);
  size_t dst_len;
  uint8_t* dst = shim_bytes(env, argv[0], &dst_len);
  int64_t at = (int64_t)shim_f64(env, argv[1]);
  shim_batch b;
  shim_batch_init(env, &b, argv + 2);
  uint32_t count = shim_u32(env, argv[6]);
  ASSERT(count <= b.count && at >= 0 && (size_t)at <= dst_len);
  size_t to = (size_t)at;
  for (uint32_t i = 0; i < count; i++) {
    const uint8_t* p = shim_batch_window(&b, i, 0);
    size_t len = (size_t)b.size[i];
    ASSERT(p != NULL && len <= dst_len - to);
    memcpy(dst + to, p, len);
    to += len;
  }
  return shim_int(env, (int64_t)(to - (size_t)at));
}

void shim_init_bytes(napi_env env, napi_value exports) {
  shim_export(env, exports, "scatterSum", scatter_sum);
  shim_export(env, exports, "gather", gather);
}
