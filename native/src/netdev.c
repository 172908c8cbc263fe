/*
 * Network interfaces: open a TUN (/dev/net/tun, TUNSETIFF), adopt one (TUNGETIFF), its offloads
 * (TUNSETOFFLOAD), and the MTU, flags and index of any interface by name (SIOC* ioctls on an AF_INET
 * datagram socket, as ip(8) and wireguard-go do). See Documentation/networking/tuntap.rst.
 *
 * SIOC* ioctls act in the network namespace of the socket they are made on. By default a socket
 * is made per call in the process's namespace (these calls are rare: open, and a 1 s watch); a TUN
 * whose interface was moved to another namespace (`ip link set dev X netns NS`) is reached through
 * a socket made in the interface's namespace instead (tunNetnsSocket, TUNGETDEVNETNS, Linux 5.2+).
 * Its link changes are heard on a netlink socket of ours that listens to every namespace ours has an
 * id for (NETLINK_LISTEN_ALL_NSID): a socket made in the other namespace would keep it alive.
 */
#define _GNU_SOURCE
#include "shim.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/if_tun.h>
#include <net/if.h>
#include <sched.h>
#include <string.h>
#include <sys/ioctl.h>
#include <linux/net_namespace.h>
#include <linux/netlink.h>
#include <linux/rtnetlink.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#ifndef TUNGETDEVNETNS
#define TUNGETDEVNETNS _IO('T', 227)
#endif

/* Copies the kernel's interface name into the caller's 16-byte Uint8Array (NUL-padded). */
static void name_out(napi_env env, napi_value out, const char* name) {
  size_t len;
  uint8_t* p = shim_bytes(env, out, &len);
  ASSERT(len >= IFNAMSIZ);
  memset(p, 0, IFNAMSIZ);
  memcpy(p, name, strnlen(name, IFNAMSIZ - 1));
}

/* ifr with the name from JS (validated there: 1..15 bytes, or empty for the kernel's pick). */
static void ifr_named(napi_env env, napi_value name, struct ifreq* ifr) {
  memset(ifr, 0, sizeof(*ifr));
  shim_string(env, name, ifr->ifr_name, IFNAMSIZ);
}

/* tunOpen(): fd of a fresh /dev/net/tun queue (nonblocking, close-on-exec) | -errno */
static napi_value tun_open(napi_env env, napi_callback_info info) {
  shim_args(env, info, 0, NULL);
  int fd = open("/dev/net/tun", O_RDWR | O_NONBLOCK | O_CLOEXEC);
  return fd < 0 ? shim_errno(env) : shim_int(env, fd);
}

/*
 * tunSetIff(fd: number, name: string, vnetHdr: boolean, nameOut: Uint8Array(16)): 0 | -errno
 * Attaches the queue to interface `name` (created if absent; "" lets the kernel pick tunN).
 */
static napi_value tun_set_iff(napi_env env, napi_callback_info info) {
  napi_value argv[4];
  shim_args(env, info, 4, argv);
  struct ifreq ifr;
  ifr_named(env, argv[1], &ifr);
  /* IFF_NO_PI: packets carry no 4-byte protocol prefix; the IP version nibble says what they are. */
  ifr.ifr_flags = IFF_TUN | IFF_NO_PI | (shim_bool(env, argv[2]) ? IFF_VNET_HDR : 0);
  if (ioctl(shim_i32(env, argv[0]), TUNSETIFF, &ifr) < 0) return shim_errno(env);
  name_out(env, argv[3], ifr.ifr_name);
  return shim_int(env, 0);
}

/* tunGetIff(fd: number, nameOut: Uint8Array(16)): IFF_* flags (u16) | -errno (EBADFD: deleted) */
static napi_value tun_get_iff(napi_env env, napi_callback_info info) {
  napi_value argv[2];
  shim_args(env, info, 2, argv);
  struct ifreq ifr;
  memset(&ifr, 0, sizeof(ifr));
  if (ioctl(shim_i32(env, argv[0]), TUNGETIFF, &ifr) < 0) return shim_errno(env);
  name_out(env, argv[1], ifr.ifr_name);
  return shim_int(env, (uint16_t)ifr.ifr_flags);
}

/* tunSetOffload(fd: number, flags: number): 0 | -errno; flags are TUN_F_* bits */
static napi_value tun_set_offload(napi_env env, napi_callback_info info) {
  napi_value argv[2];
  shim_args(env, info, 2, argv);
  if (ioctl(shim_i32(env, argv[0]), TUNSETOFFLOAD, (unsigned long)shim_u32(env, argv[1])) < 0) {
    return shim_errno(env);
  }
  return shim_int(env, 0);
}

