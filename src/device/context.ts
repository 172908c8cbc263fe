/**
 * What the data path (send.ts, receive.ts, handshake.ts) needs from the device. The Device implements
 * it; the paths import only this, so the device file can import them without a cycle. Per-peer state
 * and its events are the Peer's (peer.ts).
 */
import type { Source } from '../buffer/packet-buffer.js';
import type { Bind } from '../conn/bind.js';
import type { Tun } from '../tun/tun.js';
import type { AllowedIPs } from './allowed-ips.js';
import type { Clock } from '../base/clock.js';
import type { CookieChecker } from './cookie.js';
import type { IndexTable } from './index-table.js';
import type { StaticIdentity } from './noise.js';
import type { Peer } from './peer.js';
import type { RateLimiter } from './ratelimiter.js';
import type { DropCounters } from './stats.js';

export interface DeviceContext {
  readonly clock: Clock;
  readonly source: Source;
  readonly tun: Tun;
  readonly identity: StaticIdentity;
  readonly allowedIPs: AllowedIPs<Peer>;
  readonly indexTable: IndexTable<Peer>;
  readonly cookieChecker: CookieChecker;
  readonly rateLimiter: RateLimiter;
  readonly drops: DropCounters;
  /** The UDP back end; send through it only while bindOpen. */
  readonly bind: Bind;
  /** The bind's sockets are open (false while the device is down, or between rebinds). */
  readonly bindOpen: boolean;
  /** Inner MTU, for padding (5.4.6). */
  readonly mtu: number;
  isUp(): boolean;
  /**
   * The device is down but its TUN reported the link up since it went down: its owner (the daemon)
   * brings it up a moment later, and outbound packets wait for that instead of being dropped.
   */
  readonly comingUp: boolean;
  peerByPublicKey(key: Uint8Array): Peer | null;
  verbose(msg: string): void;
}
