/**
 * The inbound path (paper 5.4.6, 6.1), in the order datagrams take it:
 *
 *   1. UDP receive: a batch of datagrams in edge-allocated buffers (receiveBatch).
 *   2. Classification by the type word: handshake messages go to the handshake queue (handshake.ts);
 *      transport messages find their keypair by receiver index; anything else is dropped.
 *   3. The batch of transport messages goes to the open queue (crypto/aead-queue.ts): opened in one
 *      call, on a crypto thread when it is big, inline when it is small or there are no threads.
 *   4. When it is open (opened()), in the order batches were made, per packet: replay window,
 *      keypair confirmation, roaming, and the inner source address must be in the sending peer's
 *      allowed IPs (cryptokey routing, section 2).
 *   5. One TUN write for the batch; timers run once per touched peer.
 *
 * Opened batches come back in submission order, so the replay window and the TUN see each peer's
 * packets in the order they arrived. A bad datagram is dropped and counted under its reason; nothing
 * here throws.
 */
import { AeadQueue, type AeadEntry } from '../crypto/aead-queue.js';
import { SegmentViews } from '../buffer/segment-views.js';
import type { PacketBuffer } from '../buffer/packet-buffer.js';
import type { Endpoint } from '../conn/bind.js';
import {
  IPV4_MIN_HEADER_LEN,
  IPV4_SRC_OFFSET,
  IPV4_TOTAL_LENGTH_OFFSET,
  IPV6_HEADER_LEN,
  IPV6_PAYLOAD_LENGTH_OFFSET,
  IPV6_SRC_OFFSET,
} from '../net/ip-header.js';
import { REJECT_AFTER_MESSAGES, REJECT_AFTER_TIME_MS, REKEY_ON_RECEIVE_AGE_MS } from './constants.js';
import type { DeviceContext } from './context.js';
import type { Keypair } from './keypair.js';
import {
  COOKIE_REPLY_LEN,
  DATA_COUNTER,
  DATA_HEADER_LEN,
  DATA_MIN_LEN,
  DATA_RECEIVER,
  INITIATION_LEN,
  MESSAGE_COOKIE_REPLY,
  MESSAGE_INITIATION,
  MESSAGE_RESPONSE,
  MESSAGE_TRANSPORT,
  RESPONSE_LEN,
  messageType,
  readU32,
} from './messages.js';
import type { Peer } from './peer.js';
import { touchedIndex, type Sender } from './send.js';

/** Largest number of datagrams opened in one batch: as SEND_BATCH, one native AEAD call. */
export const RECEIVE_BATCH = 128;

/** Handshake messages leave the data path here. */
export interface HandshakeSink {
  enqueue(buf: PacketBuffer, endpoint: Endpoint): void;
}

/** What a batch being opened needs when it is done: per slot, the datagram and whose it is. */
class OpenJob {
  readonly bufs: (PacketBuffer | null)[] = new Array<PacketBuffer | null>(RECEIVE_BATCH).fill(null);
  readonly keypairs: (Keypair | null)[] = new Array<Keypair | null>(RECEIVE_BATCH).fill(null);
  readonly peers: (Peer | null)[] = new Array<Peer | null>(RECEIVE_BATCH).fill(null);
  readonly endpoints: (Endpoint | null)[] = new Array<Endpoint | null>(RECEIVE_BATCH).fill(null);
}

export class Receiver {
  private readonly queue: AeadQueue<OpenJob>;
  /** The batch being filled by receiveBatch, and how many slots it has so far. */
  private entry: AeadEntry<OpenJob> | null = null;
  private entryCount = 0;
  /** The datagrams of UDP GRO reads, each a view of its segment. */
  private readonly views = new SegmentViews();
  private readonly tunOut: PacketBuffer[] = new Array<PacketBuffer>(RECEIVE_BATCH);
  /** The peers an opened batch authenticated packets of, each once; per peer, its bytes and whether any carried data. */
  private readonly touched: (Peer | null)[] = new Array<Peer | null>(RECEIVE_BATCH).fill(null);
  private readonly touchedBytes = new Float64Array(RECEIVE_BATCH);
  private readonly touchedData = new Uint8Array(RECEIVE_BATCH);