/*
 * tunSetVnetHdrSize(fd: number, size: number): 0 | -errno
 * TUNSETVNETHDRSZ: the bytes of virtio_net_hdr in front of every frame (IFF_VNET_HDR). A queue
 * adopted from elsewhere may have been set to another size (12 with mergeable buffers); the
 * offload code speaks the 10-byte header.
 */
static napi_value tun_set_vnet_hdr_size(napi_env env, napi_callback_info info) {
  napi_value argv[2];
  shim_args(env, info, 2, argv);
  int size = shim_i32(env, argv[1]);
  if (ioctl(shim_i32(env, argv[0]), TUNSETVNETHDRSZ, &size) < 0) return shim_errno(env);
  return shim_int(env, 0);
}

/* One SIOC* ioctl on control socket `ctl`, or on a fresh one in our namespace when ctl < 0. */
static int if_ioctl(unsigned long req, struct ifreq* ifr, int ctl) {
  int s = ctl >= 0 ? ctl : socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  if (s < 0) return -errno;
  int r = ioctl(s, req, ifr) < 0 ? -errno : 0;
  if (ctl < 0) close(s);
  return r;
}

/* ifMtu(name: string, ctl: number): mtu | -errno */
static napi_value if_mtu(napi_env env, napi_callback_info info) {
  napi_value argv[2];
  shim_args(env, info, 2, argv);
  struct ifreq ifr;
  ifr_named(env, argv[0], &ifr);
  int r = if_ioctl(SIOCGIFMTU, &ifr, shim_i32(env, argv[1]));
  return shim_int(env, r < 0 ? r : ifr.ifr_mtu);
}

/* ifSetMtu(name: string, mtu: number, ctl: number): 0 | -errno */
static napi_value if_set_mtu(napi_env env, napi_callback_info info) {
  napi_value argv[3];
  shim_args(env, info, 3, argv);
  struct ifreq ifr;
  ifr_named(env, argv[0], &ifr);
  ifr.ifr_mtu = shim_i32(env, argv[1]);
  return shim_int(env, if_ioctl(SIOCSIFMTU, &ifr, shim_i32(env, argv[2])));
}

/* ifFlags(name: string, ctl: number): IFF_* flags (u16) | -errno */
static napi_value if_flags(napi_env env, napi_callback_info info) {
  napi_value argv[2];
  shim_args(env, info, 2, argv);
  struct ifreq ifr;
  ifr_named(env, argv[0], &ifr);
  int r = if_ioctl(SIOCGIFFLAGS, &ifr, shim_i32(env, argv[1]));
  return shim_int(env, r < 0 ? r : (uint16_t)ifr.ifr_flags);
}

/* ifIndex(name: string, ctl: number): index (> 0) | -errno (ENODEV: not in that namespace) */
static napi_value if_index(napi_env env, napi_callback_info info) {
  napi_value argv[2];
  shim_args(env, info, 2, argv);
  struct ifreq ifr;
  ifr_named(env, argv[0], &ifr);
  int r = if_ioctl(SIOCGIFINDEX, &ifr, shim_i32(env, argv[1]));
  return shim_int(env, r < 0 ? r : ifr.ifr_ifindex);
}

/*
 * ifName(index: number, nameOut: Uint8Array(16)): 0 | -errno (ENXIO: no such interface)
 * The name of interface `index` in this namespace (if_indextoname): an IPv6 zone learned from a
 * packet is printed by name, as wireguard-go prints it.
 */
static napi_value if_name(napi_env env, napi_callback_info info) {
  napi_value argv[2];
  shim_args(env, info, 2, argv);
  char name[IF_NAMESIZE];
  if (if_indextoname(shim_u32(env, argv[0]), name) == NULL) return shim_errno(env);
  name_out(env, argv[1], name);
  return shim_int(env, 0);
}

static int same_file(int a, int b) {
  struct stat sa, sb;
  return fstat(a, &sa) == 0 && fstat(b, &sb) == 0 && sa.st_dev == sb.st_dev && sa.st_ino == sb.st_ino;
}

