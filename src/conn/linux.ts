/**
 * The batched Linux bind on the native shim: an IPv6 socket (v6-only) and an IPv4 socket on one
 * port, as std.ts and wireguard-go's StdNetBind open them, read with recvmmsg and written with
 * sendmmsg, up to LINUX_BIND_BATCH datagrams per syscall, straight into and out of pool buffers.
 *
 * - Receiving: a uv_poll per socket; when readable, one recvmmsg into read slots taken from the
 *   Source (allocation at the edge, RECV_BYTES each), held between reads as buffer/read-slots.ts
 *   describes. A Source that returns null stops reading until resume().
 * - UDP GRO (option `gro`, on by default where the kernel has it, Linux 5.0+): the kernel may hand
 *   over a run of one flow's datagrams of one size as one, up to 64 KiB; the socket then reads into
 *   up to GRO_READ_SLOTS slots of MAX_DATAGRAM_BYTES and hands each such read on whole with its
 *   segment size (BindHandler.onDatagrams' `segments`): the device walks it in place, no copy.
 * - Endpoints (linux-endpoint.ts): one LinuxEndpoint per source address, port and IPv6 scope,
 *   interned, the same object parseEndpoint returns; each carries the sticky source address replies
 *   leave from. When the kernel refuses that source (EINVAL, EADDRNOTAVAIL: the address left the
 *   host; ENETUNREACH), it is forgotten and the send retried once without it.
 * - Sending: one sendmmsg per call whose iovecs point into the buffers in place; a partial send
 *   continues from where it stopped; EAGAIN/ENOBUFS drops the rest and counts it (WireGuard runs
 *   over a lossy network; a send queue would only add latency). Buffers are released on return:
 *   the kernel has copied them.
 */
import type { PacketBuffer, Source } from '../buffer/packet-buffer.js';
import { MAX_DATAGRAM_BYTES, SMALL_CHUNK_BYTES } from '../buffer/constants.js';
import { ReadSlots } from '../buffer/read-slots.js';
import {
  E_ADDRNOTAVAIL,
  E_AGAIN,
  E_INVAL,
  E_IO,
  E_MSGSIZE,
  E_OPNOTSUPP,
  E_NETUNREACH,
  E_NOBUFS,
  FdPoll,
  MAX_BATCH,
  MSG_TRUNC,
  NativeError,
  POLL_READABLE,
  RECV_ADDR_DST,
  RECV_ADDR_STRIDE,
  RECV_META_FAMILY,
  RECV_META_FLAGS,
  RECV_META_GRO_SIZE,
  RECV_META_HAS_DST,
  RECV_META_IFINDEX,
  RECV_META_LENGTH,
  RECV_META_PORT,
  RECV_META_SCOPE,
  RECV_META_STRIDE,
  SlabBatch,
  closeFd,
  openUdpSocket,
  requireNative,
  setSocketBuffers,
  setSocketGro,
  setSocketMark,
  socketLabel,
  socketPort,
  type NativeBinding,
} from '../native/index.js';
import type { Bind, BindHandler, Endpoint } from './bind.js';
import { parseEndpoint } from './endpoint.js';
import { EndpointInterner, LinuxEndpoint, zoneScope } from './linux-endpoint.js';

export { LinuxEndpoint } from './linux-endpoint.js';

/** Datagrams per recvmmsg and per sendmmsg. */
export const LINUX_BIND_BATCH = MAX_BATCH;
/**
 * Bytes asked of the Source per read slot at first: one chunk of the small tier, which holds any
 * datagram of a peer whose MTU is up to ~2000 bytes. The first datagram that arrives truncated (a
 * peer with a jumbo MTU) is dropped and counted, and from then on the socket reads into slots of
 * MAX_DATAGRAM_BYTES, so the next ones fit: small-MTU tunnels keep small slots.
 */
export const RECV_BYTES = SMALL_CHUNK_BYTES;
/**
 * Read slots of a socket with UDP GRO: 8 coalesced datagrams of up to 64 KiB (each up to 45
 * full-size WireGuard messages, so up to ~360 per recvmmsg). Fewer than the 128 plain slots, so a
 * busy socket holds ~0.5 MiB of 68 KiB chunks rather than 8.5 MiB (wireguard-go reads 128 x 64 KiB).
 */