  /** `cryptoThreads`: 0 opens every batch on the event loop (crypto/aead-queue.ts). */
  constructor(
    private readonly dev: DeviceContext,
    private readonly sender: Sender,
    private readonly handshakes: HandshakeSink,
    cryptoThreads: number,
  ) {
    this.queue = new AeadQueue<OpenJob>(true, cryptoThreads, RECEIVE_BATCH, () => new OpenJob(), (e) => this.opened(e));
  }

  /** Blocks until every batch handed to the threads is opened and delivered (device down). */
  drain(): void {
    this.queue.drain();
  }

  /** Drains and gives the crypto threads' job slots back (device close). */
  close(): void {
    this.queue.close();
  }

  /**
   * Steps 1-2 for a bind batch; the buffers become ours. A buffer of several datagrams (UDP GRO:
   * segments[i] > 0) is walked in place: each datagram is a view of its segment (buffer/segment-views.ts),
   * and the buffer goes back when the last view does.
   */
  receiveBatch(bufs: PacketBuffer[], endpoints: Endpoint[], count: number, segments: Int32Array | null): void {
    const now = this.dev.clock.now();
    const views = this.views;
    for (let i = 0; i < count; i++) {
      const buf = bufs[i]!;
      const seg = segments === null ? 0 : segments[i]!;
      const len = buf.end - buf.start;
      if (seg <= 0 || len <= seg) {
        this.classify(buf, endpoints[i]!, now);
        continue;
      }
      const g = views.group(buf, Math.ceil(len / seg));
      for (let at = buf.start; at < buf.end; at += seg) {
        this.classify(views.view(g, at, Math.min(at + seg, buf.end)), endpoints[i]!, now);
      }
    }
    const e = this.entry;
    if (e !== null) {
      this.entry = null;
      e.batch.count = this.entryCount;
      this.entryCount = 0;
      this.queue.submit(e);
    }
  }

  /** Step 2 for one datagram: into the batch being filled, to the handshake queue, or dropped. */
  private classify(buf: PacketBuffer, endpoint: Endpoint, now: number): void {
    const dev = this.dev;
    const b = buf.bytes;
    const s = buf.start;
    const len = buf.end - s;
    if (len < 4) {
      dev.drops.badSize++;
      buf.release();
      return;
    }
    const type = messageType(b, s);
    if (type === MESSAGE_TRANSPORT) {
      if (len < DATA_MIN_LEN) {
        dev.drops.badSize++;
        buf.release();
        return;
      }
      const entry = dev.indexTable.lookup(readU32(b, s + DATA_RECEIVER));
      const kp = entry === undefined ? null : entry.keypair;
      if (kp === null || kp.dead) {
        dev.drops.unknownIndex++;
        buf.release();
        return;
      }
      const lo = readU32(b, s + DATA_COUNTER);
      const hi = readU32(b, s + DATA_COUNTER + 4);
      // Counters at or above 2^53 cannot occur within REJECT_AFTER_TIME; they are refused, not rounded.
      if (hi >= 0x200000 || now - kp.created >= REJECT_AFTER_TIME_MS) {
        dev.drops.expiredKeypair++;
        buf.release();
        return;
      }
      let e = this.entry;
      if (e === null) e = this.entry = this.queue.take();
      const n = this.entryCount;
      const batch = e.batch;
      const job = e.context;
      batch.keys[n] = kp.recvKey;
      batch.counters[n] = hi * 0x100000000 + lo;
      batch.bufs[n] = b;
      batch.starts[n] = s + DATA_HEADER_LEN;
      batch.lengths[n] = len - DATA_HEADER_LEN;
      job.keypairs[n] = kp;
      job.peers[n] = entry!.peer;
      job.bufs[n] = buf;
      job.endpoints[n] = endpoint;
      if (n + 1 < RECEIVE_BATCH) {
        this.entryCount = n + 1;
        return;
      }
      this.entry = null;
      this.entryCount = 0;
      batch.count = RECEIVE_BATCH;
      this.queue.submit(e);
      return;
    }
    if (
      (type === MESSAGE_INITIATION && len === INITIATION_LEN) ||
      (type === MESSAGE_RESPONSE && len === RESPONSE_LEN) ||
      (type === MESSAGE_COOKIE_REPLY && len === COOKIE_REPLY_LEN)
    ) {
      this.handshakes.enqueue(buf, endpoint);
      return;
    }
    if (type >= MESSAGE_INITIATION && type <= MESSAGE_COOKIE_REPLY) dev.drops.badSize++;
    else dev.drops.badType++;
    buf.release();
  }

