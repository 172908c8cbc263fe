/**
 * The listening sockets by port: which listener takes a segment (the one bound to its destination
 * address before a wildcard), the bind conflicts net.Server reports as EADDRINUSE (a wildcard of a
 * family overlaps every address of it; family 0 is both, as Node's '::' is dual-stack), and free
 * ports for listen(0).
 */
import type { IpFamily } from '../transport.js';
import { EPHEMERAL_PORT_MAX, EPHEMERAL_PORT_MIN } from './constants.js';
import { tcpError } from './errors.js';
import { Listener } from './listener.js';
import type { TcpStats } from './stats.js';

function sameBytes(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

export class ListenerTable {
  private readonly byPort: Map<number, Listener[]>;
  private cursor: number;

  constructor() {
    this.byPort = new Map();
    this.cursor = 0;
  }

  /** A new listener; throws EADDRINUSE on a conflict. `port` 0 takes a free ephemeral port. */
  add(family: IpFamily | 0, address: Uint8Array | null, port: number, backlog: number): Listener {
    if (port === 0) port = this.freePort();
    if (port === 0) throw tcpError('EADDRINUSE', 'listen', 'no free port');
    const list = this.byPort.get(port);
    if (list !== undefined) {
      for (const l of list) {
        const sameFamily = l.family === 0 || family === 0 || l.family === family;
        const overlap = l.address === null || address === null || sameBytes(l.address, address);
        if (sameFamily && overlap) throw tcpError('EADDRINUSE', 'listen', `port ${port} is in use`);
      }
    }
    const l = new Listener(family, address, port, backlog);
    if (list === undefined) this.byPort.set(port, [l]);
    else list.push(l);
    return l;
  }

  remove(l: Listener): void {
    l.closed = true;
    const list = this.byPort.get(l.port);
    if (list === undefined) return;
    const i = list.indexOf(l);
    if (i >= 0) list.splice(i, 1);
    if (list.length === 0) this.byPort.delete(l.port);
  }

  /** The listener for a segment to dst:port: bound to dst first, else a wildcard. */
  find(family: IpFamily, dst: Uint8Array, port: number): Listener | null {
    const list = this.byPort.get(port);
    if (list === undefined) return null;
    let wildcard: Listener | null = null;
    for (let i = 0; i < list.length; i++) {
      const l = list[i]!;
      if (!l.accepts(family, dst)) continue;
      if (l.address !== null) return l;
      wildcard = l;
    }
    return wildcard;
  }

  /** Does a listener take port on `local`? (Ephemeral ports avoid them.) */
  listened(port: number, family: IpFamily, local: Uint8Array): boolean {
    return this.find(family, local, port) !== null;
  }

  /** Listener counts into `t`. */
  addStats(t: TcpStats): void {
    for (const ls of this.byPort.values()) {
      for (const l of ls) {
        t.listeners++;
        t.synCookiesSent += l.cookiesSent;
        t.synCookiesAccepted += l.cookiesAccepted;
        t.synCookiesFailed += l.cookiesFailed;
        t.synDropped += l.synDropped;
      }
    }
  }

  /** The stack is closing. */
  closeAll(): void {
    for (const ls of this.byPort.values()) for (const l of ls) l.closed = true;
    this.byPort.clear();
  }

  private freePort(): number {
    const range = EPHEMERAL_PORT_MAX - EPHEMERAL_PORT_MIN + 1;
    for (let k = 0; k < range; k++) {
      const port = EPHEMERAL_PORT_MIN + ((this.cursor + k) % range);
      if (!this.byPort.has(port)) {
        this.cursor += k + 1;
        return port;
      }
    }
    return 0;
  }
}
