/**
 * A UDP socket on the netstack in the shape of Node's dgram.Socket: bind(), connect()/disconnect(),
 * send() in all of Node's argument forms, 'message' with (msg, rinfo), 'listening', 'connect', 'close',
 * 'error', address()/remoteAddress(), close(), and the buffer-size calls. Code written against
 * node:dgram runs against it.
 *
 * Receive: datagrams wait in their pool buffers, in arrival order, until the next event-loop turn, when
 * each is copied into a Buffer of its own and emitted (user code never runs inside the stack's packet
 * loop, and never holds pool memory). The wait is bounded by the receive buffer size, counted in the
 * capacity of the buffers held (what they pin, as Linux counts truesize); past it datagrams are dropped,
 * as a kernel drops them.
 *
 * Send: the payload is written straight into a packet buffer. When the pool refuses one (backpressure),
 * sends wait in order, bounded by the send buffer size, and go out when the stack is writable again;
 * past the bound a send fails with ENOBUFS (to its callback; dropped silently without one, as a full
 * kernel buffer drops). Other failures (EMSGSIZE, ENETUNREACH) go to the callback or to 'error', as in
 * Node.
 *
 * Differences from node:dgram, by design: udp6 sockets are IPv6-only; no broadcast or multicast (a
 * WireGuard tunnel is point to point at layer 3); host names resolve through the `lookup` option (the
 * Tunnel passes its DNS), numeric addresses otherwise; an omitted address means this stack's own address
 * of the family (Node's "localhost"); ref()/unref() do nothing (the tunnel's own socket holds the loop).
 */
import { EventEmitter } from 'node:events';
import type { PacketBuffer } from '../buffer/packet-buffer.js';
import { formatIp, parseIp } from '../net/address.js';
import { addressAt, copyAddress } from './bytes.js';
import { socketError, usageError } from './errors.js';
import type { IpFamily, IpInfo } from './transport.js';
import { UDP_HEADER_BYTES, type UdpBinding, type UdpTransport } from './udp.js';

export type UdpSocketType = 'udp4' | 'udp6';

/** Resolves a host name to an address of `family` (the Tunnel's lookup through its DNS). */
export type UdpLookup = (hostname: string, family: 4 | 6) => Promise<string>;

export interface UdpSocketOptions {
  type: UdpSocketType;
  /** Receive buffer in bytes of packet memory held (default 212992, Linux's rmem_default). */
  recvBufferSize?: number;
  /** Bytes of sends that may wait for buffers (default 212992, Linux's wmem_default). */
  sendBufferSize?: number;
  lookup?: UdpLookup;
}

export interface RemoteInfo {
  address: string;
  family: 'IPv4' | 'IPv6';
  port: number;
  size: number;
}

export interface SocketAddress {
  address: string;
  family: 'IPv4' | 'IPv6';
  port: number;
}

export interface UdpSocketEvents {
  message: [msg: Buffer, rinfo: RemoteInfo];
  listening: [];
  connect: [];
  close: [];
  error: [err: Error];
}

/** A message as send() takes it: bytes, text, or a list of them sent as one datagram. */
export type UdpMessage = string | NodeJS.ArrayBufferView | ReadonlyArray<string | NodeJS.ArrayBufferView>;
export type SendCallback = (error: Error | null, bytes: number) => void;

export const UDP_DEFAULT_BUFFER_BYTES = 212_992;
/** Bounds of the buffer sizes a program may set: one small pool chunk, and 4 MiB. */
export const UDP_MIN_BUFFER_BYTES = 2048;
export const UDP_MAX_BUFFER_BYTES = 4 << 20;

interface QueuedSend {
  data: Uint8Array;
  dst: Uint8Array;
  port: number;
  cb: SendCallback | null;
}

type BindState = 'unbound' | 'binding' | 'bound' | 'closed';

