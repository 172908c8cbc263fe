/**
 * The kernel TUN on Linux (Documentation/networking/tuntap.rst): /dev/net/tun with IFF_TUN |
 * IFF_NO_PI, one queue, read and written in batches through the native shim, as wireguard-go's
 * tun_linux.go does with its own fd.
 *
 * - Reading: a uv_poll on the fd; when readable, one readBatch of up to LINUX_TUN_BATCH packets into
 *   buffers this reader took from its Source (allocation at the edge: only it knows the MTU), held
 *   between reads as buffer/read-slots.ts describes, so an idle TUN pins few buffers. A Source that
 *   returns null stops reading until resume() (backpressure).
 * - Writing: one writeBatch per call, then every buffer is released. A full kernel queue (EAGAIN)
 *   drops the rest and counts it: a TUN write queue would only add latency to what TCP re-sends.
 * - Events: 'up'/'down' on IFF_UP changes, 'mtu' on MTU changes, heard at once on a netlink socket
 *   subscribed to link changes, and checked every WATCH_INTERVAL_MS besides (an unref'd timer).
 *   'closed' when the interface is deleted, which the fd tells at once (EPOLLERR, then EBADFD from
 *   read or TUNGETIFF). An interface moved to another network namespace (`ip link set dev X netns
 *   NS`, WireGuard's namespace trick) keeps its fd working; its state is read, and its link changes
 *   heard, in the namespace it is in now (TUNGETDEVNETNS): the move itself is a link change where it
 *   was, and the netlink socket, which hears every namespace ours has an id for, is made to hear the
 *   new one (an id holds no reference: a deleted namespace still goes, and the interface with it), so
 *   `ip link set up` there brings the device up here at once. A packet read while the link was thought down proves it up (the kernel
 *   hands a TUN nothing while it is down): the state is read again before the packet is handed on.
 *   Where the kernel or our privileges cannot reach into that namespace, a moved interface keeps
 *   reading and writing but reports no link state until it comes back.
 * - Offloads (option `offload`): IFF_VNET_HDR and TUNSETOFFLOAD as wireguard-go; reads split TSO
 *   super-packets, writes coalesce TCP runs (offload-linux.ts, with the measurements). Off unless
 *   asked for; the daemon asks (WGTS_TUN_OFFLOAD=0 says no). `offloadActive` says whether the kernel
 *   took them.
 */
import type { PacketBuffer, Source } from '../buffer/packet-buffer.js';
import { HEADROOM_BYTES, TAILROOM_BYTES } from '../buffer/constants.js';
import {
  E_ACCES,
  E_AGAIN,
  E_BADF,
  E_BADFD,
  E_BUSY,
  E_INVAL,
  E_IO,
  E_NODEV,
  E_NOENT,
  E_NOTTY,
  E_NXIO,
  E_PERM,
  FdPoll,
  IFF_NO_PI,
  IFF_TUN,
  IFF_UP,
  IFF_VNET_HDR,
  MAX_BATCH,
  NativeError,
  POLL_READABLE,
  SlabBatch,
  closeFd,
  interfaceControl,
  interfaceFlags,
  interfaceIndex,
  interfaceMtu,
  openTunQueue,
  requireNative,
  setInterfaceMtu,
  setNonblock,
  tunInfo,
  type InterfaceControl,
  type NativeBinding,
} from '../native/index.js';
import { Arena } from '../buffer/arena.js';
import { ReadSlots } from '../buffer/read-slots.js';
import { DEFAULT_MTU, type Tun, type TunEvent, type TunHandler } from './tun.js';
import { VNET_SUPPORTED, VnetPath, adoptVnetQueue, openVnetQueue, writeCounted, type VnetCounters } from './offload-linux.js';

/** Packets read per readiness callback, and the largest write batch per native call. */
export const LINUX_TUN_BATCH = MAX_BATCH;
/** How often link state and MTU are checked. wireguard-go listens on netlink; a 1 s poll is enough. */
const WATCH_INTERVAL_MS = 1000;

/** Opening or adopting a TUN failed; the message says what to do. */
export class TunOpenError extends Error {
  /** Positive errno (0 when the failure was not a syscall's). */
  readonly errno: number;
  /** "EPERM", "ENOENT", "EBUSY", ... */
  readonly code: string;
  readonly interfaceName: string;

