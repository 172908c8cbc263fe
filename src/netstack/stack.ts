/**
 * NetStack: a Tun whose other side is a TCP/IP stack in this process (DESIGN.md "The netstack"). The
 * device writes decrypted IP packets into it and takes the packets it sends, PacketBuffers both ways,
 * as with any Tun (tun/tun.ts); inside, the IP layer hands segments to transports (transport.ts).
 *
 * Inbound, per packet (write): validate the IPv4 or IPv6 header (ipv4.ts, ipv6.ts), reassemble
 * fragments (reassembly.ts), verify the TCP/UDP checksum, then ICMP (icmp.ts) or the transport
 * registered for the protocol; a protocol nobody handles is answered with ICMP. Every drop is counted
 * (counters.ts), none throws.
 *
 * Outbound: a transport takes a buffer from alloc() with room for the IP and WireGuard headers in front
 * and the WireGuard padding and tag behind, writes its segment, and send() prepends the IP header. A
 * datagram past the path MTU is fragmented (fragment.ts) unless it is TCP. Packets gather into one batch
 * handed to the device per event-loop turn, or at once when the batch fills (as MemoryTun does).
 * Packets to one of our own addresses loop back into the inbound path on the next turn.
 *
 * Backpressure: while the device has paused the stack, or after the pool refused a buffer, alloc()
 * returns null; on resume() every transport hears onWritable().
 *
 * Not for concurrent use: one event loop owns a stack.
 */
import { DEFAULT_MTU } from '../tun/tun.js';
import { systemClock, type Clock } from '../base/clock.js';
import { silentLogger, type Logger } from '../base/logger.js';
import { TAILROOM_BYTES } from '../buffer/constants.js';
import { HEADROOM_BYTES, type PacketBuffer, type Source } from '../buffer/packet-buffer.js';
import { checksum, pseudoHeaderSumOf } from '../net/checksum.js';
import { parseIp } from '../net/address.js';
import type { Tun, TunHandler } from '../tun/tun.js';
import { LocalAddresses } from './addresses.js';
import { NetStackCounters } from './counters.js';
import { Fragmenter } from './fragment.js';
import { Icmp } from './icmp.js';
import { IPV4_DF, IPV4_HEADER_BYTES, parseIpv4, writeIpv4Header } from './ipv4.js';
import { IPV6_HEADER_BYTES, NH_NONE, parseIpv6, walkIpv6Extensions, writeIpv6Header } from './ipv6.js';
import { PathMtu } from './path-mtu.js';
import { Pinger, type PingOptions } from './ping.js';
import { Reassembler } from './reassembly.js';
import { RxInfo } from './rx-info.js';
import { IPPROTO_ICMP, IPPROTO_ICMPV6, IPPROTO_TCP, IPPROTO_UDP, type IpFamily, type IpOutput, type Transport } from './transport.js';
import { UdpTransport } from './udp.js';
import { UdpSocket, type UdpSocketOptions, type UdpSocketType } from './udp-socket.js';

/** Packets handed to the device in one batch (as MemoryTun's). */
export const NETSTACK_BATCH = 64;
/** Packets to ourselves waiting for the next turn; past this they are dropped. */
export const LOOPBACK_QUEUE = 256;
/** Default hop limit of what we send (Linux's ip_default_ttl and IPv6 hop_limit). */
export const DEFAULT_TTL = 64;
/** Smallest MTU accepted: IPv4's minimum reassembly buffer (RFC 791 §3.1); IPv6 needs 1280 (checked). */
export const NETSTACK_MIN_MTU = 576;
export const NETSTACK_MAX_MTU = 65535;

