/**
 * The handshake: Noise_IKpsk2_25519_ChaChaPoly_BLAKE2s as WireGuard uses it (paper 5.4.2 First
 * Message: Initiator to Responder, 5.4.3 Second Message: Responder to Initiator, 5.4.5 Transport Data
 * Key Derivation).
 *
 *   IKpsk2:
 *     <- s
 *     ...
 *     -> e, es, s, ss, {t}
 *     <- e, ee, se, psk, {}
 *
 * Each step below is marked with its token. Intermediate keys live in module scratch arrays and are
 * wiped on every exit, accepted or not (the kernel's single cleanup label). Single-threaded: the
 * scratch is never shared across an await.
 */
import { hash, kdf } from '../crypto/blake2s.js';
import { seal, open } from '../crypto/aead.js';
import { generatePrivateKey, publicKey, x25519 } from '../crypto/x25519.js';
import { tai64n } from '../crypto/tai64n.js';
import { isZero, keyFromHex, wipe } from '../crypto/keys.js';
import {
  INIT_EPHEMERAL,
  INIT_SENDER,
  INIT_STATIC,
  INIT_TIMESTAMP,
  KEY_LEN,
  MESSAGE_INITIATION,
  MESSAGE_RESPONSE,
  RESP_EMPTY,
  RESP_EPHEMERAL,
  RESP_RECEIVER,
  RESP_SENDER,
  TAG_LEN,
  TIMESTAMP_LEN,
  readU32,
  writeU32,
} from './messages.js';
import { HANDSHAKE_INITIATION_RATE_MS } from './constants.js';

const enc = new TextEncoder();
const CONSTRUCTION = enc.encode('Noise_IKpsk2_25519_ChaChaPoly_BLAKE2s');
const IDENTIFIER = enc.encode('WireGuard v1 zx2c4 Jason@zx2c4.com');
const EMPTY = new Uint8Array(0);

/** C0 = HASH(CONSTRUCTION); H0 = HASH(C0 || IDENTIFIER) (5.4.2). */
const INITIAL_CHAIN_KEY = new Uint8Array(32);
const INITIAL_HASH = new Uint8Array(32);
hash(INITIAL_CHAIN_KEY, CONSTRUCTION);
hash(INITIAL_HASH, INITIAL_CHAIN_KEY, IDENTIFIER);

export const enum HandshakeState {
  Zeroed = 0,
  InitiationCreated = 1,
  InitiationConsumed = 2,
  ResponseCreated = 3,
  ResponseConsumed = 4,
}

/** Where a Handshake's DH(S_priv, S_remote) stands. */
const enum StaticStatic {
  /** Not computed for the current keys. */
  Stale = 0,
  Ready = 1,
  /** There is none: no private key, or the peer's key is of small order. */
  None = 2,
}

/** The device's static key pair and values derived from it. */
export class StaticIdentity {
  readonly privateKey = new Uint8Array(KEY_LEN);
  readonly publicKey = new Uint8Array(KEY_LEN);
  /** HASH(H0 || S_pub): the responder's starting hash, the same for every initiation it receives. */
  readonly initialHash = new Uint8Array(32);
  hasKey = false;

  set(privateKey: Uint8Array | null): void {
    if (privateKey === null || isZero(privateKey)) {
      wipe(this.privateKey);
      wipe(this.publicKey);
      wipe(this.initialHash);
      this.hasKey = false;
      return;
    }
    this.privateKey.set(privateKey);
    this.publicKey.set(publicKey(privateKey));
    hash(this.initialHash, INITIAL_HASH, this.publicKey);
    this.hasKey = true;
  }
}

/** The secrets of one handshake in flight (5.4.2, 5.4.3): made when it starts, wiped and dropped when it ends. */
export class HandshakeSecrets {
  /** The peer's static key, as bytes for the DH steps of this handshake (the peer keeps it as text). */
  readonly remoteStatic: Uint8Array;
  readonly hash = new Uint8Array(32);
  readonly chainingKey = new Uint8Array(32);
  readonly localEphemeral = new Uint8Array(32);
  readonly remoteEphemeral = new Uint8Array(32);