  constructor(message: string, interfaceName: string, cause: NativeError | null) {
    super(message, cause === null ? undefined : { cause });
    this.name = 'TunOpenError';
    this.errno = cause?.errno ?? 0;
    this.code = cause?.code ?? 'EINVAL';
    this.interfaceName = interfaceName;
  }
}

function openError(err: unknown, name: string): Error {
  if (!(err instanceof NativeError)) return err as Error;
  const r = -err.errno;
  let why: string;
  if (r === E_PERM || r === E_ACCES) why = 'need CAP_NET_ADMIN (run as root)';
  else if (r === E_NOENT || r === E_NODEV || r === E_NXIO) why = '/dev/net/tun is missing (load the tun module: modprobe tun)';
  else if (r === E_BUSY) why = `interface ${name} already exists and is busy (another process has it open)`;
  else if (r === E_INVAL && err.syscall === 'ioctl(TUNSETIFF)' && interfaceIndex(name) > 0) {
    why = `interface ${name} already exists and is not a TUN device`;
  } else why = err.message;
  return new TunOpenError(`cannot open TUN ${name}: ${why}`, name, err);
}

export interface LinuxTunOptions {
  /** MTU to set on the interface (default DEFAULT_MTU of tun.ts, 1420). */
  mtu?: number;
  /** TSO on read and GRO on write through IFF_VNET_HDR (default false); see `offloadActive`. */
  offload?: boolean;
}

export class LinuxTun implements Tun, VnetCounters {
  private readonly native: NativeBinding;
  private readonly fd: number;
  private ifname: string;
  private readonly ifindex: number;
  private mtuValue: number;
  private isUp: boolean;
  /** The interface is in another network namespace than this process (its fd still works). */
  private moved: boolean;
  /** Moved where its state cannot be read (old kernel, no privilege there). */
  private blind: boolean;
  private closed: boolean;
  private paused: boolean;
  /** Reading stopped because the Source had nothing; resume() restarts it. */
  private starved: boolean;
  private handler: TunHandler | null;
  private source: Source | null;
  private poll: FdPoll | null;
  private timer: ReturnType<typeof setInterval> | null;
  /** Netlink link-change notifications: refresh() at once instead of at the next tick. */
  private linkFd = -1;
  private linkPoll: FdPoll | null = null;
  /** The interface's namespace when last looked (tunNetnsId; negative: the kernel cannot say). */
  private netnsId = 0;
  /** Buffers taken from the Source for the next read (the plain path; the vnet path has its own). */
  private readonly slots: ReadSlots;
  private readonly out: PacketBuffer[];
  private readonly reads: SlabBatch;
  private readonly lengths: Int32Array;
  private readonly writes: SlabBatch;
  private readonly onReady: (status: number, events: number) => void;
  /** Packets dropped on write because the kernel queue was full or the interface was gone. */
  writeDropped = 0;
  /** Packets the kernel refused on write (malformed: EINVAL), and reads that failed. */
  writeErrors = 0;
  readErrors = 0;
  /** Offload counters (VnetCounters says what each counts); zero without offloads. */
  readDropped = 0;
  tsoSuperPackets = 0; tsoSegments = 0;
  groSuperPackets = 0; groPackets = 0;
  /** TSO reads and GRO writes are on: asked for, and the kernel took the offload flags. */
  readonly offloadActive: boolean;
  /** The queue speaks virtio_net_hdr: reads are split, writes coalesced (null: the plain path). */
  private readonly vnet: VnetPath | null;

  private constructor(fd: number, name: string, ifindex: number, mtu: number, vnetHdr = false, offloadFlags = 0) {
    this.native = requireNative('a kernel TUN');
    this.fd = fd;
    this.ifname = name;
    this.ifindex = ifindex;
    this.mtuValue = mtu;
    this.isUp = false;
    this.moved = false;
    this.blind = false;
    this.closed = false;
    this.paused = false;
    this.starved = false;
    this.handler = null;
    this.source = null;
    this.poll = null;
    this.timer = null;
    this.slots = new ReadSlots(LINUX_TUN_BATCH);
    this.out = new Array<PacketBuffer>(LINUX_TUN_BATCH);
    this.reads = new SlabBatch(LINUX_TUN_BATCH);
    this.lengths = new Int32Array(LINUX_TUN_BATCH);
    this.writes = new SlabBatch(LINUX_TUN_BATCH);
    this.onReady = (status) => this.ready(status);
    this.offloadActive = offloadFlags !== 0;
    this.vnet = vnetHdr ? new VnetPath(this.native, fd, LINUX_TUN_BATCH, offloadFlags !== 0, new Arena(), () => !this.closed) : null;
  }