export class UdpSocket extends EventEmitter<UdpSocketEvents> implements UdpBinding {
  readonly type: UdpSocketType;
  readonly family: IpFamily;
  boundPort = 0;
  boundAddress: Uint8Array | null = null;
  peerAddress: Uint8Array | null = null;
  peerPort = 0;
  ttl = 0;
  /** Datagrams dropped because the receive buffer was full. */
  receiveDrops = 0;
  private state: BindState = 'unbound';
  private connecting = false;
  private recvBufferBytes: number;
  private sendBufferBytes: number;
  private readonly lookup: UdpLookup | null;
  // Receive queue: a ring of buffers, the sender's address stashed in each buffer's headroom.
  private ring: (PacketBuffer | null)[] = new Array<PacketBuffer | null>(16).fill(null);
  private head = 0;
  private count = 0;
  private queuedBytes = 0;
  private drainScheduled = false;
  private readonly drainFn: () => void;
  private readonly sendQueue: QueuedSend[] = [];
  private sendQueueBytes = 0;
  // One-entry caches: most sockets talk to one peer, so its address is parsed and printed once.
  private lastSendText = '';
  private lastSendBytes: Uint8Array | null = null;
  private readonly lastFrom: Uint8Array;
  private lastFromText = '';

  constructor(
    private readonly udp: UdpTransport,
    private readonly defaultAddress: (family: IpFamily) => Uint8Array | null,
    options: UdpSocketOptions,
  ) {
    super();
    if (options.type !== 'udp4' && options.type !== 'udp6') {
      throw usageError('ERR_SOCKET_BAD_TYPE', `Bad socket type specified. Valid types are: udp4, udp6`, TypeError);
    }
    this.type = options.type;
    this.family = options.type === 'udp4' ? 4 : 6;
    this.recvBufferBytes = clampBuffer(options.recvBufferSize ?? UDP_DEFAULT_BUFFER_BYTES);
    this.sendBufferBytes = clampBuffer(options.sendBufferSize ?? UDP_DEFAULT_BUFFER_BYTES);
    this.lookup = options.lookup ?? null;
    this.lastFrom = new Uint8Array(this.family === 4 ? 4 : 16);
    this.drainFn = () => this.drain();
  }

  // ---- binding ----

  /** bind([port][, address][, callback]) or bind(options[, callback]), as dgram's. */
  bind(port?: number | { port?: number; address?: string; exclusive?: boolean } | (() => void), address?: string | (() => void), callback?: () => void): this {
    let p = 0;
    let addr: string | undefined;
    let cb: (() => void) | undefined;
    if (typeof port === 'object' && port !== null) {
      p = port.port ?? 0;
      addr = port.address;
      cb = typeof address === 'function' ? address : undefined;
    } else if (typeof port === 'function') {
      cb = port;
    } else {
      p = port ?? 0;
      if (typeof address === 'function') cb = address;
      else {
        addr = address;
        cb = callback;
      }
    }
    if (this.state !== 'unbound') {
      throw usageError(this.state === 'closed' ? 'ERR_SOCKET_DGRAM_NOT_RUNNING' : 'ERR_SOCKET_ALREADY_BOUND', this.state === 'closed' ? 'Not running' : 'Socket is already bound');
    }
    checkPort(p, true);
    if (cb !== undefined) this.once('listening', cb);
    if (addr === undefined || addr === '') {
      this.bindOrReport(p, null, addr);
      return this;
    }
    const ip = parseIp(addr);
    if (ip !== null) {
      this.bindOrReport(p, ip, addr);
      return this;
    }
    this.state = 'binding';
    void this.resolve(addr).then(
      (resolved) => {
        if (this.state !== 'binding') return;
        this.state = 'unbound';
        this.bindOrReport(p, resolved, addr);
      },
      (err: Error) => {
        if (this.state !== 'binding') return;
        this.state = 'unbound';
        this.emit('error', err);
      },
    );
    return this;
  }

  /** Claim the port now ('listening' follows on the next tick); the error when it cannot be had. */
  private bindNow(port: number, address: Uint8Array | null, text: string | undefined): Error | null {
    if (address !== null && address.length !== (this.family === 4 ? 4 : 16)) return socketError('EINVAL', 'bind', text, port);
    const r = this.udp.bind(this, this.family, port, address);
    if (typeof r === 'string') return socketError(r, 'bind', text ?? this.anyText(), port);
    this.boundPort = r;
    this.boundAddress = address;
    this.state = 'bound';
    process.nextTick(() => this.emit('listening'));
    return null;
  }