  constructor(remoteStatic: Uint8Array) {
    this.remoteStatic = remoteStatic;
  }

  wipe(): void {
    wipe(this.hash);
    wipe(this.chainingKey);
    wipe(this.localEphemeral);
    wipe(this.remoteEphemeral);
  }
}

/** The preshared key of a peer that has none: 32 zero bytes (5.4.3 "psk"). Never written. */
const NO_PRESHARED_KEY = new Uint8Array(KEY_LEN);

/**
 * Per-peer handshake state (5.4). What every peer keeps is small: the peer's static key (as the
 * peer's hex text), its PSK if it has one, and the newest initiation timestamp it sent (5.1). The rest
 * is made when it is needed: the secrets of a handshake in flight (the key's bytes among them), and
 * DH(S_priv, S_remote) at the first handshake; 10,000 configured peers that never talk cost no DH and
 * no 32-byte arrays they do not use.
 */
export class Handshake {
  state = HandshakeState.Zeroed;
  /** S_remote in lower-case hex (the peer's own string). */
  readonly remoteStaticHex: string;
  localIndex = 0;
  remoteIndex = 0;
  lastInitiationConsumption = -Infinity;
  /** The handshake in flight; null when none is. */
  private flight: HandshakeSecrets | null = null;
  private psk: Uint8Array | null = null;
  /** DH(S_priv, S_remote) once computed (staticStatic()); null before. */
  private ss: Uint8Array | null = null;
  private ssState = StaticStatic.Stale;
  /**
   * The greatest TAI64N accepted in an initiation from this peer (5.1: older ones are replays), as
   * its three big-endian words: seconds high, seconds low, nanoseconds. All zero: none yet.
   */
  private tsHigh = 0;
  private tsLow = 0;
  private tsNano = 0;

  /** @param remoteStaticHex the peer's public key as 64 hex digits: it never changes for a peer. */
  constructor(remoteStaticHex: string) {
    this.remoteStaticHex = remoteStaticHex;
  }

  /** S_remote as bytes: the handshake in flight's, or made for the call. */
  get remoteStatic(): Uint8Array {
    return this.flight === null ? keyFromHex(this.remoteStaticHex) : this.flight.remoteStatic;
  }

  /** The PSK (all zeros for none), for the "psk" step. Read-only to the caller. */
  get presharedKey(): Uint8Array {
    return this.psk ?? NO_PRESHARED_KEY;
  }

  /** Set the PSK; all zeros means none. */
  setPresharedKey(key: Uint8Array): void {
    if (isZero(key)) {
      if (this.psk !== null) wipe(this.psk);
      this.psk = null;
      return;
    }
    this.psk ??= new Uint8Array(KEY_LEN);
    this.psk.set(key);
  }

  /** The secrets of the handshake in flight, made now if none is. */
  begin(): HandshakeSecrets {
    return (this.flight ??= new HandshakeSecrets(keyFromHex(this.remoteStaticHex)));
  }

  /** The secrets of the handshake in flight, or null. */
  get secrets(): HandshakeSecrets | null {
    return this.flight;
  }

  /**
   * DH(S_priv, S_remote) for the "ss" step (5.4.2), or null when there is none (no private key, or a
   * peer key of small order). It depends on the two static keys alone, so it is computed at the first
   * handshake after either changed rather than when the peer is configured (the kernel and
   * wireguard-go compute it up front): configuring 10,000 peers then costs no DH, and a peer that
   * never does a handshake never costs one. Once computed it is kept, so a flood of initiations
   * naming the peer costs at most one.
   */
  staticStatic(identity: StaticIdentity): Uint8Array | null {
    if (this.ssState === StaticStatic.Stale) {
      const ss = (this.ss ??= new Uint8Array(KEY_LEN));
      // x25519 leaves zeros when it fails.
      const ok = identity.hasKey && x25519(ss, identity.privateKey, this.remoteStatic);
      this.ssState = ok ? StaticStatic.Ready : StaticStatic.None;
    }
    return this.ssState === StaticStatic.Ready ? this.ss : null;
  }