  /**
   * Creates (or attaches to a free persistent) TUN interface `name` and sets its MTU. Does not
   * bring it up: wg-quick does `ip link set up`.
   * @throws TunOpenError saying what to do (run as root, load tun, pick another name).
   */
  static create(name: string, options?: LinuxTunOptions): LinuxTun {
    const mtu = options?.mtu ?? DEFAULT_MTU;
    let q;
    let flags = 0;
    try {
      if (options?.offload === true && VNET_SUPPORTED) ({ queue: q, flags } = openVnetQueue(name));
      else q = openTunQueue(name, false);
    } catch (err) {
      throw openError(err, name);
    }
    try {
      setInterfaceMtu(q.name, mtu);
      return new LinuxTun(q.fd, q.name, interfaceIndex(q.name), mtu, flags !== 0, flags);
    } catch (err) {
      closeFd(q.fd);
      throw err instanceof NativeError ? new TunOpenError(`cannot set up TUN ${q.name}: ${err.message}`, q.name, err) : err;
    }
  }

  /**
   * Adopts a TUN fd opened by someone else (WG_TUN_FD): makes it nonblocking and takes the
   * interface's name from the kernel (TUNGETIFF), which wins over `name` if they differ. An
   * IFF_VNET_HDR queue gets virtio headers, and offloads with `options.offload`.
   * @throws TunOpenError when fd is not an IFF_TUN | IFF_NO_PI queue of a live interface.
   */
  static fromFd(fd: number, name?: string, options?: Pick<LinuxTunOptions, 'offload'>): LinuxTun {
    const label = name ?? `fd ${fd}`;
    if (!Number.isInteger(fd) || fd < 0) throw new TunOpenError(`cannot adopt TUN ${label}: fd must be a non-negative integer, got ${fd}`, label, null);
    try {
      setNonblock(fd, label);
      const info = tunInfo(fd, label);
      if (info === null) throw new TunOpenError(`cannot adopt TUN ${label}: its interface was deleted`, label, new NativeError(E_BADFD, 'ioctl(TUNGETIFF)', label));
      if ((info.flags & (IFF_TUN | IFF_NO_PI)) !== (IFF_TUN | IFF_NO_PI)) {
        throw new TunOpenError(`cannot adopt TUN ${info.name}: fd ${fd} must be IFF_TUN | IFF_NO_PI (flags 0x${info.flags.toString(16)})`, info.name, null);
      }
      const vnetHdr = (info.flags & IFF_VNET_HDR) !== 0;
      const flags = vnetHdr ? adoptVnetQueue(fd, info.name, options?.offload === true) : 0;
      // The fd may belong to an interface in another namespace already: read its MTU there.
      const ctl = interfaceControl(fd);
      try {
        return new LinuxTun(fd, info.name, interfaceIndex(info.name), interfaceMtu(info.name, ctl === null ? -1 : ctl.fd), vnetHdr, flags);
      } finally {
        if (ctl !== null) closeFd(ctl.fd);
      }
    } catch (err) {
      if (!(err instanceof NativeError)) throw err;
      const r = -err.errno;
      const why = r === E_BADF ? 'not an open fd' : r === E_INVAL || r === E_NOTTY ? 'not a TUN fd' : err.message;
      throw new TunOpenError(`cannot adopt TUN ${label}: fd ${fd} is ${why}`, label, err);
    }
  }

  /** The interface's name (follows renames). */
  get name(): string {
    return this.ifname;
  }

  /** The MTU as last seen (set here, or read by the 1 s check). */
  mtu(): number {
    return this.mtuValue;
  }