  /** bind() reports a failure as 'error', as dgram does. */
  private bindOrReport(port: number, address: Uint8Array | null, text: string | undefined): void {
    const err = this.bindNow(port, address, text);
    if (err !== null) process.nextTick(() => this.emit('error', err));
  }

  /** Bind to any address and an ephemeral port, as a first send or connect does. */
  private implicitBind(): Error | null {
    return this.state === 'unbound' ? this.bindNow(0, null, undefined) : null;
  }

  // ---- connecting ----

  connect(port: number, address?: string | (() => void), callback?: () => void): void {
    let addr: string | undefined;
    let cb: ((err?: Error) => void) | undefined;
    if (typeof address === 'function') cb = address;
    else {
      addr = address;
      cb = callback;
    }
    if (this.peerAddress !== null || this.connecting) throw usageError('ERR_SOCKET_DGRAM_IS_CONNECTED', 'Already connected');
    if (this.state === 'closed') throw usageError('ERR_SOCKET_DGRAM_NOT_RUNNING', 'Not running');
    checkPort(port, false);
    this.connecting = true;
    if (cb !== undefined) this.once('connect', cb);
    const finish = (ip: Uint8Array | null, err: Error | null): void => {
      this.connecting = false;
      if (this.state === 'closed') return;
      if (err === null && (ip === null || ip.length !== (this.family === 4 ? 4 : 16))) err = socketError('EINVAL', 'connect', addr, port);
      if (err === null) err = this.implicitBind();
      if (err !== null) {
        if (cb !== undefined) {
          this.removeListener('connect', cb);
          cb(err);
        } else this.emit('error', err);
        return;
      }
      this.peerAddress = ip;
      this.peerPort = port;
      this.emit('connect');
    };
    const numeric = addr === undefined || addr === '' ? this.defaultAddress(this.family) : parseIp(addr);
    if (numeric !== null || addr === undefined || addr === '') {
      process.nextTick(finish, numeric, null);
      return;
    }
    this.resolve(addr).then(
      (ip) => finish(ip, null),
      (err: Error) => finish(null, err),
    );
  }

  disconnect(): void {
    if (this.state === 'closed') throw usageError('ERR_SOCKET_DGRAM_NOT_RUNNING', 'Not running');
    if (this.peerAddress === null) throw usageError('ERR_SOCKET_DGRAM_NOT_CONNECTED', 'Not connected');
    this.peerAddress = null;
    this.peerPort = 0;
  }

  // ---- sending ----

