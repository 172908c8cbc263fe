/**
 * TcpSocket: a TCP connection of the netstack as a net.Socket-shaped Duplex, so code written for
 * Node's sockets (http.Agent's createConnection, undici's connect, tls.connect({ socket }),
 * stream.pipeline) runs over it unchanged. It follows lib/net.js's observable behaviour:
 *
 * - events 'lookup', 'connect' then 'ready', 'data', 'end', 'drain', 'timeout', 'error', and 'close'
 *   with a hadError argument, emitted after 'error' (emitClose off, 'close' emitted by _destroy as
 *   net.Socket does);
 * - connecting / pending / readyState, remote and local address, port and family, bytesRead and
 *   bytesWritten, address(), setNoDelay, setKeepAlive, setTimeout (one idle 'timeout' per idle period,
 *   re-armed by activity), ref/unref (no-ops: the stack's timers never hold the event loop), end,
 *   destroy, destroySoon, resetAndDestroy (RST);
 * - writes before 'connect' wait for it; allowHalfOpen false by default: the peer's FIN ends our side
 *   too, and a later write fails with EPIPE ("ended by the other party");
 * - errors carry code, errno and syscall as Node's: connect ECONNREFUSED/ETIMEDOUT/EHOSTUNREACH
 *   (with address and port), read ECONNRESET/ETIMEDOUT, write EPIPE.
 *
 * Backpressure both ways: a write is taken into the connection's bounded send buffer and its callback
 * runs only when all of it fitted, so Node's Writable buffers the rest and write() returns false past
 * writableHighWaterMark; reading pushes views of the receive buffer only while push() returns true,
 * so a reader that stops leaves the bytes in the connection, where they close the advertised window.
 *
 * Nagle is off by default (the brief's choice, unlike Node's default): setNoDelay(false) turns it on.
 */
import { Duplex } from 'node:stream';
import { formatIp, parseIp } from '../net/address.js';
import { connectArgs, resolveHost, type TcpConnectOptions } from './tcp-connect.js';
import { WheelTimer } from './timer-wheel.js';
import type { Connection, ConnectionHandler, TcpErrorCode } from './tcp/connection.js';
import { RECV_CHUNK_BYTES } from './tcp/constants.js';
import type { Tcp } from './tcp/tcp.js';
import { tcpError } from './tcp/errors.js';
import type { IpFamily } from './transport.js';

export type { TcpConnectOptions };

export interface TcpSocketOptions {
  /** As net.Socket: false ends our side when the peer's FIN arrives. Default false. */
  allowHalfOpen?: boolean;
  readableHighWaterMark?: number;
  writableHighWaterMark?: number;
  /** net.Socket's options: Nagle off (default true here) and keepalive from the start. */
  noDelay?: boolean;
  keepAlive?: boolean;
  keepAliveInitialDelay?: number;
}

/** Node's AddressInfo shape. */
export interface TcpAddressInfo {
  address: string;
  family: 'IPv4' | 'IPv6';
  port: number;
}

/** Views are pulled up to this size (a receive chunk). */
const READ_MAX = RECV_CHUNK_BYTES;
/** What singleChunk holds between writes. */
const EMPTY = Buffer.alloc(0);

function familyName(f: IpFamily): 'IPv4' | 'IPv6' {
  return f === 4 ? 'IPv4' : 'IPv6';
}

