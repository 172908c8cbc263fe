/**
 * Why packets were dropped, counted per reason (STYLE.md: "a bad packet is dropped, counted under its
 * reason"). Plain number fields: incrementing one on the data path costs nothing.
 */
export class DropCounters {
  /** Datagram too short, wrong size for its type, or an unknown type word. */
  badSize = 0;
  badType = 0;
  /** Transport message whose receiver index names no live keypair. */
  unknownIndex = 0;
  /** Keypair past REJECT_AFTER_TIME or REJECT_AFTER_MESSAGES. */
  expiredKeypair = 0;
  /** Authentication failed. */
  decrypt = 0;
  /** Counter seen before or too old for the window. */
  replay = 0;
  /** Inner packet's source is not in the sending peer's allowed IPs. */
  disallowedSource = 0;
  /** Inner packet malformed (not IPv4/IPv6, length field wrong). */
  badInner = 0;
  /** Outbound packet whose destination no peer's allowed IPs cover. */
  noRoute = 0;
  /** Staged packet pushed out by newer ones while waiting for a handshake. */
  stagedOverflow = 0;
  /** Handshake message with an invalid mac1. */
  handshakeMac = 0;
  /** Under load without a valid mac2: refused and answered with a cookie reply (5.4.7)... */
  handshakeCookie = 0;
  /** ...or refused without one, its source having had its share of cookie replies. */
  handshakeCookieLimited = 0;
  /** Under load with a valid mac2, over its source's rate. */
  handshakeRateLimited = 0;
  handshakeQueueFull = 0;
  /** Handshake message that failed to decrypt, named an unknown peer, or was a replay. */
  handshakeInvalid = 0;
  /** No buffer to be had (budget exhausted). */
  noBuffer = 0;

  snapshot(): Record<string, number> {
    return Object.fromEntries(Object.entries(this)) as Record<string, number>;
  }
}
