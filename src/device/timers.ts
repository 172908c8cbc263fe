/**
 * The five per-peer timers of paper section 6 ("Timers & Stateless UX"), with hooks named after the
 * event that just happened, as the kernel's timers.c names them. The data path calls each hook once per
 * batch, not once per packet.
 */
import { randomInt } from 'node:crypto';
import { Timer, type Clock } from '../base/clock.js';
import {
  KEEPALIVE_TIMEOUT_MS,
  MAX_TIMER_HANDSHAKES,
  REKEY_TIMEOUT_JITTER_MAX_MS,
  REKEY_TIMEOUT_MS,
  ZERO_KEY_MATERIAL_AFTER_MS,
} from './constants.js';
import type { Peer } from './peer.js';

/** What the timers ask the device to do. */
export interface TimerActions {
  /** Send a handshake initiation; isRetry keeps the attempt count (6.4). */
  sendInitiation(peer: Peer, isRetry: boolean): void;
  /** Send an empty transport message (6.5), or staged data if any is waiting. */
  sendKeepalive(peer: Peer): void;
  /** Retransmissions exhausted (6.4): drop queued packets and tell the embedder. */
  handshakeGaveUp(peer: Peer): void;
  /** Nothing new for 3 x REJECT_AFTER_TIME: zero the keys (6.3). */
  zeroKeyMaterial(peer: Peer): void;
  verbose(msg: string): void;
}

function jitter(): number {
  return randomInt(REKEY_TIMEOUT_JITTER_MAX_MS + 1);
}

export class PeerTimers {
  private readonly retransmitHandshake: Timer;
  private readonly sendKeepalive: Timer;
  private readonly newHandshake: Timer;
  private readonly zeroKeyMaterial: Timer;
  private readonly persistentKeepalive: Timer;

  constructor(
    private readonly peer: Peer,
    clock: Clock,
    private readonly actions: TimerActions,
  ) {
    this.retransmitHandshake = new Timer(clock, () => this.expiredRetransmitHandshake());
    this.sendKeepalive = new Timer(clock, () => this.expiredSendKeepalive());
    this.newHandshake = new Timer(clock, () => this.expiredNewHandshake());
    this.zeroKeyMaterial = new Timer(clock, () => this.actions.zeroKeyMaterial(this.peer));
    this.persistentKeepalive = new Timer(clock, () => this.expiredPersistentKeepalive());
  }

  /** 6.4 Handshake Initiation Retransmission: no response within REKEY_TIMEOUT (+ jitter). */
  private expiredRetransmitHandshake(): void {
    const peer = this.peer;
    if (peer.handshakeAttempts > MAX_TIMER_HANDSHAKES) {
      this.actions.verbose(`${peer}: handshake did not complete after ${MAX_TIMER_HANDSHAKES + 2} attempts, giving up`);
      this.sendKeepalive.del();
      this.actions.handshakeGaveUp(peer);
      // Keys may still be around from an earlier session: zero them soon unless something happens.
      if (!this.zeroKeyMaterial.pending) this.zeroKeyMaterial.mod(ZERO_KEY_MATERIAL_AFTER_MS);
      return;
    }
    peer.handshakeAttempts++;
    this.actions.verbose(`${peer}: handshake did not complete after ${REKEY_TIMEOUT_MS / 1000} seconds, retrying (try ${peer.handshakeAttempts + 1})`);
    this.actions.sendInitiation(peer, true);
  }

  /** 6.5 Passive Keepalive: we received data and sent nothing back for KEEPALIVE_TIMEOUT. */
  private expiredSendKeepalive(): void {
    this.actions.sendKeepalive(this.peer);
    if (this.peer.needAnotherKeepalive) {
      this.peer.needAnotherKeepalive = false;
      this.sendKeepalive.mod(KEEPALIVE_TIMEOUT_MS);
    }
  }

  /** We sent data and heard nothing back for KEEPALIVE_TIMEOUT + REKEY_TIMEOUT: start over (6.5). */
  private expiredNewHandshake(): void {
    this.actions.verbose(`${this.peer}: no reply for ${(KEEPALIVE_TIMEOUT_MS + REKEY_TIMEOUT_MS) / 1000} seconds, handshaking again`);
    this.actions.sendInitiation(this.peer, false);
  }

  private expiredPersistentKeepalive(): void {
    if (this.peer.persistentKeepaliveSec > 0) this.actions.sendKeepalive(this.peer);
  }

  /** After sending a transport message that carried data. */
  onDataSent(): void {
    if (!this.newHandshake.pending) this.newHandshake.mod(KEEPALIVE_TIMEOUT_MS + REKEY_TIMEOUT_MS + jitter());
  }

  /** After receiving a transport message that carried data. */
  onDataReceived(): void {
    if (!this.sendKeepalive.pending) this.sendKeepalive.mod(KEEPALIVE_TIMEOUT_MS);
    else this.peer.needAnotherKeepalive = true;
  }

  /** After sending any authenticated message (transport or handshake). */
  onAnyAuthenticatedPacketSent(): void {
    this.sendKeepalive.del();
  }

  /** After receiving any authenticated message (transport or handshake). */
  onAnyAuthenticatedPacketReceived(): void {
    this.newHandshake.del();
  }

  /** After sending or receiving any authenticated message: restarts the persistent keepalive. */
  onAnyAuthenticatedPacketTraversal(): void {
    const s = this.peer.persistentKeepaliveSec;
    if (s > 0) this.persistentKeepalive.mod(s * 1000);
  }

  /** After sending a handshake initiation. */
  onHandshakeInitiated(): void {
    this.retransmitHandshake.mod(REKEY_TIMEOUT_MS + jitter());
  }

  /** After a handshake completed (initiator: response consumed; responder: first data on the new keys). */
  onHandshakeComplete(): void {
    this.retransmitHandshake.del();
    this.peer.handshakeAttempts = 0;
    this.peer.sentLastMinuteHandshake = false;
  }

  /** After new transport keys were derived. */
  onSessionDerived(): void {
    this.zeroKeyMaterial.mod(ZERO_KEY_MATERIAL_AFTER_MS);
  }

  /** Persistent keepalive changed: restart it (or stop it at 0). */
  onPersistentKeepaliveChanged(): void {
    this.onAnyAuthenticatedPacketTraversal();
  }

  /** Peer stopped (device down or removed): nothing fires after this. */
  stop(): void {
    this.retransmitHandshake.stop();
    this.sendKeepalive.stop();
    this.newHandshake.stop();
    this.zeroKeyMaterial.stop();
    this.persistentKeepalive.stop();
  }

  /** For tests and `wgts` status: is a handshake retry pending. */
  get retrying(): boolean {
    return this.retransmitHandshake.pending;
  }
}
