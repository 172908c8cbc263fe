/**
 * TCP as a transport of the netstack (transport.ts, protocol 6): demultiplexing segments to
 * connections and listeners (RFC 9293 §3.10.7.1 for segments nobody takes), active and passive
 * opens, TIME-WAIT reuse (RFC 9293 §3.6.1 with RFC 6191's timestamp rule), ephemeral ports (RFC 6056
 * §3.3.3, Algorithm 3), ICMP errors (RFC 5927: checked against the quoted sequence number, Packet
 * Too Big lowering the MSS), and the batching that makes the stack fast:
 *
 * - A segment's effects on a connection (data to read, ACKs to send, data the new window lets out)
 *   are not acted on per segment: the connection is marked dirty and flushed once when the batch ends
 *   (a microtask after the IP layer's synchronous delivery of a device batch). So a batch of 64 data
 *   segments costs one ACK per connection (carrying the newest RCV.NXT, like a GRO'd stretch ACK),
 *   one wake-up of the reader with 64 KiB views, and a batch of ACKs one burst of new data. User
 *   writes within one tick coalesce the same way (Linux's autocorking).
 * - Bounds: connections (maxConnections, TIME-WAIT not counted), TIME-WAIT (maxTimeWait, each for
 *   the connections a socket still holds and for the compact records of those nobody holds,
 *   time-wait.ts), half-open connections per listener (listener.ts), send and receive buffers per
 *   connection, challenge ACKs per second (RFC 5961 §7).
 *
 * Measured, one stream (Node 20.20 on a 2-vCPU VM shared with other jobs, so +-40%): two stacks joined
 * in-process without IP layer or crypto, 500 MiB, 2.5-5.1 Gbit/s one way and 2.0-4.4 the other,
 * ~250 bytes of JS garbage per segment (two copy views, output.ts); through a whole Tunnel to the
 * kernel behind wireguard-go in a namespace, 8 s each way, over several runs: 1.1-1.3 Gbit/s download
 * and 1.3-2.0 upload (the kernel path: 1.86), 0.9-1.7 and 1.0-1.4 with 1% of the tunnel's datagrams
 * dropped by iptables (-m statistic --mode random).
 *
 * Not for concurrent use: one event loop owns a stack.
 */
import type { PacketBuffer } from '../../buffer/packet-buffer.js';
import { IPPROTO_TCP, type IcmpError, type IpFamily, type IpInfo, type IpOutput, type Transport } from '../transport.js';
import { TimerWheel } from '../timer-wheel.js';
import {
  CHALLENGE_ACKS_PER_SECOND,
  DEFAULT_BACKLOG,
  EPHEMERAL_PORT_MAX,
  EPHEMERAL_PORT_MIN,
  MAX_CONNECTIONS,
  MAX_TIME_WAIT,
  RECV_BUFFER_INITIAL_BYTES,
  RECV_BUFFER_MAX_BYTES,
  RST,
  SEND_BUFFER_INITIAL_BYTES,
  SEND_BUFFER_MAX_BYTES,
  SYN,
  ACK,
} from './constants.js';
import { ConnTable } from './conn-table.js';
import { Connection, State, type ConnectionHandler, type ConnectionHost } from './connection.js';
import { tcpError } from './errors.js';
import { ListenerTable } from './listeners.js';
import { openActive, openPassive } from './handshake.js';
import { segmentArrives } from './segment-arrives.js';
import { addCounters, emptyStats, type TcpStats } from './stats.js';

export type { TcpStats };
import { Cubic } from './cubic.js';
import type { CongestionControl, CongestionName } from './congestion.js';
import { ParseResult, parseSegment, Segment } from './header.js';
import { Listener, type ListenerHost } from './listener.js';
import { NewReno } from './newreno.js';
import { Bbr } from './bbr.js';
import { sendReset } from './output.js';
import { newIncarnation, reusableByConnect, TimeWaitTable } from './time-wait.js';
import { TcpSecrets } from './secrets.js';

export interface TcpOptions {
  /** The stack's one timer wheel (shared with the IP layer); its Clock is the stack's time. */
  wheel: TimerWheel;
  /**
   * Congestion control for new connections. Default 'bbr' (bbr.ts: a tunnel's RTT is a fraction of a
   * millisecond, where a loss-based window falls to a dozen segments at 1% random loss); 'cubic' or
   * 'newreno' for the loss-based ones.
   */
  congestion?: CongestionName;
  sendBufferInitial?: number;
  sendBufferMax?: number;
  recvBufferMax?: number;
  maxConnections?: number;
  maxTimeWait?: number;
  /** Answer SYN floods with SYN cookies (default true); false drops SYNs past the half-open cap. */
  synCookies?: boolean;
  /** Fixed keys for ISNs, timestamp offsets and cookies (tests); default random. */
  secrets?: TcpSecrets;
}