  /** Steps 4-5 for an opened batch, in the order batches were made. */
  private opened(e: AeadEntry<OpenJob>): void {
    const dev = this.dev;
    const batch = e.batch;
    const job = e.context;
    const n = batch.count;
    const touched = this.touched;
    const touchedBytes = this.touchedBytes;
    const touchedData = this.touchedData;
    let peers = 0;
    let out = 0;
    for (let i = 0; i < n; i++) {
      const buf = job.bufs[i]!;
      const kp = job.keypairs[i]!;
      const peer = job.peers[i]!;
      const endpoint = job.endpoints[i]!;
      const plain = batch.results[i]!;
      job.bufs[i] = null;
      job.keypairs[i] = null;
      job.peers[i] = null;
      job.endpoints[i] = null;
      if (plain < 0) {
        dev.drops.decrypt++;
        buf.release();
        continue;
      }
      // The replay window is checked after authentication, so forged counters cannot move it (5.4.6).
      if (!kp.replay.validate(batch.counters[i]!, REJECT_AFTER_MESSAGES)) {
        dev.drops.replay++;
        buf.release();
        continue;
      }
      const t = touchedIndex(touched, peers, peer);
      if (t === peers) {
        touched[peers++] = peer;
        touchedBytes[t] = 0;
        touchedData[t] = 0;
      }
      touchedBytes[t] += buf.end - buf.start;
      // The responder's next keypair is confirmed by its first use (6.1).
      peer.receivedOn(kp);
      peer.roamTo(endpoint);
      if (plain === 0) {
        buf.release(); // keepalive
        continue;
      }
      touchedData[t] = 1;
      const b = buf.bytes;
      const s = buf.start + DATA_HEADER_LEN;
      const version = b[s]! >> 4;
      let innerLen = -1;
      let ok = false;
      if (version === 4 && plain >= IPV4_MIN_HEADER_LEN) {
        innerLen = (b[s + IPV4_TOTAL_LENGTH_OFFSET]! << 8) | b[s + IPV4_TOTAL_LENGTH_OFFSET + 1]!;
        if (innerLen >= IPV4_MIN_HEADER_LEN && innerLen <= plain) ok = dev.allowedIPs.lookup(b, s + IPV4_SRC_OFFSET, 4) === peer;
        else innerLen = -1;
      } else if (version === 6 && plain >= IPV6_HEADER_LEN) {
        innerLen = IPV6_HEADER_LEN + ((b[s + IPV6_PAYLOAD_LENGTH_OFFSET]! << 8) | b[s + IPV6_PAYLOAD_LENGTH_OFFSET + 1]!);
        if (innerLen <= plain) ok = dev.allowedIPs.lookup(b, s + IPV6_SRC_OFFSET, 6) === peer;
        else innerLen = -1;
      }
      if (!ok) {
        if (innerLen < 0) dev.drops.badInner++;
        else dev.drops.disallowedSource++;
        buf.release();
        continue;
      }
      buf.start = s;
      buf.end = s + innerLen;
      this.tunOut[out++] = buf;
    }
    if (out > 0) dev.tun.write(this.tunOut, out);
    for (let i = 0; i < peers; i++) {
      const peer = touched[i]!;
      touched[i] = null;
      peer.addRxBytes(touchedBytes[i]!);
      peer.onAuthenticatedPacketReceived();
      if (touchedData[i] !== 0) peer.onDataReceived();
      this.keepKeyFreshReceiving(peer);
      // A confirmed session may have packets waiting for it.
      if (peer.stagedCount > 0) this.sender.sendStaged(peer);
    }
  }

  /**
   * 6.2: an initiator whose current keypair nears REJECT_AFTER_TIME while it only receives starts a
   * new handshake once, so the session does not die between two rekey-on-send opportunities.
   */
  private keepKeyFreshReceiving(peer: Peer): void {
    const kp = peer.currentKeypair;
    if (kp === null || !kp.isInitiator || this.dev.clock.now() - kp.created < REKEY_ON_RECEIVE_AGE_MS) return;
    if (peer.claimLastMinuteHandshake()) this.sender.sendInitiation(peer, false);
  }
}
