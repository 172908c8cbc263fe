/**
 * The shape of the C shim (native/src/*.c), function by function, and the constants both sides
 * share. Each comment gives the C's contract; src/native's wrappers validate before calling, because
 * the C only asserts (a bad argument aborts the process: it is a bug here, not a user error).
 *
 * Every function returns a count (>= 0) or -errno, never throws for a failed syscall. Batches are
 * described by SlabBatch (slab-batch.ts): a table of slabs and per-packet slab index, offset and size.
 */

/** The largest batch the C moves in one call (WGTS_MAX_BATCH in native/src/shim.h). */
export const MAX_BATCH = 128;
/** Most crypto threads and most job slots (POOL_MAX_THREADS, POOL_MAX_JOBS in native/src/aead-threads.c). */
export const AEAD_THREADS_MAX = 64;
export const AEAD_JOBS_MAX = 64;

/** An opaque uv_poll_t handle made by pollOpen; only the poll functions accept it. */
declare const pollHandleBrand: unique symbol;
export interface PollHandle {
  readonly [pollHandleBrand]: true;
}

/** pollStart's event mask and the callback's `events` (libuv's UV_READABLE, UV_WRITABLE). */
export const POLL_READABLE = 1;
export const POLL_WRITABLE = 2;

/** Slab table entries: an ArrayBuffer, or a Uint8Array over memory N-API will not take as one. */
export type SlabMemory = ArrayBuffer | Uint8Array;

/** recvBatch writes RECV_META_STRIDE int32s per datagram into `meta`, at these offsets. */
export const RECV_META_STRIDE = 8;
export const RECV_META_LENGTH = 0;
/** 4 or 6. */
export const RECV_META_FAMILY = 1;
export const RECV_META_PORT = 2;
/** The interface the datagram arrived on (from IP_PKTINFO / IPV6_PKTINFO), 0 if unknown. */
export const RECV_META_IFINDEX = 3;
/** UDP_GRO: the segment size of a coalesced datagram, 0 for a plain one. */
export const RECV_META_GRO_SIZE = 4;
/** msg_flags (MSG_TRUNC: the datagram was longer than its window). */
export const RECV_META_FLAGS = 5;
/** 1 when the destination address (bytes 16..32 of the datagram's addrs slot) is known. */
export const RECV_META_HAS_DST = 6;
/** The source's IPv6 scope (sin6_scope_id: its interface, for a link-local source), 0 for none. */
export const RECV_META_SCOPE = 7;
/** recvBatch writes RECV_ADDR_STRIDE bytes per datagram into `addrs`: source, then destination. */
export const RECV_ADDR_STRIDE = 32;
export const RECV_ADDR_DST = 16;

/** Kernel flag bits used from JS (linux/if.h, linux/if_tun.h). */
export const IFF_UP = 0x1;
export const IFF_TUN = 0x0001;
export const IFF_NO_PI = 0x1000;
export const IFF_VNET_HDR = 0x4000;
/** MSG_TRUNC in msg_flags (linux/socket.h). */
export const MSG_TRUNC = 0x20;
/** IFNAMSIZ: interface names are at most 15 bytes plus a NUL. */
export const IFNAMSIZ = 16;

export interface NativeBinding {
  // ---- fd.c ----
  /** fcntl(O_NONBLOCK): 0 | -errno. */
  setNonblock(fd: number): number;
  /** close(): 0 | -errno (the fd is gone either way). */
  closeFd(fd: number): number;
  /** read() a packet into each window until EAGAIN or `count`; lengths[i] gets each size. */
  readBatch(
    fd: number,
    slabs: SlabMemory[],
    slabIndex: Int32Array,
    offsets: Int32Array,
    capacities: Int32Array,
    lengths: Int32Array,
    count: number,
  ): number;
  /** write() windows start..end-1; the count written from start, or -errno if the first failed. */
  writeBatch(
    fd: number,
    slabs: SlabMemory[],
    slabIndex: Int32Array,
    offsets: Int32Array,
    lengths: Int32Array,
    start: number,
    end: number,
  ): number;