export interface NetStackOptions {
  /** The interface addresses, as wg-quick's `Address =` lists them: "10.0.0.2/24", "fd00::2/64". */
  addresses: readonly string[];
  /** Tunnel MTU (default 1420). */
  mtu?: number;
  /** Injected time (tests step a FakeClock); defaults to the system clock. */
  clock?: Clock;
  logger?: Logger;
  /** A label for logs (default "netstack"). */
  name?: string;
  /** Hop limit of what the stack sends (default 64). */
  ttl?: number;
  /**
   * Every packet written in was authenticated on its way (a WireGuard device writes only what
   * opened under its AEAD, paper §5.4.6): skip the TCP and UDP checksums, as the kernel's driver
   * marks such packets CHECKSUM_UNNECESSARY. Lengths are still checked. Default false.
   */
  trustChecksums?: boolean;
}

export class NetStack implements Tun, IpOutput {
  readonly name: string;
  readonly clock: Clock;
  readonly counters = new NetStackCounters();
  readonly pathMtu: PathMtu;
  readonly addresses: LocalAddresses;
  /** The UDP transport: sockets are udp-socket.ts over it. */
  readonly udp: UdpTransport;
  private readonly log: Logger;
  private readonly mtuValue: number;
  private readonly ttl: number;
  private readonly trustChecksums: boolean;
  private readonly rx = new RxInfo();
  private readonly icmp: Icmp;
  private readonly pinger: Pinger;
  private readonly reassembler: Reassembler;
  private readonly fragmenter: Fragmenter;
  private readonly transports: (Transport | null)[] = new Array<Transport | null>(256).fill(null);
  private readonly registered: Transport[] = [];
  private handler: TunHandler | null = null;
  private source: Source | null = null;
  private readonly pending: PacketBuffer[] = new Array<PacketBuffer>(NETSTACK_BATCH);
  private pendingCount = 0;
  /** Looped-back packets; the spare takes new ones while a turn works through the others. */
  private loop: PacketBuffer[] = new Array<PacketBuffer>(LOOPBACK_QUEUE);
  private loopSpare: PacketBuffer[] = new Array<PacketBuffer>(LOOPBACK_QUEUE);
  private loopCount = 0;
  private scheduled = false;
  private paused = false;
  private wantWritable = false;
  private closed = false;
  private ipv4Id: number;
  private ipv6Id: number;
  private readonly turnFn: () => void;

  /** @throws RangeError for a bad address or MTU, naming it */
  constructor(options: NetStackOptions) {
    this.addresses = new LocalAddresses(options.addresses);
    const mtu = options.mtu ?? DEFAULT_MTU;
    const min = this.addresses.has(6) ? 1280 : NETSTACK_MIN_MTU;
    if (!Number.isInteger(mtu) || mtu < min || mtu > NETSTACK_MAX_MTU) {
      throw new RangeError(`NetStack: mtu must be an integer in ${min}..${NETSTACK_MAX_MTU}, got ${mtu}`);
    }
    const ttl = options.ttl ?? DEFAULT_TTL;
    if (!Number.isInteger(ttl) || ttl < 1 || ttl > 255) throw new RangeError(`NetStack: ttl must be 1..255, got ${ttl}`);
    this.name = options.name ?? 'netstack';
    this.clock = options.clock ?? systemClock;
    this.log = options.logger ?? silentLogger;
    this.mtuValue = mtu;
    this.ttl = ttl;
    this.trustChecksums = options.trustChecksums ?? false;
    this.pathMtu = new PathMtu(this.clock);
    this.icmp = new Icmp(this, this.rx);
    this.pinger = new Pinger(this);
    this.icmp.pinger = this.pinger;
    this.reassembler = new Reassembler(this);
    this.fragmenter = new Fragmenter(this);
    // Identification starts at random so a restarted stack does not repeat the last one's (RFC 6864).
    this.ipv4Id = (Math.random() * 0x10000) | 0;
    this.ipv6Id = (Math.random() * 0x100000000) >>> 0;
    this.turnFn = () => {
      this.scheduled = false;
      this.runTurn();
    };
    this.udp = new UdpTransport(this, this.icmp, this.counters);
    this.register(this.udp);
  }