  /** Whether DH(S_priv, S_remote) has been computed for the current keys (it waits for a handshake). */
  get staticStaticComputed(): boolean {
    return this.ssState !== StaticStatic.Stale;
  }

  /** Our private key changed: DH(S_priv, S_remote) is computed afresh at the next handshake. */
  staticKeyChanged(): void {
    if (this.ss !== null) wipe(this.ss);
    this.ss = null;
    this.ssState = StaticStatic.Stale;
  }

  /** Whether `ts` (12 bytes of TAI64N) is later than every timestamp accepted so far (5.1). */
  isNewerTimestamp(ts: Uint8Array): boolean {
    const high = readU32BE(ts, 0);
    if (high !== this.tsHigh) return high > this.tsHigh;
    const low = readU32BE(ts, 4);
    if (low !== this.tsLow) return low > this.tsLow;
    return readU32BE(ts, 8) > this.tsNano;
  }

  private acceptTimestamp(ts: Uint8Array): void {
    this.tsHigh = readU32BE(ts, 0);
    this.tsLow = readU32BE(ts, 4);
    this.tsNano = readU32BE(ts, 8);
  }

  /** An initiation was consumed (5.4.2): its timestamp and time are the new replay and flood marks. */
  initiationConsumed(ts: Uint8Array, nowMs: number): void {
    this.acceptTimestamp(ts);
    this.lastInitiationConsumption = nowMs;
  }

  /** The handshake in flight is over (its keys derived, 5.4.5): its secrets go; remoteIndex stays for the caller. */
  finish(): void {
    if (this.flight !== null) this.flight.wipe();
    this.flight = null;
    this.state = HandshakeState.Zeroed;
  }

  /** Forget the in-progress handshake (not the peer's identity, PSK or replay timestamp). */
  clear(): void {
    this.finish();
    this.remoteIndex = 0;
  }

  /** Wipe everything secret, for a removed peer. */
  destroy(): void {
    this.clear();
    if (this.psk !== null) wipe(this.psk);
    this.psk = null;
    this.staticKeyChanged();
  }
}

function readU32BE(b: Uint8Array, at: number): number {
  return ((b[at]! << 24) | (b[at + 1]! << 16) | (b[at + 2]! << 8) | b[at + 3]!) >>> 0;
}

// Scratch, wiped on every exit.
const ck = new Uint8Array(32);
const h = new Uint8Array(32);
const key = new Uint8Array(32);
const tau = new Uint8Array(32);
const dh = new Uint8Array(32);
const ePriv = new Uint8Array(32);
const sealedStatic = new Uint8Array(KEY_LEN + TAG_LEN);
const peerStatic = new Uint8Array(KEY_LEN);
const timestamp = new Uint8Array(TIMESTAMP_LEN);

function wipeScratch(): void {
  wipe(ck);
  wipe(h);
  wipe(key);
  wipe(tau);
  wipe(dh);
  wipe(ePriv);
  wipe(peerStatic);
  wipe(timestamp);
}

/** h = HASH(h || data). */
function mixHash(data: Uint8Array): void {
  hash(h, h, data);
}

/**
 * Write a handshake initiation (5.4.2) into out[at, at+148) without MACs; the caller adds them.
 * Returns false (nothing usable written) when the keys cannot make one.
 */