/*
 * tunNetnsSocket(fd: number, otherOut: Int32Array(1)): control socket | -errno
 * A datagram socket in the network namespace the TUN's interface is in now, for the if* calls.
 * otherOut[0] = 1 when that is not this thread's namespace. Making it means entering that namespace
 * for the one socket() call: setns affects only this thread and is undone before returning, so no
 * other code ever runs in the other namespace. Needs CAP_NET_ADMIN there (EPERM otherwise) and
 * CAP_SYS_ADMIN to enter it.
 */
static napi_value tun_netns_socket(napi_env env, napi_callback_info info) {
  napi_value argv[2];
  shim_args(env, info, 2, argv);
  size_t n_out;
  int32_t* other = shim_typed(env, argv[1], napi_int32_array, &n_out);
  ASSERT(n_out >= 1);
  int ns = ioctl(shim_i32(env, argv[0]), TUNGETDEVNETNS);
  if (ns < 0) return shim_errno(env);
  int self = open("/proc/thread-self/ns/net", O_RDONLY | O_CLOEXEC);
  if (self < 0) {
    int err = errno;
    close(ns);
    return shim_int(env, -err);
  }
  int s, err = 0;
  other[0] = !same_file(ns, self);
  if (!other[0]) {
    s = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    if (s < 0) err = errno;
  } else if (setns(ns, CLONE_NEWNET) < 0) {
    s = -1;
    err = errno;
  } else {
    s = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    if (s < 0) err = errno;
    /* Staying in the other namespace would move every later socket of this thread: never. */
    ASSERT(setns(self, CLONE_NEWNET) == 0);
  }
  close(self);
  close(ns);
  return shim_int(env, s < 0 ? -err : s);
}

/*
 * linkWatch(): fd | -errno
 * A NETLINK_ROUTE socket subscribed to link changes (RTMGRP_LINK) in this namespace, and in every
 * namespace this one has an id for (NETLINK_LISTEN_ALL_NSID, Linux 4.2+; where refused, this one
 * alone): readable when any interface there changes state, so the TUN learns of `ip link set up` at
 * once rather than at its next poll, wherever its interface was moved (linkWatchFollow). The messages
 * are not parsed here: JS drains them (linkDrain) and re-reads its interface.
 */
static napi_value link_watch(napi_env env, napi_callback_info info) {
  (void)info;
  int fd = socket(AF_NETLINK, SOCK_RAW | SOCK_NONBLOCK | SOCK_CLOEXEC, NETLINK_ROUTE);
  if (fd < 0) return shim_errno(env);
  struct sockaddr_nl sa;
  memset(&sa, 0, sizeof(sa));
  sa.nl_family = AF_NETLINK;
  sa.nl_groups = RTMGRP_LINK;
  if (bind(fd, (struct sockaddr*)&sa, sizeof(sa)) < 0) {
    int e = errno;
    close(fd);
    errno = e;
    return shim_errno(env);
  }
  int on = 1;
  (void)setsockopt(fd, SOL_NETLINK, NETLINK_LISTEN_ALL_NSID, &on, sizeof(on));
  return shim_int(env, fd);
}

/*
 * tunNetnsId(fd: number): inode of the TUN interface's network namespace | -errno
 * Tells whether the interface moved since last asked (an nsfs inode names a namespace while it lives).
 */
static napi_value tun_netns_id(napi_env env, napi_callback_info info) {
  napi_value argv[1];
  shim_args(env, info, 1, argv);
  int ns = ioctl(shim_i32(env, argv[0]), TUNGETDEVNETNS);
  if (ns < 0) return shim_errno(env);
  struct stat st;
  int r = fstat(ns, &st);
  int err = errno;
  close(ns);
  return shim_int(env, r < 0 ? -err : (int64_t)st.st_ino);
}

/*
 * linkWatchFollow(tunFd: number): 0 | -errno
 * Makes sure this namespace has an id for the one the TUN's interface is in now (RTM_NEWNSID with
 * NETNSA_NSID -1: the kernel picks it, as `ip netns set NAME auto` does; EEXIST: it has one, often
 * given when the interface left this namespace), so linkWatch sockets hear its link changes. An id
 * holds no reference: the namespace still goes away when deleted. Nothing to do for our own.
 */