/** The smallest window-scale shift that lets the window field describe `bytes` (RFC 7323 §2.3). */
function wscaleFor(bytes: number): number {
  let s = 0;
  while (s < 14 && 0xffff * 2 ** s < bytes) s++;
  return s;
}

export class Tcp implements Transport, ConnectionHost, ListenerHost {
  readonly protocol = IPPROTO_TCP;
  readonly ip: IpOutput;
  readonly wheel: TimerWheel;
  readonly secrets: TcpSecrets;
  readonly synCookies: boolean;
  readonly rcvWscale: number;
  readonly initialWindow: number;
  private readonly congestion: CongestionName;
  private readonly sendBufferInitial: number;
  private readonly sendBufferMax: number;
  private readonly recvBufferMax: number;
  private readonly maxConnections: number;
  private readonly maxTimeWait: number;
  private readonly table: ConnTable;
  /** TIME-WAIT connections nobody holds any more, as compact records. */
  private readonly timeWait: TimeWaitTable;
  private readonly listeners: ListenerTable;
  /** Passive connections not yet handed to their listener (SYN-RECEIVED, or a cookie's in the making). */
  private readonly halfOpen: Map<Connection, Listener>;
  private readonly seg: Segment;
  /** Depth of work that may send (receive, flush, timers); segments arriving meanwhile wait. */
  private busy: number;
  private readonly deferred: PacketBuffer[];
  private readonly deferredInfo: IpInfo[];
  private dirtyHead: Connection | null;
  private dirtyTail: Connection | null;
  private flushScheduled: boolean;
  private readonly flushFn: () => void;
  private portCursor: number;
  private challengeBudget: number;
  private challengeSecond: number;
  private closed: boolean;
  private readonly totals: TcpStats;

  constructor(ip: IpOutput, options: TcpOptions) {
    this.ip = ip;
    this.wheel = options.wheel;
    this.secrets = options.secrets ?? new TcpSecrets();
    this.synCookies = options.synCookies ?? true;
    const congestion = options.congestion ?? 'bbr';
    if (congestion !== 'bbr' && congestion !== 'cubic' && congestion !== 'newreno') {
      throw new TypeError(`tcp.congestion must be 'bbr', 'cubic' or 'newreno', not ${JSON.stringify(congestion)}`);
    }
    this.congestion = congestion;
    this.sendBufferMax = options.sendBufferMax ?? SEND_BUFFER_MAX_BYTES;
    this.sendBufferInitial = Math.min(options.sendBufferInitial ?? SEND_BUFFER_INITIAL_BYTES, this.sendBufferMax);
    this.recvBufferMax = options.recvBufferMax ?? RECV_BUFFER_MAX_BYTES;
    this.rcvWscale = wscaleFor(this.recvBufferMax);
    this.initialWindow = Math.min(RECV_BUFFER_INITIAL_BYTES, this.recvBufferMax);
    this.maxConnections = options.maxConnections ?? MAX_CONNECTIONS;
    this.maxTimeWait = options.maxTimeWait ?? MAX_TIME_WAIT;
    this.table = new ConnTable();
    this.timeWait = new TimeWaitTable(this, this.maxTimeWait);
    this.listeners = new ListenerTable();
    this.halfOpen = new Map();
    this.seg = new Segment();
    this.busy = 0;
    this.deferred = [];
    this.deferredInfo = [];
    this.dirtyHead = null;
    this.dirtyTail = null;
    this.flushScheduled = false;
    this.flushFn = () => this.flush();
    this.portCursor = 0;
    this.challengeBudget = CHALLENGE_ACKS_PER_SECOND;
    this.challengeSecond = 0;
    this.closed = false;
    this.totals = emptyStats();
  }

  // -------------------------------------------------------------------------------------------------
  // Transport.

  receive(buf: PacketBuffer, ip: IpInfo): void {
    if (this.busy > 0) {
      // Re-entered: something we sent while handling a segment, a flush or a timer came straight
      // back (IP layers wired synchronously, a loop). Handle it after the current work, never inside.
      this.deferred.push(buf);
      this.deferredInfo.push({ family: ip.family, src: ip.src.slice(), dst: ip.dst.slice(), ttl: ip.ttl, tos: ip.tos });
      return;
    }
    this.busy++;
    this.receiveOne(buf, ip);
    this.leave();
  }

