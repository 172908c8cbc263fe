/**
 * A peer: one session object (paper 2 "Cryptokey Routing", 5.4 "Messages", 6 "Timers & Stateless
 * UX"). Everything kept per peer is declared here and changed only by the methods here: identity and
 * configuration, the handshake and the keypair slots, the endpoint, the transfer counters, the
 * packets waiting for a session, and the five timers with their state. What only traffic needs (the
 * sessions, the cookie, the staging ring, the timers) is made when the peer has some and dropped when
 * it goes idle (Traffic below): an idle peer costs little more than its configuration.
 *
 * The data path (send.ts, receive.ts, handshake.ts) reports what happened through the hooks below,
 * named after the event as the kernel's timers.c names them (onDataSent, onHandshakeComplete, ...),
 * and reads the rest. When a timer expires the peer calls the sender itself; the device hears only
 * what its embedder must (a handshake, a new endpoint, a failed handshake) through PeerHost.
 */
import { randomBelow } from '../crypto/random.js';
import { Timer, type Clock } from '../base/clock.js';
import type { PacketBuffer } from '../buffer/packet-buffer.js';
import type { Endpoint } from '../conn/bind.js';
import { keyFromHex, keyToBase64, keyToHex } from '../crypto/keys.js';
import {
  KEEPALIVE_TIMEOUT_MS,
  MAX_TIMER_HANDSHAKES,
  REKEY_TIMEOUT_JITTER_MAX_MS,
  REKEY_TIMEOUT_MS,
  ZERO_KEY_MATERIAL_AFTER_MS,
} from './constants.js';
import { CookieGenerator } from './cookie.js';
import { Keypairs, type Keypair } from './keypair.js';
import { Handshake, HandshakeState } from './noise.js';
import { StagedPackets } from './staged.js';

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
  return randomBelow(REKEY_TIMEOUT_JITTER_MAX_MS + 1);
}

/**
 * What a peer holds only while it has traffic: made by its first packet, handshake or keepalive, and
 * dropped when it goes idle (its keys zeroed after 3 x REJECT_AFTER_TIME, 6.3, or its handshake given
 * up with no keys to zero; or the device going down). An idle peer keeps its configuration, counters
 * and handshake identity, and none of this: no keypairs (nor their replay windows), no cookie, no
 * staging ring, no timers. 10,000 configured peers that never talk hold none of it.
 */
interface Traffic {
  /** Current, previous and next session (keypair.ts). */
  readonly keypairs: Keypairs;
  /** mac1/mac2 of what we send, and the cookie the peer gave us (5.4.4). */
  readonly cookies: CookieGenerator;
  /** Packets waiting for a session. */
  readonly staged: StagedPackets;
  // The five timers of section 6 and what they count.
  readonly retransmitHandshake: Timer;
  readonly sendKeepalive: Timer;
  readonly newHandshake: Timer;
  readonly zeroKeyMaterial: Timer;
  readonly persistentKeepalive: Timer;
  /** Initiations sent since the last handshake completed or a fresh start (6.4). */
  handshakeAttempts: number;
  /** Monotonic ms of the last initiation sent; -Infinity: none, or one may go at once. */
  lastSentHandshake: number;
  /** Data arrived while the keepalive timer was already pending: send another after it (6.5). */
  needAnotherKeepalive: boolean;
  /** The receive-side last-minute rekey (6.2) was already triggered for the current keypair. */
  sentLastMinuteHandshake: boolean;
}

export class Peer {
  /** The peer's static public key in lower-case hex: the device's key for it, and the handshake's S_remote. */
  readonly publicKeyHex: string;
  /** Noise state toward this peer: PSK, replay timestamp, the handshake in flight (noise.ts). */
  readonly handshake: Handshake;
  private readonly clock: Clock;
  private readonly sender: PeerSender;
  private readonly host: PeerHost;

  private endpointValue: Endpoint | null;
  private keepaliveSec: number;
  private txCount: number;
  private rxCount: number;
  private lastHandshakeWall: number;
  private isRunning: boolean;
  /** What only traffic needs; null while the peer is idle. */
  private live: Traffic | null;

  /** A stopped peer (start() when the device is up). */
  constructor(publicKey: Uint8Array, clock: Clock, sender: PeerSender, host: PeerHost) {
    this.publicKeyHex = keyToHex(publicKey);
    this.handshake = new Handshake(this.publicKeyHex);
    this.clock = clock;
    this.sender = sender;
    this.host = host;
    this.endpointValue = null;
    this.keepaliveSec = 0;
    this.txCount = 0;
    this.rxCount = 0;
    this.lastHandshakeWall = 0;
    this.isRunning = false;
    this.live = null;
  }