export function createInitiation(
  identity: StaticIdentity,
  hs: Handshake,
  out: Uint8Array,
  at: number,
  localIndex: number,
  wallNowMs: number,
): boolean {
  if (!identity.hasKey) return false;
  const ss = hs.staticStatic(identity);
  if (ss === null) return false;
  const fl = hs.begin();
  try {
    ck.set(INITIAL_CHAIN_KEY);
    // HASH(H0 || S_remote): one BLAKE2s per initiation rather than 32 bytes kept by every peer.
    hash(h, INITIAL_HASH, hs.remoteStatic);
    writeU32(out, at, MESSAGE_INITIATION);
    writeU32(out, at + INIT_SENDER, localIndex);

    // e
    fl.localEphemeral.set(generatePrivateKey());
    const ePub = publicKey(fl.localEphemeral);
    out.set(ePub, at + INIT_EPHEMERAL);
    kdf(ck, ePub, ck);
    mixHash(ePub);

    // es
    if (!x25519(dh, fl.localEphemeral, hs.remoteStatic)) return false;
    kdf(ck, dh, ck, key);

    // s
    seal(key, 0, identity.publicKey, h, out, at + INIT_STATIC);
    mixHash(out.subarray(at + INIT_STATIC, at + INIT_STATIC + KEY_LEN + TAG_LEN));

    // ss
    kdf(ck, ss, ck, key);

    // {t}
    tai64n(timestamp, wallNowMs);
    seal(key, 0, timestamp, h, out, at + INIT_TIMESTAMP);
    mixHash(out.subarray(at + INIT_TIMESTAMP, at + INIT_TIMESTAMP + TIMESTAMP_LEN + TAG_LEN));

    fl.hash.set(h);
    fl.chainingKey.set(ck);
    hs.localIndex = localIndex;
    hs.state = HandshakeState.InitiationCreated;
    return true;
  } finally {
    wipeScratch();
  }
}

/** What consumeInitiation found: the peer's static key, for the caller to look the peer up. */
export interface InitiationResult<P> {
  peer: P;
  handshake: Handshake;
}

/**
 * Consume an initiation (MACs already checked) at msg[at, at+148). `lookup` maps the decrypted static
 * key to a peer and its handshake. Returns null for anything that fails: bad crypto, unknown peer,
 * replayed timestamp, or an initiation flood (5.1).
 */
export function consumeInitiation<P>(
  identity: StaticIdentity,
  msg: Uint8Array,
  at: number,
  nowMs: number,
  lookup: (staticKey: Uint8Array) => { peer: P; handshake: Handshake } | null,
): InitiationResult<P> | null {
  if (!identity.hasKey) return null;
  try {
    ck.set(INITIAL_CHAIN_KEY);
    h.set(identity.initialHash);
    const ePub = msg.subarray(at + INIT_EPHEMERAL, at + INIT_EPHEMERAL + KEY_LEN);

    // e
    kdf(ck, ePub, ck);
    mixHash(ePub);

    // es
    if (!x25519(dh, identity.privateKey, ePub)) return null;
    kdf(ck, dh, ck, key);

    // s
    sealedStatic.set(msg.subarray(at + INIT_STATIC, at + INIT_STATIC + KEY_LEN + TAG_LEN));
    if (!open(key, 0, sealedStatic, h, peerStatic, 0)) return null;
    mixHash(sealedStatic);

    const found = lookup(peerStatic);
    if (found === null) return null;
    const hs = found.handshake;

    // ss
    const ss = hs.staticStatic(identity);
    if (ss === null) return null;
    kdf(ck, ss, ck, key);

    // {t}
    const sealedTs = msg.subarray(at + INIT_TIMESTAMP, at + INIT_TIMESTAMP + TIMESTAMP_LEN + TAG_LEN);
    if (!open(key, 0, sealedTs, h, timestamp, 0)) return null;
    mixHash(sealedTs);

    // Replay and flood protection (5.1): a timestamp must grow, and initiations may not come too fast.
    if (!hs.isNewerTimestamp(timestamp)) return null;
    if (nowMs - hs.lastInitiationConsumption < HANDSHAKE_INITIATION_RATE_MS) return null;

    const fl = hs.begin();
    fl.hash.set(h);
    fl.chainingKey.set(ck);
    hs.remoteIndex = readU32(msg, at + INIT_SENDER);
    fl.remoteEphemeral.set(ePub);
    hs.initiationConsumed(timestamp, nowMs);
    hs.state = HandshakeState.InitiationConsumed;
    return found;
  } finally {
    wipeScratch();
  }
}