export const GRO_READ_SLOTS = 8;
/** Fewest GRO read slots kept when traffic is light. */
const GRO_MIN_READ_SLOTS = 2;
/** UDP_SEGMENT's limit on segments per send: the kernel's UDP_MAX_SEGMENTS (udp_send_skb: EINVAL past it). */
const GSO_MAX_SEGMENTS = 64;
/**
 * 65507 = 65535 - 20 - 8: the UDP payload one IPv4 packet can carry (a 16-bit total length, a
 * 20-byte header without options, the 8-byte UDP header); a super-datagram must fit one IP packet
 * before the kernel cuts it. IPv6 could carry 65527; one limit for both keeps runs alike.
 */
const GSO_MAX_BYTES = 65535 - 20 - 8;

/**
 * End of the GSO run starting at j: windows of the same size as window j, then at most one shorter
 * one, within the segment and byte limits. j + 1 means no run.
 */
function gsoRunEnd(sizes: Int32Array, j: number, m: number): number {
  const seg = sizes[j]!;
  let k = j + 1;
  let total = seg;
  while (k < m && k - j < GSO_MAX_SEGMENTS && sizes[k] === seg && total + seg <= GSO_MAX_BYTES) {
    total += seg;
    k++;
  }
  if (k < m && k - j < GSO_MAX_SEGMENTS && sizes[k]! < seg && sizes[k]! > 0 && total + sizes[k]! <= GSO_MAX_BYTES) k++;
  return k;
}

/** Where the next GSO run of two or more windows starts at or after j (m: none before the end). */
function gsoRunStart(sizes: Int32Array, j: number, m: number): number {
  let k = j;
  while (k < m && gsoRunEnd(sizes, k, m) - k < 2) k++;
  return k;
}

/** Kernel socket buffers, as wireguard-go's socketBufferSize (7 MiB): bursts at line rate fit. */
const SOCKET_BUFFER_BYTES = 7 << 20;
/** One bound socket and its read state. */
class Socket {
  readonly fd: number;
  readonly family: 4 | 6;
  readonly port: number;
  readonly label: string;
  poll: FdPoll | null;
  readonly slots: ReadSlots;
  starved: boolean;
  /** Size asked for each read slot; grows to MAX_DATAGRAM_BYTES after a truncated read (always that with GRO). */
  slotBytes: number;
  /** The kernel took UDP_GRO: reads may be coalesced. */
  readonly gro: boolean;

  constructor(fd: number, family: 4 | 6, port: number, label: string, gro: boolean) {
    this.fd = fd;
    this.family = family;
    this.port = port;
    this.label = label;
    this.poll = null;
    this.gro = gro;
    this.slots = gro ? new ReadSlots(GRO_READ_SLOTS, GRO_MIN_READ_SLOTS) : new ReadSlots(LINUX_BIND_BATCH);
    this.starved = false;
    this.slotBytes = gro ? MAX_DATAGRAM_BYTES : RECV_BYTES;
  }
}

export interface LinuxBindOptions {
  /** Open the IPv6 socket (default true; IPv4 only when the host has no IPv6). */
  ipv6?: boolean;
  /** Open the IPv4 socket (default true). */
  ipv4?: boolean;
  /** Address to bind the IPv4 socket to (default any). */
  ipv4Address?: string;
  /** Address to bind the IPv6 socket to (default any). */
  ipv6Address?: string;
  /** Read with UDP GRO where the kernel has it (default true; false: one datagram per read slot). */
  gro?: boolean;
  /** Send runs of equal-sized datagrams with UDP_SEGMENT where the kernel takes it (default true). */
  gso?: boolean;
}

