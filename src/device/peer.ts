/**
 * A peer: one session object (paper 2 "Cryptokey Routing", 5.4 "Messages", 6 "Timers & Stateless
 * UX"). Everything kept per peer is declared here and changed only by the methods here: identity and
 * configuration, the handshake and the keypair slots, the endpoint, the transfer counters, the
 * packets waiting for a session, and the five timers with their state.
 *
 * The data path (send.ts, receive.ts, handshake.ts) reports what happened through the hooks below,
 * named after the event as the kernel's timers.c names them (onDataSent, onHandshakeComplete, ...),
 * and reads the rest. When a timer expires the peer calls the sender itself; the device hears only
 * what its embedder must (a handshake, a new endpoint, a failed handshake) through PeerHost.
 */
import { randomInt } from 'node:crypto';
import { Timer, type Clock } from '../base/clock.js';
import type { PacketBuffer } from '../buffer/packet-buffer.js';
import type { Endpoint } from '../conn/bind.js';
import { keyToBase64, keyToHex, wipe } from '../crypto/keys.js';
import {
  KEEPALIVE_TIMEOUT_MS,
  MAX_STAGED_PACKETS,
  MAX_TIMER_HANDSHAKES,
  REKEY_TIMEOUT_JITTER_MAX_MS,
  REKEY_TIMEOUT_MS,
  ZERO_KEY_MATERIAL_AFTER_MS,
} from './constants.js';
import { CookieGenerator } from './cookie.js';
import { Keypairs, type Keypair } from './keypair.js';
import { Handshake, type StaticIdentity } from './noise.js';

/** What a peer's timers and configuration ask to be sent: the device's Sender implements it. */
export interface PeerSender {
  /** A handshake initiation (5.4.2); isRetry keeps the attempt count (6.4). */
  sendInitiation(peer: Peer, isRetry: boolean): void;
  /** An empty transport message (6.5 Passive Keepalive), or the staged data if any waits. */
  sendKeepalive(peer: Peer): void;
  /** The staged packets, sealed, or a handshake if no session can carry them. */
  sendStaged(peer: Peer): void;
}

/** What a peer tells the device: the device implements it (its index table, its log, its events). */
export interface PeerHost {
  /** An index of this peer's (a keypair's, 5.4.5) is no longer in use. */
  freeIndex(index: number): void;
  verbose(msg: string): void;
  /** A handshake completed (for the embedder's 'handshake' event). */
  handshakeComplete(peer: Peer): void;
  /** An authenticated packet came from a new endpoint (roaming, paper 2.1). */
  endpointChanged(peer: Peer, endpoint: Endpoint): void;
  /** Retransmissions were exhausted without a handshake (6.4). */
  handshakeFailed(peer: Peer): void;
}

/** Up to a third of a second more on each retry, so peers do not retry in lockstep (6.4). */
function jitter(): number {
  return randomInt(REKEY_TIMEOUT_JITTER_MAX_MS + 1);
}

export class Peer {
  readonly publicKey: Uint8Array;
  readonly publicKeyHex: string;
  readonly publicKeyBase64: string;
  /** Noise state of the handshake in flight, and the PSK (noise.ts). */
  readonly handshake: Handshake;
  /** Current, previous and next session (keypair.ts). */
  readonly keypairs: Keypairs;
  /** mac1/mac2 of what we send, and the cookie the peer gave us (5.4.4). */
  readonly cookies: CookieGenerator;
  private readonly clock: Clock;
  private readonly sender: PeerSender;
  private readonly host: PeerHost;

  private endpointValue: Endpoint | null;
  private keepaliveSec: number;
  private txCount: number;
  private rxCount: number;
  private lastHandshakeWall: number;
  private isRunning: boolean;

  // Staged packets: a ring of at most MAX_STAGED_PACKETS, oldest dropped first.
  private readonly staged: (PacketBuffer | null)[];
  private stagedHead: number;
  private stagedLength: number;

  // The five timers of section 6 and what they count.
  private readonly retransmitHandshake: Timer;
  private readonly sendKeepaliveTimer: Timer;
  private readonly newHandshake: Timer;
  private readonly zeroKeyMaterial: Timer;
  private readonly persistentKeepalive: Timer;
  /** Initiations sent since the last handshake completed or a fresh start (6.4). */
  private handshakeAttempts: number;
  /** Monotonic ms of the last initiation sent; -Infinity: none, or one may go at once. */
  private lastSentHandshake: number;
  /** Data arrived while the keepalive timer was already pending: send another after it (6.5). */
  private needAnotherKeepalive: boolean;
  /** The receive-side last-minute rekey (6.2) was already triggered for the current keypair. */
  private sentLastMinuteHandshake: boolean;