  /**
   * send(msg[, offset, length][, port][, address][, callback]), with dgram's rules: on a connected
   * socket port and address are omitted; offset and length apply to a single Buffer/TypedArray.
   */
  send(msg: UdpMessage, port?: number, address?: string, callback?: SendCallback): void;
  send(msg: UdpMessage, port?: number, callback?: SendCallback): void;
  send(msg: UdpMessage, callback?: SendCallback): void;
  send(msg: UdpMessage, offset: number, length: number, port?: number, address?: string, callback?: SendCallback): void;
  send(msg: UdpMessage, offset: number, length: number, callback?: SendCallback): void;
  send(msg: UdpMessage, ...args: unknown[]): void {
    if (this.state === 'closed') throw usageError('ERR_SOCKET_DGRAM_NOT_RUNNING', 'Not running');
    let offset: unknown = args[0];
    let length: unknown = args[1];
    let port: unknown = args[2];
    let address: unknown = args[3];
    let callback: unknown = args[4];
    let data: Uint8Array;
    const connected = this.peerAddress !== null;
    if (!connected) {
      if (address || (port && typeof port !== 'function')) data = slice(msg, offset, length);
      else {
        data = toBytes(msg);
        callback = port;
        port = offset;
        address = length;
      }
    } else {
      if (typeof length === 'number') {
        data = slice(msg, offset, length);
        if (typeof port === 'function') {
          callback = port;
          port = null;
        } else if (port || address) throw usageError('ERR_SOCKET_DGRAM_IS_CONNECTED', 'Already connected');
      } else {
        data = toBytes(msg);
        callback = offset;
        if (length || port || address) throw usageError('ERR_SOCKET_DGRAM_IS_CONNECTED', 'Already connected');
      }
    }
    if (typeof address === 'function') {
      callback = address;
      address = undefined;
    }
    if (callback !== undefined && callback !== null && typeof callback !== 'function') {
      throw usageError('ERR_INVALID_ARG_TYPE', 'The "callback" argument must be of type function', TypeError);
    }
    const cb = (callback as SendCallback | undefined) ?? null;
    if (this.state === 'binding') {
      // A bind waiting for its name lookup: send once it is done, as dgram queues such sends.
      this.once('listening', () => (this.send as (m: UdpMessage, ...a: unknown[]) => void)(msg, ...args));
      return;
    }
    const bindErr = this.implicitBind();
    if (bindErr !== null) {
      this.fail(bindErr, cb);
      return;
    }
    if (connected) {
      this.sendResolved(data, this.peerAddress!, this.peerPort, cb);
      return;
    }
    checkPort(port, false);
    const dstPort = port as number;
    if (address !== undefined && address !== null && typeof address !== 'string') {
      throw usageError('ERR_INVALID_ARG_TYPE', 'The "address" argument must be of type string', TypeError);
    }
    const text = (address as string | undefined) ?? '';
    const ip = this.cachedParse(text);
    if (ip !== null) {
      this.sendResolved(data, ip, dstPort, cb);
      return;
    }
    this.resolve(text).then(
      (resolved) => {
        if (this.state !== 'closed') this.sendResolved(data, resolved, dstPort, cb);
      },
      (err: Error) => this.fail(err, cb),
    );
  }

  /** Numeric address text to bytes, remembering the last one; "" is our own address. */
  private cachedParse(text: string): Uint8Array | null {
    if (text === this.lastSendText && this.lastSendBytes !== null) return this.lastSendBytes;
    const ip = text === '' ? this.defaultAddress(this.family) : parseIp(text);
    if (ip === null) return null;
    this.lastSendText = text;
    this.lastSendBytes = ip;
    return ip;
  }

  private sendResolved(data: Uint8Array, dst: Uint8Array, port: number, cb: SendCallback | null): void {
    if (dst.length !== (this.family === 4 ? 4 : 16)) {
      this.fail(socketError('EINVAL', 'send', formatIp(dst), port), cb);
      return;
    }
    // Behind waiting sends, wait too: datagrams leave in the order they were given.
    const r = this.sendQueue.length > 0 ? 'ENOBUFS' : this.udp.send(this, data, 0, data.length, dst, port);
    if (r === null) {
      if (cb !== null) process.nextTick(cb, null, data.length);
      return;
    }
    if (r !== 'ENOBUFS') {
      this.fail(socketError(r, 'send', formatIp(dst), port), cb);
      return;
    }
    if (this.sendQueueBytes + data.length > this.sendBufferBytes) {
      if (cb !== null) this.fail(socketError('ENOBUFS', 'send', formatIp(dst), port), cb);
      return;
    }
    this.sendQueue.push({ data, dst, port, cb });
    this.sendQueueBytes += data.length;
    this.udp.wait(this);
  }

  private fail(err: Error, cb: SendCallback | null): void {
    if (cb !== null) process.nextTick(cb, err, 0);
    else process.nextTick(() => this.emit('error', err));
  }

  onWritable(): void {
    const q = this.sendQueue;
    let i = 0;
    for (; i < q.length && this.state === 'bound'; i++) {
      const s = q[i]!;
      const r = this.udp.send(this, s.data, 0, s.data.length, s.dst, s.port);
      if (r === 'ENOBUFS') break;
      this.sendQueueBytes -= s.data.length;
      if (r === null) {
        if (s.cb !== null) process.nextTick(s.cb, null, s.data.length);
      } else this.fail(socketError(r, 'send', formatIp(s.dst), s.port), s.cb);
    }
    q.splice(0, i);
    if (q.length > 0 && this.state === 'bound') this.udp.wait(this);
  }

  // ---- receiving ----

