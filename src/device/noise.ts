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
import { tai64n, compareTai64n } from '../crypto/tai64n.js';
import { isZero, wipe } from '../crypto/keys.js';
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

/** Per-peer handshake state (5.4). */
export class Handshake {
  state = HandshakeState.Zeroed;
  readonly hash = new Uint8Array(32);
  readonly chainingKey = new Uint8Array(32);
  readonly presharedKey = new Uint8Array(32);
  readonly localEphemeral = new Uint8Array(32);
  readonly remoteEphemeral = new Uint8Array(32);
  readonly remoteStatic: Uint8Array;
  /** DH(S_priv, S_remote), computed when either static key changes. */
  readonly precomputedStaticStatic = new Uint8Array(32);
  /** HASH(H0 || S_remote): the initiator's starting hash toward this peer. */
  readonly initialHash = new Uint8Array(32);
  localIndex = 0;
  remoteIndex = 0;
  /** Greatest TAI64N seen in an initiation from this peer: older ones are replays (5.1). */
  readonly lastTimestamp = new Uint8Array(TIMESTAMP_LEN);
  lastInitiationConsumption = -Infinity;

  constructor(remoteStatic: Uint8Array) {
    this.remoteStatic = new Uint8Array(remoteStatic);
    hash(this.initialHash, INITIAL_HASH, this.remoteStatic);
  }

  /** Recompute DH(S_priv, S_remote) after our private key changed. */
  precompute(identity: StaticIdentity): void {
    if (!identity.hasKey || !x25519(this.precomputedStaticStatic, identity.privateKey, this.remoteStatic)) {
      wipe(this.precomputedStaticStatic);
    }
  }

  /** Forget the in-progress handshake (not the peer's identity, PSK or replay timestamp). */
  clear(): void {
    wipe(this.hash);
    wipe(this.chainingKey);
    wipe(this.localEphemeral);
    wipe(this.remoteEphemeral);
    this.remoteIndex = 0;
    this.state = HandshakeState.Zeroed;
  }

  /** Wipe everything secret, for a removed peer. */
  destroy(): void {
    this.clear();
    wipe(this.presharedKey);
    wipe(this.precomputedStaticStatic);
  }
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
  if (!identity.hasKey || isZero(hs.precomputedStaticStatic)) return false;
  try {
    ck.set(INITIAL_CHAIN_KEY);
    h.set(hs.initialHash);
    writeU32(out, at, MESSAGE_INITIATION);
    writeU32(out, at + INIT_SENDER, localIndex);

    // e
    hs.localEphemeral.set(generatePrivateKey());
    const ePub = publicKey(hs.localEphemeral);
    out.set(ePub, at + INIT_EPHEMERAL);
    kdf(ck, ePub, ck);
    mixHash(ePub);

    // es
    if (!x25519(dh, hs.localEphemeral, hs.remoteStatic)) return false;
    kdf(ck, dh, ck, key);

    // s
    seal(key, 0, identity.publicKey, h, out, at + INIT_STATIC);
    mixHash(out.subarray(at + INIT_STATIC, at + INIT_STATIC + KEY_LEN + TAG_LEN));

    // ss
    kdf(ck, hs.precomputedStaticStatic, ck, key);

    // {t}
    tai64n(timestamp, wallNowMs);
    seal(key, 0, timestamp, h, out, at + INIT_TIMESTAMP);
    mixHash(out.subarray(at + INIT_TIMESTAMP, at + INIT_TIMESTAMP + TIMESTAMP_LEN + TAG_LEN));

    hs.hash.set(h);
    hs.chainingKey.set(ck);
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
    if (isZero(hs.precomputedStaticStatic)) return null;
    kdf(ck, hs.precomputedStaticStatic, ck, key);

    // {t}
    const sealedTs = msg.subarray(at + INIT_TIMESTAMP, at + INIT_TIMESTAMP + TIMESTAMP_LEN + TAG_LEN);
    if (!open(key, 0, sealedTs, h, timestamp, 0)) return null;
    mixHash(sealedTs);

    // Replay and flood protection (5.1): a timestamp must grow, and initiations may not come too fast.
    if (compareTai64n(timestamp, hs.lastTimestamp) <= 0) return null;
    if (nowMs - hs.lastInitiationConsumption < HANDSHAKE_INITIATION_RATE_MS) return null;

    hs.hash.set(h);
    hs.chainingKey.set(ck);
    hs.remoteIndex = readU32(msg, at + INIT_SENDER);
    hs.remoteEphemeral.set(ePub);
    hs.lastTimestamp.set(timestamp);
    hs.lastInitiationConsumption = nowMs;
    hs.state = HandshakeState.InitiationConsumed;
    return found;
  } finally {
    wipeScratch();
  }
}

/** Write a response (5.4.3) to a consumed initiation into out[at, at+92) without MACs. */
export function createResponse(hs: Handshake, out: Uint8Array, at: number, localIndex: number): boolean {
  if (hs.state !== HandshakeState.InitiationConsumed) return false;
  try {
    ck.set(hs.chainingKey);
    h.set(hs.hash);
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
    if (!x25519(dh, ePriv, hs.remoteEphemeral)) return false;
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

    hs.hash.set(h);
    hs.chainingKey.set(ck);
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
  if (hs.state !== HandshakeState.InitiationCreated || !identity.hasKey) return false;
  try {
    ck.set(hs.chainingKey);
    h.set(hs.hash);
    const ePub = msg.subarray(at + RESP_EPHEMERAL, at + RESP_EPHEMERAL + KEY_LEN);

    // e
    kdf(ck, ePub, ck);
    mixHash(ePub);

    // ee
    if (!x25519(dh, hs.localEphemeral, ePub)) return false;
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

    hs.hash.set(h);
    hs.chainingKey.set(ck);
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
  if (hs.state === HandshakeState.ResponseConsumed) initiator = true;
  else if (hs.state === HandshakeState.ResponseCreated) initiator = false;
  else return null;
  if (initiator) kdf(hs.chainingKey, EMPTY, sendKey, recvKey);
  else kdf(hs.chainingKey, EMPTY, recvKey, sendKey);
  wipe(hs.hash);
  wipe(hs.chainingKey);
  wipe(hs.localEphemeral);
  wipe(hs.remoteEphemeral);
  hs.state = HandshakeState.Zeroed;
  return initiator ? 'initiator' : 'responder';
}