  /** A stopped peer (start() when the device is up), its static-static DH done for `identity`. */
  constructor(publicKey: Uint8Array, identity: StaticIdentity, clock: Clock, sender: PeerSender, host: PeerHost) {
    this.publicKey = new Uint8Array(publicKey);
    this.publicKeyHex = keyToHex(publicKey);
    this.publicKeyBase64 = keyToBase64(publicKey);
    this.handshake = new Handshake(publicKey);
    this.handshake.precompute(identity);
    this.keypairs = new Keypairs((k) => {
      host.freeIndex(k.localIndex);
      k.destroy();
    });
    this.cookies = new CookieGenerator(publicKey);
    this.clock = clock;
    this.sender = sender;
    this.host = host;
    this.endpointValue = null;
    this.keepaliveSec = 0;
    this.txCount = 0;
    this.rxCount = 0;
    this.lastHandshakeWall = 0;
    this.isRunning = false;
    this.staged = new Array<PacketBuffer | null>(MAX_STAGED_PACKETS).fill(null);
    this.stagedHead = 0;
    this.stagedLength = 0;
    this.retransmitHandshake = new Timer(clock, () => this.expiredRetransmitHandshake());
    this.sendKeepaliveTimer = new Timer(clock, () => this.expiredSendKeepalive());
    this.newHandshake = new Timer(clock, () => this.expiredNewHandshake());
    this.zeroKeyMaterial = new Timer(clock, () => this.expiredZeroKeyMaterial());
    this.persistentKeepalive = new Timer(clock, () => this.expiredPersistentKeepalive());
    this.handshakeAttempts = 0;
    this.lastSentHandshake = -Infinity;
    this.needAnotherKeepalive = false;
    this.sentLastMinuteHandshake = false;
  }

  // ---- what others read ----

  /** Where we send: configured, or the latest authenticated source (roaming). */
  get endpoint(): Endpoint | null {
    return this.endpointValue;
  }

  /** Seconds between persistent keepalives; 0 is off. */
  get persistentKeepaliveSec(): number {
    return this.keepaliveSec;
  }

  /** Bytes sent and received, WireGuard headers included (as `wg` counts them). */
  get txBytes(): number {
    return this.txCount;
  }

  get rxBytes(): number {
    return this.rxCount;
  }

  /** Wall-clock ms of the last completed handshake; 0 for never (as `wg` shows it). */
  get lastHandshakeWallMs(): number {
    return this.lastHandshakeWall;
  }

  /** The device is up and the peer takes part in it. */
  get running(): boolean {
    return this.isRunning;
  }

  /** Packets waiting for a session. */
  get stagedCount(): number {
    return this.stagedLength;
  }

  // ---- configuration and lifecycle (the device) ----

  /** The device went up (or the peer was added to a running device). */
  start(): void {
    if (this.isRunning) return;
    this.isRunning = true;
    this.lastSentHandshake = -Infinity;
    // Turning up with a persistent keepalive sends one at once, so a NAT mapping opens now.
    if (this.keepaliveSec > 0) this.sender.sendKeepalive(this);
  }

  /** The device went down or the peer is being removed: no timer fires after this, sessions and staged packets go. */
  stop(): void {
    this.isRunning = false;
    this.retransmitHandshake.stop();
    this.sendKeepaliveTimer.stop();
    this.newHandshake.stop();
    this.zeroKeyMaterial.stop();
    this.persistentKeepalive.stop();
    const hs = this.handshake;
    if (hs.localIndex !== 0) this.host.freeIndex(hs.localIndex);
    hs.localIndex = 0;
    this.zeroKeys();
    this.dropStaged();
  }

  setPresharedKey(key: Uint8Array): void {
    this.handshake.presharedKey.set(key);
  }

  /** A configured endpoint (`wg set ... endpoint`): not an event, unlike roamTo(). */
  setEndpoint(endpoint: Endpoint): void {
    this.endpointValue = endpoint;
  }

