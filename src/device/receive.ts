/**
 * The inbound path (paper 5.4.6, 6.1), in the order datagrams take it:
 *
 *   1. UDP receive: a batch of datagrams in edge-allocated buffers (receiveBatch).
 *   2. Classification by the type word: handshake messages go to the handshake queue (handshake.ts);
 *      transport messages find their keypair by receiver index; anything else is dropped.
 *   3. The batch of transport messages is opened in one call (openBatch: the shim's AEAD batch where
 *      it is loaded).
 *   4. Per packet: replay window, keypair confirmation, roaming, and the inner source address must be
 *      in the sending peer's allowed IPs (cryptokey routing, section 2).
 *   5. One TUN write for the batch; timers run once per touched peer.
 *
 * A bad datagram is dropped and counted under its reason; nothing here throws.
 */
import { AeadBatch, openBatch } from '../crypto/aead.js';
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

export class Receiver {
  private readonly batch = new AeadBatch(RECEIVE_BATCH);
  private readonly keypairs: (Keypair | null)[] = new Array<Keypair | null>(RECEIVE_BATCH).fill(null);
  private readonly peers: (Peer | null)[] = new Array<Peer | null>(RECEIVE_BATCH).fill(null);
  private readonly bufs: (PacketBuffer | null)[] = new Array<PacketBuffer | null>(RECEIVE_BATCH).fill(null);
  private readonly endpoints: (Endpoint | null)[] = new Array<Endpoint | null>(RECEIVE_BATCH).fill(null);
  private readonly tunOut: PacketBuffer[] = new Array<PacketBuffer>(RECEIVE_BATCH);
  /** The peers an opened batch authenticated packets of, each once; per peer, its bytes and whether any carried data. */
  private readonly touched: (Peer | null)[] = new Array<Peer | null>(RECEIVE_BATCH).fill(null);
  private readonly touchedBytes = new Float64Array(RECEIVE_BATCH);
  private readonly touchedData = new Uint8Array(RECEIVE_BATCH);

  constructor(
    private readonly dev: DeviceContext,
    private readonly sender: Sender,
    private readonly handshakes: HandshakeSink,
  ) {}

  /** Steps 1-2 for a bind batch; the buffers become ours. */
  receiveBatch(bufs: PacketBuffer[], endpoints: Endpoint[], count: number): void {
    const dev = this.dev;
    const now = dev.clock.now();
    const batch = this.batch;
    let n = 0;
    for (let i = 0; i < count; i++) {
      const buf = bufs[i]!;
      const b = buf.bytes;
      const s = buf.start;
      const len = buf.end - s;
      if (len < 4) {
        dev.drops.badSize++;
        buf.release();
        continue;
      }
      const type = messageType(b, s);
      if (type === MESSAGE_TRANSPORT) {
        if (len < DATA_MIN_LEN) {
          dev.drops.badSize++;
          buf.release();
          continue;
        }
        const entry = dev.indexTable.lookup(readU32(b, s + DATA_RECEIVER));
        const kp = entry === undefined ? null : entry.keypair;
        if (kp === null || kp.dead) {
          dev.drops.unknownIndex++;
          buf.release();
          continue;
        }
        const lo = readU32(b, s + DATA_COUNTER);
        const hi = readU32(b, s + DATA_COUNTER + 4);
        // Counters at or above 2^53 cannot occur within REJECT_AFTER_TIME; they are refused, not rounded.
        if (hi >= 0x200000 || now - kp.created >= REJECT_AFTER_TIME_MS) {
          dev.drops.expiredKeypair++;
          buf.release();
          continue;
        }
        batch.keys[n] = kp.recvKey;
        batch.counters[n] = hi * 0x100000000 + lo;
        batch.bufs[n] = b;
        batch.starts[n] = s + DATA_HEADER_LEN;
        batch.lengths[n] = len - DATA_HEADER_LEN;
        this.keypairs[n] = kp;
        this.peers[n] = entry!.peer;
        this.bufs[n] = buf;
        this.endpoints[n] = endpoints[i]!;
        n++;
        if (n === RECEIVE_BATCH) {
          batch.count = n;
          this.openAndDeliver(n);
          n = 0;
        }
        continue;
      }
      if (
        (type === MESSAGE_INITIATION && len === INITIATION_LEN) ||
        (type === MESSAGE_RESPONSE && len === RESPONSE_LEN) ||
        (type === MESSAGE_COOKIE_REPLY && len === COOKIE_REPLY_LEN)
      ) {
        this.handshakes.enqueue(buf, endpoints[i]!);
        continue;
      }
      if (type >= MESSAGE_INITIATION && type <= MESSAGE_COOKIE_REPLY) dev.drops.badSize++;
      else dev.drops.badType++;
      buf.release();
    }
    if (n > 0) {
      batch.count = n;
      this.openAndDeliver(n);
    }
  }

  /** Steps 3-5 for the n transport messages gathered so far. */
  private openAndDeliver(n: number): void {
    const dev = this.dev;
    const batch = this.batch;
    openBatch(batch);
    const touched = this.touched;
    const touchedBytes = this.touchedBytes;
    const touchedData = this.touchedData;
    let peers = 0;
    let out = 0;
    for (let i = 0; i < n; i++) {
      const buf = this.bufs[i]!;
      const kp = this.keypairs[i]!;
      const peer = this.peers[i]!;
      const endpoint = this.endpoints[i]!;
      const plain = batch.results[i]!;
      this.bufs[i] = null;
      this.keypairs[i] = null;
      this.peers[i] = null;
      this.endpoints[i] = null;
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
    batch.clear();
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
    const kp = peer.keypairs.current;
    if (kp === null || !kp.isInitiator || this.dev.clock.now() - kp.created < REKEY_ON_RECEIVE_AGE_MS) return;
    if (peer.claimLastMinuteHandshake()) this.sender.sendInitiation(peer, false);
  }
}