export class TcpSocket extends Duplex implements ConnectionHandler {
  readonly tcp: Tcp;
  connecting: boolean;
  /** The idle timeout set by setTimeout (undefined until set, as net.Socket). */
  timeout: number | undefined;
  /** The server that accepted this socket, if any. */
  server: { socketClosed(): void } | null;
  private conn: Connection | null;
  private readPaused: boolean;
  private eofPushed: boolean;
  private eofScheduled: boolean;
  private readonly pushEofFn: () => void;
  private bytesReadCount: number;
  private bytesWrittenCount: number;
  // A write the send buffer did not take whole: the rest and its callback.
  private wChunks: Buffer[] | null;
  private wIndex: number;
  private wOffset: number;
  private wCb: ((err?: Error | null) => void) | null;
  private noDelay: boolean;
  private keepAliveOn: boolean;
  private keepAliveDelayMs: number;
  private idleTimer: WheelTimer | null;
  private lastActive: number;
  private resetting: boolean;
  private connectHost: string;
  private connectPort: number;
  /**
   * The one-element list _write() passes on (Writable never calls _write again before its callback),
   * emptied when the write is done: the chunk may be a view of a 64 KiB receive chunk (an echo).
   */
  private readonly singleChunk: Buffer[];
  // Addresses, kept after close (as net.Socket keeps its peer name).
  private remoteText: string | undefined;
  private localText: string | undefined;
  private remotePortValue: number | undefined;
  private localPortValue: number | undefined;
  private familyValue: IpFamily | 0;

  constructor(tcp: Tcp, options: TcpSocketOptions = {}) {
    super({
      allowHalfOpen: options.allowHalfOpen === true,
      emitClose: false,
      autoDestroy: true,
      decodeStrings: true,
      readableHighWaterMark: options.readableHighWaterMark ?? RECV_CHUNK_BYTES,
      writableHighWaterMark: options.writableHighWaterMark,
    });
    this.tcp = tcp;
    this.connecting = false;
    this.timeout = undefined;
    this.server = null;
    this.conn = null;
    this.readPaused = false;
    this.eofPushed = false;
    this.eofScheduled = false;
    this.pushEofFn = () => this.pushEof();
    this.bytesReadCount = 0;
    this.bytesWrittenCount = 0;
    this.wChunks = null;
    this.wIndex = 0;
    this.wOffset = 0;
    this.wCb = null;
    this.noDelay = options.noDelay ?? true;
    this.keepAliveOn = options.keepAlive === true;
    this.keepAliveDelayMs = options.keepAliveInitialDelay ?? 0;
    this.idleTimer = null;
    this.lastActive = 0;
    this.resetting = false;
    this.connectHost = '';
    this.connectPort = 0;
    this.singleChunk = [EMPTY];
    this.remoteText = undefined;
    this.localText = undefined;
    this.remotePortValue = undefined;
    this.localPortValue = undefined;
    this.familyValue = 0;
    this.on('end', onEnd);
  }

  // -------------------------------------------------------------------------------------------------
  // Opening.

  /** net.Socket#connect(options[, listener]) or connect(port[, host][, listener]). */
  connect(options: TcpConnectOptions | number, host?: string | (() => void), listener?: () => void): this {
    const { opts, port, done } = connectArgs(options, host, listener);
    if (this.connecting || this.conn !== null) throw new Error('socket is already connecting or connected');
    if (done !== undefined) this.once('connect', done);
    if (opts.noDelay !== undefined) this.noDelay = opts.noDelay;
    if (opts.keepAlive !== undefined) this.keepAliveOn = opts.keepAlive;
    if (opts.keepAliveInitialDelay !== undefined) this.keepAliveDelayMs = opts.keepAliveInitialDelay;
    if (opts.timeout !== undefined) this.setTimeout(opts.timeout);
    this.connecting = true;
    this.connectPort = port;
    this.connectHost = opts.host ?? 'localhost';
    resolveHost(this.connectHost, opts, (err, ip, address, family, looked) => {
      if (looked) this.emit('lookup', err, address, family, this.connectHost);
      if (this.destroyed) return;
      if (err !== null) this.destroy(err);
      else this.start(ip!, port, opts);
    });
    return this;
  }

  private start(ip: Uint8Array, port: number, opts: TcpConnectOptions): void {
    const family: IpFamily = ip.length === 4 ? 4 : 6;
    let local: Uint8Array | null = null;
    if (opts.localAddress !== undefined) {
      local = parseIp(opts.localAddress);
      if (local === null || local.length !== ip.length) {
        process.nextTick(() => this.destroy(tcpError('EADDRNOTAVAIL', 'connect', `${opts.localAddress}`)));
        return;
      }
    }
    this.familyValue = family;
    this.remoteText = formatIp(ip);
    this.remotePortValue = port;
    try {
      this.conn = this.tcp.connect(family, ip, port, local, opts.localPort ?? 0, this);
    } catch (e) {
      const err = e as NodeJS.ErrnoException & { address?: string; port?: number };
      err.address = this.remoteText;
      err.port = port;
      process.nextTick(() => this.destroy(err));
      return;
    }
    this.localText = formatIp(this.conn.local);
    this.localPortValue = this.conn.localPort;
    this.applyOptions(this.conn);
  }