  /** Persistent keepalive (`wg set ... persistent-keepalive`): restarts its timer, or stops it at 0. */
  setPersistentKeepalive(seconds: number): void {
    const was = this.keepaliveSec;
    this.keepaliveSec = seconds;
    this.onAnyAuthenticatedPacketTraversal();
    // Turning it on sends one at once, so a NAT mapping opens now (as wireguard-go does).
    if (was === 0 && seconds > 0 && this.isRunning) this.sender.sendKeepalive(this);
  }

  /**
   * Our private key changed: redo the static-static DH, and let no session made under the old key
   * carry new data: the next packet starts a fresh handshake at once.
   */
  identityChanged(identity: StaticIdentity): void {
    this.handshake.precompute(identity);
    this.handshake.clear();
    this.lastSentHandshake = -Infinity;
    this.keypairs.retireForSending();
  }

  /** Send what is staged now (configuration gave the peer an endpoint, say). */
  sendStaged(): void {
    if (this.isRunning && this.stagedLength > 0) this.sender.sendStaged(this);
  }

  /** Forget sessions and the handshake in progress (keys zeroed), keep the configuration. */
  zeroKeys(): void {
    this.keypairs.clear();
    this.handshake.clear();
  }

  /** Wipe everything secret: the peer is being removed (after stop()). */
  destroy(): void {
    this.dropStaged();
    this.keypairs.clear();
    this.handshake.destroy();
    this.cookies.destroy();
    wipe(this.handshake.presharedKey);
  }

  // ---- staged packets (send.ts) ----

  /** Queue a packet until a session can carry it; returns how many old packets were dropped (0 or 1). */
  stage(buf: PacketBuffer): number {
    let dropped = 0;
    if (this.stagedLength === MAX_STAGED_PACKETS) {
      this.unstage()!.release();
      dropped = 1;
    }
    this.staged[(this.stagedHead + this.stagedLength) % MAX_STAGED_PACKETS] = buf;
    this.stagedLength++;
    return dropped;
  }

  /** Take the oldest staged packet, or null. */
  unstage(): PacketBuffer | null {
    if (this.stagedLength === 0) return null;
    const buf = this.staged[this.stagedHead]!;
    this.staged[this.stagedHead] = null;
    this.stagedHead = (this.stagedHead + 1) % MAX_STAGED_PACKETS;
    this.stagedLength--;
    return buf;
  }

  /** Release every staged packet unsent. */
  dropStaged(): void {
    for (let b = this.unstage(); b !== null; b = this.unstage()) b.release();
  }

  // ---- what the data path reports ----

  addTxBytes(bytes: number): void {
    this.txCount += bytes;
  }

  addRxBytes(bytes: number): void {
    this.rxCount += bytes;
  }

  /** An authenticated packet came from `endpoint`: the latest authenticated source wins (paper 2.1). */
  roamTo(endpoint: Endpoint): void {
    if (this.endpointValue === endpoint) return;
    this.endpointValue = endpoint;
    this.host.endpointChanged(this, endpoint);
  }

  /**
   * 6.4: may an initiation go out now? A fresh start waits REKEY_TIMEOUT after the last one sent and
   * resets the attempt count; a retry (the retransmit timer) keeps it. True records the send.
   */
  beginInitiation(now: number, isRetry: boolean): boolean {
    if (!isRetry) {
      if (now - this.lastSentHandshake < REKEY_TIMEOUT_MS) return false;
      this.handshakeAttempts = 0;
    }
    this.lastSentHandshake = now;
    return true;
  }

  /** A new session was derived (5.4.5): it takes its slot, and its keys are zeroed if none follows (6.3). */
  installKeypair(kp: Keypair): void {
    this.keypairs.install(kp);
    this.zeroKeyMaterial.mod(ZERO_KEY_MATERIAL_AFTER_MS);
  }

  /**
   * A transport message was opened on `kp`: if that was the responder's unconfirmed next keypair, it
   * becomes current and the handshake is complete (6.1).
   */
  receivedOn(kp: Keypair): void {
    if (this.keypairs.received(kp)) this.onHandshakeComplete();
  }

  /**
   * 6.2: an initiator whose current keypair nears REJECT_AFTER_TIME while it only receives starts a
   * new handshake once; true when that is now. The caller checked the keypair's age.
   */
  claimLastMinuteHandshake(): boolean {
    if (this.sentLastMinuteHandshake) return false;
    this.sentLastMinuteHandshake = true;
    return true;
  }

