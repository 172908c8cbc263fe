/**
 * The outbound path (paper 5.4.6 Subsequent Messages: Transport Data Messages), in the order packets
 * take it:
 *
 *   1. TUN read: a batch of IP packets arrives in edge-allocated buffers (routeBatch).
 *   2. Routing: the destination address picks the peer in allowed-IPs (cryptokey routing, section 2);
 *      packets without a peer are dropped.
 *   3. Staging: each packet is queued on its peer; every peer the batch touched is sent to once. A
 *      device down drops them, unless its TUN reported the link up since it went down (comingUp):
 *      the daemon brings it up a moment later, and the packets go when it does (bounded,
 *      MAX_STAGED_PACKETS a peer), so the first ping after `ip link set up` is not lost.
 *   4. Per peer: if no usable keypair, start a handshake and keep the packets staged. Otherwise assign
 *      counters in order, write the header into the headroom, zero-pad in the tailroom, and hand the
 *      batch to the seal queue (crypto/aead-queue.ts): sealed in one call, on a crypto thread when it
 *      is big, inline when it is small or there are no threads.
 *   5. Transmission (sealed()): one bind.send per sealed batch, in the order the batches were made;
 *      the bind owns and releases the buffers. Timers run then, once per batch.
 *
 * The queue delivers sealed batches in submission order, so per-peer order is the order of the TUN
 * reads and counters leave in the order they were assigned.
 */
import { AeadQueue, type AeadEntry } from '../crypto/aead-queue.js';
import type { PacketBuffer } from '../buffer/packet-buffer.js';
import type { Endpoint } from '../conn/bind.js';
import { IPV4_DST_OFFSET, IPV4_MIN_HEADER_LEN, IPV6_DST_OFFSET, IPV6_HEADER_LEN } from '../net/ip-header.js';
import { REJECT_AFTER_MESSAGES, REJECT_AFTER_TIME_MS, REKEY_AFTER_MESSAGES, REKEY_AFTER_TIME_MS } from './constants.js';
import type { DeviceContext } from './context.js';
import type { Keypair } from './keypair.js';
import {
  DATA_COUNTER,
  DATA_HEADER_LEN,
  DATA_RECEIVER,
  INITIATION_LEN,
  MESSAGE_TRANSPORT,
  PADDING_MULTIPLE,
  RESPONSE_LEN,
  TAG_LEN,
  writeU32,
} from './messages.js';
import { createInitiation, createResponse } from './noise.js';
import type { Peer, PeerSender } from './peer.js';

/**
 * Largest number of packets sealed and sent in one batch: 128, the native shim's MAX_BATCH (one AEAD
 * call, one sendmmsg) and wireguard-go's IdealBatchSize; a TUN read batch is at most as large.
 */
export const SEND_BATCH = 128;

/** Padded length of a plaintext of `len` bytes (5.4.6): up to a multiple of 16, capped at the MTU. */
export function paddedLength(len: number, mtu: number): number {
  let last = len;
  if (mtu > 0 && last > mtu) last %= mtu;
  let padded = (last + PADDING_MULTIPLE - 1) & ~(PADDING_MULTIPLE - 1);
  if (mtu > 0 && padded > mtu) padded = mtu;
  return len + (padded - last);
}

export function keypairUsableForSend(kp: Keypair | null, now: number): kp is Keypair {
  return kp !== null && !kp.dead && now - kp.created < REJECT_AFTER_TIME_MS && kp.sendCounter < REJECT_AFTER_MESSAGES;
}

/** What a batch being sealed needs when it is done: its buffers, whose they are and where they go. */
class SealJob {
  readonly out: (PacketBuffer | null)[] = new Array<PacketBuffer | null>(SEND_BATCH).fill(null);
  peer: Peer | null = null;
  endpoint: Endpoint | null = null;
}

export class Sender implements PeerSender {
  private readonly queue: AeadQueue<SealJob>;
  /** The peers a routeBatch staged packets on, each once, in the order first seen. */
  private readonly touched: (Peer | null)[] = new Array<Peer | null>(SEND_BATCH).fill(null);

  /** `cryptoThreads`: 0 seals every batch on the event loop (crypto/aead-queue.ts). */
  constructor(
    private readonly dev: DeviceContext,
    cryptoThreads: number,
  ) {
    this.queue = new AeadQueue<SealJob>(false, cryptoThreads, SEND_BATCH, () => new SealJob(), (e) => this.sealed(e));
  }

  /** Crypto threads the seal queue uses (0: none). */
  get cryptoThreads(): number {
    return this.queue.threads;
  }

  /** Blocks until every batch handed to the threads is sealed and sent (device down). */
  drain(): void {
    this.queue.drain();
  }

  /** Drains and gives the crypto threads' job slots back (device close). */
  close(): void {
    this.queue.close();
  }

