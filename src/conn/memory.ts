/**
 * An in-process network for tests: binds attached to a MemoryNetwork exchange datagrams by address,
 * each copied into the receiver's own buffers (as a real socket would), delivered in batches on a later
 * event-loop turn. Tests can drop, inspect or forge datagrams and move a bind to another address
 * (roaming) through the network.
 */
import type { PacketBuffer, Source } from '../buffer/packet-buffer.js';
import type { Bind, BindHandler, Endpoint } from './bind.js';
import { EndpointTable, parseEndpoint } from './endpoint.js';

export const MEMORY_BIND_BATCH = 64;

/** Decides the fate of each datagram in flight: return false to drop it. */
export type DatagramFilter = (data: Uint8Array, from: Endpoint, to: Endpoint) => boolean;

export class MemoryNetwork {
  private readonly binds = new Map<string, MemoryBind>();
  /** Which bind an endpoint reaches (null: none), remembered until a bind attaches or detaches. */
  private routes = new WeakMap<Endpoint, MemoryBind | null>();
  private nextPort = 40000;
  /** Optional: sees every datagram; false drops it. */
  filter: DatagramFilter | null = null;
  /** Datagrams delivered and dropped, for tests. */
  delivered = 0;
  dropped = 0;

  /** A bind that will live at `address` (an IPv4 or IPv6 literal). */
  createBind(address = '127.0.0.1'): MemoryBind {
    return new MemoryBind(this, address);
  }

  /** @internal */
  attach(bind: MemoryBind, port: number): number {
    let p = port;
    if (p === 0) {
      do p = this.nextPort++;
      while (this.binds.has(key(bind.address, p)));
    } else if (this.binds.has(key(bind.address, p))) {
      const err = new Error(`address ${bind.address}:${p} in use`) as NodeJS.ErrnoException;
      err.code = 'EADDRINUSE';
      throw err;
    }
    this.binds.set(key(bind.address, p), bind);
    this.routes = new WeakMap();
    return p;
  }

  /** @internal */
  detach(bind: MemoryBind, port: number): void {
    if (this.binds.get(key(bind.address, port)) === bind) this.binds.delete(key(bind.address, port));
    this.routes = new WeakMap();
  }

  /** @internal The bind listening at `to`, or null. */
  route(to: Endpoint): MemoryBind | null {
    let dst = this.routes.get(to);
    if (dst === undefined) {
      dst = this.binds.get(key(to.address, to.port)) ?? null;
      this.routes.set(to, dst);
    }
    return dst;
  }

  /** Deliver a copy of `data` from `from` to whichever bind listens at `to`. */
  transmit(data: Uint8Array, from: Endpoint, to: Endpoint): void {
    if (this.filter !== null && !this.filter(data, from, to)) {
      this.dropped++;
      return;
    }
    const dst = this.route(to);
    if (dst === null) {
      this.dropped++;
      return;
    }
    if (dst.enqueue(data, from)) this.delivered++;
    else this.dropped++;
  }
}

function key(address: string, port: number): string {
  return address + '|' + port;
}

export class MemoryBind implements Bind {
  readonly batchSize = MEMORY_BIND_BATCH;
  private handler: BindHandler | null = null;
  private source: Source | null = null;
  private port = 0;
  private self: Endpoint | null = null;
  private readonly table = new EndpointTable();
  /** Senders' endpoints as this bind's table has them (interned once per sender endpoint). */
  private readonly senders = new WeakMap<Endpoint, Endpoint>();
  private readonly bufs: PacketBuffer[] = new Array<PacketBuffer>(MEMORY_BIND_BATCH);
  private readonly eps: Endpoint[] = new Array<Endpoint>(MEMORY_BIND_BATCH);
  private count = 0;
  private scheduled = false;
  private paused = false;
  private readonly flushFn: () => void;
  /** Datagrams sent, for tests. */
  sent = 0;

  constructor(
    private readonly net: MemoryNetwork,
    public address: string,
  ) {
    this.flushFn = () => {
      this.scheduled = false;
      this.flush();
    };
  }

  async open(port: number, handler: BindHandler, source: Source): Promise<number> {
    if (this.handler !== null) throw new Error('bind already open');
    this.port = this.net.attach(this, port);
    this.self = this.table.get(this.address, this.port);
    this.handler = handler;
    this.source = source;
    return this.port;
  }

  async close(): Promise<void> {
    if (this.handler === null) return;
    this.net.detach(this, this.port);
    this.handler = null;
    for (let i = 0; i < this.count; i++) this.bufs[i]!.release();
    this.count = 0;
  }

  /** Move this bind to another address, keeping its port: the peer sees it roam (paper 2.1). */
  moveTo(address: string): void {
    const handler = this.handler;
    if (handler !== null) this.net.detach(this, this.port);
    this.address = address;
    if (handler !== null) {
      this.net.attach(this, this.port);
      this.self = this.table.get(this.address, this.port);
    }
  }

  /** The endpoint other binds see this one as. */
  get endpoint(): Endpoint {
    if (this.self === null) throw new Error('bind is not open');
    return this.self;
  }

  send(bufs: PacketBuffer[], count: number, endpoint: Endpoint): void {
    const self = this.self;
    const net = this.net;
    for (let i = 0; i < count; i++) {
      const buf = bufs[i]!;
      if (self !== null) {
        this.sent++;
        net.transmit(buf.bytes.subarray(buf.start, buf.end), self, endpoint);
      }
      buf.release();
    }
  }

  /** @internal: a datagram arrives from the network. */
  enqueue(data: Uint8Array, from: Endpoint): boolean {
    if (this.handler === null || this.source === null || this.paused) return false;
    const buf = this.source.get(data.length);
    if (buf === null) {
      this.paused = true;
      return false;
    }
    buf.bytes.set(data, buf.start);
    buf.end = buf.start + data.length;
    this.bufs[this.count] = buf;
    let ep = this.senders.get(from);
    if (ep === undefined) {
      ep = this.table.get(from.address, from.port);
      this.senders.set(from, ep);
    }
    this.eps[this.count] = ep;
    this.count++;
    if (this.count === MEMORY_BIND_BATCH) this.flush();
    else if (!this.scheduled) {
      this.scheduled = true;
      setImmediate(this.flushFn);
    }
    return true;
  }

  private flush(): void {
    const n = this.count;
    if (n === 0 || this.handler === null) return;
    this.count = 0;
    this.handler.onDatagrams(this.bufs, this.eps, n);
  }

  parseEndpoint(text: string): Endpoint {
    const ep = parseEndpoint(text);
    return this.table.get(ep.address, ep.port);
  }

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