static napi_value link_watch_follow(napi_env env, napi_callback_info info) {
  napi_value argv[1];
  shim_args(env, info, 1, argv);
  int ns = ioctl(shim_i32(env, argv[0]), TUNGETDEVNETNS);
  if (ns < 0) return shim_errno(env);
  int self = open("/proc/thread-self/ns/net", O_RDONLY | O_CLOEXEC);
  if (self < 0 || same_file(ns, self)) {
    int err = self < 0 ? errno : 0;
    if (self >= 0) close(self);
    close(ns);
    return shim_int(env, -err);
  }
  close(self);
  /* nlmsghdr, rtgenmsg padded to NLMSG_ALIGNTO, then two int32 attributes: the fd, and -1 for "pick one". */
  union {
    char buf[NLMSG_SPACE(sizeof(struct rtgenmsg)) + 2 * RTA_SPACE(sizeof(int32_t))];
    struct nlmsghdr align;
  } req;
  memset(&req, 0, sizeof(req));
  struct nlmsghdr* nh = &req.align;
  nh->nlmsg_len = sizeof(req.buf);
  nh->nlmsg_type = RTM_NEWNSID;
  nh->nlmsg_flags = NLM_F_REQUEST | NLM_F_ACK;
  nh->nlmsg_seq = 1;
  ((struct rtgenmsg*)NLMSG_DATA(nh))->rtgen_family = AF_UNSPEC;
  struct rtattr* a = (struct rtattr*)(req.buf + NLMSG_SPACE(sizeof(struct rtgenmsg)));
  int32_t values[2] = { ns, NETNSA_NSID_NOT_ASSIGNED };
  unsigned short types[2] = { NETNSA_FD, NETNSA_NSID };
  for (int i = 0; i < 2; i++) {
    a->rta_type = types[i];
    a->rta_len = RTA_LENGTH(sizeof(int32_t));
    memcpy(RTA_DATA(a), &values[i], sizeof(int32_t));
    a = (struct rtattr*)((char*)a + RTA_SPACE(sizeof(int32_t)));
  }
  int s = socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, NETLINK_ROUTE);
  int err = 0;
  if (s < 0) {
    err = errno;
  } else if (send(s, req.buf, sizeof(req.buf), 0) < 0) {
    err = errno;
  } else {
    /* The kernel's answer: an NLMSG_ERROR carrying 0 (done) or -errno. */
    char reply[1024];
    ssize_t n = recv(s, reply, sizeof(reply), 0);
    struct nlmsghdr* h = (struct nlmsghdr*)reply;
    if (n < 0) {
      err = errno;
    } else if ((size_t)n >= NLMSG_LENGTH(sizeof(struct nlmsgerr)) && h->nlmsg_type == NLMSG_ERROR) {
      struct nlmsgerr* e = (struct nlmsgerr*)NLMSG_DATA(h);
      if (e->error < 0 && e->error != -EEXIST) err = -e->error;
    }
  }
  if (s >= 0) close(s);
  close(ns);
  return shim_int(env, -err);
}

/* linkDrain(fd): messages discarded | -errno (not EAGAIN): empties a linkWatch socket. */
static napi_value link_drain(napi_env env, napi_callback_info info) {
  napi_value argv[1];
  shim_args(env, info, 1, argv);
  int fd = shim_i32(env, argv[0]);
  char scratch[8192];
  int n = 0;
  for (;;) {
    ssize_t r = recv(fd, scratch, sizeof(scratch), MSG_DONTWAIT);
    if (r >= 0) {
      n++;
      continue;
    }
    if (errno == EINTR) continue;
    /* ENOBUFS: the kernel dropped messages for us; the caller re-reads state anyway. */
    if (errno == EAGAIN || errno == EWOULDBLOCK || errno == ENOBUFS) return shim_int(env, n);
    return shim_errno(env);
  }
}

void shim_init_netdev(napi_env env, napi_value exports) {
  shim_export(env, exports, "tunOpen", tun_open);
  shim_export(env, exports, "tunSetIff", tun_set_iff);
  shim_export(env, exports, "tunGetIff", tun_get_iff);
  shim_export(env, exports, "tunSetOffload", tun_set_offload);
  shim_export(env, exports, "tunSetVnetHdrSize", tun_set_vnet_hdr_size);
  shim_export(env, exports, "ifMtu", if_mtu);
  shim_export(env, exports, "ifSetMtu", if_set_mtu);
  shim_export(env, exports, "ifFlags", if_flags);
  shim_export(env, exports, "ifIndex", if_index);
  shim_export(env, exports, "ifName", if_name);
  shim_export(env, exports, "tunNetnsSocket", tun_netns_socket);
  shim_export(env, exports, "linkWatch", link_watch);
  shim_export(env, exports, "tunNetnsId", tun_netns_id);
  shim_export(env, exports, "linkWatchFollow", link_watch_follow);
  shim_export(env, exports, "linkDrain", link_drain);
}