  /** Step 1-3 for a TUN batch; the buffers become ours. */
  routeBatch(bufs: PacketBuffer[], count: number): void {
    const dev = this.dev;
    const touched = this.touched;
    let peers = 0;
    for (let i = 0; i < count; i++) {
      const buf = bufs[i]!;
      const b = buf.bytes;
      const s = buf.start;
      const len = buf.end - s;
      let peer: Peer | null = null;
      const version = b[s]! >> 4;
      if (version === 4 && len >= IPV4_MIN_HEADER_LEN) peer = dev.allowedIPs.lookup(b, s + IPV4_DST_OFFSET, 4);
      else if (version === 6 && len >= IPV6_HEADER_LEN) peer = dev.allowedIPs.lookup(b, s + IPV6_DST_OFFSET, 6);
      if (peer === null || (!dev.isUp() && !dev.comingUp)) {
        dev.drops.noRoute++;
        buf.release();
        continue;
      }
      dev.drops.stagedOverflow += peer.stage(buf);
      if (touchedIndex(touched, peers, peer) === peers) touched[peers++] = peer;
    }
    for (let i = 0; i < peers; i++) {
      const peer = touched[i]!;
      touched[i] = null;
      this.sendStaged(peer);
    }
  }

  /** Steps 4-5: send whatever is staged on `peer`, or start a handshake if no session can carry it. */
  sendStaged(peer: Peer): void {
    const dev = this.dev;
    if (!peer.running) return;
    const now = dev.clock.now();
    const kp = peer.currentKeypair;
    if (!keypairUsableForSend(kp, now)) {
      this.sendInitiation(peer, false);
      return;
    }
    const endpoint = peer.endpoint;
    if (!dev.bindOpen || endpoint === null) return; // stay staged: a handshake may bring an endpoint
    while (peer.stagedCount > 0) {
      const e = this.queue.take();
      if (this.fill(e, peer, kp) === 0) {
        this.queue.submit(e); // an empty batch: delivered as one, nothing sent
        break;
      }
      e.context.peer = peer;
      e.context.endpoint = endpoint;
      this.queue.submit(e);
    }
    // Keep the key fresh (6.2): only the initiator rekeys on send, so both sides do not race.
    if (kp.isInitiator && (kp.sendCounter > REKEY_AFTER_MESSAGES || now - kp.created >= REKEY_AFTER_TIME_MS)) {
      this.sendInitiation(peer, false);
    }
  }

  /**
   * Moves up to SEND_BATCH staged packets of `peer` into e: counters assigned, headers written,
   * padding zeroed, each window in the batch. Returns how many.
   */
  private fill(e: AeadEntry<SealJob>, peer: Peer, kp: Keypair): number {
    const dev = this.dev;
    const mtu = dev.mtu;
    const batch = e.batch;
    const out = e.context.out;
    let n = 0;
    while (n < SEND_BATCH && peer.stagedCount > 0) {
      let buf = peer.unstage()!;
      const len = buf.end - buf.start;
      const padded = paddedLength(len, mtu);
      // The header goes in front of the window and padding + tag behind it, inside this buffer's own
      // chunk [base, limit): a foreign origin may carve chunks anywhere in shared memory.
      if (buf.start - buf.base < DATA_HEADER_LEN || buf.limit - buf.start < padded + TAG_LEN) {
        // A buffer without that head/tailroom (a foreign origin's): copy it once into one of ours.
        const copy = dev.source.get(padded + TAG_LEN + DATA_HEADER_LEN);
        if (copy === null) {
          dev.drops.noBuffer++;
          buf.release();
          continue;
        }
        copy.bytes.set(buf.bytes.subarray(buf.start, buf.end), copy.start);
        copy.end = copy.start + len;
        buf.release();
        buf = copy;
      }
      const b = buf.bytes;
      const s = buf.start;
      b.fill(0, s + len, s + padded);
      const h = s - DATA_HEADER_LEN;
      const counter = kp.sendCounter++;
      writeU32(b, h, MESSAGE_TRANSPORT);
      writeU32(b, h + DATA_RECEIVER, kp.remoteIndex);
      writeU32(b, h + DATA_COUNTER, counter >>> 0);
      writeU32(b, h + DATA_COUNTER + 4, Math.floor(counter / 0x100000000));
      batch.keys[n] = kp.sendKey;
      batch.counters[n] = counter;
      batch.bufs[n] = b;
      batch.starts[n] = s;
      batch.lengths[n] = padded;
      out[n] = buf;
      n++;
    }
    batch.count = n;
    return n;
  }