  // ---- timer hooks (section 6), named after the event that just happened ----

  /** After sending a transport message that carried data. */
  onDataSent(): void {
    if (!this.newHandshake.pending) this.newHandshake.mod(KEEPALIVE_TIMEOUT_MS + REKEY_TIMEOUT_MS + jitter());
  }

  /** After receiving a transport message that carried data. */
  onDataReceived(): void {
    if (!this.sendKeepaliveTimer.pending) this.sendKeepaliveTimer.mod(KEEPALIVE_TIMEOUT_MS);
    else this.needAnotherKeepalive = true;
  }

  /** After sending any authenticated message (transport or handshake). */
  onAuthenticatedPacketSent(): void {
    this.onAnyAuthenticatedPacketTraversal();
    this.sendKeepaliveTimer.del();
  }

  /** After receiving any authenticated message (transport or handshake). */
  onAuthenticatedPacketReceived(): void {
    this.onAnyAuthenticatedPacketTraversal();
    this.newHandshake.del();
  }

  /** After sending a handshake initiation (or failing to, for want of a buffer: retried the same). */
  onHandshakeInitiated(): void {
    this.retransmitHandshake.mod(REKEY_TIMEOUT_MS + jitter());
  }

  /** A handshake completed (initiator: response consumed; responder: first data on the new keys). */
  onHandshakeComplete(): void {
    this.retransmitHandshake.del();
    this.handshakeAttempts = 0;
    this.sentLastMinuteHandshake = false;
    this.lastHandshakeWall = this.clock.wallNow();
    this.host.handshakeComplete(this);
  }

  /** Sent or received anything authenticated: the persistent keepalive starts over. */
  private onAnyAuthenticatedPacketTraversal(): void {
    const s = this.keepaliveSec;
    if (s > 0) this.persistentKeepalive.mod(s * 1000);
  }

  // ---- timer expiry ----

  /** 6.4 Handshake Initiation Retransmission: no response within REKEY_TIMEOUT (+ jitter). */
  private expiredRetransmitHandshake(): void {
    if (this.handshakeAttempts > MAX_TIMER_HANDSHAKES) {
      this.host.verbose(`${this}: handshake did not complete after ${MAX_TIMER_HANDSHAKES + 2} attempts, giving up`);
      this.sendKeepaliveTimer.del();
      this.dropStaged();
      this.host.handshakeFailed(this);
      // Keys may still be around from an earlier session: zero them soon unless something happens.
      if (!this.zeroKeyMaterial.pending) this.zeroKeyMaterial.mod(ZERO_KEY_MATERIAL_AFTER_MS);
      return;
    }
    this.handshakeAttempts++;
    this.host.verbose(`${this}: handshake did not complete after ${REKEY_TIMEOUT_MS / 1000} seconds, retrying (try ${this.handshakeAttempts + 1})`);
    this.sender.sendInitiation(this, true);
  }

  /** 6.5 Passive Keepalive: we received data and sent nothing back for KEEPALIVE_TIMEOUT. */
  private expiredSendKeepalive(): void {
    this.sender.sendKeepalive(this);
    if (this.needAnotherKeepalive) {
      this.needAnotherKeepalive = false;
      this.sendKeepaliveTimer.mod(KEEPALIVE_TIMEOUT_MS);
    }
  }

  /** We sent data and heard nothing back for KEEPALIVE_TIMEOUT + REKEY_TIMEOUT: start over (6.5). */
  private expiredNewHandshake(): void {
    this.host.verbose(`${this}: no reply for ${(KEEPALIVE_TIMEOUT_MS + REKEY_TIMEOUT_MS) / 1000} seconds, handshaking again`);
    this.sender.sendInitiation(this, false);
  }

  /** Nothing new for 3 x REJECT_AFTER_TIME: zero the keys (6.3). */
  private expiredZeroKeyMaterial(): void {
    this.host.verbose(`${this}: removing all keys, since we haven't received a new one in a while`);
    this.zeroKeys();
  }

  private expiredPersistentKeepalive(): void {
    if (this.keepaliveSec > 0) this.sender.sendKeepalive(this);
  }

  toString(): string {
    const k = this.publicKeyBase64;
    return `peer(${k.slice(0, 4)}…${k.slice(-5, -1)})`;
  }
}