  /**
   * Sets the interface MTU, in whatever namespace the interface is in.
   * @throws RangeError (68..65535); NativeError (EPERM without root).
   */
  setMtu(mtu: number): void {
    const ctl = this.closed ? null : interfaceControl(this.fd);
    try {
      setInterfaceMtu(this.ifname, mtu, ctl === null ? -1 : ctl.fd);
    } finally {
      if (ctl !== null) closeFd(ctl.fd);
    }
    this.mtuChanged(mtu);
  }

  open(handler: TunHandler, source: Source): void {
    if (this.closed) throw new Error(`TUN ${this.ifname} is closed`);
    if (this.handler !== null) throw new Error(`TUN ${this.ifname} is already open`);
    this.handler = handler;
    this.source = source;
    this.poll = new FdPoll(this.fd, this.onReady, `tun ${this.ifname}`);
    this.poll.start(POLL_READABLE);
    this.timer = setInterval(() => this.refresh(), WATCH_INTERVAL_MS);
    this.timer.unref();
    this.watchLinks();
    this.refresh();
  }

  /**
   * Subscribe to link changes, so `ip link set up` reaches the device at once (wireguard-go reacts to
   * its TUN events immediately): in our namespace, and in the one the interface was moved to once
   * refresh() has seen it there and given it an id in ours (followNamespace). The 1 s timer stays as
   * the fallback (no netlink, or no right to do that).
   */
  private watchLinks(): void {
    const fd = this.native.linkWatch();
    if (fd < 0) return; // no netlink (sandboxed): the timer alone
    this.linkFd = fd;
    this.linkPoll = new FdPoll(
      fd,
      (status) => {
        if (this.closed) return;
        if (this.native.linkDrain(fd) < 0 || status < 0) this.linkPoll?.markStopped();
        this.refresh();
      },
      `netlink watch for ${this.ifname}`,
    );
    this.linkPoll.ref(false);
    this.linkPoll.start(POLL_READABLE);
  }

  private unwatchLinks(): void {
    this.linkPoll?.close();
    this.linkPoll = null;
    if (this.linkFd >= 0) closeFd(this.linkFd);
    this.linkFd = -1;
  }

  /**
   * The interface moved (its leaving was a link change here, or the timer saw it): let the watch hear
   * the namespace it is in now. Done before its state is read, so no change made there after this
   * read goes unheard.
   */
  private followNamespace(): void {
    const ns = this.native.tunNetnsId(this.fd);
    if (ns === this.netnsId) return;
    this.netnsId = ns;
    if (ns >= 0 && this.linkFd >= 0) this.native.linkWatchFollow(this.fd);
  }

  private ready(status: number): void {
    if (this.closed) return;
    if (status < 0) {
      // EPOLLERR: libuv stopped watching. On a TUN that means the interface is gone; TUNGETIFF says.
      this.poll!.markStopped();
      let info;
      try {
        info = tunInfo(this.fd, this.ifname);
      } catch {
        info = null;
      }
      if (info === null) this.gone();
      else if (!this.paused && !this.starved) this.poll!.start(POLL_READABLE);
      return;
    }
    this.readBatch();
  }

  /** Reads one batch into the held slots (topping them up first) and hands it to the handler. */
  private readBatch(): void {
    // Readable while thought down: the link came up and the event is not in yet (a move, a missed
    // message). Read the state first, so 'up' reaches the device before the packets do (not where
    // it cannot be read: that would cost every batch the syscalls for nothing).
    if (!this.isUp && !this.blind) {
      this.refresh();
      if (this.closed) return;
    }
    const vnet = this.vnet;
    if (vnet !== null) {
      // Read, split, hand on (offload-linux.ts); the outcomes are those of the plain read below.
      const n = vnet.read(this.source!, this.handler!, this);
      if (n === E_BADFD || n === E_IO) this.gone();
      else if (n < 0 && n !== E_AGAIN) this.readErrors++;
      else if (vnet.starved && !this.closed) {
        this.starved = true;
        this.poll!.stop();
      }
      return;
    }
    // Room for an MTU-sized packet with the header in front and padding + tag behind (sealed in place).
    const held = this.slots.fill(this.source!, HEADROOM_BYTES + this.mtuValue + TAILROOM_BYTES);
    if (held === 0) {
      this.starved = true;
      this.poll!.stop();
      return;
    }
    const slots = this.slots.slots;
    const reads = this.reads;
    for (let i = 0; i < held; i++) {
      const buf = slots[i]!;
      reads.set(i, buf.bytes, buf.start, buf.limit - buf.start - TAILROOM_BYTES);
    }
    const n = this.native.readBatch(this.fd, reads.slabs, reads.slabIndex, reads.offsets, reads.sizes, this.lengths, held);
    reads.clear();
    if (n <= 0) {
      if (n === E_BADFD || n === E_IO) this.gone();
      else if (n < 0 && n !== E_AGAIN) this.readErrors++;
      return;
    }
    const out = this.out;
    const lengths = this.lengths;
    for (let i = 0; i < n; i++) {
      const buf = slots[i]!;
      buf.end = buf.start + lengths[i]!;
      out[i] = buf;
    }
    this.slots.taken(n);
    this.handler!.onPackets(out, n);
  }