  /** Step 5 for a sealed batch, in the order batches were made: send it, count it, run the timers. */
  private sealed(e: AeadEntry<SealJob>): void {
    const dev = this.dev;
    const job = e.context;
    const batch = e.batch;
    const out = job.out as PacketBuffer[];
    const n = batch.count;
    const peer = job.peer;
    const endpoint = job.endpoint;
    job.peer = null;
    job.endpoint = null;
    if (n === 0 || peer === null || endpoint === null) return;
    let bytes = 0;
    let sentData = false;
    for (let i = 0; i < n; i++) {
      const buf = out[i]!;
      buf.start -= DATA_HEADER_LEN;
      buf.end = buf.start + DATA_HEADER_LEN + batch.results[i]!;
      const len = buf.end - buf.start;
      bytes += len;
      if (len > DATA_HEADER_LEN + TAG_LEN) sentData = true;
    }
    if (dev.bindOpen) {
      dev.bind.send(out, n, endpoint);
    } else {
      for (let i = 0; i < n; i++) out[i]!.release(); // the device went down meanwhile
    }
    for (let i = 0; i < n; i++) job.out[i] = null;
    peer.addTxBytes(bytes);
    peer.onAuthenticatedPacketSent();
    if (sentData) peer.onDataSent();
  }

  /** Send an empty transport message (6.5 Passive Keepalive), unless data is already waiting. */
  sendKeepalive(peer: Peer): void {
    if (peer.stagedCount === 0) {
      const buf = this.dev.source.get(DATA_HEADER_LEN + TAG_LEN);
      if (buf === null) {
        this.dev.drops.noBuffer++;
        return;
      }
      peer.stage(buf);
    }
    this.sendStaged(peer);
  }

  /**
   * Send a handshake initiation (5.4.2) unless one went out less than REKEY_TIMEOUT ago (6.4). A
   * retry keeps the attempt count; a fresh start resets it.
   */
  sendInitiation(peer: Peer, isRetry: boolean): void {
    const dev = this.dev;
    const now = dev.clock.now();
    if (!peer.running || !dev.identity.hasKey || !peer.beginInitiation(now, isRetry)) return;
    const hs = peer.handshake;
    const buf = dev.source.get(INITIATION_LEN);
    if (buf === null) {
      dev.drops.noBuffer++;
      peer.onHandshakeInitiated();
      return;
    }
    if (hs.localIndex !== 0) dev.indexTable.delete(hs.localIndex);
    const index = dev.indexTable.newHandshakeIndex(peer, hs);
    if (!createInitiation(dev.identity, hs, buf.bytes, buf.start, index, dev.clock.wallNow())) {
      dev.indexTable.delete(index);
      hs.localIndex = 0;
      buf.release();
      dev.verbose(`${peer}: cannot create a handshake initiation (invalid keys)`);
      return;
    }
    peer.addMacs(buf.bytes, buf.start, INITIATION_LEN, now);
    buf.end = buf.start + INITIATION_LEN;
    dev.verbose(`${peer}: sending handshake initiation`);
    peer.onAuthenticatedPacketSent();
    peer.onHandshakeInitiated();
    this.transmit(peer, buf);
  }

  /**
   * Answer a consumed initiation (5.4.3). Returns the index the response carries, or 0 if none could be
   * made; the caller derives the keypair.
   */
  sendResponse(peer: Peer): number {
    const dev = this.dev;
    const hs = peer.handshake;
    const buf = dev.source.get(RESPONSE_LEN);
    if (buf === null) {
      dev.drops.noBuffer++;
      return 0;
    }
    if (hs.localIndex !== 0) dev.indexTable.delete(hs.localIndex);
    const index = dev.indexTable.newHandshakeIndex(peer, hs);
    if (!createResponse(hs, buf.bytes, buf.start, index)) {
      dev.indexTable.delete(index);
      hs.localIndex = 0;
      buf.release();
      return 0;
    }
    peer.addMacs(buf.bytes, buf.start, RESPONSE_LEN, dev.clock.now());
    buf.end = buf.start + RESPONSE_LEN;
    dev.verbose(`${peer}: sending handshake response`);
    peer.onAuthenticatedPacketSent();
    this.transmit(peer, buf);
    return index;
  }

  private readonly one: PacketBuffer[] = new Array<PacketBuffer>(1);

  /** Send one control message to the peer's endpoint (dropped when there is none or the device is down). */
  private transmit(peer: Peer, buf: PacketBuffer): void {
    const endpoint = peer.endpoint;
    if (!this.dev.bindOpen || endpoint === null) {
      buf.release();
      return;
    }
    peer.addTxBytes(buf.end - buf.start);
    this.one[0] = buf;
    this.dev.bind.send(this.one, 1, endpoint);
  }
}

/**
 * Where `peer` is in list[0, n), or n when it is not there yet (the caller appends it): how a batch
 * remembers the peers it touched without a mark on the peer. The last entry is checked first, since a
 * batch is mostly runs of one peer's packets; a batch of SEND_BATCH packets to as many peers costs
 * ~8,000 compares (a few microseconds, against ~200 for sealing it).
 */
export function touchedIndex(list: (Peer | null)[], n: number, peer: Peer): number {
  if (n > 0 && list[n - 1] === peer) return n - 1;
  for (let i = n - 2; i >= 0; i--) if (list[i] === peer) return i;
  return n;
}