export class LinuxBind implements Bind {
  readonly batchSize = LINUX_BIND_BATCH;
  private readonly native: NativeBinding;
  private sock4: Socket | null = null;
  /** Send with UDP_SEGMENT until the kernel refuses it once (unless the options turn it off). */
  private gso: boolean;
  /** Sockets that took UDP_GRO, and reads that came back coalesced. */
  groSockets = 0;
  groReads = 0;
  /** Super-datagrams sent with UDP_SEGMENT. */
  gsoSends = 0;
  /** errno of the last failed send (0: none), for the daemon's SIGUSR1 report. */
  lastSendErrno = 0;
  /** Read-slot size new sockets start with (expectDatagrams). */
  private slotBytes = RECV_BYTES;
  private sock6: Socket | null = null;
  private handler: BindHandler | null = null;
  private source: Source | null = null;
  private paused = false;
  private mark = 0;
  private readonly endpoints = new EndpointInterner();
  private readonly out: PacketBuffer[] = new Array<PacketBuffer>(LINUX_BIND_BATCH);
  private readonly eps: Endpoint[] = new Array<Endpoint>(LINUX_BIND_BATCH);
  private readonly reads = new SlabBatch(LINUX_BIND_BATCH);
  private readonly meta = new Int32Array(LINUX_BIND_BATCH * RECV_META_STRIDE);
  /** Segment size of each datagram handed on (0: a plain one), for GRO reads. */
  private readonly segments = new Int32Array(LINUX_BIND_BATCH);
  private readonly addrs = new Uint8Array(LINUX_BIND_BATCH * RECV_ADDR_STRIDE);
  private readonly writes = new SlabBatch(LINUX_BIND_BATCH);
  private readonly onReady4: (status: number) => void;
  private readonly onReady6: (status: number) => void;
  /** Datagrams not read because the Source had no buffer (counted per starved read). */
  starvedReads = 0;
  /** Received datagrams dropped because they did not fit their buffer (MSG_TRUNC). */
  truncated = 0;
  /** Failed recvmmsg calls (other than EAGAIN). */
  recvErrors = 0;
  /** Datagrams dropped on send: a full socket buffer (EAGAIN, ENOBUFS) or no socket of that family. */
  sendDropped = 0;
  /** Datagrams the kernel refused one by one (EMSGSIZE, EPERM from a firewall, ...). */
  sendErrors = 0;
  /** Sticky sources forgotten because the kernel refused them. */
  srcCleared = 0;

  /** @throws Error when the native shim is not loaded (use StdBind then). */
  constructor(private readonly options: LinuxBindOptions = {}) {
    this.native = requireNative('LinuxBind');
    this.gso = options.gso !== false;
    this.onReady4 = (status) => this.ready(this.sock4, status);
    this.onReady6 = (status) => this.ready(this.sock6, status);
  }

  async open(port: number, handler: BindHandler, source: Source): Promise<number> {
    if (this.handler !== null) throw new Error('bind already open');
    if (!Number.isInteger(port) || port < 0 || port > 65535) throw new RangeError(`port must be 0..65535, got ${port}`);
    const want6 = this.options.ipv6 !== false;
    const want4 = this.options.ipv4 !== false;
    // With port 0 the first socket picks the port and the second must get the same one; retry when
    // another program holds it for the other family.
    for (let attempt = 0; ; attempt++) {
      let s6: Socket | null = null;
      let s4: Socket | null = null;
      try {
        let actual = port;
        if (want6) {
          s6 = this.bindOne(6, this.options.ipv6Address ?? null, actual, want4);
          if (s6 !== null) actual = s6.port;
        }
        if (want4) {
          s4 = this.bindOne(4, this.options.ipv4Address ?? null, actual, false);
          actual = s4!.port;
        }
        this.sock6 = s6;
        this.sock4 = s4;
        this.handler = handler;
        this.source = source;
        if (this.mark !== 0) this.setMark(this.mark);
        this.startPoll(s6, this.onReady6);
        this.startPoll(s4, this.onReady4);
        return actual;
      } catch (err) {
        if (s6 !== null) closeFd(s6.fd);
        if (s4 !== null) closeFd(s4.fd);
        this.sock4 = this.sock6 = null;
        this.handler = null;
        if (port === 0 && attempt < 10 && err instanceof NativeError && err.code === 'EADDRINUSE') continue;
        throw err;
      }
    }
  }

  /** Binds one socket; null (when allowed) where the host has no IPv6. */
  private bindOne(family: 4 | 6, address: string | null, port: number, mayLackFamily: boolean): Socket | null {
    let fd: number;
    try {
      fd = openUdpSocket(family, address, port);
    } catch (err) {
      const code = err instanceof NativeError ? err.code : '';
      if (mayLackFamily && (code === 'EAFNOSUPPORT' || code === 'EADDRNOTAVAIL' || code === 'EPROTONOSUPPORT')) return null;
      throw err;
    }
    try {
      const label = socketLabel(family, address, port);
      const actual = socketPort(fd, label);
      const gro = this.options.gro !== false && setSocketGro(fd, true);
      if (gro) this.groSockets++;
      const sock = new Socket(fd, family, actual, socketLabel(family, address, actual), gro);
      sock.slotBytes = Math.max(sock.slotBytes, this.slotBytes);
      try {
        setSocketBuffers(fd, SOCKET_BUFFER_BYTES, SOCKET_BUFFER_BYTES, sock.label);
      } catch {
        /* the defaults work, only with less room for bursts */
      }
      return sock;
    } catch (err) {
      closeFd(fd);
      throw err;
    }
  }