  // ---- netdev.c ----
  /** open("/dev/net/tun", O_RDWR | O_NONBLOCK | O_CLOEXEC): fd | -errno. */
  tunOpen(): number;
  /** TUNSETIFF (IFF_TUN | IFF_NO_PI [| IFF_VNET_HDR]); the kernel's name goes to nameOut. */
  tunSetIff(fd: number, name: string, vnetHdr: boolean, nameOut: Uint8Array): number;
  /** TUNGETIFF: IFF_* flags | -errno (EBADFD: the interface was deleted); name to nameOut. */
  tunGetIff(fd: number, nameOut: Uint8Array): number;
  /** TUNSETOFFLOAD with TUN_F_* bits: 0 | -errno. */
  tunSetOffload(fd: number, flags: number): number;
  /** TUNSETVNETHDRSZ: bytes of virtio_net_hdr per frame (>= 10): 0 | -errno. */
  tunSetVnetHdrSize(fd: number, size: number): number;
  // The if* calls take `ctl`: a control socket (from tunNetnsSocket) whose network namespace they
  // act in, or -1 for a fresh socket in ours.
  /** SIOCGIFMTU: mtu | -errno. */
  ifMtu(name: string, ctl: number): number;
  /** SIOCSIFMTU: 0 | -errno. */
  ifSetMtu(name: string, mtu: number, ctl: number): number;
  /** SIOCGIFFLAGS: IFF_* flags | -errno. */
  ifFlags(name: string, ctl: number): number;
  /** SIOCGIFINDEX: index | -errno (ENODEV: not in that network namespace). */
  ifIndex(name: string, ctl: number): number;
  /** if_indextoname into nameOut (NUL-padded): 0 | -errno (ENXIO: no such interface). */
  ifName(index: number, nameOut: Uint8Array): number;
  /**
   * A datagram socket in the namespace the TUN's interface is in now (TUNGETDEVNETNS, Linux 5.2+),
   * for the if* calls; otherOut[0] = 1 when that is not our namespace. fd | -errno.
   */
  tunNetnsSocket(fd: number, otherOut: Int32Array): number;
  /** The inode of the network namespace the TUN's interface is in now (it changes when it moves) | -errno. */
  tunNetnsId(fd: number): number;
  /**
   * A NETLINK_ROUTE socket subscribed to link changes in this namespace and every namespace it has an
   * id for (NETLINK_LISTEN_ALL_NSID): fd | -errno.
   */
  linkWatch(): number;
  /** Give the namespace the TUN's interface is in now an id in ours, so linkWatch hears it: 0 | -errno. */
  linkWatchFollow(tunFd: number): number;
  /** Discard everything queued on a linkWatch socket: messages read | -errno. */
  linkDrain(fd: number): number;

  // ---- poll.c ----
  /** A uv_poll_t on fd calling `callback(status, events)`; a handle, or -errno. */
  pollOpen(fd: number, callback: (status: number, events: number) => void): PollHandle | number;
  /** Start (or change) watching for POLL_READABLE | POLL_WRITABLE: 0 | -errno. */
  pollStart(handle: PollHandle, events: number): number;
  pollStop(handle: PollHandle): number;
  /** Idempotent; close the fd only after this. */
  pollClose(handle: PollHandle): number;
  /** An unref'd handle does not keep the event loop alive. */
  pollRef(handle: PollHandle, ref: boolean): number;

  // ---- udp.c ----
  /** socket(SOCK_DGRAM | NONBLOCK | CLOEXEC) with PKTINFO (and V6ONLY), bound: fd | -errno. */
  udpSocket(family: 4 | 6, address: Uint8Array | null, port: number): number;
  /** getsockname: port | -errno. */
  sockPort(fd: number): number;
  /** SO_MARK: 0 | -errno (EPERM without CAP_NET_ADMIN). */
  sockSetMark(fd: number, mark: number): number;
  /** SO_RCVBUF(FORCE) and SO_SNDBUF(FORCE): 0 | -errno. */
  sockSetBuffers(fd: number, recvBytes: number, sendBytes: number): number;
  /** UDP_GRO on or off: 0 | -errno (ENOPROTOOPT before Linux 5.0). */
  sockSetGro(fd: number, on: boolean): number;
  /** recvmmsg into windows 0..count-1: datagrams (0 on EAGAIN) | -errno; see RECV_META_*. */
  recvBatch(
    fd: number,
    slabs: SlabMemory[],
    slabIndex: Int32Array,
    offsets: Int32Array,
    capacities: Int32Array,
    count: number,
    meta: Int32Array,
    addrs: Uint8Array,
  ): number;
  /**
   * sendmmsg windows start..end-1 to one destination (4 or 16 address bytes, by family; an IPv6 one
   * scoped to interface dstScope when not 0), from `src` when given (as many bytes; IP_PKTINFO /
   * IPV6_PKTINFO). segmentSize > 0: one UDP_SEGMENT send, all or none. The count sent from start, or
   * -errno if the first failed.
   */
  sendBatch(
    fd: number,
    slabs: SlabMemory[],
    slabIndex: Int32Array,
    offsets: Int32Array,
    lengths: Int32Array,
    start: number,
    end: number,
    family: 4 | 6,
    dst: Uint8Array,
    port: number,
    src: Uint8Array | null,
    srcIfindex: number,
    segmentSize: number,
    dstScope: number,
  ): number;

