/*
 * UDP sockets for the batched bind: socket/bind for IPv4 and IPv6 (v6-only, as wireguard-go's
 * StdNetBind opens them), recvmmsg with the destination address and interface of each datagram
 * (IP_PKTINFO / IPV6_RECVPKTINFO) and its GRO segment size, sendmmsg to one endpoint with a chosen
 * source address, UDP_SEGMENT (GSO), SO_MARK and socket buffer sizes.
 *
 * Address layout shared with src/native/udp.ts: 16 bytes per address, an IPv4 address in the first 4.
 */
#define _GNU_SOURCE
#include "shim.h"

#include <errno.h>
#include <netinet/in.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#ifndef UDP_SEGMENT
#define UDP_SEGMENT 103
#endif
#ifndef UDP_GRO
#define UDP_GRO 104
#endif
#ifndef SOL_UDP
#define SOL_UDP 17
#endif

/* Per-datagram receive metadata: Int32Array stride and fields (src/native/udp.ts RECV_META_*). */
enum { META_STRIDE = 8, META_LEN = 0, META_FAMILY, META_PORT, META_IFINDEX, META_GRO_SIZE,
       META_FLAGS, META_HAS_DST, META_SCOPE };
enum { ADDR_STRIDE = 32, ADDR_DST = 16 };

/* Room for one pktinfo (the larger, v6) and one GRO int per datagram. */
#define CONTROL_BYTES (CMSG_SPACE(sizeof(struct in6_pktinfo)) + CMSG_SPACE(sizeof(int)))
typedef union {
  char buf[CONTROL_BYTES];
  struct cmsghdr align;
} control_t;

typedef union {
  struct sockaddr sa;
  struct sockaddr_in in4;
  struct sockaddr_in6 in6;
} sockaddr_any;

static int set_int(int fd, int level, int opt, int value) {
  return setsockopt(fd, level, opt, &value, sizeof(value)) < 0 ? -errno : 0;
}

/* Fills `sa` from 4 or 16 address bytes, a port and an IPv6 scope (interface index); returns its length. */
static socklen_t make_sockaddr(sockaddr_any* sa, int family, const uint8_t* addr, int port, uint32_t scope) {
  memset(sa, 0, sizeof(*sa));
  if (family == 4) {
    sa->in4.sin_family = AF_INET;
    sa->in4.sin_port = htons((uint16_t)port);
    if (addr != NULL) memcpy(&sa->in4.sin_addr, addr, 4);
    return sizeof(sa->in4);
  }
  sa->in6.sin6_family = AF_INET6;
  sa->in6.sin6_port = htons((uint16_t)port);
  if (addr != NULL) memcpy(&sa->in6.sin6_addr, addr, 16);
  sa->in6.sin6_scope_id = scope;
  return sizeof(sa->in6);
}