  deliver(buf: PacketBuffer, ip: IpInfo): boolean {
    if (this.state !== 'bound' || this.queuedBytes + buf.capacity > this.recvBufferBytes) {
      this.receiveDrops++;
      return false;
    }
    // The sender's address goes in the headroom: there are always 16 bytes or more in front of the UDP
    // header (the IP header, or a reassembled datagram's headroom).
    const src = ip.src;
    const at = buf.start - src.length;
    for (let i = 0; i < src.length; i++) buf.bytes[at + i] = src[i]!;
    if (this.count === this.ring.length) this.grow();
    this.ring[(this.head + this.count) & (this.ring.length - 1)] = buf;
    this.count++;
    this.queuedBytes += buf.capacity;
    if (!this.drainScheduled) {
      this.drainScheduled = true;
      setImmediate(this.drainFn);
    }
    return true;
  }

  private grow(): void {
    const bigger = new Array<PacketBuffer | null>(this.ring.length * 2).fill(null);
    for (let i = 0; i < this.count; i++) bigger[i] = this.ring[(this.head + i) & (this.ring.length - 1)]!;
    this.ring = bigger;
    this.head = 0;
  }

  private shift(): PacketBuffer {
    const buf = this.ring[this.head]!;
    this.ring[this.head] = null;
    this.head = (this.head + 1) & (this.ring.length - 1);
    this.count--;
    this.queuedBytes -= buf.capacity;
    return buf;
  }

  /** Emit what waits, copying each datagram out of packet memory first. */
  private drain(): void {
    this.drainScheduled = false;
    const family = this.family === 4 ? 'IPv4' : 'IPv6';
    const alen = this.lastFrom.length;
    try {
      while (this.count > 0 && this.state === 'bound') {
        const buf = this.shift();
        const b = buf.bytes;
        const s = buf.start;
        const size = buf.end - s - UDP_HEADER_BYTES;
        if (this.lastFromText === '' || !addressAt(this.lastFrom, b, s - alen)) {
          copyAddress(b, s - alen, this.lastFrom);
          this.lastFromText = formatIp(this.lastFrom);
        }
        const rinfo: RemoteInfo = { address: this.lastFromText, family, port: (b[s]! << 8) | b[s + 1]!, size };
        const msg = Buffer.copyBytesFrom(b, s + UDP_HEADER_BYTES, size);
        buf.release();
        this.emit('message', msg, rinfo);
      }
    } finally {
      // A listener that threw leaves the rest for the next turn (and the throw to the process).
      if (this.count > 0 && this.state === 'bound' && !this.drainScheduled) {
        this.drainScheduled = true;
        setImmediate(this.drainFn);
      }
    }
  }

  /** The peer of the connected socket refused (ICMP port unreachable): Linux reports it on recvmsg. */
  refused(): void {
    const err = socketError('ECONNREFUSED', 'recvmsg');
    process.nextTick(() => {
      if (this.state !== 'closed') this.emit('error', err);
    });
  }

  // ---- state ----

  address(): SocketAddress {
    if (this.state !== 'bound') throw usageError('ERR_SOCKET_DGRAM_NOT_RUNNING', 'Not running');
    const address = this.boundAddress === null ? this.anyText() : formatIp(this.boundAddress);
    return { address, family: this.family === 4 ? 'IPv4' : 'IPv6', port: this.boundPort };
  }

  remoteAddress(): SocketAddress {
    if (this.state === 'closed') throw usageError('ERR_SOCKET_DGRAM_NOT_RUNNING', 'Not running');
    if (this.peerAddress === null) throw usageError('ERR_SOCKET_DGRAM_NOT_CONNECTED', 'Not connected');
    return { address: formatIp(this.peerAddress), family: this.family === 4 ? 'IPv4' : 'IPv6', port: this.peerPort };
  }

  close(callback?: () => void): this {
    if (this.state === 'closed') throw usageError('ERR_SOCKET_DGRAM_NOT_RUNNING', 'Not running');
    if (callback !== undefined) this.once('close', callback);
    this.shutdown();
    return this;
  }

  /** The stack is closing: the socket closes with it. */
  detach(): void {
    if (this.state !== 'closed') this.shutdown();
  }

