/**
 * Session keys (paper 5.4.5 Transport Data Key Derivation, 6.1-6.3): one Keypair per completed
 * handshake, and the three slots a peer keeps — current (used to send), previous (still accepted while
 * the peer switches), next (a responder's new keypair, unconfirmed until the initiator uses it).
 */
import { aeadKey, destroyAeadKey, type AeadKey } from '../crypto/aead.js';
import { wipe } from '../crypto/keys.js';
import { REJECT_AFTER_MESSAGES } from './constants.js';
import { ReplayFilter } from './replay.js';

export class Keypair {
  readonly sendKey: AeadKey;
  readonly recvKey: AeadKey;
  /**
   * Next counter to send. A JS number: it stays far below 2^53 because a keypair lives at most
   * REJECT_AFTER_TIME (180 s), and 2^53 packets in 180 s would be 5e13 packets a second.
   */
  sendCounter = 0;
  readonly replay = new ReplayFilter();
  /** Monotonic ms of the handshake that made it. */
  readonly created: number;
  readonly isInitiator: boolean;
  readonly localIndex: number;
  readonly remoteIndex: number;
  /** Set when this keypair was dropped; packets still queued for it are then discarded. */
  dead = false;

  constructor(send: Uint8Array, recv: Uint8Array, created: number, isInitiator: boolean, localIndex: number, remoteIndex: number) {
    this.sendKey = aeadKey(send);
    this.recvKey = aeadKey(recv);
    wipe(send);
    wipe(recv);
    this.created = created;
    this.isInitiator = isInitiator;
    this.localIndex = localIndex;
    this.remoteIndex = remoteIndex;
  }

  destroy(): void {
    this.dead = true;
    destroyAeadKey(this.sendKey);
    destroyAeadKey(this.recvKey);
  }
}

/** The three keypair slots of one peer. Dropping a keypair also frees its index (via onDrop). */
export class Keypairs {
  current: Keypair | null = null;
  previous: Keypair | null = null;
  next: Keypair | null = null;

  constructor(private readonly onDrop: (k: Keypair) => void) {}

  private drop(k: Keypair | null): void {
    if (k !== null) this.onDrop(k);
  }

  /**
   * A new session (wireguard-go's BeginSymmetricSession): the initiator uses it at once; the responder
   * parks it in `next` until the initiator proves it has it by sending on it (6.1).
   */
  install(k: Keypair): void {
    if (k.isInitiator) {
      if (this.next !== null) {
        this.drop(this.previous);
        this.previous = this.next;
        this.next = null;
        this.drop(this.current);
      } else {
        this.drop(this.previous);
        this.previous = this.current;
      }
      this.current = k;
    } else {
      this.drop(this.next);
      this.next = k;
      this.drop(this.previous);
      this.previous = null;
    }
  }

  /** A packet arrived on k: if k was the unconfirmed next keypair, it becomes current. Returns true then. */
  received(k: Keypair): boolean {
    if (this.next !== k) return false;
    this.drop(this.previous);
    this.previous = this.current;
    this.current = k;
    this.next = null;
    return true;
  }

  /** No new data on the current or next keypair (they still open what arrives): the next send handshakes. */
  retireForSending(): void {
    if (this.current !== null) this.current.sendCounter = REJECT_AFTER_MESSAGES;
    if (this.next !== null) this.next.sendCounter = REJECT_AFTER_MESSAGES;
  }

  clear(): void {
    this.drop(this.previous);
    this.drop(this.current);
    this.drop(this.next);
    this.previous = null;
    this.current = null;
    this.next = null;
  }
}
