/**
 * Handshake message processing (paper 5.4.2-5.4.4, 5.4.7). Handshake messages are queued off the data
 * path and worked through a few per event-loop turn, so a flood cannot starve transport data. The queue
 * length is also how the device knows it is under load: then every initiation or response must carry a
 * valid mac2 (else it gets a cookie reply) and passes the per-source rate limiter.
 */
import type { PacketBuffer } from '../buffer/packet-buffer.js';
import type { Endpoint } from '../conn/bind.js';
import { MacResult } from './cookie.js';
import {
  HANDSHAKE_QUEUE_LEN,
  HANDSHAKES_PER_TURN,
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
  messageType,
  readU32,
} from './messages.js';
import { consumeInitiation, consumeResponse, deriveTransportKeys, type Handshake } from './noise.js';
import type { Peer } from './peer.js';
import type { HandshakeSink } from './receive.js';
import type { Sender } from './send.js';

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

  constructor(
    private readonly dev: DeviceContext,
    private readonly sender: Sender,
  ) {
    this.drain = () => this.process();
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

  /** Drop everything queued (device down or closed). */
  clear(): void {
    while (this.count > 0) {
      const buf = this.bufs[this.head]!;
      this.bufs[this.head] = null;
      this.endpoints[this.head] = null;
      this.head = (this.head + 1) % HANDSHAKE_QUEUE_LEN;
      this.count--;
      buf.release();
    }
  }

  private process(): void {
    this.scheduled = false;
    for (let i = 0; i < HANDSHAKES_PER_TURN && this.count > 0; i++) {
      // Load is judged with the message still counted, as it arrived into a queue that long.
      const underLoad = this.underLoad();
      const buf = this.bufs[this.head]!;
      const endpoint = this.endpoints[this.head]!;
      this.bufs[this.head] = null;
      this.endpoints[this.head] = null;
      this.head = (this.head + 1) % HANDSHAKE_QUEUE_LEN;
      this.count--;
      try {
        this.handle(buf, endpoint, underLoad);
      } finally {
        buf.release();
      }
    }
    if (this.count > 0 && !this.scheduled) {
      this.scheduled = true;
      setImmediate(this.drain);
    }
  }

  /** One handshake message. The caller releases the buffer, on every path. */
  private handle(buf: PacketBuffer, endpoint: Endpoint, underLoad: boolean): void {
    const dev = this.dev;
    if (!dev.isUp()) return;
    const b = buf.bytes;
    const s = buf.start;
    const len = buf.end - s;
    const type = messageType(b, s);
    const now = dev.clock.now();

    if (type === MESSAGE_COOKIE_REPLY) {
      const entry = dev.indexTable.lookup(readU32(b, s + COOKIE_RECEIVER));
      if (entry === undefined || !entry.peer.consumeCookieReply(b, s, now)) {
        dev.drops.handshakeInvalid++;
        return;
      }
      dev.verbose(`${entry.peer}: received cookie reply`);
      return;
    }

    // 5.4.4 / 5.4.7: mac1 always; under load, mac2 and the rate limiter too.
    const macs = dev.cookieChecker.check(b, s, len, endpoint.addressBytes, endpoint.port, now);
    if (macs === MacResult.InvalidMac1) {
      dev.drops.handshakeMac++;
      return;
    }
    if (underLoad) {
      if (macs !== MacResult.ValidMac1AndCookie) {
        this.sendCookieReply(b, s, len, type === MESSAGE_INITIATION ? readU32(b, s + INIT_SENDER) : readU32(b, s + 4), endpoint);
        return;
      }
      if (!dev.rateLimiter.allow(endpoint.addressBytes, 0, endpoint.family)) {
        dev.drops.handshakeRateLimited++;
        return;
      }
    }

    if (type === MESSAGE_INITIATION) this.handleInitiation(b, s, endpoint, now);
    else this.handleResponse(b, s, endpoint);
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

  private sendCookieReply(b: Uint8Array, s: number, len: number, senderIndex: number, endpoint: Endpoint): void {
    const dev = this.dev;
    if (!dev.bindOpen) return;
    const out = dev.source.get(COOKIE_REPLY_LEN);
    if (out === null) {
      dev.drops.noBuffer++;
      return;
    }
    dev.cookieChecker.createReply(b, s, len, senderIndex, endpoint.addressBytes, endpoint.port, dev.clock.now(), out.bytes, out.start);
    out.end = out.start + COOKIE_REPLY_LEN;
    dev.verbose(`sending cookie reply to ${endpoint}`);
    this.one[0] = out;
    dev.bind.send(this.one, 1, endpoint);
  }
}