  /** Work that may send begins (segment, flush, timer): segments arriving meanwhile wait. */
  enter(): void {
    this.busy++;
  }

  /** ...and ends: the segments that arrived meanwhile are handled now, in order. */
  leave(): void {
    if (this.busy === 1) {
      for (let i = 0; i < this.deferred.length; i++) this.receiveOne(this.deferred[i]!, this.deferredInfo[i]!);
      if (this.deferred.length > 0) {
        this.deferred.length = 0;
        this.deferredInfo.length = 0;
      }
    }
    this.busy--;
  }

  private receiveOne(buf: PacketBuffer, ip: IpInfo): void {
    const seg = this.seg;
    if (this.closed || parseSegment(seg, buf.bytes, buf.start, buf.end) !== ParseResult.OK) {
      this.totals.badSegments++;
      buf.release();
      return;
    }
    if (seg.flags & RST) this.totals.resetsReceived++;
    const now = this.wheel.now();
    let c = this.table.lookup(ip.family, ip.dst, seg.dstPort, ip.src, seg.srcPort);
    if (c === null && this.timeWait.count > 0) {
      const tw = this.timeWait.find(ip.family, ip.dst, seg.dstPort, ip.src, seg.srcPort);
      if (tw >= 0) {
        if ((seg.flags & (SYN | ACK | RST)) !== SYN || !this.timeWait.reusableBySyn(tw, seg)) {
          this.timeWait.arrives(tw, seg, now);
          buf.release();
          return;
        }
        // RFC 9293 §3.6.1 / RFC 6191: a new SYN above the old incarnation ends TIME-WAIT early.
        this.totals.timeWaitReused++;
        this.timeWait.remove(tw);
      }
    }
    if (c !== null && c.state === State.TIME_WAIT && (seg.flags & (SYN | ACK | RST)) === SYN && this.timeWaitReusable(c, seg)) {
      // RFC 9293 §3.6.1 / RFC 6191: a new SYN above the old incarnation ends TIME-WAIT early.
      this.totals.timeWaitReused++;
      c.close();
      c = null;
    }
    if (c !== null) {
      segmentArrives(c, seg, now);
    } else if ((seg.flags & RST) === 0) {
      const l = this.listeners.find(ip.family, ip.dst, seg.dstPort);
      if (l !== null) l.input(this, seg, ip, now);
      else this.reset(seg, ip);
    }
    buf.release();
  }

  icmpError(err: IcmpError): void {
    if (err.end - err.at < 8) return;
    const b = err.bytes;
    const localPort = (b[err.at]! << 8) | b[err.at + 1]!;
    const remotePort = (b[err.at + 2]! << 8) | b[err.at + 3]!;
    const seq = (b[err.at + 4]! << 24) | (b[err.at + 5]! << 16) | (b[err.at + 6]! << 8) | b[err.at + 7]!;
    const c = this.table.lookup(err.family, err.src, localPort, err.dst, remotePort);
    if (c === null) return;
    switch (err.kind) {
      case 'packet-too-big':
        c.pathMtuChanged(this.wheel.now());
        this.markDirty(c);
        return;
      case 'port-unreachable':
        c.icmpError('ECONNREFUSED', seq);
        return;
      case 'unreachable':
      case 'ttl-exceeded':
        c.icmpError('EHOSTUNREACH', seq);
        return;
    }
  }

  onWritable(): void {
    const all = this.table.all();
    for (let i = 0; i < all.length; i++) this.markDirty(all[i]!);
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    const all = this.table.all();
    for (let i = 0; i < all.length; i++) {
      const c = all[i]!;
      if (c.state === State.TIME_WAIT) c.close();
      else c.fail('ECONNABORTED');
    }
    this.timeWait.clear();
    this.listeners.closeAll();
    this.dirtyHead = this.dirtyTail = null;
  }

  // -------------------------------------------------------------------------------------------------
  // Opening and listening (for the socket classes).

