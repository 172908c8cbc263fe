/**
 * Protocol constants. "From the paper" are fixed by the WireGuard paper (section 6, "Timers & Stateless
 * UX") and must match every other implementation; "our choice" are this implementation's, each with
 * its reason.
 */

// ---- From the paper (6.1 Preliminaries, 6.2 Transport Message Limits, 5.4.7 Under Load) ----

/** Initiate a new handshake after this many messages sent on one keypair (2^60: an exact double). */
export const REKEY_AFTER_MESSAGES = 2 ** 60;
/**
 * The first message counter a keypair may not use. The paper's is 2^64 - 2^13 - 1 (6.2: the replay
 * window must still work below it), but counters here are JS numbers, exact only below 2^53, and that
 * value is not one: written out it rounds to 2^64, which no comparison with a counter could tell
 * apart from its neighbours. No keypair gets near either: one sends at most REJECT_AFTER_TIME worth
 * of packets (keypair.ts), and receive.ts refuses wire counters of 2^53 and up before the replay
 * check. So the bound compared against is the paper's moved below 2^53 by the same offset: exact, as
 * replay.ts's validate() requires of its limit, and what Keypairs.retireForSending sets to stop a
 * keypair sending.
 */
export const REJECT_AFTER_MESSAGES = 2 ** 53 - 2 ** 13 - 1;
export const REKEY_AFTER_TIME_MS = 120_000;
export const REJECT_AFTER_TIME_MS = 180_000;
export const REKEY_ATTEMPT_TIME_MS = 90_000;
export const REKEY_TIMEOUT_MS = 5_000;
export const KEEPALIVE_TIMEOUT_MS = 10_000;
/** A cookie is good for two minutes (5.4.7). */
export const COOKIE_REFRESH_TIME_MS = 120_000;

// ---- Our choices (following wireguard-go where it made the same choice) ----

/** Up to a third of a second added to handshake retransmission so peers do not retry in lockstep (6.4). */
export const REKEY_TIMEOUT_JITTER_MAX_MS = 334;
/** Handshake attempts before giving up: the attempt time divided by the retry interval (6.4). */
export const MAX_TIMER_HANDSHAKES = REKEY_ATTEMPT_TIME_MS / REKEY_TIMEOUT_MS;
/**
 * An initiator that keeps receiving on an old keypair starts a new handshake this long after creating
 * it, so it is replaced before REJECT_AFTER_TIME even when it only receives (6.2).
 */
export const REKEY_ON_RECEIVE_AGE_MS = REJECT_AFTER_TIME_MS - KEEPALIVE_TIMEOUT_MS - REKEY_TIMEOUT_MS;
/** Key material is zeroed when no new handshake happened for three times the reject time (6.3). */
export const ZERO_KEY_MATERIAL_AFTER_MS = REJECT_AFTER_TIME_MS * 3;
/** Initiations from one peer closer together than this are dropped: a flood of replayed-but-fresh ones. */
export const HANDSHAKE_INITIATION_RATE_MS = 1000 / 50;
/** Packets waiting for a session, per peer; older ones are dropped first (as wireguard-go's 128). */
export const MAX_STAGED_PACKETS = 128;
/** Handshake messages waiting to be processed; past this they are dropped. */
export const HANDSHAKE_QUEUE_LEN = 1024;
/** The device is "under load" (5.4.7) when this many handshake messages wait... */
export const UNDER_LOAD_QUEUE_LEN = HANDSHAKE_QUEUE_LEN / 8;
/** ...and stays so for one second after, so a burst cannot slip under the threshold. */
export const UNDER_LOAD_AFTER_TIME_MS = 1_000;
/**
 * Handshake messages whose mac1 is checked in one shim call, one batch per event-loop turn at most:
 * the shim's largest batch. Its MACs cost ~65 us, and ~115 us more for mac2 under load (handshake.ts
 * has the figures): well under a turn of 128 transport messages (128 x 1,420 bytes is ~0.7 ms at 2 Gbit/s).
 */
export const HANDSHAKE_BATCH = 128;
/**
 * Cookie replies sent per turn at most (~5 us each with the send): a flood from many sources, each
 * within its own rate, still leaves the data path its turn.
 */
export const COOKIE_REPLIES_PER_TURN = 16;
/**
 * Handshake messages given the Noise work per turn at most (~200 us each, an X25519 and more): a
 * turn of them costs about what a turn of transport data does. Not under load, any handshake message
 * with a valid mac1 reaches it; a flood then fills the queue and puts the device under load in a few
 * turns.
 */
export const NOISE_PER_TURN = 8;