/* udpSocket(family: 4 | 6, addr: Uint8Array | null, port: number): fd | -errno (nonblocking) */
static napi_value udp_socket(napi_env env, napi_callback_info info) {
  napi_value argv[3];
  shim_args(env, info, 3, argv);
  int family = shim_i32(env, argv[0]);
  ASSERT(family == 4 || family == 6);
  const uint8_t* addr = NULL;
  if (!shim_is_nullish(env, argv[1])) {
    size_t len;
    addr = shim_bytes(env, argv[1], &len);
    ASSERT(len >= (family == 4 ? 4u : 16u));
  }
  int port = shim_i32(env, argv[2]);
  int fd = socket(family == 4 ? AF_INET : AF_INET6, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (fd < 0) return shim_errno(env);
  int r = family == 4 ? set_int(fd, IPPROTO_IP, IP_PKTINFO, 1)
                      : set_int(fd, IPPROTO_IPV6, IPV6_V6ONLY, 1);
  if (r == 0 && family == 6) r = set_int(fd, IPPROTO_IPV6, IPV6_RECVPKTINFO, 1);
  sockaddr_any sa;
  socklen_t salen = make_sockaddr(&sa, family, addr, port, 0);
  if (r == 0 && bind(fd, &sa.sa, salen) < 0) r = -errno;
  if (r < 0) {
    close(fd);
    return shim_int(env, r);
  }
  return shim_int(env, fd);
}

/* sockPort(fd: number): bound port | -errno */
static napi_value sock_port(napi_env env, napi_callback_info info) {
  napi_value argv[1];
  shim_args(env, info, 1, argv);
  sockaddr_any sa;
  socklen_t len = sizeof(sa);
  if (getsockname(shim_i32(env, argv[0]), &sa.sa, &len) < 0) return shim_errno(env);
  return shim_int(env, ntohs(sa.sa.sa_family == AF_INET ? sa.in4.sin_port : sa.in6.sin6_port));
}

/* sockSetMark(fd: number, mark: number): 0 | -errno (EPERM without CAP_NET_ADMIN) */
static napi_value sock_set_mark(napi_env env, napi_callback_info info) {
  napi_value argv[2];
  shim_args(env, info, 2, argv);
  return shim_int(env, set_int(shim_i32(env, argv[0]), SOL_SOCKET, SO_MARK,
                               (int)shim_u32(env, argv[1])));
}

/*
 * sockSetBuffers(fd: number, recvBytes: number, sendBytes: number): 0 | -errno
 * The FORCE variants pass net.core.[rw]mem_max, which matters at line rate; they need
 * CAP_NET_ADMIN, so the plain options (capped by the sysctl) are the fallback.
 */
static napi_value sock_set_buffers(napi_env env, napi_callback_info info) {
  napi_value argv[3];
  shim_args(env, info, 3, argv);
  int fd = shim_i32(env, argv[0]);
  int rcv = shim_i32(env, argv[1]);
  int snd = shim_i32(env, argv[2]);
  int r = 0;
  if (set_int(fd, SOL_SOCKET, SO_RCVBUFFORCE, rcv) < 0) r = set_int(fd, SOL_SOCKET, SO_RCVBUF, rcv);
  if (r == 0 && set_int(fd, SOL_SOCKET, SO_SNDBUFFORCE, snd) < 0) {
    r = set_int(fd, SOL_SOCKET, SO_SNDBUF, snd);
  }
  return shim_int(env, r);
}

/*
 * sockSetGro(fd: number, on: boolean): 0 | -errno (ENOPROTOOPT before Linux 5.0)
 * UDP_GRO: the kernel may hand over several datagrams of one flow and one size as one, their
 * segment size in a control message (recvBatch's RECV_META_GRO_SIZE).
 */
static napi_value sock_set_gro(napi_env env, napi_callback_info info) {
  napi_value argv[2];
  shim_args(env, info, 2, argv);
  return shim_int(env, set_int(shim_i32(env, argv[0]), SOL_UDP, UDP_GRO, shim_bool(env, argv[1])));
}

/* Reads what recvmmsg learned about one datagram into its meta and address slots. */
static void describe(struct mmsghdr* m, sockaddr_any* src, int32_t* meta, uint8_t* addr) {
  memset(meta, 0, META_STRIDE * sizeof(int32_t));
  memset(addr, 0, ADDR_STRIDE);
  meta[META_LEN] = (int32_t)m->msg_len;
  meta[META_FLAGS] = m->msg_hdr.msg_flags;
  if (src->sa.sa_family == AF_INET) {
    meta[META_FAMILY] = 4;
    meta[META_PORT] = ntohs(src->in4.sin_port);
    memcpy(addr, &src->in4.sin_addr, 4);
  } else {
    meta[META_FAMILY] = 6;
    meta[META_PORT] = ntohs(src->in6.sin6_port);
    /* The kernel sets it for a link-local source: the interface the peer is on. */
    meta[META_SCOPE] = (int32_t)src->in6.sin6_scope_id;
    memcpy(addr, &src->in6.sin6_addr, 16);
  }
  for (struct cmsghdr* c = CMSG_FIRSTHDR(&m->msg_hdr); c != NULL; c = CMSG_NXTHDR(&m->msg_hdr, c)) {
    if (c->cmsg_level == IPPROTO_IP && c->cmsg_type == IP_PKTINFO) {
      struct in_pktinfo pi;
      memcpy(&pi, CMSG_DATA(c), sizeof(pi));
      /* ipi_spec_dst: the local address a reply should leave from, as wireguard-go reads it. */
      memcpy(addr + ADDR_DST, &pi.ipi_spec_dst, 4);
      meta[META_IFINDEX] = pi.ipi_ifindex;
      meta[META_HAS_DST] = 1;
    } else if (c->cmsg_level == IPPROTO_IPV6 && c->cmsg_type == IPV6_PKTINFO) {
      struct in6_pktinfo pi;
      memcpy(&pi, CMSG_DATA(c), sizeof(pi));
      memcpy(addr + ADDR_DST, &pi.ipi6_addr, 16);
      meta[META_IFINDEX] = (int32_t)pi.ipi6_ifindex;
      meta[META_HAS_DST] = 1;
    } else if (c->cmsg_level == SOL_UDP && c->cmsg_type == UDP_GRO) {
      int size;
      memcpy(&size, CMSG_DATA(c), sizeof(size));
      meta[META_GRO_SIZE] = size;
    }
  }
}

/*
 * recvBatch(fd, slabs, slabIndex: Int32Array, offsets: Int32Array, capacities: Int32Array,
 *           count: number, meta: Int32Array(count * 8), addrs: Uint8Array(count * 32))
 *   : datagrams | -errno
 * One recvmmsg(MSG_DONTWAIT) into the windows in place; EAGAIN is 0 datagrams, not an error.
 */
static napi_value recv_batch(napi_env env, napi_callback_info info) {
  napi_value argv[8];
  shim_args(env, info, 8, argv);
  int fd = shim_i32(env, argv[0]);
  shim_batch b;
  shim_batch_init(env, &b, argv + 1);
  uint32_t count = shim_u32(env, argv[5]);
  size_t n_meta, n_addr;
  int32_t* meta = shim_typed(env, argv[6], napi_int32_array, &n_meta);
  uint8_t* addrs = shim_typed(env, argv[7], napi_uint8_array, &n_addr);
  ASSERT(count <= WGTS_MAX_BATCH && count <= b.count);
  ASSERT(count * META_STRIDE <= n_meta && count * ADDR_STRIDE <= n_addr);
  struct mmsghdr msgs[WGTS_MAX_BATCH];
  struct iovec iov[WGTS_MAX_BATCH];
  sockaddr_any src[WGTS_MAX_BATCH];
  control_t control[WGTS_MAX_BATCH];
  for (uint32_t i = 0; i < count; i++) {
    iov[i].iov_base = shim_batch_window(&b, i, 0);
    ASSERT(iov[i].iov_base != NULL);
    iov[i].iov_len = (size_t)b.size[i];
    memset(&msgs[i], 0, sizeof(msgs[i]));
    msgs[i].msg_hdr.msg_name = &src[i];
    msgs[i].msg_hdr.msg_namelen = sizeof(src[i]);
    msgs[i].msg_hdr.msg_iov = &iov[i];
    msgs[i].msg_hdr.msg_iovlen = 1;
    msgs[i].msg_hdr.msg_control = control[i].buf;
    msgs[i].msg_hdr.msg_controllen = sizeof(control[i].buf);
  }
  int n;
  do n = recvmmsg(fd, msgs, count, MSG_DONTWAIT, NULL);
  while (n < 0 && errno == EINTR);
  if (n < 0) return errno == EAGAIN ? shim_int(env, 0) : shim_errno(env);
  for (int i = 0; i < n; i++) describe(&msgs[i], &src[i], meta + i * META_STRIDE, addrs + i * ADDR_STRIDE);
  return shim_int(env, n);
}

/* Writes the source-address control message (IP_PKTINFO / IPV6_PKTINFO) and, with GSO, UDP_SEGMENT. */
static size_t make_control(control_t* control, int family, const uint8_t* src, int ifindex,
                           int segment) {
  memset(control, 0, sizeof(*control));
  struct msghdr h;
  memset(&h, 0, sizeof(h));
  h.msg_control = control->buf;
  h.msg_controllen = sizeof(control->buf);
  struct cmsghdr* c = CMSG_FIRSTHDR(&h);
  size_t used = 0;
  if (src != NULL && family == 4) {
    struct in_pktinfo pi;
    memset(&pi, 0, sizeof(pi));
    memcpy(&pi.ipi_spec_dst, src, 4);
    pi.ipi_ifindex = ifindex;
    c->cmsg_level = IPPROTO_IP;
    c->cmsg_type = IP_PKTINFO;
    c->cmsg_len = CMSG_LEN(sizeof(pi));
    memcpy(CMSG_DATA(c), &pi, sizeof(pi));
    used += CMSG_SPACE(sizeof(pi));
  } else if (src != NULL) {
    struct in6_pktinfo pi;
    memset(&pi, 0, sizeof(pi));
    memcpy(&pi.ipi6_addr, src, 16);
    pi.ipi6_ifindex = (unsigned)ifindex;
    c->cmsg_level = IPPROTO_IPV6;
    c->cmsg_type = IPV6_PKTINFO;
    c->cmsg_len = CMSG_LEN(sizeof(pi));
    memcpy(CMSG_DATA(c), &pi, sizeof(pi));
    used += CMSG_SPACE(sizeof(pi));
  }
  if (segment > 0) {
    c = (struct cmsghdr*)(control->buf + used);
    uint16_t gso = (uint16_t)segment;
    c->cmsg_level = SOL_UDP;
    c->cmsg_type = UDP_SEGMENT;
    c->cmsg_len = CMSG_LEN(sizeof(gso));
    memcpy(CMSG_DATA(c), &gso, sizeof(gso));
    used += CMSG_SPACE(sizeof(gso));
  }
  return used;
}

/*
 * sendBatch(fd, slabs, slabIndex: Int32Array, offsets: Int32Array, lengths: Int32Array,
 *           start: number, end: number, family: 4 | 6, dst: Uint8Array(4 | 16), port: number,
 *           src: Uint8Array(4 | 16) | null, srcIfindex: number, segmentSize: number,
 *           dstScope: number)
 *   : datagrams sent from `start` | -errno of the first
 * segmentSize 0: one sendmmsg, a datagram per window. segmentSize > 0: one sendmsg whose iovecs are
 * all the windows, split by the kernel into segmentSize datagrams (UDP_SEGMENT; every window but the
 * last must be exactly segmentSize): all are sent or none. Either way the windows are not copied.
 */
static napi_value send_batch(napi_env env, napi_callback_info info) {
  napi_value argv[14];
  shim_args(env, info, 14, argv);
  int fd = shim_i32(env, argv[0]);
  shim_batch b;
  shim_batch_init(env, &b, argv + 1);
  uint32_t start = shim_u32(env, argv[5]);
  uint32_t end = shim_u32(env, argv[6]);
  int family = shim_i32(env, argv[7]);
  size_t n_dst;
  const uint8_t* dst = shim_bytes(env, argv[8], &n_dst);
  int port = shim_i32(env, argv[9]);
  const uint8_t* src = NULL;
  if (!shim_is_nullish(env, argv[10])) {
    size_t n_src;
    src = shim_bytes(env, argv[10], &n_src);
    ASSERT(n_src >= (family == 4 ? 4u : 16u));
  }
  int ifindex = shim_i32(env, argv[11]);
  int segment = shim_i32(env, argv[12]);
  /* The interface a link-local destination is on (sin6_scope_id); 0 for none. */
  uint32_t scope = shim_u32(env, argv[13]);
  uint32_t count = end - start;
  ASSERT(family == 4 || family == 6);
  ASSERT(start <= end && count <= WGTS_MAX_BATCH && end <= b.count);
  ASSERT(n_dst >= (family == 4 ? 4u : 16u));
  if (count == 0) return shim_int(env, 0);

  sockaddr_any to;
  socklen_t tolen = make_sockaddr(&to, family, dst, port, family == 6 ? scope : 0);
  control_t control;
  size_t controllen = make_control(&control, family, src, ifindex, segment);
  struct iovec iov[WGTS_MAX_BATCH];
  for (uint32_t i = 0; i < count; i++) {
    iov[i].iov_base = shim_batch_window(&b, start + i, 0);
    ASSERT(iov[i].iov_base != NULL);
    iov[i].iov_len = (size_t)b.size[start + i];
  }
  struct mmsghdr msgs[WGTS_MAX_BATCH];
  uint32_t nmsgs = segment > 0 ? 1 : count;
  for (uint32_t i = 0; i < nmsgs; i++) {
    memset(&msgs[i], 0, sizeof(msgs[i]));
    msgs[i].msg_hdr.msg_name = &to;
    msgs[i].msg_hdr.msg_namelen = tolen;
    msgs[i].msg_hdr.msg_iov = &iov[i];
    msgs[i].msg_hdr.msg_iovlen = segment > 0 ? count : 1;
    /* The kernel only reads the control data, so every message can share one copy. */
    msgs[i].msg_hdr.msg_control = controllen > 0 ? control.buf : NULL;
    msgs[i].msg_hdr.msg_controllen = controllen;
  }
  int n;
  do n = sendmmsg(fd, msgs, nmsgs, MSG_DONTWAIT);
  while (n < 0 && errno == EINTR);
  if (n < 0) return shim_errno(env);
  return shim_int(env, segment > 0 ? (n == 1 ? (int)count : 0) : n);
}

void shim_init_udp(napi_env env, napi_value exports) {
  shim_export(env, exports, "udpSocket", udp_socket);
  shim_export(env, exports, "sockPort", sock_port);
  shim_export(env, exports, "sockSetMark", sock_set_mark);
  shim_export(env, exports, "sockSetBuffers", sock_set_buffers);
  shim_export(env, exports, "sockSetGro", sock_set_gro);
  shim_export(env, exports, "recvBatch", recv_batch);
  shim_export(env, exports, "sendBatch", send_batch);
}