  // ---- aead.c ----
  /**
   * ChaCha20-Poly1305 seal in place of windows 0..count-1 with key keyIndex[i] (32 bytes at
   * keys[32 * keyIndex[i]]; -1: none) and WireGuard's nonce from counters[i]. results[i] = length + 16
   * or -1. Returns count.
   */
  aeadSeal(
    keys: Uint8Array,
    keyIndex: Int32Array,
    counters: Float64Array,
    slabs: SlabMemory[],
    slabIndex: Int32Array,
    offsets: Int32Array,
    lengths: Int32Array,
    results: Int32Array,
    count: number,
  ): number;
  /** The inverse: windows include the tag; results[i] = length - 16 or -1. Returns count. */
  aeadOpen(
    keys: Uint8Array,
    keyIndex: Int32Array,
    counters: Float64Array,
    slabs: SlabMemory[],
    slabIndex: Int32Array,
    offsets: Int32Array,
    lengths: Int32Array,
    results: Int32Array,
    count: number,
  ): number;

  /**
   * Which per-packet back end the AEAD uses (aead-cipher.c): 1 for OpenSSL's ChaCha20 and Poly1305
   * primitives, 0 for its EVP interface. With a boolean, forces EVP (true) or the best (false) first.
   */
  aeadBackend(forceEvp: boolean | null): number;

  // ---- aead-threads.c ----
  /**
   * Starts the crypto threads (1..AEAD_THREADS_MAX) with `jobs` job slots (1..AEAD_JOBS_MAX); on the
   * event loop, `callback(finished)` finds the ids of finished jobs in doneIds[0, finished).
   * 0 | -errno (EBUSY: already started).
   */
  aeadThreadsStart(threads: number, jobs: number, doneIds: Int32Array, callback: (finished: number) => void): number;
  /**
   * Queues job slot `job` (not outstanding) with aeadSeal's / aeadOpen's arguments; keys, key
   * indices and counters are copied, the windows and results are the caller's until the job is
   * reported finished. Returns 0.
   */
  aeadThreadsSubmit(
    job: number,
    open: boolean,
    keys: Uint8Array,
    keyIndex: Int32Array,
    counters: Float64Array,
    slabs: SlabMemory[],
    slabIndex: Int32Array,
    offsets: Int32Array,
    lengths: Int32Array,
    results: Int32Array,
    count: number,
  ): number;
  /**
   * Blocks until `job` has finished (running queued jobs on the event loop's thread meanwhile), then
   * reports every finished job into doneIds as the callback would; returns how many.
   */
  aeadThreadsWait(job: number): number;
  /** Runs what is queued, joins the threads; reports unreported finished jobs into doneIds; returns how many. */
  aeadThreadsStop(): number;

  // ---- memory.c ----
  /** malloc_trim(0): 1 when glibc gave memory back to the kernel, 0 otherwise. */
  mallocTrim(): number;

  // ---- process.c ----
  /**
   * execve(path, argv, env) after clearing close-on-exec on keepFds (Node sets it on 0, 1 and 2):
   * replaces the process, keeping its pid; returns -errno on failure only.
   */
  execve(path: string, argv: string[], env: string[], keepFds: Int32Array): number;