  private startPoll(sock: Socket | null, cb: (status: number) => void): void {
    if (sock === null) return;
    sock.poll = new FdPoll(sock.fd, cb, sock.label);
    if (!this.paused) sock.poll.start(POLL_READABLE);
  }

  /** The bound ports of each socket (null where that family is not open). */
  get boundPorts(): { v4: number | null; v6: number | null } {
    return { v4: this.sock4?.port ?? null, v6: this.sock6?.port ?? null };
  }

  private ready(sock: Socket | null, status: number): void {
    if (sock === null || this.handler === null) return;
    // An error status stopped the handle; recvmmsg reports (and clears) the socket error, then the
    // handle is restarted.
    if (status < 0) sock.poll!.markStopped();
    this.receive(sock);
    if (status < 0 && !this.paused && !sock.starved && sock.poll !== null) sock.poll.start(POLL_READABLE);
  }

  private receive(sock: Socket): void {
    // Slots smaller than slotBytes (it grew after a truncated read) go back here first.
    const held = sock.slots.fill(this.source!, sock.slotBytes);
    if (held === 0) {
      this.starvedReads++;
      sock.starved = true;
      sock.poll!.stop();
      return;
    }
    const slots = sock.slots.slots;
    const reads = this.reads;
    for (let i = 0; i < held; i++) {
      const buf = slots[i]!;
      reads.set(i, buf.bytes, buf.start, buf.limit - buf.start);
    }
    const meta = this.meta;
    const addrs = this.addrs;
    const n = this.native.recvBatch(sock.fd, reads.slabs, reads.slabIndex, reads.offsets, reads.sizes, held, meta, addrs);
    reads.clear();
    if (n <= 0) {
      if (n < 0 && n !== E_AGAIN) this.recvErrors++;
      return;
    }
    const out = this.out;
    const eps = this.eps;
    let count = 0;
    for (let i = 0; i < n; i++) {
      const buf = slots[i]!;
      const m = i * RECV_META_STRIDE;
      if ((meta[m + RECV_META_FLAGS]! & MSG_TRUNC) !== 0) {
        this.truncated++;
        buf.release();
        sock.slotBytes = MAX_DATAGRAM_BYTES;
        continue;
      }
      const a = i * RECV_ADDR_STRIDE;
      const ep = this.endpoints.get(meta[m + RECV_META_FAMILY]!, addrs, a, meta[m + RECV_META_PORT]!, meta[m + RECV_META_SCOPE]! >>> 0);
      if (meta[m + RECV_META_HAS_DST] !== 0) ep.learnSrc(addrs, a + RECV_ADDR_DST, meta[m + RECV_META_IFINDEX]!);
      buf.end = buf.start + meta[m + RECV_META_LENGTH]!;
      const seg = meta[m + RECV_META_GRO_SIZE]!;
      if (seg > 0 && seg < buf.end - buf.start) this.groReads++;
      this.segments[count] = seg;
      out[count] = buf;
      eps[count] = ep;
      count++;
    }
    sock.slots.taken(n);
    if (count > 0) this.handler!.onDatagrams(out, eps, count, sock.gro ? this.segments : undefined);
  }

  /** Read slots hold datagrams of `bytes` from the next read on (never smaller than RECV_BYTES). */
  expectDatagrams(bytes: number): void {
    this.slotBytes = Math.min(MAX_DATAGRAM_BYTES, Math.max(RECV_BYTES, bytes));
    if (this.sock4 !== null) this.sock4.slotBytes = Math.max(this.sock4.slotBytes, this.slotBytes);
    if (this.sock6 !== null) this.sock6.slotBytes = Math.max(this.sock6.slotBytes, this.slotBytes);
  }

  send(bufs: PacketBuffer[], count: number, endpoint: Endpoint): void {
    const sock = endpoint.family === 4 ? this.sock4 : this.sock6;
    if (sock === null) {
      this.sendDropped += count;
    } else {
      const ep = this.endpoints.intern(endpoint);
      for (let i = 0; i < count; i += LINUX_BIND_BATCH) this.sendChunk(sock, bufs, i, Math.min(LINUX_BIND_BATCH, count - i), ep);
    }
    for (let i = 0; i < count; i++) bufs[i]!.release();
  }

