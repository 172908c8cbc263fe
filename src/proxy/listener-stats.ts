/**
 * Per-listener accounting for /metrics (issue 9 point 4): connections open and in total, connections
 * turned away at the limit, failed upstream attempts, and bytes to and from clients. TCP bytes come
 * from the client sockets' own counters (bytesRead, bytesWritten), read at scrape time and folded in
 * when a socket closes, so the data path pays nothing per chunk. UDP listeners count datagrams as they
 * pass. The set of live sockets also lets the proxy close them all on shutdown.
 */
import type { Socket } from 'node:net';

export interface ListenerSnapshot {
  /** Section kind (socks5, http, tcp-client, ...). */
  kind: string;
  /** Where it listens: "127.0.0.1:1080", or "tunnel:5000" for a port on the tunnel's address. */
  address: string;
  open: number;
  total: number;
  /** Connections closed at once because the listener was at its limit. */
  refused: number;
  /** Upstream connection attempts or sends that failed. */
  failed: number;
  /** Bytes received from clients and sent to them. */
  bytesIn: number;
  bytesOut: number;
  /** Datagrams, for UDP listeners (0 for TCP ones). */
  datagramsIn: number;
  datagramsOut: number;
  /** Datagrams dropped (fragments, malformed headers, full queues, sessions at their limit). */
  dropped: number;
}

/** The socket counters we read: net.Socket and tls.TLSSocket have them. */
type Counted = Pick<Socket, 'bytesRead' | 'bytesWritten' | 'destroy' | 'once'>;

export class ListenerStats {
  readonly kind: string;
  /** Set to the bound address once listening. */
  address: string;
  total = 0;
  refused = 0;
  failed = 0;
  datagramsIn = 0;
  datagramsOut = 0;
  dropped = 0;
  /** UDP bytes, and the TCP bytes of sockets already closed. */
  bytesIn = 0;
  bytesOut = 0;
  private readonly live = new Set<Counted>();
  private readonly inverted = new Set<Counted>();

  constructor(kind: string, address: string) {
    this.kind = kind;
    this.address = address;
  }

  /**
   * Count a connection, open until its 'close'. `socket` is the client's connection, or, with
   * `facingTarget`, the connection to the target (a server tunnel's clients come through the tunnel,
   * whose sockets need not count bytes): what it writes came in from the client.
   */
  track(socket: Counted, facingTarget = false): void {
    this.total++;
    this.live.add(socket);
    if (facingTarget) this.inverted.add(socket);
    socket.once('close', () => {
      this.live.delete(socket);
      const inv = this.inverted.delete(socket);
      this.bytesIn += inv ? socket.bytesWritten : socket.bytesRead;
      this.bytesOut += inv ? socket.bytesRead : socket.bytesWritten;
    });
  }

  get open(): number {
    return this.live.size;
  }

  /** Destroy every live client connection (shutdown). */
  destroyAll(): void {
    for (const s of this.live) s.destroy();
  }

  snapshot(): ListenerSnapshot {
    let bytesIn = this.bytesIn;
    let bytesOut = this.bytesOut;
    for (const s of this.live) {
      const inv = this.inverted.has(s);
      bytesIn += inv ? s.bytesWritten : s.bytesRead;
      bytesOut += inv ? s.bytesRead : s.bytesWritten;
    }
    return {
      kind: this.kind,
      address: this.address,
      open: this.live.size,
      total: this.total,
      refused: this.refused,
      failed: this.failed,
      bytesIn,
      bytesOut,
      datagramsIn: this.datagramsIn,
      datagramsOut: this.datagramsOut,
      dropped: this.dropped,
    };
  }
}
