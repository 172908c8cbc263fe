/**
 * The portable bind on node:dgram: an IPv6 socket (v6 only) and an IPv4 socket on the same port, as
 * wireguard-go's standard bind opens them. Works wherever Node runs; the batched native bind is the
 * fast path on Linux.
 *
 * node:dgram hands each datagram over in a Buffer of its own; it is copied into a pool buffer so the
 * device sees the same edge-allocated buffers as from any bind. Sends complete in order on each socket
 * (libuv keeps one send queue per handle), so one callback installed per socket releases the oldest
 * buffer in flight: no closure per packet.
 */
import dgram from 'node:dgram';
import type { PacketBuffer, Source } from '../buffer/packet-buffer.js';
import type { Bind, BindHandler, Endpoint } from './bind.js';
import { EndpointTable, parseEndpoint } from './endpoint.js';

export const STD_BIND_BATCH = 64;
/** Kernel socket buffers: big enough that a burst at loopback speed is not dropped. */
const SOCKET_BUFFER_BYTES = 4 << 20;

/** Buffers in flight on one socket, released in send order. */
class InFlight {
  private ring: (PacketBuffer | null)[] = new Array<PacketBuffer | null>(256).fill(null);
  private head = 0;
  private count = 0;
  readonly done: (err: Error | null) => void;

  constructor() {
    this.done = () => {
      const buf = this.ring[this.head]!;
      this.ring[this.head] = null;
      this.head = (this.head + 1) % this.ring.length;
      this.count--;
      buf.release();
    };
  }

  push(buf: PacketBuffer): void {
    if (this.count === this.ring.length) {
      const bigger = new Array<PacketBuffer | null>(this.ring.length * 2).fill(null);
      for (let i = 0; i < this.count; i++) bigger[i] = this.ring[(this.head + i) % this.ring.length]!;
      this.ring = bigger;
      this.head = 0;
    }
    this.ring[(this.head + this.count) % this.ring.length] = buf;
    this.count++;
  }

  get size(): number {
    return this.count;
  }
}

export interface StdBindOptions {
  /** Open the IPv6 socket (default true; falls back to IPv4 only when the host has no IPv6). */
  ipv6?: boolean;
  /** Open the IPv4 socket (default true). */
  ipv4?: boolean;
  /** Address to bind the IPv4 socket to (default any). */
  ipv4Address?: string;
  /** Address to bind the IPv6 socket to (default any). */
  ipv6Address?: string;
}

export class StdBind implements Bind {
  readonly batchSize = STD_BIND_BATCH;
  private sock4: dgram.Socket | null = null;
  private sock6: dgram.Socket | null = null;
  private readonly inflight4 = new InFlight();
  private readonly inflight6 = new InFlight();
  private handler: BindHandler | null = null;
  private source: Source | null = null;
  private readonly table = new EndpointTable();
  private readonly bufs: PacketBuffer[] = new Array<PacketBuffer>(STD_BIND_BATCH);
  private readonly eps: Endpoint[] = new Array<Endpoint>(STD_BIND_BATCH);
  private count = 0;
  private scheduled = false;
  private paused = false;
  private readonly flushFn: () => void;
  private readonly onMessage: (msg: Buffer, rinfo: dgram.RemoteInfo) => void;
  /** Datagrams dropped because no buffer could be had or reading was paused. */
  dropped = 0;

  constructor(private readonly options: StdBindOptions = {}) {
    this.flushFn = () => {
      this.scheduled = false;
      this.flush();
    };
    this.onMessage = (msg, rinfo) => this.receive(msg, rinfo);
  }