  /**
   * Add a transport (TCP, say) for its protocol number.
   * @throws Error if the protocol has one already or is ICMP's (the stack's own)
   */
  register(t: Transport): void {
    const p = t.protocol;
    if (p === IPPROTO_ICMP || p === IPPROTO_ICMPV6 || this.transports[p] !== null) {
      throw new Error(`NetStack: protocol ${p} already has a handler`);
    }
    this.transports[p] = t;
    this.registered.push(t);
  }

  /** A dgram-like UDP socket on this stack. */
  createUdpSocket(options: UdpSocketType | UdpSocketOptions): UdpSocket {
    const opts = typeof options === 'string' ? { type: options } : options;
    return new UdpSocket(this.udp, (family) => this.addresses.first(family), opts);
  }

  /**
   * One ICMP/ICMPv6 echo request to `address` (an IP literal or its 4/16 bytes); resolves with the
   * round trip in ms (ping.ts has the errors).
   * @throws TypeError for text that is not an IP address
   */
  ping(address: string | Uint8Array, options?: PingOptions): Promise<number> {
    const dst = typeof address === 'string' ? parseIp(address) : address;
    if (dst === null || (dst.length !== 4 && dst.length !== 16)) throw new TypeError(`ping: not an IP address: ${String(address)}`);
    return this.pinger.ping(dst, options);
  }

  /** Echo requests waiting for their reply. */
  get pingsOutstanding(): number {
    return this.pinger.outstanding;
  }

  // ---- Tun ----

  mtu(): number {
    return this.mtuValue;
  }

  open(handler: TunHandler, source: Source): void {
    if (this.handler !== null) throw new Error(`NetStack ${this.name} is already open`);
    this.handler = handler;
    this.source = source;
    handler.onEvent('up');
  }

  write(bufs: PacketBuffer[], count: number): void {
    const c = this.counters;
    for (let i = 0; i < count; i++) {
      const buf = bufs[i]!;
      if (this.closed) {
        c.closed++;
        buf.release();
        continue;
      }
      c.rxPackets++;
      c.rxBytes += buf.end - buf.start;
      this.input(buf, false);
    }
  }

  pause(): void {
    this.paused = true;
  }

  resume(): void {
    this.paused = false;
    if (!this.wantWritable || this.closed) return;
    this.wantWritable = false;
    for (let i = 0; i < this.registered.length; i++) this.registered[i]!.onWritable();
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    for (let i = 0; i < this.registered.length; i++) this.registered[i]!.close();
    this.pinger.close();
    this.reassembler.close();
    for (let i = 0; i < this.loopCount; i++) this.loop[i]!.release();
    this.loopCount = 0;
    this.flush(); // what transports sent while closing (resets) still reaches the device
    this.log.verbose?.(`netstack ${this.name}: closed`);
    this.handler?.onEvent('closed');
  }

  get isClosed(): boolean {
    return this.closed;
  }

  // ---- IpOutput ----

  maxTransportBytes(family: IpFamily, dst: Uint8Array): number {
    return this.pathMtu.get(family, dst, this.mtuValue) - (family === 4 ? IPV4_HEADER_BYTES : IPV6_HEADER_BYTES);
  }

  alloc(family: IpFamily, transportBytes: number): PacketBuffer | null {
    const source = this.source;
    if (this.closed || source === null) return null;
    if (this.paused) {
      this.wantWritable = true;
      this.counters.noBuffer++;
      return null;
    }
    const header = family === 4 ? IPV4_HEADER_BYTES : IPV6_HEADER_BYTES;
    const buf = source.get(HEADROOM_BYTES + header + transportBytes + TAILROOM_BYTES);
    if (buf === null) {
      this.wantWritable = true;
      this.counters.noBuffer++;
      return null;
    }
    buf.start += header;
    buf.end = buf.start;
    return buf;
  }