  // ---- what others read ----

  /**
   * The public key's bytes, made for the caller: an idle peer keeps its key as text only (the bytes
   * are needed for a handshake, which makes its own).
   */
  get publicKey(): Uint8Array {
    return keyFromHex(this.publicKeyHex);
  }

  /** The public key in base64, as `wg` and the device's events spell it (made when asked). */
  get publicKeyBase64(): string {
    return keyToBase64(this.publicKey);
  }

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

  /** The peer holds traffic state (sessions, cookie, staging ring, timers); false while it is idle. */
  get active(): boolean {
    return this.live !== null;
  }

  /** The session data is sent on, or null. */
  get currentKeypair(): Keypair | null {
    return this.live === null ? null : this.live.keypairs.current;
  }

  /** Packets waiting for a session. */
  get stagedCount(): number {
    return this.live === null ? 0 : this.live.staged.length;
  }

  /** We hold a cookie from the peer (5.4.7), for mac2 of what we send it. */
  get hasCookie(): boolean {
    return this.live !== null && this.live.cookies.hasCookie;
  }

  // ---- configuration and lifecycle (the device) ----

  /** The device went up (or the peer was added to a running device): what was staged meanwhile goes now. */
  start(): void {
    if (this.isRunning) return;
    this.isRunning = true;
    if (this.live !== null) this.live.lastSentHandshake = -Infinity;
    // Turning up with a persistent keepalive sends one at once, so a NAT mapping opens now.
    if (this.keepaliveSec > 0) this.sender.sendKeepalive(this);
    else if (this.stagedCount > 0) this.sender.sendStaged(this);
  }

  /** The device went down or the peer is being removed: no timer fires after this, sessions and staged packets go. */
  stop(): void {
    this.isRunning = false;
    this.zeroKeys();
    this.dropTraffic();
  }

  setPresharedKey(key: Uint8Array): void {
    this.handshake.setPresharedKey(key);
  }

  /**
   * A configured endpoint (`wg set ... endpoint`): not an event, unlike roamTo(). It carries no source
   * address, as wireguard-go's parsed endpoint carries none: the kernel chooses one at the next send.
   */
  setEndpoint(endpoint: Endpoint): void {
    endpoint.clearSrc();
    this.endpointValue = endpoint;
  }

  /** Persistent keepalive (`wg set ... persistent-keepalive`): restarts its timer, or stops it at 0. */
  setPersistentKeepalive(seconds: number): void {
    const was = this.keepaliveSec;
    this.keepaliveSec = seconds;
    if (!this.isRunning) return; // start() sends the first one
    if (seconds === 0) this.live?.persistentKeepalive.del();
    this.onAnyAuthenticatedPacketTraversal();
    // Turning it on sends one at once, so a NAT mapping opens now (as wireguard-go does).
    if (was === 0 && seconds > 0) this.sender.sendKeepalive(this);
  }

  /**
   * Our private key changed: DH(S_priv, S_remote) is redone at the next handshake, and no session made
   * under the old key carries new data: the next packet starts a fresh handshake at once.
   */
  identityChanged(): void {
    this.handshake.staticKeyChanged();
    this.forgetHandshake();
    const t = this.live;
    if (t === null) return;
    t.lastSentHandshake = -Infinity;
    t.keypairs.retireForSending();
  }

  /** Send what is staged now (configuration gave the peer an endpoint, say). */
  sendStaged(): void {
    if (this.isRunning && this.stagedCount > 0) this.sender.sendStaged(this);
  }

  /** Forget sessions and the handshake in progress (keys zeroed), keep the configuration. */
  zeroKeys(): void {
    this.live?.keypairs.clear();
    this.forgetHandshake();
  }

  /** Wipe everything secret: the peer is being removed (after stop()). */
  destroy(): void {
    this.dropTraffic();
    this.handshake.destroy();
  }

  /** The handshake in flight ends unfinished: its index is freed and its secrets wiped. */
  private forgetHandshake(): void {
    const hs = this.handshake;
    if (hs.localIndex !== 0) this.host.freeIndex(hs.localIndex);
    hs.localIndex = 0;
    hs.clear();
  }