  // ---- bytes.c ----
  /**
   * Cuts src[from...] into windows 0..count-1 in order: window i gets src[headerAt, headerAt +
   * headerLen), then the next sizes[i] - headerLen bytes; sums[i] = the folded one's-complement sum
   * (RFC 1071, not complemented) of those. Returns the payload bytes copied.
   */
  scatterSum(
    src: Uint8Array,
    from: number,
    headerAt: number,
    headerLen: number,
    slabs: SlabMemory[],
    slabIndex: Int32Array,
    offsets: Int32Array,
    sizes: Int32Array,
    sums: Int32Array,
    count: number,
  ): number;
  /** Copies windows 0..count-1 back to back into dst[at...]; returns the bytes copied. */
  gather(dst: Uint8Array, at: number, slabs: SlabMemory[], slabIndex: Int32Array, offsets: Int32Array, sizes: Int32Array, count: number): number;

  // ---- mac.c ----
  /** Keyed BLAKE2s (1..32-byte key) of all of `data`, out.length (1..32) bytes into `out`: out.length | -1. */
  blake2sMac(key: Uint8Array, data: Uint8Array, out: Uint8Array): number;
  /**
   * blake2sMac of windows 0..count-1 under one key: window i's MAC to out[i * outLen, (i + 1) * outLen),
   * results[i] = outLen, or -1 (empty slot, window outside its slab; its output zeroed). Returns count.
   */
  blake2sMacBatch(
    key: Uint8Array,
    slabs: SlabMemory[],
    slabIndex: Int32Array,
    offsets: Int32Array,
    lengths: Int32Array,
    out: Uint8Array,
    outLen: number,
    results: Int32Array,
    count: number,
  ): number;

  // ---- xaead.c ----
  /** HChaCha20 (draft-irtf-cfrg-xchacha-03 §2.2) of a 32-byte key and 16-byte nonce into out (32): 32. */
  hchacha20(key: Uint8Array, nonce: Uint8Array, out: Uint8Array): number;
  /**
   * XChaCha20-Poly1305 seal (24-byte nonce): ciphertext || tag at out[outOffset]; out may alias
   * plaintext. plaintext.length + 16 | -1.
   */
  xaeadSeal(key: Uint8Array, nonce: Uint8Array, plaintext: Uint8Array, ad: Uint8Array, out: Uint8Array, outOffset: number): number;
  /**
   * The inverse, for at most XAEAD_NATIVE_MAX_OPEN bytes of plaintext: the plaintext at
   * out[outOffset] only if the tag verifies, else nothing written. sealed.length - 16 | -1.
   */
  xaeadOpen(key: Uint8Array, nonce: Uint8Array, sealed: Uint8Array, ad: Uint8Array, out: Uint8Array, outOffset: number): number;

  // ---- memory.c ----
  /** malloc_trim(0): 1 when glibc gave memory back to the kernel, 0 otherwise. */
  mallocTrim(): number;
}

/** The largest plaintext the shim's xaeadOpen takes (MAX_OPEN_BYTES in native/src/xaead.c). */
export const XAEAD_NATIVE_MAX_OPEN = 1024;

/** Every function the binding must have; a stale build missing one is refused at load. */
export const NATIVE_FUNCTIONS: readonly (keyof NativeBinding)[] = [
  'setNonblock', 'closeFd', 'readBatch', 'writeBatch',
  'tunOpen', 'tunSetIff', 'tunGetIff', 'tunSetOffload', 'tunSetVnetHdrSize', 'ifMtu', 'ifSetMtu', 'ifFlags', 'ifIndex', 'ifName', 'tunNetnsSocket', 'tunNetnsId', 'linkWatch', 'linkWatchFollow', 'linkDrain',
  'pollOpen', 'pollStart', 'pollStop', 'pollClose', 'pollRef',
  'udpSocket', 'sockPort', 'sockSetMark', 'sockSetBuffers', 'sockSetGro', 'recvBatch', 'sendBatch',
  'aeadSeal', 'aeadOpen', 'aeadBackend',
  'aeadThreadsStart', 'aeadThreadsSubmit', 'aeadThreadsWait', 'aeadThreadsStop',
  'mallocTrim', 'execve',
  'scatterSum', 'gather',
  'blake2sMac', 'blake2sMacBatch',
  'hchacha20', 'xaeadSeal', 'xaeadOpen',
  'mallocTrim',
];
