/**
 * The UAPI socket server: `wg` configures a userspace interface by connecting to
 * /var/run/wireguard/NAME.sock and speaking the cross-platform UAPI text protocol (get=1 / set=1). This
 * is the socket half of wireguard-go's ipc package and Device.IpcHandle; the protocol itself is
 * device/uapi.ts.
 *
 * - One connection may carry several requests; replies go back in order.
 * - Requests from all connections run one at a time per device (exclusive.ts), so a get never sees
 *   half a set and two sets never interleave their rebinds.
 * - The socket file is removed on close, and when it is removed from outside the server emits
 *   'removed' (wireguard-go exits then; the daemon does the same).
 */
import { EventEmitter } from 'node:events';
import fs from 'node:fs';
import net from 'node:net';
import type { Device } from '../device/device.js';
import { silentLogger, type Logger } from '../base/logger.js';
import type { UapiError } from '../device/errors.js';
import { uapiGetReply, uapiSetParser, uapiSetReply } from '../device/uapi.js';
import type { UapiSetLimits } from '../device/uapi-parser.js';
import { exclusive } from './exclusive.js';
import { RequestReader } from './request-reader.js';
import { inodeOf, listenOnFd, listenOnPath, socketPath, SOCKET_DIRECTORY, watchRemoval } from './socket-file.js';

export interface UapiServerOptions {
  /** Directory of the socket file (default /var/run/wireguard); tests use a temporary one. */
  directory?: string;
  /**
   * An already-listening unix socket to serve instead of creating one (WG_UAPI_FD). Its file, if it
   * sits at the usual path, is still watched and removed on close, as wireguard-go does.
   */
  fd?: number;
  logger?: Logger;
  /** Bounds of one set request (default: device/uapi-parser.ts's); tests make them small. */
  setLimits?: UapiSetLimits;
  /**
   * Called as each request arrives, before it is queued. The daemon lets the TUN re-read the link
   * state here: a link change it has not reported yet (it polls) then queues its up/down ahead of
   * the request, so `wg` right after `ip link set up` sees the device bound, as with wireguard-go.
   */
  beforeRequest?: () => void;
}

export interface UapiServerEvents {
  /** The socket file was deleted or replaced from outside: the interface should shut down. */
  removed: [];
}

/** EINVAL as the protocol writes it: the reply to a malformed get. */
const BAD_GET_REPLY = 'errno=-22\n\n';

export class UapiServer extends EventEmitter<UapiServerEvents> {
  /** The socket file served (the usual path also when serving an fd), or null if there is none. */
  readonly path: string | null;
  private readonly server: net.Server;
  private readonly conns = new Set<net.Socket>();
  private readonly log: Logger;
  private readonly setLimits: UapiSetLimits | undefined;
  private readonly beforeRequest: () => void;
  private stopWatch: () => void = () => {};
  /** Inode of the socket file we made, so close() never deletes a successor's socket. */
  private ino: number | null = null;
  private closed = false;

  private constructor(
    private readonly dev: Device,
    server: net.Server,
    file: string | null,
    options: UapiServerOptions,
  ) {
    super();
    this.server = server;
    this.path = file;
    this.log = options.logger ?? silentLogger;
    this.setLimits = options.setLimits;
    this.beforeRequest = options.beforeRequest ?? (() => {});
    server.on('connection', (sock) => this.serve(sock));
  }

  /**
   * Listen for `wg` on the interface's socket. Throws InterfaceInUseError when a live process already
   * answers there, or the file-system error (EACCES, say) as it came.
   */
  static async listen(dev: Device, name: string, options: UapiServerOptions = {}): Promise<UapiServer> {
    // allowHalfOpen: a client that shuts down its write side after a set still gets the errno reply.
    const server = net.createServer({ allowHalfOpen: true });
    const file = socketPath(name, options.directory ?? SOCKET_DIRECTORY);
    if (options.fd !== undefined) {
      await listenOnFd(server, options.fd);
      const known = inodeOf(file) !== null;
      const s = new UapiServer(dev, server, known ? file : null, options);
      s.watch();
      return s;
    }
    await listenOnPath(server, file);
    const s = new UapiServer(dev, server, file, options);
    s.watch();
    return s;
  }

  private watch(): void {
    this.server.on('error', (err) => this.log.error?.(`UAPI listener: ${err.message}`));
    if (this.path === null) return;
    this.ino = inodeOf(this.path);
    this.stopWatch = watchRemoval(this.path, () => {
      if (this.closed) return;
      this.log.verbose?.(`UAPI socket ${this.path} was removed`);
      this.ino = null; // not ours any more: close() must leave whatever is there now alone
      this.emit('removed');
    });
  }

  /** Stop listening, drop open connections and remove the socket file. Idempotent. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    this.stopWatch();
    for (const c of this.conns) c.destroy();
    this.conns.clear();
    // An fd handed in is ours to remove; a socket libuv bound itself it unlinks again when the server
    // closes (by name, so a successor that took the path in the instant since 'removed' would lose
    // its file: the daemon exits on 'removed' at once, which keeps that window short).
    if (this.path !== null && this.ino !== null && inodeOf(this.path) === this.ino) {
      fs.rmSync(this.path, { force: true });
    }
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }

  private serve(sock: net.Socket): void {
    if (this.closed) {
      sock.destroy();
      return;
    }
    this.conns.add(sock);
    // Set lines are parsed as they arrive, outside the device's queue: parsing reads no device state.
    const reader = new RequestReader(() => uapiSetParser(this.dev, this.setLimits));
    const refused = (e: UapiError): void => this.log.error?.(`UAPI request refused (errno=-${e.errno}): ${e.message}`);
    let busy = false;
    let ended = false;

    const pump = async (): Promise<void> => {
      if (busy || sock.destroyed) return;
      busy = true;
      try {
        for (;;) {
          const req = reader.next() ?? (ended ? reader.finish() : null);
          if (req === null) break;
          if (req.kind === 'invalid') {
            this.log.error?.(`invalid UAPI operation: ${req.line}`);
            sock.destroy();
            return;
          }
          let reply: string | Buffer = BAD_GET_REPLY;
          if (req.kind === 'get') {
            this.beforeRequest();
            reply = await exclusive(this.dev, async () => uapiGetReply(this.dev));
          } else if (req.kind === 'set') {
            this.beforeRequest();
            const body = req.body;
            reply = await exclusive(this.dev, () => uapiSetReply(this.dev, body, refused));
          }
          if (sock.destroyed) return;
          // A client that pipelines without reading would make us buffer replies without bound.
          if (!sock.write(reply)) await new Promise<void>((r) => sock.once('drain', r).once('close', r));
        }
        if (ended && !sock.destroyed) sock.end();
      } finally {
        busy = false;
        if (!sock.destroyed) sock.resume();
      }
    };
    const run = (): void => {
      pump().catch((err: unknown) => {
        this.log.error?.(`UAPI connection: ${(err as Error).message}`);
        sock.destroy();
      });
    };

    sock.on('data', (chunk: Buffer) => {
      reader.push(chunk);
      // While a request runs, let the kernel hold further bytes (backpressure on the client) rather
      // than our buffer.
      if (busy) sock.pause();
      else run();
    });
    sock.on('end', () => {
      ended = true;
      run();
    });
    // A client that goes away mid-request is not an error of ours.
    sock.on('error', () => sock.destroy());
    sock.on('close', () => this.conns.delete(sock));
  }
}