  /**
   * Active open toward remote:remotePort from `local` (null: the stack's address toward remote) and
   * `localPort` (0: an ephemeral port). Throws a Node-style error when no address, port or
   * connection slot is free.
   */
  connect(
    family: IpFamily,
    remote: Uint8Array,
    remotePort: number,
    local: Uint8Array | null,
    localPort: number,
    handler: ConnectionHandler,
  ): Connection {
    if (this.closed) throw tcpError('ECONNABORTED', 'connect', 'the stack is closed');
    const src = local ?? this.ip.sourceFor(family, remote);
    if (src === null) throw tcpError('ENETUNREACH', 'connect', `no IPv${family} address to connect from`);
    if (this.table.count - this.table.timeWaitCount >= this.maxConnections) throw tcpError('EMFILE', 'connect', 'too many TCP connections');
    const now = this.wheel.now();
    let port = localPort;
    if (port === 0) {
      port = this.pickPort(family, src, remote, remotePort, now);
      if (port === 0) throw tcpError('EADDRNOTAVAIL', 'connect', 'no free local port');
    } else {
      const old = this.table.lookup(family, src, port, remote, remotePort);
      if (old !== null) {
        if (old.state !== State.TIME_WAIT || !this.timeWaitReusableForConnect(old, now)) throw tcpError('EADDRINUSE', 'connect', `${port} is in use`);
        old.close();
      }
      const tw = this.timeWait.find(family, src, port, remote, remotePort);
      if (tw >= 0) {
        if (!this.timeWait.reusableByConnect(tw, now)) throw tcpError('EADDRINUSE', 'connect', `${port} is in use`);
        this.timeWait.remove(tw);
      }
    }
    const c = this.newConnection(family, src, port, remote, remotePort, true);
    c.handler = handler;
    this.table.insert(c);
    this.totals.activeOpens++;
    openActive(c, this.secrets.isn(src, port, remote, remotePort, now), now);
    return c;
  }

  /** LISTEN on `port` (0: an ephemeral port) of `address` (null: any address of `family`, 0: both). */
  listen(family: IpFamily | 0, address: Uint8Array | null, port: number, backlog: number = DEFAULT_BACKLOG): Listener {
    if (this.closed) throw tcpError('ECONNABORTED', 'listen', 'the stack is closed');
    return this.listeners.add(family, address, port, backlog);
  }

  /** Stop listening (server.close): half-open connections of the listener are dropped. */
  unlisten(l: Listener): void {
    this.listeners.remove(l);
    const all = this.table.all();
    for (let k = 0; k < all.length; k++) {
      const c = all[k]!;
      if (this.halfOpen.get(c) === l) c.abort();
    }
  }

  stats(): TcpStats {
    const t: TcpStats = { ...this.totals };
    const all = this.table.all();
    t.connections = all.length - this.table.timeWaitCount;
    t.timeWait = this.table.timeWaitCount + this.timeWait.count;
    t.timeWaitEvicted += this.timeWait.evicted;
    this.listeners.addStats(t);
    for (let i = 0; i < all.length; i++) addCounters(t, all[i]!);
    return t;
  }

  // -------------------------------------------------------------------------------------------------
  // ConnectionHost and ListenerHost.

  markDirty(c: Connection): void {
    if (c.dirty) return;
    c.dirty = true;
    c.dirtyNext = null;
    if (this.dirtyTail !== null) this.dirtyTail.dirtyNext = c;
    else this.dirtyHead = c;
    this.dirtyTail = c;
    if (!this.flushScheduled) {
      this.flushScheduled = true;
      queueMicrotask(this.flushFn);
    }
  }

  remove(c: Connection): void {
    addCounters(this.totals, c);
    this.table.remove(c);
    const l = this.halfOpen.get(c);
    if (l !== undefined) {
      this.halfOpen.delete(c);
      l.leftSynQueue();
    }
  }

  compactTimeWait(c: Connection, now: number): void {
    this.timeWait.add(c, now);
    c.close();
  }

  enteredTimeWait(c: Connection): void {
    const oldest = this.table.enterTimeWait(c, this.maxTimeWait);
    if (oldest !== null) {
      this.totals.timeWaitEvicted++;
      oldest.close();
    }
  }

  passiveEstablished(c: Connection): void {
    const l = this.halfOpen.get(c);
    if (l === undefined) return;
    this.halfOpen.delete(c);
    l.leftSynQueue();
    this.totals.passiveOpens++;
    if (l.closed || l.onConnection === null) {
      c.abort();
      return;
    }
    l.onConnection(c);
  }

  challengeAllowed(now: number): boolean {
    const second = Math.floor(now / 1000);
    if (second !== this.challengeSecond) {
      this.challengeSecond = second;
      this.challengeBudget = CHALLENGE_ACKS_PER_SECOND;
    }
    if (this.challengeBudget <= 0) return false;
    this.challengeBudget--;
    return true;
  }