  /** A connection a listener accepted (TcpServer). */
  attach(c: Connection): void {
    this.conn = c;
    c.handler = this;
    this.familyValue = c.family;
    this.remoteText = formatIp(c.remote);
    this.remotePortValue = c.remotePort;
    this.localText = formatIp(c.local);
    this.localPortValue = c.localPort;
    this.applyOptions(c);
    this.touch();
    if (c.rcv.unread > 0 || c.eof) this.onReadable();
  }

  private applyOptions(c: Connection): void {
    c.snd.nagle = !this.noDelay;
    if (this.keepAliveOn) c.setKeepAlive(true, this.keepAliveDelayMs);
  }

  // -------------------------------------------------------------------------------------------------
  // ConnectionHandler.

  onConnect(): void {
    if (this.destroyed) return;
    this.connecting = false;
    this.touch();
    this.emit('connect');
    this.emit('ready');
  }

  onReadable(): void {
    if (!this.readPaused && !this.destroyed) this.pullData();
  }

  onWritable(): void {
    if (this.wCb !== null) this.continueWrite();
  }

  onError(code: TcpErrorCode): void {
    this.conn = null;
    let err: NodeJS.ErrnoException & { address?: string; port?: number };
    if (this.connecting) {
      err = tcpError(code, 'connect', `${this.remoteText ?? this.connectHost}:${this.connectPort}`);
      err.address = this.remoteText;
      err.port = this.connectPort;
    } else {
      err = tcpError(code, 'read', '');
    }
    this.destroy(err);
  }

  heldBytes(): number {
    return this.readableLength;
  }

  // -------------------------------------------------------------------------------------------------
  // Reading.

  override _read(): void {
    this.readPaused = false;
    const c = this.conn;
    if (c === null) return;
    this.pullData();
    if (this.conn !== null) this.conn.readerDrained();
  }

  private pullData(): void {
    const c = this.conn;
    if (c === null) return;
    for (;;) {
      const v = c.read(READ_MAX);
      if (v === null) break;
      this.bytesReadCount += v.length;
      if (!this.push(v)) {
        this.readPaused = true;
        break;
      }
      if (this.destroyed || this.conn !== c) return;
    }
    this.touch();
    // EOF goes in on a later tick, as a kernel socket's arrives in a read callback of its own: never
    // inside the read() that returned the last bytes, where Readable would schedule 'end' at once
    // (undici's HTTP/1 parser may pause on those bytes and asserts that 'end' does not come then).
    if (c.eof && !this.eofPushed && !this.readPaused && !this.eofScheduled) {
      this.eofScheduled = true;
      process.nextTick(this.pushEofFn);
    }
  }

  private pushEof(): void {
    this.eofScheduled = false;
    const c = this.conn;
    if (c === null || this.destroyed || this.eofPushed || this.readPaused || !c.eof) return;
    const v = c.read(READ_MAX);
    if (v !== null) {
      // Bytes came after all (a late segment before the FIN was processed): deliver them first.
      this.bytesReadCount += v.length;
      if (!this.push(v)) this.readPaused = true;
      this.pullData();
      return;
    }
    this.eofPushed = true;
    this.push(null);
  }

  // -------------------------------------------------------------------------------------------------
  // Writing.

  override _write(chunk: Buffer, _encoding: BufferEncoding, cb: (err?: Error | null) => void): void {
    this.singleChunk[0] = chunk;
    this.writeChunks(this.singleChunk, cb);
  }

