/**
 * Handshake message processing (paper 5.4.2-5.4.4, 5.4.7). Handshake messages are queued off the data
 * path and worked through a batch per event-loop turn, so a flood cannot starve transport data. The
 * queue length is also how the device knows it is under load: then every initiation or response must
 * carry a valid mac2 (else it gets a cookie reply) and passes the per-source rate limiter.
 *
 * The costs, and what bounds each, under a flood of initiations with a valid mac1 (the worst a sender
 * that knows our public key can do without a cookie; measured on this 2-core machine, shim loaded):
 *   - mac1, for every message: one shim call per batch of HANDSHAKE_BATCH, ~0.5 us a message;
 *   - mac2, under load: a MAC, ~0.9 us (and one more for the cookie of a source other than the last);
 *   - a cookie reply: an XChaCha20-Poly1305 seal, ~1.5 us, and a sendmsg. At most
 *     RATELIMIT_PACKETS_PER_SECOND a second per source (a RateLimiter of its own, so the replies do
 *     not spend the tokens the source's next initiation, with mac2, needs), and COOKIE_REPLIES_PER_TURN
 *     a turn whatever the sources;
 *   - the Noise work of 5.4.2-5.4.3 (X25519 and more): ~200 us for an initiation with random
 *     contents; NOISE_PER_TURN a turn, and under load only for a valid mac2 within the source's rate.
 * A turn ends when its batch is done or a budget is spent; what is left waits for the next turn.
 *
 * What each step bought, `npm run bench` flood row (one TCP stream alone, under 50,000 such
 * initiations a second from one address, alone again): kept fraction / cookie replies a second / RSS
 * growth of the flooded daemon. Medians of 3 rounds of 8 s in one session, on 2 cores shared with
 * other work (load average ~6), and in brackets one round of 5 s with it less busy (load ~1.5):
 *   mac1, mac2 and the cookie seal in JavaScript, 32 messages a turn   0.04 / 10,900 / +16.9 MB  (0.03)
 *   the shim's MACs and seal, mac1 in batches, the per-turn budgets    0.65 / 22,900 / +4.4 MB   (0.55)
 *   and cookie replies limited per source                              0.53 /     20 / +1.1 MB   (1.07)
 *   upstream wireguard-go, same runs                                   0.32 / 35,200 / +203 MB   (0.62)
 * On the shared machine the last two steps differ by less than its noise (rounds of this file's
 * version ranged 0.51-0.90); the limit's plain gains are the replies and the memory.
 */
import type { PacketBuffer } from '../buffer/packet-buffer.js';
import type { Endpoint } from '../conn/bind.js';
import { MacBatch } from '../crypto/mac-batch.js';
import { MacResult } from './cookie.js';
import {
  COOKIE_REPLIES_PER_TURN,
  HANDSHAKE_BATCH,
  HANDSHAKE_QUEUE_LEN,
  NOISE_PER_TURN,
  UNDER_LOAD_AFTER_TIME_MS,
  UNDER_LOAD_QUEUE_LEN,
} from './constants.js';
import type { DeviceContext } from './context.js';
import { Keypair } from './keypair.js';
import {
  COOKIE_RECEIVER,
  COOKIE_REPLY_LEN,
  INIT_SENDER,
  MESSAGE_COOKIE_REPLY,
  MESSAGE_INITIATION,
  RESP_RECEIVER,
  RESP_SENDER,
  messageType,
  readU32,
} from './messages.js';
import { consumeInitiation, consumeResponse, deriveTransportKeys, type Handshake } from './noise.js';
import type { Peer } from './peer.js';
import { RATELIMIT_GC_IDLE_MS, RateLimiter } from './ratelimiter.js';
import type { HandshakeSink } from './receive.js';
import type { Sender } from './send.js';

/** What handling one message spent of the turn's budgets. */
const enum Spent {
  Nothing = 0,
  CookieReply = 1,
  Noise = 2,
}

export class HandshakeQueue implements HandshakeSink {
  private readonly bufs: (PacketBuffer | null)[] = new Array<PacketBuffer | null>(HANDSHAKE_QUEUE_LEN).fill(null);
  private readonly endpoints: (Endpoint | null)[] = new Array<Endpoint | null>(HANDSHAKE_QUEUE_LEN).fill(null);
  private head = 0;
  private count = 0;
  private scheduled = false;
  private underLoadUntil = -Infinity;
  private readonly sendKey = new Uint8Array(32);
  private readonly recvKey = new Uint8Array(32);
  private readonly drain: () => void;
  private readonly one: PacketBuffer[] = new Array<PacketBuffer>(1);
  private readonly macs = new MacBatch(HANDSHAKE_BATCH);
  /** Cookie replies per source under load; its idle entries are dropped once a second. */
  private readonly cookieLimiter: RateLimiter;
  private lastGc: number;

