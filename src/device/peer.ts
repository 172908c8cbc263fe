/**
 * A peer: its identity, handshake, keypairs, endpoint, counters and the packets waiting for a session
 * (paper 2 "Cryptokey Routing", 6 "Timers & Stateless UX").
 */
import type { PacketBuffer } from '../buffer/packet-buffer.js';
import type { Endpoint } from '../conn/bind.js';
import { keyToBase64, keyToHex, wipe } from '../crypto/keys.js';
import { CookieGenerator } from './cookie.js';
import { MAX_STAGED_PACKETS } from './constants.js';
import { Keypairs, type Keypair } from './keypair.js';
import { Handshake } from './noise.js';
import type { PeerTimers } from './timers.js';

export class Peer {
  readonly publicKey: Uint8Array;
  readonly publicKeyHex: string;
  readonly publicKeyBase64: string;
  readonly handshake: Handshake;
  readonly keypairs: Keypairs;
  readonly cookies: CookieGenerator;
  endpoint: Endpoint | null = null;
  persistentKeepaliveSec = 0;
  txBytes = 0;
  rxBytes = 0;
  /** Wall-clock ms of the last completed handshake; 0 for never (as `wg` shows it). */
  lastHandshakeWallMs = 0;
  handshakeAttempts = 0;
  /** A data packet arrived while the keepalive timer was already pending: send another after it (6.5). */
  needAnotherKeepalive = false;
  /** The receive-side last-minute rekey (6.2) was already triggered for the current keypair. */
  sentLastMinuteHandshake = false;
  running = false;
  /** Batch marks: a peer is in the sender's (receiver's) touched list while this matches its epoch. */
  sendEpoch = 0;
  recvEpoch = 0;
  touchedFlags = 0;
  timers!: PeerTimers;

  // Staged packets: a ring of at most MAX_STAGED_PACKETS, oldest dropped first.
  private readonly staged: (PacketBuffer | null)[] = new Array<PacketBuffer | null>(MAX_STAGED_PACKETS).fill(null);
  private stagedHead = 0;
  stagedCount = 0;

  constructor(publicKey: Uint8Array, onDropKeypair: (k: Keypair) => void) {
    this.publicKey = new Uint8Array(publicKey);
    this.publicKeyHex = keyToHex(publicKey);
    this.publicKeyBase64 = keyToBase64(publicKey);
    this.handshake = new Handshake(publicKey);
    this.keypairs = new Keypairs(onDropKeypair);
    this.cookies = new CookieGenerator(publicKey);
  }

  /** Queue a packet until a session can carry it; returns how many old packets were dropped (0 or 1). */
  stage(buf: PacketBuffer): number {
    let dropped = 0;
    if (this.stagedCount === MAX_STAGED_PACKETS) {
      const old = this.staged[this.stagedHead]!;
      this.staged[this.stagedHead] = null;
      this.stagedHead = (this.stagedHead + 1) % MAX_STAGED_PACKETS;
      this.stagedCount--;
      old.release();
      dropped = 1;
    }
    this.staged[(this.stagedHead + this.stagedCount) % MAX_STAGED_PACKETS] = buf;
    this.stagedCount++;
    return dropped;
  }

  /** Take the oldest staged packet, or null. */
  unstage(): PacketBuffer | null {
    if (this.stagedCount === 0) return null;
    const buf = this.staged[this.stagedHead]!;
    this.staged[this.stagedHead] = null;
    this.stagedHead = (this.stagedHead + 1) % MAX_STAGED_PACKETS;
    this.stagedCount--;
    return buf;
  }

  /** Drop every staged packet. */
  flushStaged(): void {
    for (let b = this.unstage(); b !== null; b = this.unstage()) b.release();
  }

  /** Forget sessions and the handshake in progress (keys zeroed), keep the configuration. */
  zeroKeys(): void {
    this.keypairs.clear();
    this.handshake.clear();
  }

  /** Wipe everything secret: the peer is being removed. */
  destroy(): void {
    this.flushStaged();
    this.keypairs.clear();
    this.handshake.destroy();
    this.cookies.destroy();
    wipe(this.handshake.presharedKey);
  }

  toString(): string {
    const k = this.publicKeyBase64;
    return `peer(${k.slice(0, 4)}…${k.slice(-5, -1)})`;
  }
}