  async open(port: number, handler: BindHandler, source: Source): Promise<number> {
    if (this.handler !== null) throw new Error('bind already open');
    const want6 = this.options.ipv6 !== false;
    const want4 = this.options.ipv4 !== false;
    // With port 0, the first socket picks the port and the second must get the same one; retry if
    // another program holds it for the other family.
    for (let attempt = 0; ; attempt++) {
      let s6: dgram.Socket | null = null;
      let s4: dgram.Socket | null = null;
      let actual = port;
      try {
        if (want6) {
          try {
            s6 = await bindSocket('udp6', this.options.ipv6Address ?? '::', actual);
            actual = s6.address().port;
          } catch (err) {
            if (!want4 || !isNoIPv6(err)) throw err;
            s6 = null; // no IPv6 on this host: IPv4 only
          }
        }
        if (want4) {
          s4 = await bindSocket('udp4', this.options.ipv4Address ?? '0.0.0.0', actual);
          actual = s4.address().port;
        }
        this.sock6 = s6;
        this.sock4 = s4;
        this.handler = handler;
        this.source = source;
        s6?.on('message', this.onMessage);
        s4?.on('message', this.onMessage);
        return actual;
      } catch (err) {
        s6?.close();
        s4?.close();
        if (port === 0 && attempt < 10 && (err as NodeJS.ErrnoException).code === 'EADDRINUSE') continue;
        throw err;
      }
    }
  }

  async close(): Promise<void> {
    this.handler = null;
    const socks = [this.sock4, this.sock6];
    this.sock4 = null;
    this.sock6 = null;
    for (let i = 0; i < this.count; i++) this.bufs[i]!.release();
    this.count = 0;
    await Promise.all(socks.map((s) => (s === null ? undefined : new Promise<void>((r) => s.close(() => r())))));
  }

  private receive(msg: Buffer, rinfo: dgram.RemoteInfo): void {
    if (this.handler === null || this.source === null || this.paused) {
      this.dropped++;
      return;
    }
    const buf = this.source.get(msg.length);
    if (buf === null) {
      this.dropped++;
      this.paused = true;
      return;
    }
    buf.bytes.set(msg, buf.start);
    buf.end = buf.start + msg.length;
    this.bufs[this.count] = buf;
    this.eps[this.count] = this.table.get(rinfo.address, rinfo.port);
    this.count++;
    if (this.count === STD_BIND_BATCH) this.flush();
    else if (!this.scheduled) {
      this.scheduled = true;
      setImmediate(this.flushFn);
    }
  }

  private flush(): void {
    const n = this.count;
    if (n === 0 || this.handler === null) return;
    this.count = 0;
    this.handler.onDatagrams(this.bufs, this.eps, n);
  }

  send(bufs: PacketBuffer[], count: number, endpoint: Endpoint): void {
    const v4 = endpoint.family === 4;
    const sock = v4 ? (this.sock4 ?? null) : this.sock6;
    const inflight = v4 ? this.inflight4 : this.inflight6;
    for (let i = 0; i < count; i++) {
      const buf = bufs[i]!;
      if (sock === null) {
        buf.release();
        continue;
      }
      inflight.push(buf);
      sock.send(buf.bytes, buf.start, buf.end - buf.start, endpoint.port, endpoint.address, inflight.done);
    }
  }

  parseEndpoint(text: string): Endpoint {
    const ep = parseEndpoint(text);
    return this.table.get(ep.address, ep.port);
  }

  /** node:dgram cannot set SO_MARK; the native bind can. */
  setMark(): boolean {
    return false;
  }

  pause(): void {
    this.paused = true;
  }

  resume(): void {
    this.paused = false;
  }
}

function bindSocket(type: 'udp4' | 'udp6', address: string, port: number): Promise<dgram.Socket> {
  return new Promise((resolve, reject) => {
    const s = dgram.createSocket({
      type,
      ipv6Only: type === 'udp6',
      recvBufferSize: SOCKET_BUFFER_BYTES,
      sendBufferSize: SOCKET_BUFFER_BYTES,
    });
    const onError = (err: Error): void => {
      s.close();
      reject(err);
    };
    s.once('error', onError);
    s.bind({ port, address, exclusive: true }, () => {
      s.off('error', onError);
      s.on('error', () => {
        /* per-datagram errors (ICMP unreachable) are not fatal for a UDP socket */
      });
      resolve(s);
    });
  });
}

function isNoIPv6(err: unknown): boolean {
  const code = (err as NodeJS.ErrnoException).code;
  return code === 'EAFNOSUPPORT' || code === 'EADDRNOTAVAIL' || code === 'EPROTONOSUPPORT';
}