  constructor(
    private readonly dev: DeviceContext,
    private readonly sender: Sender,
  ) {
    this.drain = () => this.process();
    this.cookieLimiter = new RateLimiter(() => dev.clock.now());
    this.lastGc = dev.clock.now();
  }

  enqueue(buf: PacketBuffer, endpoint: Endpoint): void {
    if (this.count === HANDSHAKE_QUEUE_LEN) {
      this.dev.drops.handshakeQueueFull++;
      buf.release();
      return;
    }
    const at = (this.head + this.count) % HANDSHAKE_QUEUE_LEN;
    this.bufs[at] = buf;
    this.endpoints[at] = endpoint;
    this.count++;
    if (!this.scheduled) {
      this.scheduled = true;
      setImmediate(this.drain);
    }
  }

  /** 5.4.7: under load while the queue is long, and for a second after. */
  underLoad(): boolean {
    const now = this.dev.clock.now();
    if (this.count >= UNDER_LOAD_QUEUE_LEN) {
      this.underLoadUntil = now + UNDER_LOAD_AFTER_TIME_MS;
      return true;
    }
    return now < this.underLoadUntil;
  }

  get length(): number {
    return this.count;
  }

  /** Drop everything queued and every source's cookie-reply count (device down or closed). */
  clear(): void {
    while (this.count > 0) this.shift().release();
    this.cookieLimiter.close();
  }

  /** Takes the oldest message off the ring; its endpoint is read first (endpointAt(0)). */
  private shift(): PacketBuffer {
    const buf = this.bufs[this.head]!;
    this.bufs[this.head] = null;
    this.endpoints[this.head] = null;
    this.head = (this.head + 1) % HANDSHAKE_QUEUE_LEN;
    this.count--;
    return buf;
  }

  /** One turn: mac1 of up to HANDSHAKE_BATCH messages in one call, then each until a budget runs out. */
  private process(): void {
    this.scheduled = false;
    const dev = this.dev;
    const now = dev.clock.now();
    if (now - this.lastGc >= RATELIMIT_GC_IDLE_MS) {
      this.cookieLimiter.collectGarbage();
      this.lastGc = now;
    }
    // Load is judged with this turn's messages still counted, as they arrived into a queue that long.
    const underLoad = this.underLoad();
    const n = this.count < HANDSHAKE_BATCH ? this.count : HANDSHAKE_BATCH;
    const macs = this.macs;
    for (let i = 0; i < n; i++) {
      const buf = this.bufs[(this.head + i) % HANDSHAKE_QUEUE_LEN]!;
      const len = buf.end - buf.start;
      if (messageType(buf.bytes, buf.start) === MESSAGE_COOKIE_REPLY) macs.setEmpty(i);
      else dev.cookieChecker.describeMac1(macs, i, buf.bytes, buf.start, len);
    }
    macs.count = n;
    dev.cookieChecker.computeMac1(macs);
    let cookieReplies = 0;
    let noise = 0;
    for (let i = 0; i < n && cookieReplies < COOKIE_REPLIES_PER_TURN && noise < NOISE_PER_TURN; i++) {
      const endpoint = this.endpoints[this.head]!;
      const buf = this.shift();
      const spent = dev.isUp() ? this.handle(buf, endpoint, i, underLoad, now) : Spent.Nothing;
      buf.release();
      if (spent === Spent.CookieReply) cookieReplies++;
      else if (spent === Spent.Noise) noise++;
    }
    if (this.count > 0 && !this.scheduled) {
      this.scheduled = true;
      setImmediate(this.drain);
    }
  }