  /** The traffic state, made now if the peer was idle. */
  private traffic(): Traffic {
    if (this.live !== null) return this.live;
    const clock = this.clock;
    const host = this.host;
    const t: Traffic = {
      keypairs: new Keypairs((k) => {
        host.freeIndex(k.localIndex);
        k.destroy();
      }),
      cookies: new CookieGenerator(this.publicKey),
      staged: new StagedPackets(),
      retransmitHandshake: new Timer(clock, () => this.expiredRetransmitHandshake()),
      sendKeepalive: new Timer(clock, () => this.expiredSendKeepalive()),
      newHandshake: new Timer(clock, () => this.expiredNewHandshake()),
      zeroKeyMaterial: new Timer(clock, () => this.expiredZeroKeyMaterial()),
      persistentKeepalive: new Timer(clock, () => this.expiredPersistentKeepalive()),
      handshakeAttempts: 0,
      lastSentHandshake: -Infinity,
      needAnotherKeepalive: false,
      sentLastMinuteHandshake: false,
    };
    this.live = t;
    return t;
  }

  /** Drop the traffic state (after zeroKeys()): no timer fires after this, staged packets are released. */
  private dropTraffic(): void {
    const t = this.live;
    if (t === null) return;
    this.live = null;
    t.retransmitHandshake.stop();
    t.sendKeepalive.stop();
    t.newHandshake.stop();
    t.zeroKeyMaterial.stop();
    t.persistentKeepalive.stop();
    t.staged.releaseAll();
    t.keypairs.clear();
    t.cookies.destroy();
  }

  /** Go idle if nothing is in progress: no session, no handshake in flight, nothing staged or due. */
  private idleIfQuiet(): void {
    const t = this.live;
    if (t === null) return;
    const k = t.keypairs;
    if (k.current !== null || k.previous !== null || k.next !== null) return;
    if (t.staged.length > 0 || this.handshake.localIndex !== 0 || this.handshake.state !== HandshakeState.Zeroed) return;
    if (t.retransmitHandshake.pending || t.sendKeepalive.pending || t.newHandshake.pending) return;
    if (t.zeroKeyMaterial.pending || t.persistentKeepalive.pending) return;
    this.dropTraffic();
  }

  // ---- staged packets (send.ts) ----

  /** Queue a packet until a session can carry it; returns how many old packets were dropped (0 or 1). */
  stage(buf: PacketBuffer): number {
    const dropped = this.traffic().staged.push(buf);
    if (dropped === null) return 0;
    dropped.release();
    return 1;
  }

  /** Take the oldest staged packet, or null. */
  unstage(): PacketBuffer | null {
    return this.live === null ? null : this.live.staged.shift();
  }

  /** Release every staged packet unsent. */
  dropStaged(): void {
    this.live?.staged.releaseAll();
  }

  // ---- cookies (5.4.4, 5.4.7) ----

  /** Fill mac1 and mac2 of our handshake message msg[at, at+len). */
  addMacs(msg: Uint8Array, at: number, len: number, nowMs: number): void {
    this.traffic().cookies.addMacs(msg, at, len, nowMs);
  }

  /** Take the cookie from a reply to the last message we sent; false if it is not one. */
  consumeCookieReply(msg: Uint8Array, at: number, nowMs: number): boolean {
    return this.live !== null && this.live.cookies.consumeReply(msg, at, nowMs);
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
    const t = this.traffic();
    if (!isRetry) {
      if (now - t.lastSentHandshake < REKEY_TIMEOUT_MS) return false;
      t.handshakeAttempts = 0;
    }
    t.lastSentHandshake = now;
    return true;
  }

  /** A new session was derived (5.4.5): it takes its slot, and its keys are zeroed if none follows (6.3). */
  installKeypair(kp: Keypair): void {
    const t = this.traffic();
    t.keypairs.install(kp);
    t.zeroKeyMaterial.mod(ZERO_KEY_MATERIAL_AFTER_MS);
  }

  /**
   * A transport message was opened on `kp`: if that was the responder's unconfirmed next keypair, it
   * becomes current and the handshake is complete (6.1).
   */
  receivedOn(kp: Keypair): void {
    if (this.traffic().keypairs.received(kp)) this.onHandshakeComplete();
  }

  /**
   * 6.2: an initiator whose current keypair nears REJECT_AFTER_TIME while it only receives starts a
   * new handshake once; true when that is now. The caller checked the keypair's age.
   */
  claimLastMinuteHandshake(): boolean {
    const t = this.traffic();
    if (t.sentLastMinuteHandshake) return false;
    t.sentLastMinuteHandshake = true;
    return true;
  }

  // ---- timer hooks (section 6), named after the event that just happened ----

  /** After sending a transport message that carried data. */
  onDataSent(): void {
    const t = this.traffic();
    if (!t.newHandshake.pending) t.newHandshake.mod(KEEPALIVE_TIMEOUT_MS + REKEY_TIMEOUT_MS + jitter());
  }