  send(buf: PacketBuffer, family: IpFamily, src: Uint8Array, dst: Uint8Array, protocol: number, ttl: number): boolean {
    const c = this.counters;
    if (this.closed || this.source === null) {
      c.closed++;
      buf.release();
      return false;
    }
    const header = family === 4 ? IPV4_HEADER_BYTES : IPV6_HEADER_BYTES;
    const len = buf.end - buf.start;
    const hops = ttl > 0 ? ttl : this.ttl;
    const toSelf = this.addresses.isLocal(dst);
    const mtu = toSelf ? this.mtuValue : this.pathMtu.get(family, dst, this.mtuValue);
    if (header + len > mtu && !toSelf) {
      if (protocol === IPPROTO_TCP) {
        c.cannotSend++;
        buf.release();
        return false;
      }
      return this.fragmenter.fragment(this.source, buf, family, src, dst, protocol, hops, this.nextId(family), mtu);
    }
    if (buf.start - buf.base < header) {
      c.cannotSend++; // not a buffer from alloc(): no room for the header
      buf.release();
      return false;
    }
    buf.start -= header;
    if (family === 4) {
      const frag = protocol === IPPROTO_TCP ? IPV4_DF : 0;
      writeIpv4Header(buf.bytes, buf.start, header + len, this.nextId(4), frag, hops, protocol, 0, src, dst);
    } else {
      writeIpv6Header(buf.bytes, buf.start, len, protocol, hops, 0, src, dst);
    }
    if (toSelf) return this.loopBack(buf);
    this.enqueue(buf);
    return true;
  }

  isLocal(address: Uint8Array): boolean {
    return this.addresses.isLocal(address);
  }

  sourceFor(family: IpFamily, dst: Uint8Array): Uint8Array | null {
    return this.addresses.sourceFor(family, dst);
  }

  // ---- for ICMP, reassembly and fragmentation ----

  transport(protocol: number): Transport | null {
    return this.transports[protocol] ?? null;
  }

  bufferSource(): Source | null {
    return this.source;
  }

  reassemblyTimedOut(family: IpFamily, buf: PacketBuffer, headerAt: number, protocol: number): void {
    this.icmp.reassemblyTimedOut(family, buf, headerAt, protocol);
  }

  /** Queue one finished IP packet for the device. */
  enqueue(buf: PacketBuffer): void {
    const c = this.counters;
    c.txPackets++;
    c.txBytes += buf.end - buf.start;
    this.pending[this.pendingCount++] = buf;
    if (this.pendingCount === NETSTACK_BATCH) this.flush();
    else this.schedule();
  }

  // ---- inbound ----

  /** One IP packet, ours from here. `fromSelf`: looped back, so our own source address is fine. */
  private input(buf: PacketBuffer, fromSelf: boolean): void {
    const b = buf.bytes;
    const s = buf.start;
    const e = buf.end;
    const rx = this.rx;
    const version = e > s ? b[s]! >>> 4 : 0;
    let ok = false;
    if (version === 4) ok = parseIpv4(b, s, e, rx, this.addresses, this.counters, fromSelf);
    else if (version === 6) ok = parseIpv6(b, s, e, rx, this.addresses, this.counters, fromSelf);
    else this.counters.badVersion++;
    if (!ok) {
      buf.release();
      return;
    }
    if (!rx.fragment) {
      this.deliver(buf, rx);
      return;
    }
    const whole = this.reassembler.add(buf, rx);
    if (whole === null) return;
    // The reassembled IPv6 payload may open with more extension headers (RFC 8200 §4.5).
    if (rx.family === 6 && !this.walkReassembled(whole, rx)) {
      whole.release();
      return;
    }
    this.deliver(whole, rx);
  }

  private walkReassembled(buf: PacketBuffer, rx: RxInfo): boolean {
    if (!walkIpv6Extensions(buf.bytes, rx.protocol, -1, rx.payloadAt, rx.payloadEnd, rx, this.counters, false)) return false;
    if (!rx.fragment) return true;
    this.counters.badExtension++; // a fragment inside a fragment
    return false;
  }