  /** One handshake message, slot i of this turn's mac1 batch. The caller releases the buffer. */
  private handle(buf: PacketBuffer, endpoint: Endpoint, i: number, underLoad: boolean, now: number): Spent {
    const dev = this.dev;
    const b = buf.bytes;
    const s = buf.start;
    const len = buf.end - s;
    const type = messageType(b, s);

    if (type === MESSAGE_COOKIE_REPLY) {
      const entry = dev.indexTable.lookup(readU32(b, s + COOKIE_RECEIVER));
      if (entry === undefined || !entry.peer.consumeCookieReply(b, s, now)) {
        dev.drops.handshakeInvalid++;
        return Spent.Nothing;
      }
      dev.verbose(`${entry.peer}: received cookie reply`);
      return Spent.Nothing;
    }

    // 5.4.4 / 5.4.7: mac1 always; under load, mac2 and the rate limiter too.
    const macs = dev.cookieChecker.check(this.macs, i, b, s, len, underLoad, endpoint.addressBytes, endpoint.port, now);
    if (macs === MacResult.InvalidMac1) {
      dev.drops.handshakeMac++;
      return Spent.Nothing;
    }
    if (underLoad) {
      if (macs !== MacResult.ValidMac1AndCookie) {
        // Refused with a cookie (5.4.7), within the source's share of replies.
        if (!this.cookieLimiter.allow(endpoint.addressBytes, 0, endpoint.family)) {
          dev.drops.handshakeCookieLimited++;
          return Spent.Nothing;
        }
        dev.drops.handshakeCookie++;
        this.sendCookieReply(b, s, len, readU32(b, s + (type === MESSAGE_INITIATION ? INIT_SENDER : RESP_SENDER)), endpoint, now);
        return Spent.CookieReply;
      }
      if (!dev.rateLimiter.allow(endpoint.addressBytes, 0, endpoint.family)) {
        dev.drops.handshakeRateLimited++;
        return Spent.Nothing;
      }
    }

    if (type === MESSAGE_INITIATION) this.handleInitiation(b, s, endpoint, now);
    else this.handleResponse(b, s, endpoint);
    return Spent.Noise;
  }

  private handleInitiation(b: Uint8Array, s: number, endpoint: Endpoint, now: number): void {
    const dev = this.dev;
    const found = consumeInitiation(dev.identity, b, s, now, (key) => {
      const peer = dev.peerByPublicKey(key);
      return peer === null || !peer.running ? null : { peer, handshake: peer.handshake };
    });
    if (found === null) {
      dev.drops.handshakeInvalid++;
      return;
    }
    const peer = found.peer;
    dev.verbose(`${peer}: received handshake initiation`);
    peer.roamTo(endpoint);
    peer.onAuthenticatedPacketReceived();
    const index = this.sender.sendResponse(peer);
    if (index === 0) return;
    this.beginSession(peer, peer.handshake, index);
  }

  private handleResponse(b: Uint8Array, s: number, endpoint: Endpoint): void {
    const dev = this.dev;
    const entry = dev.indexTable.lookup(readU32(b, s + RESP_RECEIVER));
    if (entry === undefined || entry.handshake === null) {
      dev.drops.handshakeInvalid++;
      return;
    }
    const peer = entry.peer;
    if (!peer.running || !consumeResponse(dev.identity, entry.handshake, b, s)) {
      dev.drops.handshakeInvalid++;
      return;
    }
    dev.verbose(`${peer}: received handshake response`);
    peer.roamTo(endpoint);
    peer.onAuthenticatedPacketReceived();
    this.beginSession(peer, entry.handshake, peer.handshake.localIndex);
    peer.onHandshakeComplete();
    // Confirm the new session to the responder at once (6.1), with staged data if there is any.
    this.sender.sendKeepalive(peer);
  }

  /** 5.4.5: derive the keypair and install it under the handshake's own index. */
  private beginSession(peer: Peer, hs: Handshake, localIndex: number): void {
    const dev = this.dev;
    const remoteIndex = hs.remoteIndex;
    const side = deriveTransportKeys(hs, this.sendKey, this.recvKey);
    if (side === null) return;
    const kp = new Keypair(this.sendKey, this.recvKey, dev.clock.now(), side === 'initiator', localIndex, remoteIndex);
    dev.indexTable.bindKeypair(localIndex, kp);
    hs.localIndex = 0; // the index now belongs to the keypair
    peer.installKeypair(kp);
  }

  private sendCookieReply(b: Uint8Array, s: number, len: number, senderIndex: number, endpoint: Endpoint, now: number): void {
    const dev = this.dev;
    if (!dev.bindOpen) return;
    const out = dev.source.get(COOKIE_REPLY_LEN);
    if (out === null) {
      dev.drops.noBuffer++;
      return;
    }
    dev.cookieChecker.createReply(b, s, len, senderIndex, endpoint.addressBytes, endpoint.port, now, out.bytes, out.start);
    out.end = out.start + COOKIE_REPLY_LEN;
    this.one[0] = out;
    dev.bind.send(this.one, 1, endpoint);
  }
}