  newPassive(l: Listener, seg: Segment, ip: IpInfo): Connection | null {
    if (this.table.count - this.table.timeWaitCount >= this.maxConnections) return null;
    const now = this.wheel.now();
    const c = this.newConnection(ip.family, ip.dst, seg.dstPort, ip.src, seg.srcPort, false);
    this.halfOpen.set(c, l);
    this.table.insert(c);
    if ((seg.flags & SYN) !== 0) openPassive(c, seg, this.secrets.isn(ip.dst, seg.dstPort, ip.src, seg.srcPort, now), now);
    return c;
  }

  reset(seg: Segment, ip: IpInfo): void {
    // RFC 9293 §3.10.7.1: <SEQ=SEG.ACK><CTL=RST> if ACK, else <SEQ=0><ACK=SEG.SEQ+SEG.LEN><CTL=RST,ACK>.
    if (seg.flags & RST) return;
    this.totals.resetsSent++;
    if (seg.flags & ACK) sendReset(this.ip, ip.family, ip.dst, ip.src, seg.dstPort, seg.srcPort, seg.ack, 0, false);
    else sendReset(this.ip, ip.family, ip.dst, ip.src, seg.dstPort, seg.srcPort, 0, (seg.seq + seg.seqLength) | 0, true);
  }

  tsOffset(local: Uint8Array, remote: Uint8Array): number {
    return this.secrets.tsOffset(local, remote);
  }

  // -------------------------------------------------------------------------------------------------
  // Internals.

  /** Run every dirty connection's flush: the batch is over. */
  private flush(): void {
    this.flushScheduled = false;
    this.enter();
    this.flushDirty();
    this.leave();
  }

  private flushDirty(): void {
    const now = this.wheel.now();
    // Connections marked during this pass go to a fresh list (and a fresh microtask), so one pass is bounded.
    let c = this.dirtyHead;
    this.dirtyHead = this.dirtyTail = null;
    while (c !== null) {
      const next: Connection | null = c.dirtyNext;
      c.dirtyNext = null;
      c.dirty = false;
      if (c.state !== State.CLOSED) c.flush(now);
      c = next;
    }
  }

  private newConnection(family: IpFamily, local: Uint8Array, localPort: number, remote: Uint8Array, remotePort: number, active: boolean): Connection {
    const mss = this.ip.maxTransportBytes(family, remote) - 20;
    const cc: CongestionControl = this.congestion === 'newreno' ? new NewReno(mss) : this.congestion === 'bbr' ? new Bbr(mss) : new Cubic(mss);
    return new Connection(this, family, local, localPort, remote, remotePort, active, cc, {
      sendBufferInitial: this.sendBufferInitial,
      sendBufferMax: this.sendBufferMax,
      recvBufferMax: this.recvBufferMax,
      tsOffset: this.secrets.tsOffset(local, remote),
      rcvWscale: this.rcvWscale,
    });
  }

  /** RFC 6191 §2 for a connection still in TIME-WAIT (time-wait.ts has the rule). */
  private timeWaitReusable(c: Connection, seg: Segment): boolean {
    return newIncarnation(c.tsOk, c.tsRecent, c.rcv.nxt, seg);
  }

  private timeWaitReusableForConnect(c: Connection, now: number): boolean {
    return reusableByConnect(c.tsOk, c.enteredTimeWaitAt, now);
  }

  /** RFC 6056 §3.3.3 (Algorithm 3): a keyed offset per destination plus a running counter. */
  private pickPort(family: IpFamily, local: Uint8Array, remote: Uint8Array, remotePort: number, now: number): number {
    const range = EPHEMERAL_PORT_MAX - EPHEMERAL_PORT_MIN + 1;
    // The keyed hash comes back as an int32: unsigned, or half of all destinations would get a
    // negative remainder and ports below the range.
    const offset = this.secrets.isn(local, 0, remote, remotePort, 0) >>> 0;
    for (let k = 0; k < range; k++) {
      const port = EPHEMERAL_PORT_MIN + ((offset + this.portCursor + k) % range);
      if (this.listeners.listened(port, family, local)) continue;
      const old = this.table.lookup(family, local, port, remote, remotePort);
      if (old === null) {
        const tw = this.timeWait.find(family, local, port, remote, remotePort);
        if (tw >= 0) {
          if (!this.timeWait.reusableByConnect(tw, now)) continue;
          this.totals.timeWaitReused++;
          this.timeWait.remove(tw);
        }
        this.portCursor += k + 1;
        return port;
      }
      if (old.state === State.TIME_WAIT && this.timeWaitReusableForConnect(old, now)) {
        this.totals.timeWaitReused++;
        old.close();
        this.portCursor += k + 1;
        return port;
      }
    }
    return 0;
  }
}