  /** Hand a whole datagram (rx describes it) to ICMP or its transport. */
  private deliver(buf: PacketBuffer, rx: RxInfo): void {
    const p = rx.protocol;
    const c = this.counters;
    if ((p === IPPROTO_ICMP && rx.family === 4) || (p === IPPROTO_ICMPV6 && rx.family === 6)) {
      buf.start = rx.payloadAt;
      buf.end = rx.payloadEnd;
      this.icmp.receive(buf, rx);
      return;
    }
    const t = this.transports[p] ?? null;
    if (t === null) {
      c.noProtocol++;
      // "No Next Header" (RFC 8200 §4.7) is not an error: nothing follows, nothing to answer.
      if (!(p === NH_NONE && rx.family === 6)) this.icmp.protocolUnreachable(buf, rx);
      buf.release();
      return;
    }
    if ((p === IPPROTO_UDP || p === IPPROTO_TCP) && !this.verifyTransport(buf, rx, p)) {
      buf.release();
      return;
    }
    buf.start = rx.payloadAt;
    buf.end = rx.payloadEnd;
    t.receive(buf, rx);
  }

  /**
   * Length and checksum of a TCP segment or UDP datagram over the pseudo-header (RFC 9293 §3.1, RFC 768,
   * RFC 8200 §8.1). UDP's window is trimmed to its own length field; an IPv4 UDP checksum of zero means
   * none was computed (RFC 768), which IPv6 forbids. With trustChecksums the sums are not computed.
   */
  private verifyTransport(buf: PacketBuffer, rx: RxInfo, p: number): boolean {
    const c = this.counters;
    const b = buf.bytes;
    const at = rx.payloadAt;
    let len = rx.payloadEnd - at;
    if (p === IPPROTO_UDP) {
      if (len < 8) {
        c.badTransportLength++;
        return false;
      }
      const ulen = (b[at + 4]! << 8) | b[at + 5]!;
      if (ulen < 8 || ulen > len) {
        c.badTransportLength++;
        return false;
      }
      len = ulen;
      rx.payloadEnd = at + ulen;
      if (b[at + 6] === 0 && b[at + 7] === 0) {
        if (rx.family === 4) return true;
        c.badTransportChecksum++;
        return false;
      }
    } else if (len < 20) {
      c.badTransportLength++;
      return false;
    }
    if (!this.trustChecksums && checksum(b, at, at + len, pseudoHeaderSumOf(rx.src, rx.dst, p, len)) !== 0xffff) {
      c.badTransportChecksum++;
      return false;
    }
    return true;
  }

  // ---- outbound ----

  private nextId(family: IpFamily): number {
    if (family === 4) {
      this.ipv4Id = (this.ipv4Id + 1) & 0xffff;
      return this.ipv4Id;
    }
    this.ipv6Id = (this.ipv6Id + 1) >>> 0;
    return this.ipv6Id;
  }

  private loopBack(buf: PacketBuffer): boolean {
    if (this.loopCount === LOOPBACK_QUEUE) {
      this.counters.noBuffer++;
      buf.release();
      return false;
    }
    this.loop[this.loopCount++] = buf;
    this.schedule();
    return true;
  }

  private schedule(): void {
    if (this.scheduled) return;
    this.scheduled = true;
    setImmediate(this.turnFn);
  }

  /** The end of a turn: looped-back packets come in, gathered packets go out. */
  private runTurn(): void {
    const n = this.loopCount;
    if (n > 0) {
      const q = this.loop;
      this.loop = this.loopSpare;
      this.loopSpare = q;
      this.loopCount = 0;
      for (let i = 0; i < n; i++) {
        const buf = q[i]!;
        if (this.closed) buf.release();
        else this.input(buf, true);
      }
    }
    this.flush();
  }

  /** Hand the gathered packets to the device now. */
  flush(): void {
    const n = this.pendingCount;
    if (n === 0) return;
    this.pendingCount = 0;
    if (this.handler === null) {
      for (let i = 0; i < n; i++) this.pending[i]!.release();
      return;
    }
    this.handler.onPackets(this.pending, n);
  }
}