  private shutdown(): void {
    this.state = 'closed';
    this.udp.unbind(this);
    while (this.count > 0) this.shift().release();
    this.sendQueue.length = 0;
    this.sendQueueBytes = 0;
    this.peerAddress = null;
    process.nextTick(() => this.emit('close'));
  }

  setRecvBufferSize(size: number): void {
    this.checkBound();
    this.recvBufferBytes = clampBuffer(size);
  }

  getRecvBufferSize(): number {
    this.checkBound();
    return this.recvBufferBytes;
  }

  setSendBufferSize(size: number): void {
    this.checkBound();
    this.sendBufferBytes = clampBuffer(size);
  }

  getSendBufferSize(): number {
    this.checkBound();
    return this.sendBufferBytes;
  }

  /** Bytes and count of sends waiting for buffers (dgram's getSendQueueSize/Count). */
  getSendQueueSize(): number {
    return this.sendQueueBytes;
  }

  getSendQueueCount(): number {
    return this.sendQueue.length;
  }

  setTTL(ttl: number): number {
    if (!Number.isInteger(ttl) || ttl < 1 || ttl > 255) throw socketError('EINVAL', 'setTTL');
    this.ttl = ttl;
    return ttl;
  }

  ref(): this {
    return this;
  }

  unref(): this {
    return this;
  }

  private checkBound(): void {
    if (this.state !== 'bound') throw usageError('ERR_SOCKET_BUFFER_SIZE', 'Could not get or set buffer size: the socket is not bound', Error);
  }

  private anyText(): string {
    return this.family === 4 ? '0.0.0.0' : '::';
  }

  private async resolve(host: string): Promise<Uint8Array> {
    if (this.lookup === null) throw socketError('ENOTFOUND', 'getaddrinfo', host);
    const text = await this.lookup(host, this.family === 4 ? 4 : 6);
    const ip = parseIp(text);
    if (ip === null) throw socketError('ENOTFOUND', 'getaddrinfo', host);
    return ip;
  }
}

function clampBuffer(size: number): number {
  if (!Number.isInteger(size) || size <= 0) {
    throw usageError('ERR_SOCKET_BAD_BUFFER_SIZE', `Buffer size must be a positive integer, got ${size}`, TypeError);
  }
  return size < UDP_MIN_BUFFER_BYTES ? UDP_MIN_BUFFER_BYTES : size > UDP_MAX_BUFFER_BYTES ? UDP_MAX_BUFFER_BYTES : size;
}

/** Ports: 0..65535 for bind (0: any), 1..65535 to send or connect to. */
function checkPort(port: unknown, allowZero: boolean): void {
  if (typeof port !== 'number' || !Number.isInteger(port) || port < (allowZero ? 0 : 1) || port > 65535) {
    throw usageError('ERR_SOCKET_BAD_PORT', `Port should be ${allowZero ? '>= 0' : '> 0'} and < 65536. Received ${String(port)}.`, RangeError);
  }
}

function toBytes(msg: UdpMessage): Uint8Array {
  if (msg instanceof Uint8Array) return msg;
  if (typeof msg === 'string') return Buffer.from(msg);
  if (ArrayBuffer.isView(msg)) return new Uint8Array(msg.buffer, msg.byteOffset, msg.byteLength);
  if (Array.isArray(msg)) return Buffer.concat(msg.map((m: string | NodeJS.ArrayBufferView) => toBytes(m)));
  throw usageError('ERR_INVALID_ARG_TYPE', 'The "buffer" argument must be of type string or an instance of Buffer, TypedArray, DataView or Array', TypeError);
}

/** msg[offset, offset + length) for one Buffer/TypedArray or string, as dgram's sliceBuffer. */
function slice(msg: UdpMessage, offset: unknown, length: unknown): Uint8Array {
  const bytes = toBytes(msg);
  if (Array.isArray(msg)) return bytes;
  const off = typeof offset === 'number' ? offset >>> 0 : 0;
  const len = typeof length === 'number' ? length >>> 0 : bytes.length - off;
  if (off > bytes.length || off + len > bytes.length) throw usageError('ERR_BUFFER_OUT_OF_BOUNDS', 'offset and length are out of bounds', RangeError);
  return bytes.subarray(off, off + len);
}