/** Write a response (5.4.3) to a consumed initiation into out[at, at+92) without MACs. */
export function createResponse(hs: Handshake, out: Uint8Array, at: number, localIndex: number): boolean {
  const fl = hs.secrets;
  if (hs.state !== HandshakeState.InitiationConsumed || fl === null) return false;
  try {
    ck.set(fl.chainingKey);
    h.set(fl.hash);
    writeU32(out, at, MESSAGE_RESPONSE);
    writeU32(out, at + RESP_SENDER, localIndex);
    writeU32(out, at + RESP_RECEIVER, hs.remoteIndex);

    // e
    ePriv.set(generatePrivateKey());
    const ePub = publicKey(ePriv);
    out.set(ePub, at + RESP_EPHEMERAL);
    kdf(ck, ePub, ck);
    mixHash(ePub);

    // ee
    if (!x25519(dh, ePriv, fl.remoteEphemeral)) return false;
    kdf(ck, dh, ck);

    // se
    if (!x25519(dh, ePriv, hs.remoteStatic)) return false;
    kdf(ck, dh, ck);

    // psk
    kdf(ck, hs.presharedKey, ck, tau, key);
    mixHash(tau);

    // {}
    seal(key, 0, EMPTY, h, out, at + RESP_EMPTY);
    mixHash(out.subarray(at + RESP_EMPTY, at + RESP_EMPTY + TAG_LEN));

    fl.hash.set(h);
    fl.chainingKey.set(ck);
    hs.localIndex = localIndex;
    hs.state = HandshakeState.ResponseCreated;
    return true;
  } finally {
    wipeScratch();
  }
}

/**
 * Consume a response (MACs already checked) to the initiation `hs` sent. Returns false on any failure;
 * hs is changed only on success.
 */
export function consumeResponse(identity: StaticIdentity, hs: Handshake, msg: Uint8Array, at: number): boolean {
  const fl = hs.secrets;
  if (hs.state !== HandshakeState.InitiationCreated || fl === null || !identity.hasKey) return false;
  try {
    ck.set(fl.chainingKey);
    h.set(fl.hash);
    const ePub = msg.subarray(at + RESP_EPHEMERAL, at + RESP_EPHEMERAL + KEY_LEN);

    // e
    kdf(ck, ePub, ck);
    mixHash(ePub);

    // ee
    if (!x25519(dh, fl.localEphemeral, ePub)) return false;
    kdf(ck, dh, ck);

    // se
    if (!x25519(dh, identity.privateKey, ePub)) return false;
    kdf(ck, dh, ck);

    // psk
    kdf(ck, hs.presharedKey, ck, tau, key);
    mixHash(tau);

    // {}
    const sealedEmpty = msg.subarray(at + RESP_EMPTY, at + RESP_EMPTY + TAG_LEN);
    if (!open(key, 0, sealedEmpty, h, timestamp, 0)) return false;
    mixHash(sealedEmpty);

    fl.hash.set(h);
    fl.chainingKey.set(ck);
    hs.remoteIndex = readU32(msg, at + RESP_SENDER);
    hs.state = HandshakeState.ResponseConsumed;
    return true;
  } finally {
    wipeScratch();
  }
}

/**
 * Derive the transport keys (5.4.5): (T_send, T_recv) = KDF2(C, empty) for the initiator, swapped for
 * the responder. Clears the handshake afterwards (remoteIndex stays for the caller). Returns which
 * side we were, or null when the handshake is not complete.
 */
export function deriveTransportKeys(hs: Handshake, sendKey: Uint8Array, recvKey: Uint8Array): 'initiator' | 'responder' | null {
  let initiator: boolean;
  const fl = hs.secrets;
  if (fl === null) return null;
  if (hs.state === HandshakeState.ResponseConsumed) initiator = true;
  else if (hs.state === HandshakeState.ResponseCreated) initiator = false;
  else return null;
  if (initiator) kdf(fl.chainingKey, EMPTY, sendKey, recvKey);
  else kdf(fl.chainingKey, EMPTY, recvKey, sendKey);
  hs.finish();
  return initiator ? 'initiator' : 'responder';
}
