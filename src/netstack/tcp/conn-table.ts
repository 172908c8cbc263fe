/**
 * The connection table: every connection by its 4-tuple (RFC 9293 §3.3.1's socket pair), looked up
 * per segment without allocating (a numeric hash into chained buckets, addresses compared byte by
 * byte), and the TIME-WAIT list: connections in TIME-WAIT oldest first, so the table stays bounded
 * (past maxTimeWait the oldest is closed early, as Linux's tcp_max_tw_buckets bounds it). Only
 * connections whose socket is still held stay here in TIME-WAIT; the others become rows of
 * time-wait.ts.
 */
import type { IpFamily } from '../transport.js';
import type { Connection } from './connection.js';

const INITIAL_BUCKETS = 256;

function sameAddress(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

/** A mix of the tuple's ports and the addresses' last words (the varying part of tunnel addresses). */
export function tupleHash(local: Uint8Array, localPort: number, remote: Uint8Array, remotePort: number): number {
  const r = remote.length;
  const l = local.length;
  let h = Math.imul((localPort << 16) | remotePort, 0x9e3779b1);
  h ^= Math.imul((remote[r - 4]! << 24) | (remote[r - 3]! << 16) | (remote[r - 2]! << 8) | remote[r - 1]!, 0x85ebca6b);
  h ^= Math.imul((local[l - 2]! << 8) | local[l - 1]!, 0xc2b2ae35);
  h ^= h >>> 15;
  h = Math.imul(h, 0x27d4eb2f);
  return (h ^ (h >>> 13)) >>> 0;
}

export class ConnTable {
  private buckets: (Connection | null)[];
  private mask: number;
  /** Connections in the table (TIME-WAIT included). */
  count: number;
  /** TIME-WAIT list, oldest first. */
  private twHead: Connection | null;
  private twTail: Connection | null;
  timeWaitCount: number;

  constructor() {
    this.buckets = new Array<Connection | null>(INITIAL_BUCKETS).fill(null);
    this.mask = INITIAL_BUCKETS - 1;
    this.count = 0;
    this.twHead = null;
    this.twTail = null;
    this.timeWaitCount = 0;
  }

  lookup(family: IpFamily, local: Uint8Array, localPort: number, remote: Uint8Array, remotePort: number): Connection | null {
    let c: Connection | null = this.buckets[tupleHash(local, localPort, remote, remotePort) & this.mask]!;
    while (c !== null) {
      if (c.localPort === localPort && c.remotePort === remotePort && c.family === family && sameAddress(c.remote, remote) && sameAddress(c.local, local)) return c;
      c = c.hashNext;
    }
    return null;
  }

  insert(c: Connection): void {
    if (this.count >= this.buckets.length) this.rehash(this.buckets.length * 2);
    const i = tupleHash(c.local, c.localPort, c.remote, c.remotePort) & this.mask;
    c.hashNext = this.buckets[i]!;
    this.buckets[i] = c;
    this.count++;
  }

  remove(c: Connection): void {
    const i = tupleHash(c.local, c.localPort, c.remote, c.remotePort) & this.mask;
    let p: Connection | null = this.buckets[i]!;
    if (p === c) {
      this.buckets[i] = c.hashNext;
    } else {
      while (p !== null && p.hashNext !== c) p = p.hashNext;
      if (p === null) return;
      p.hashNext = c.hashNext;
    }
    c.hashNext = null;
    this.count--;
    this.leaveTimeWait(c);
  }

  /** Append to the TIME-WAIT list; returns the oldest entry when the list is over `max` (to close). */
  enterTimeWait(c: Connection, max: number): Connection | null {
    c.twPrev = this.twTail;
    c.twNext = null;
    if (this.twTail !== null) this.twTail.twNext = c;
    else this.twHead = c;
    this.twTail = c;
    this.timeWaitCount++;
    return this.timeWaitCount > max ? this.twHead : null;
  }

  /** Every connection, for a stack-wide pass (close, onWritable): a snapshot array. */
  all(): Connection[] {
    const out: Connection[] = [];
    for (let i = 0; i < this.buckets.length; i++) {
      for (let c: Connection | null = this.buckets[i]!; c !== null; c = c.hashNext) out.push(c);
    }
    return out;
  }

  private leaveTimeWait(c: Connection): void {
    if (c.twPrev === null && this.twHead !== c) return;
    if (c.twPrev !== null) c.twPrev.twNext = c.twNext;
    else this.twHead = c.twNext;
    if (c.twNext !== null) c.twNext.twPrev = c.twPrev;
    else this.twTail = c.twPrev;
    c.twPrev = c.twNext = null;
    this.timeWaitCount--;
  }

  private rehash(size: number): void {
    const old = this.buckets;
    this.buckets = new Array<Connection | null>(size).fill(null);
    this.mask = size - 1;
    for (let i = 0; i < old.length; i++) {
      let c: Connection | null = old[i]!;
      while (c !== null) {
        const next: Connection | null = c.hashNext;
        const j = tupleHash(c.local, c.localPort, c.remote, c.remotePort) & this.mask;
        c.hashNext = this.buckets[j]!;
        this.buckets[j] = c;
        c = next;
      }
    }
  }
}