  /** After receiving a transport message that carried data. */
  onDataReceived(): void {
    const t = this.traffic();
    if (!t.sendKeepalive.pending) t.sendKeepalive.mod(KEEPALIVE_TIMEOUT_MS);
    else t.needAnotherKeepalive = true;
  }

  /** After sending any authenticated message (transport or handshake). */
  onAuthenticatedPacketSent(): void {
    this.onAnyAuthenticatedPacketTraversal();
    this.traffic().sendKeepalive.del();
  }

  /** After receiving any authenticated message (transport or handshake). */
  onAuthenticatedPacketReceived(): void {
    this.onAnyAuthenticatedPacketTraversal();
    this.traffic().newHandshake.del();
  }

  /** After sending a handshake initiation (or failing to, for want of a buffer: retried the same). */
  onHandshakeInitiated(): void {
    this.traffic().retransmitHandshake.mod(REKEY_TIMEOUT_MS + jitter());
  }

  /** A handshake completed (initiator: response consumed; responder: first data on the new keys). */
  onHandshakeComplete(): void {
    const t = this.traffic();
    t.retransmitHandshake.del();
    t.handshakeAttempts = 0;
    t.sentLastMinuteHandshake = false;
    this.lastHandshakeWall = this.clock.wallNow();
    this.host.handshakeComplete(this);
  }

  /** Sent or received anything authenticated: the persistent keepalive starts over. */
  private onAnyAuthenticatedPacketTraversal(): void {
    const s = this.keepaliveSec;
    if (s > 0) this.traffic().persistentKeepalive.mod(s * 1000);
  }

  // ---- timer expiry (only while the traffic state exists: dropping it stops them) ----

  /** 6.4 Handshake Initiation Retransmission: no response within REKEY_TIMEOUT (+ jitter). */
  private expiredRetransmitHandshake(): void {
    const t = this.traffic();
    if (t.handshakeAttempts > MAX_TIMER_HANDSHAKES) {
      this.host.verbose(`${this}: handshake did not complete after ${MAX_TIMER_HANDSHAKES + 2} attempts, giving up`);
      t.sendKeepalive.del();
      this.dropStaged();
      this.host.handshakeFailed(this);
      const k = t.keypairs;
      if (k.current === null && k.previous === null && k.next === null) {
        // No keys to zero later: the failed handshake's secrets go now, and the peer is idle.
        this.forgetHandshake();
        this.idleIfQuiet();
      } else if (!t.zeroKeyMaterial.pending) {
        // Keys from an earlier session are still around: zero them soon unless something happens.
        t.zeroKeyMaterial.mod(ZERO_KEY_MATERIAL_AFTER_MS);
      }
      return;
    }
    t.handshakeAttempts++;
    this.host.verbose(`${this}: handshake did not complete after ${REKEY_TIMEOUT_MS / 1000} seconds, retrying (try ${t.handshakeAttempts + 1})`);
    this.sender.sendInitiation(this, true);
  }

  /** 6.5 Passive Keepalive: we received data and sent nothing back for KEEPALIVE_TIMEOUT. */
  private expiredSendKeepalive(): void {
    this.sender.sendKeepalive(this);
    const t = this.live;
    if (t !== null && t.needAnotherKeepalive) {
      t.needAnotherKeepalive = false;
      t.sendKeepalive.mod(KEEPALIVE_TIMEOUT_MS);
    }
  }

  /** We sent data and heard nothing back for KEEPALIVE_TIMEOUT + REKEY_TIMEOUT: start over (6.5). */
  private expiredNewHandshake(): void {
    this.host.verbose(`${this}: no reply for ${(KEEPALIVE_TIMEOUT_MS + REKEY_TIMEOUT_MS) / 1000} seconds, handshaking again`);
    this.sender.sendInitiation(this, false);
  }

  /** Nothing new for 3 x REJECT_AFTER_TIME: zero the keys (6.3), and go idle if nothing else is going on. */
  private expiredZeroKeyMaterial(): void {
    this.host.verbose(`${this}: removing all keys, since we haven't received a new one in a while`);
    this.zeroKeys();
    this.idleIfQuiet();
  }

  private expiredPersistentKeepalive(): void {
    if (this.keepaliveSec > 0) this.sender.sendKeepalive(this);
  }

  toString(): string {
    const k = this.publicKeyBase64;
    return `peer(${k.slice(0, 4)}…${k.slice(-5, -1)})`;
  }
}