  write(bufs: PacketBuffer[], count: number): void {
    let i = 0;
    if (!this.closed && this.vnet !== null) {
      this.vnet.write(bufs, count, this);
    } else if (!this.closed) {
      const writes = this.writes;
      while (i < count) {
        const m = Math.min(LINUX_TUN_BATCH, count - i);
        for (let j = 0; j < m; j++) {
          const buf = bufs[i + j]!;
          writes.set(j, buf.bytes, buf.start, buf.end - buf.start);
        }
        writeCounted(this.native, this.fd, writes, m, null, this);
        i += m;
      }
    }
    for (let k = 0; k < count; k++) bufs[k]!.release();
  }

  pause(): void {
    this.paused = true;
    this.poll?.stop();
  }

  resume(): void {
    this.paused = false;
    this.starved = false;
    if (!this.closed && this.poll !== null) this.poll.start(POLL_READABLE);
  }

  /** Stops reading, closes the fd and releases held buffers. Later writes release and drop. */
  close(): void {
    if (this.closed) return;
    this.shutdown();
    this.handler?.onEvent('closed');
  }

  private shutdown(): void {
    this.closed = true;
    if (this.timer !== null) clearInterval(this.timer);
    this.timer = null;
    this.poll?.close();
    this.poll = null;
    this.unwatchLinks();
    closeFd(this.fd);
    this.slots.release(0);
  }

  /** The interface was deleted: the fd is dead for good. */
  private gone(): void {
    if (this.closed) return;
    this.close();
  }

  /**
   * Checks the interface now (the timer does so every second): deletion, rename, IFF_UP and the
   * MTU, in whatever network namespace the interface is in. Never throws; a failed check is retried
   * at the next tick.
   */
  refresh(): void {
    if (this.closed) return;
    let ctl: InterfaceControl | null = null;
    try {
      const info = tunInfo(this.fd, this.ifname);
      if (info === null) {
        this.gone();
        return;
      }
      this.ifname = info.name; // the kernel's name follows renames
      this.followNamespace();
      ctl = interfaceControl(this.fd);
      if (ctl !== null) {
        this.moved = ctl.otherNamespace;
        this.blind = false;
      } else {
        // No view into other namespaces (old kernel, no privilege): by name in ours, while it is here.
        this.moved = interfaceIndex(this.ifname) !== this.ifindex;
        this.blind = this.moved;
        if (this.moved) return;
      }
      const c = ctl === null ? -1 : ctl.fd;
      this.linkChanged((interfaceFlags(this.ifname, c) & IFF_UP) !== 0);
      this.mtuChanged(interfaceMtu(this.ifname, c));
    } catch {
      /* the interface changed under us between two ioctls: the next tick sees the new state */
    } finally {
      if (ctl !== null) closeFd(ctl.fd);
    }
  }

  /** True while the interface is in another network namespace (its fd still works). */
  get inOtherNamespace(): boolean {
    return this.moved;
  }

  private linkChanged(up: boolean): void {
    if (up === this.isUp) return;
    this.isUp = up;
    this.emit(up ? 'up' : 'down');
  }

  private mtuChanged(mtu: number): void {
    if (mtu === this.mtuValue) return;
    this.mtuValue = mtu; // held read slots too small for it go back at the next read
    this.emit('mtu');
  }

  private emit(event: TunEvent): void {
    if (!this.closed) this.handler?.onEvent(event);
  }
}