  /** sendmmsg of bufs[base, base + m) to ep, continuing after partial sends. */
  private sendChunk(sock: Socket, bufs: PacketBuffer[], base: number, m: number, ep: LinuxEndpoint): void {
    const w = this.writes;
    for (let j = 0; j < m; j++) {
      const buf = bufs[base + j]!;
      w.set(j, buf.bytes, buf.start, buf.end - buf.start);
    }
    const family = ep.family;
    // The interface index pins the route; only an IPv6 link-local source needs it.
    const v6LinkLocal = family === 6 && ep.srcAddress !== null && ep.srcAddress[0] === 0xfe && (ep.srcAddress[1]! & 0xc0) === 0x80;
    let retried = false;
    /** Windows before this go as plain datagrams: a GSO run the kernel refused for its own sake. */
    let plainUntil = 0;
    let j = 0;
    while (j < m) {
      const src = ep.hasSrc ? ep.srcAddress : null;
      const ifindex = src !== null && v6LinkLocal ? ep.srcIfindex : 0;
      // Scatter-gather GSO (DESIGN.md "Scatter-gather TX"): a run of equal-sized packets (the last
      // may be shorter) leaves as one sendmsg whose iovecs point at each packet in place; windows
      // that start no run go as plain datagrams up to where the next run starts.
      let end = m;
      let segment = 0;
      if (j < plainUntil) {
        end = plainUntil;
      } else if (this.gso) {
        const k = gsoRunEnd(w.sizes, j, m);
        if (k - j >= 2) {
          end = k;
          segment = w.sizes[j]!;
        } else {
          end = gsoRunStart(w.sizes, k, m);
        }
      }
      const r = this.native.sendBatch(sock.fd, w.slabs, w.slabIndex, w.offsets, w.sizes, j, end, family, ep.addressBytes, ep.port, src, ifindex, segment, ep.scopeId);
      if (r > 0) {
        j += r;
        if (segment > 0) this.gsoSends++;
      } else if (src !== null && !retried && (r === E_INVAL || r === E_ADDRNOTAVAIL || r === E_NETUNREACH)) {
        // The sticky source is no longer usable: forget it and let the kernel route (once). Tried
        // before blaming GSO: a stale source fails a GSO send with the same EINVAL as a plain one.
        ep.clearSrc();
        this.srcCleared++;
        retried = true;
      } else if (segment > 0 && (r === E_IO || r === E_OPNOTSUPP)) {
        // udp(7): EIO when the device cannot checksum for UDP_SEGMENT. Plain sendmmsg from now on,
        // as wireguard-go does.
        this.gso = false;
      } else if (segment > 0 && (r === E_MSGSIZE || r === E_INVAL)) {
        // This run alone: segments larger than the path MTU (EMSGSIZE; EINVAL on older kernels).
        // Sent plain, the kernel fragments them as it does any datagram; GSO stays on for the rest.
        plainUntil = end;
      } else if (r === E_AGAIN || r === E_NOBUFS) {
        this.sendDropped += m - j;
        break;
      } else {
        this.sendErrors++;
        this.lastSendErrno = -r;
        j += segment > 0 ? end - j : 1;
      }
    }
    w.clear();
  }

  /** As Bind says; a zone must name an interface of ours (or be an index). */
  parseEndpoint(text: string): Endpoint {
    const ep = parseEndpoint(text);
    const zone = ep.zone;
    return this.endpoints.get(ep.family, ep.addressBytes, 0, ep.port, zone === '' ? 0 : zoneScope(zone), zone);
  }

  /**
   * SO_MARK on both sockets (and on sockets opened later). True when every open socket took it;
   * false without CAP_NET_ADMIN (EPERM).
   */
  setMark(mark: number): boolean {
    this.mark = mark >>> 0;
    let ok = true;
    for (const sock of [this.sock4, this.sock6]) {
      if (sock === null) continue;
      try {
        setSocketMark(sock.fd, this.mark, sock.label);
      } catch {
        ok = false;
      }
    }
    return ok;
  }

  pause(): void {
    this.paused = true;
    this.sock4?.poll?.stop();
    this.sock6?.poll?.stop();
  }

  resume(): void {
    this.paused = false;
    for (const sock of [this.sock4, this.sock6]) {
      if (sock === null || sock.poll === null) continue;
      sock.starved = false;
      sock.poll.start(POLL_READABLE);
    }
  }

  async close(): Promise<void> {
    this.handler = null;
    this.source = null;
    for (const sock of [this.sock4, this.sock6]) {
      if (sock === null) continue;
      sock.poll?.close();
      sock.poll = null;
      closeFd(sock.fd);
      sock.slots.release(0);
    }
    this.sock4 = this.sock6 = null;
  }
}