  override _writev(chunks: { chunk: Buffer; encoding: BufferEncoding }[], cb: (err?: Error | null) => void): void {
    const list: Buffer[] = new Array<Buffer>(chunks.length);
    for (let i = 0; i < chunks.length; i++) list[i] = chunks[i]!.chunk;
    this.writeChunks(list, cb);
  }

  private writeChunks(list: Buffer[], cb: (err?: Error | null) => void): void {
    if (this.connecting) {
      this.once('connect', () => this.writeChunks(list, cb));
      return;
    }
    if (this.conn === null || this.conn.isClosed) {
      this.singleChunk[0] = EMPTY;
      cb(tcpError('EPIPE', 'write', ''));
      return;
    }
    this.wChunks = list;
    this.wIndex = 0;
    this.wOffset = 0;
    this.wCb = cb;
    this.continueWrite();
  }

  /** Copy as much of the pending write as the send buffer takes; complete it when all is in. */
  private continueWrite(): void {
    const c = this.conn;
    const list = this.wChunks!;
    if (c === null) return;
    while (this.wIndex < list.length) {
      const chunk = list[this.wIndex]!;
      const left = chunk.length - this.wOffset;
      const n = left > 0 ? c.write(chunk, this.wOffset, left) : 0;
      this.bytesWrittenCount += n;
      this.wOffset += n;
      if (this.wOffset < chunk.length) {
        if (n === 0 && c.isClosed) break;
        if (n === 0 && !canWrite(c)) {
          this.failWrite(tcpError('EPIPE', 'write', ''));
          return;
        }
        return; // wait for onWritable
      }
      this.wIndex++;
      this.wOffset = 0;
    }
    const cb = this.wCb!;
    this.wChunks = null;
    this.singleChunk[0] = EMPTY;
    this.wCb = null;
    this.touch();
    cb();
  }

  private failWrite(err: Error): void {
    const cb = this.wCb;
    this.wChunks = null;
    this.singleChunk[0] = EMPTY;
    this.wCb = null;
    if (cb !== null) cb(err);
  }

  override _final(cb: (err?: Error | null) => void): void {
    if (this.connecting) {
      this.once('connect', () => this._final(cb));
      return;
    }
    if (this.conn !== null) this.conn.shutdown();
    cb();
  }

  override _destroy(err: Error | null, cb: (err?: Error | null) => void): void {
    this.connecting = false;
    if (this.idleTimer !== null) this.tcp.wheel.cancel(this.idleTimer);
    const c = this.conn;
    this.conn = null;
    if (c !== null) {
      c.handler = null;
      if (this.resetting) c.abort();
      else c.release();
    }
    if (this.wCb !== null) this.failWrite(err ?? Object.assign(new Error('Cannot call write after a stream was destroyed'), { code: 'ERR_STREAM_DESTROYED' }));
    cb(err);
    const hadError = err !== null && err !== undefined;
    process.nextTick(() => this.emit('close', hadError));
    if (this.server !== null) this.server.socketClosed();
  }

  // -------------------------------------------------------------------------------------------------
  // net.Socket's surface.

  get pending(): boolean {
    return this.conn === null || this.connecting;
  }

  get readyState(): 'opening' | 'open' | 'readOnly' | 'writeOnly' | 'closed' {
    if (this.connecting) return 'opening';
    if (this.readable && this.writable) return 'open';
    if (this.readable) return 'readOnly';
    if (this.writable) return 'writeOnly';
    return 'closed';
  }

  get bytesRead(): number {
    return this.bytesReadCount;
  }

  get bytesWritten(): number {
    return this.bytesWrittenCount;
  }

  get bufferSize(): number {
    return this.writableLength;
  }

  get remoteAddress(): string | undefined {
    return this.remoteText;
  }

  get remotePort(): number | undefined {
    return this.remotePortValue;
  }

  get remoteFamily(): 'IPv4' | 'IPv6' | undefined {
    return this.familyValue === 0 ? undefined : familyName(this.familyValue);
  }

  get localAddress(): string | undefined {
    return this.localText;
  }

  get localPort(): number | undefined {
    return this.localPortValue;
  }

  get localFamily(): 'IPv4' | 'IPv6' | undefined {
    return this.remoteFamily;
  }

  address(): TcpAddressInfo | Record<string, never> {
    if (this.localText === undefined || this.familyValue === 0) return {};
    return { address: this.localText, family: familyName(this.familyValue), port: this.localPortValue! };
  }

  /** setNoDelay(true) (the default here) sends at once; false turns Nagle's algorithm on. */
  setNoDelay(noDelay = true): this {
    this.noDelay = noDelay;
    if (this.conn !== null) this.conn.snd.nagle = !noDelay;
    return this;
  }

  /** As net.Socket: initialDelay 0 keeps the current idle time (2 h by default). */
  setKeepAlive(enable = false, initialDelay = 0): this {
    this.keepAliveOn = enable;
    this.keepAliveDelayMs = initialDelay > 0 ? initialDelay : 0;
    if (this.conn !== null) this.conn.setKeepAlive(enable, this.keepAliveDelayMs);
    return this;
  }

  /** 'timeout' after `ms` without reads or writes (once per idle period); 0 turns it off. */
  setTimeout(ms: number, callback?: () => void): this {
    if (this.destroyed) return this;
    if (!Number.isFinite(ms) || ms < 0) throw new RangeError(`msecs must be a non-negative number, got ${ms}`);
    this.timeout = ms;
    if (ms === 0) {
      if (this.idleTimer !== null) this.tcp.wheel.cancel(this.idleTimer);
      if (callback !== undefined) this.removeListener('timeout', callback);
      return this;
    }
    if (this.idleTimer === null) this.idleTimer = new WheelTimer(() => this.onIdle());
    this.lastActive = this.tcp.wheel.now();
    this.tcp.wheel.arm(this.idleTimer, ms);
    if (callback !== undefined) this.once('timeout', callback);
    return this;
  }

  ref(): this {
    return this;
  }

  unref(): this {
    return this;
  }

  /** End, then destroy once everything is flushed (net.Socket#destroySoon). */
  destroySoon(): void {
    if (this.writable) this.end();
    if (this.writableFinished) this.destroy();
    else this.once('finish', () => this.destroy());
  }

  /** Close with an RST instead of a FIN (net.Socket#resetAndDestroy). */
  resetAndDestroy(): this {
    if (this.conn === null && !this.connecting) {
      this.destroy(Object.assign(new Error('Socket is closed'), { code: 'ERR_SOCKET_CLOSED' }));
      return this;
    }
    this.resetting = true;
    this.destroy();
    return this;
  }

  /** The connection underneath (stats, tests). */
  get connection(): Connection | null {
    return this.conn;
  }

  private touch(): void {
    if (this.timeout === undefined || this.timeout === 0 || this.idleTimer === null) return;
    this.lastActive = this.tcp.wheel.now();
    this.tcp.wheel.armAt(this.idleTimer, this.lastActive + this.timeout);
  }

  private onIdle(): void {
    if (this.destroyed || this.timeout === undefined || this.timeout === 0) return;
    this.emit('timeout');
  }
}

/** A connection that can still take data (not after our FIN or a failure). */
function canWrite(c: Connection): boolean {
  return !c.isClosed && !c.snd.finQueued;
}

/** net.Socket's onReadableStreamEnd: without allowHalfOpen, writing after the peer's FIN is EPIPE. */
function onEnd(this: TcpSocket): void {
  if (this.allowHalfOpen) return;
  this.write = writeAfterFin;
}

function writeAfterFin(this: TcpSocket, chunk: unknown, encoding?: unknown, cb?: unknown): boolean {
  if (!this.writableEnded) return Duplex.prototype.write.call(this, chunk, encoding as BufferEncoding, cb as () => void);
  const callback = typeof encoding === 'function' ? encoding : cb;
  const err = Object.assign(new Error('This socket has been ended by the other party'), { code: 'EPIPE' });
  if (typeof callback === 'function') process.nextTick(callback as (e: Error) => void, err);
  this.destroy(err);
  return false;
}
