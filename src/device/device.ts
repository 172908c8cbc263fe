/**
 * The WireGuard device: one static identity, its peers, the cryptokey routing table, and the two
 * directions of the data path between a Tun and a Bind. The control surface (configure, up, down,
 * close, events) is here; the packet work is in send.ts, receive.ts and handshake.ts, and each
 * peer's session state, timers included, in peer.ts.
 */
import { EventEmitter } from 'node:events';
import type { PacketBuffer, Source } from '../buffer/packet-buffer.js';
import { TieredPool } from '../buffer/tiered-pool.js';
import type { Bind, BindHandler, Endpoint } from '../conn/bind.js';
import { constantTimeEqual, keyToHex } from '../crypto/keys.js';
import type { Tun, TunEvent, TunHandler } from '../tun/tun.js';
import { AllowedIPs } from './allowed-ips.js';
import { systemClock, type Clock } from '../base/clock.js';
import { DATA_HEADER_LEN, PADDING_MULTIPLE, TAG_LEN } from './messages.js';
import type { DeviceContext } from './context.js';
import { CookieChecker } from './cookie.js';
import { DeviceStateError } from './errors.js';
import { HandshakeQueue } from './handshake.js';
import { IndexTable } from './index-table.js';
import { silentLogger, type Logger } from '../base/logger.js';
import { StaticIdentity } from './noise.js';
import { Peer, type PeerHost } from './peer.js';
import { RateLimiter } from './ratelimiter.js';
import { Receiver } from './receive.js';
import { Sender } from './send.js';
import { defaultCryptoThreads } from '../crypto/aead-queue.js';
import { DropCounters } from './stats.js';
import { uapiGet, uapiSet, type UapiDevice } from './uapi.js';
import { configToUapi, parseConfig, type WgConfig } from '../config/wg-quick.js';
import { resolveEndpoint } from '../config/resolve.js';

export interface DeviceOptions {
  tun: Tun;
  bind: Bind;
  /** Packet memory; defaults to a TieredPool of the standard tiers. */
  pool?: TieredPool;
  logger?: Logger;
  /** Injected time (tests step a FakeClock); defaults to the system clock. */
  clock?: Clock;
  /**
   * Threads that seal and open big batches off the event loop (crypto/aead-queue.ts); 0 keeps all
   * crypto on the event loop. Default WGTS_CRYPTO_THREADS, else one fewer than the cores. The threads
   * are shared by every Device of the process: the first one to start them sets how many.
   */
  cryptoThreads?: number;
}

export interface DeviceEvents {
  /** A handshake completed with the peer (base64 public key). */
  handshake: [publicKey: string];
  /** The peer's endpoint changed (roaming or a handshake from a new address). */
  endpoint: [publicKey: string, endpoint: string];
  /** Retransmissions exhausted without a handshake (6.4). */
  'handshake-failed': [publicKey: string];
  /** The TUN reported a change or went away. */
  tun: [event: TunEvent];
}

export class Device extends EventEmitter<DeviceEvents> implements DeviceContext, PeerHost, UapiDevice, TunHandler, BindHandler {
  readonly clock: Clock;
  readonly tun: Tun;
  readonly bind: Bind;
  readonly pool: TieredPool;
  readonly source: Source;
  readonly identity = new StaticIdentity();
  readonly allowedIPs = new AllowedIPs<Peer>();
  readonly indexTable = new IndexTable<Peer>();
  readonly cookieChecker = new CookieChecker();
  readonly rateLimiter: RateLimiter;
  readonly drops = new DropCounters();
  /** Peers by lower-case hex public key, in the order they were added. */
  readonly peers = new Map<string, Peer>();
  private readonly log: Logger;
  private readonly sender: Sender;
  private readonly receiver: Receiver;
  private readonly handshakes: HandshakeQueue;
  private state: 'down' | 'up' | 'closed' = 'down';
  private linkUpWhileDown = false;
  private bindIsOpen = false;
  private port = 0;
  private mark = 0;
  private gcTimer: ReturnType<typeof setInterval> | null = null;
  private readonly resumeReaders: () => void;

  constructor(options: DeviceOptions) {
    super();
    this.tun = options.tun;
    this.bind = options.bind;
    this.clock = options.clock ?? systemClock;
    this.log = options.logger ?? silentLogger;
    this.pool = options.pool ?? new TieredPool();
    this.source = this.pool;
    const clock = this.clock;
    this.rateLimiter = new RateLimiter(() => clock.now());
    const threads = options.cryptoThreads ?? defaultCryptoThreads();
    if (!Number.isInteger(threads) || threads < 0) throw new RangeError(`cryptoThreads must be a whole number >= 0, got ${threads}`);
    this.sender = new Sender(this, threads);
    this.handshakes = new HandshakeQueue(this, this.sender);
    this.receiver = new Receiver(this, this.sender, this.handshakes, threads);
    this.resumeReaders = () => {
      this.tun.resume();
      if (this.bindIsOpen) this.bind.resume();
    };
    this.pool.budget?.onResume(this.resumeReaders);
    this.tun.open(this, this.source);
  }

  // ---- DeviceContext ----

  /** Whether the bind is open: a port change on a down device is only remembered. */
  get bindOpen(): boolean {
    return this.bindIsOpen;
  }

  /** Configured listen port; after up(), the port actually bound. */
  get listenPort(): number {
    return this.port;
  }

  /** SO_MARK for the bind's sockets (`wg set ... fwmark`); 0 is none. */
  get fwmark(): number {
    return this.mark;
  }

  get mtu(): number {
    return this.tun.mtu();
  }

  /** Crypto threads the data path uses (0: all crypto on the event loop). */
  get cryptoThreads(): number {
    return this.sender.cryptoThreads;
  }

  isUp(): boolean {
    return this.state === 'up';
  }

  get comingUp(): boolean {
    return this.linkUpWhileDown && this.state === 'down';
  }

  peerByPublicKey(key: Uint8Array): Peer | null {
    return this.peers.get(keyToHex(key)) ?? null;
  }

  verbose(msg: string): void {
    this.log.verbose?.(msg);
  }

  error(msg: string): void {
    this.log.error?.(msg);
  }

  // ---- PeerHost: what peers tell the device ----

  freeIndex(index: number): void {
    this.indexTable.delete(index);
  }

  handshakeComplete(peer: Peer): void {
    this.emit('handshake', peer.publicKeyBase64);
  }

  endpointChanged(peer: Peer, endpoint: Endpoint): void {
    this.emit('endpoint', peer.publicKeyBase64, endpoint.toString());
  }

  handshakeFailed(peer: Peer): void {
    this.emit('handshake-failed', peer.publicKeyBase64);
  }

  // ---- TunHandler / BindHandler: the data path enters here ----

  onPackets(bufs: PacketBuffer[], count: number): void {
    this.sender.routeBatch(bufs, count);
  }

  onEvent(event: TunEvent): void {
    this.verbose(`interface ${this.tun.name}: ${event}`);
    if (event === 'up') this.linkUpWhileDown = this.state === 'down';
    else if (event === 'down' || event === 'closed') this.linkUpWhileDown = false;
    if (event === 'mtu') this.bind.expectDatagrams?.(this.maxDatagram());
    this.emit('tun', event);
  }

  onDatagrams(bufs: PacketBuffer[], endpoints: Endpoint[], count: number, segments?: Int32Array): void {
    this.receiver.receiveBatch(bufs, endpoints, count, segments ?? null);
  }

  /** The largest transport message our peers send if their MTU is ours: header, padded packet, tag. */
  private maxDatagram(): number {
    return DATA_HEADER_LEN + this.tun.mtu() + PADDING_MULTIPLE + TAG_LEN;
  }

  // ---- configuration ----

  /** Set (or, with null / all zeros, clear) the private key. Peers whose key is our own are removed. */
  setPrivateKey(key: Uint8Array | null): void {
    // The same key again (wg setconf / syncconf re-send it) changes nothing: sessions stay up.
    if (key !== null && this.identity.hasKey && constantTimeEqual(key, this.identity.privateKey)) return;
    if (key === null && !this.identity.hasKey) return;
    this.identity.set(key);
    this.cookieChecker.init(this.identity.hasKey ? this.identity.publicKey : null);
    const ownHex = this.identity.hasKey ? keyToHex(this.identity.publicKey) : '';
    for (const peer of [...this.peers.values()]) {
      // Public keys: a plain comparison of their text is as good as any.
      if (peer.publicKeyHex === ownHex) {
        this.removePeer(peer.publicKey);
        continue;
      }
      peer.identityChanged();
    }
  }

  /** The peer with this public key, created if absent. Returns null for our own public key. */
  addPeer(publicKey: Uint8Array): Peer | null {
    const hex = keyToHex(publicKey);
    const existing = this.peers.get(hex);
    if (existing !== undefined) return existing;
    if (this.identity.hasKey && constantTimeEqual(publicKey, this.identity.publicKey)) return null;
    const peer = new Peer(publicKey, this.clock, this.sender, this);
    this.peers.set(peer.publicKeyHex, peer); // one string for the key and the peer's own
    if (this.state === 'up') peer.start();
    return peer;
  }

  removePeer(publicKey: Uint8Array): boolean {
    const hex = keyToHex(publicKey);
    const peer = this.peers.get(hex);
    if (peer === undefined) return false;
    peer.stop();
    this.allowedIPs.removeByValue(peer);
    peer.destroy();
    this.peers.delete(hex);
    return true;
  }

  removeAllPeers(): void {
    for (const peer of [...this.peers.values()]) this.removePeer(peer.publicKey);
  }

  /** UDP endpoint text as the bind reads it (numeric, "a.b.c.d:port" or "[v6]:port"). */
  parseEndpoint(text: string): Endpoint {
    return this.bind.parseEndpoint(text);
  }

  /**
   * The listen port: a device whose bind is open rebinds at once (and throws, changing nothing, when
   * the port is taken); a down device remembers it for up().
   */
  async setListenPort(port: number): Promise<void> {
    if (this.bindIsOpen) await this.rebind(port);
    else this.port = port;
  }

  /** SO_MARK on the bind's sockets, now if they are open and on every later open. */
  setFwmark(mark: number): void {
    this.mark = mark;
    if (this.bindIsOpen) this.bind.setMark(mark);
  }

  // ---- configuration by text ----

  /** The UAPI "get" answer (cross-platform description), without the errno line. */
  ipcGet(): string {
    return uapiGet(this);
  }

  /**
   * Apply UAPI "set" lines (without "set=1"). Throws UapiError (with the errno `wg` would see) and
   * changes nothing when any line is invalid.
   */
  async ipcSet(text: string): Promise<void> {
    if (this.state === 'closed') throw new DeviceStateError('device is closed');
    await uapiSet(this, text);
  }

  /**
   * Apply a wg-quick style configuration (text or parsed), replacing peers as `wg setconf` does. Host
   * names in endpoints are resolved first. wg-quick-only keys (Address, DNS, MTU, ...) are the
   * embedder's to act on; they are ignored here. Throws ConfigError for a bad file, UapiError for a
   * refused setting; on error nothing changes.
   */
  async configure(config: WgConfig | string): Promise<void> {
    const cfg = typeof config === 'string' ? parseConfig(config) : config;
    const peers = await Promise.all(
      cfg.peers.map(async (p) => (p.endpoint === undefined ? p : { ...p, endpoint: await resolveEndpoint(p.endpoint) })),
    );
    await this.ipcSet(configToUapi({ interface: cfg.interface, peers }, { replacePeers: true }) + '\n');
  }

  // ---- lifecycle ----

  /** Open the bind on the configured port and start the peers. Resolves to the bound port. */
  async up(): Promise<number> {
    if (this.state === 'closed') throw new DeviceStateError('device is closed');
    if (this.state === 'up') return this.listenPort;
    await this.rebind(this.listenPort);
    this.state = 'up';
    this.gcTimer = setInterval(() => this.rateLimiter.collectGarbage(), 1000);
    this.gcTimer.unref();
    for (const peer of this.peers.values()) peer.start();
    this.verbose('device up');
    return this.listenPort;
  }

  /** Close the bind (throws like bind.open when the port is taken) and open it again on `port`. */
  private async rebind(port: number): Promise<void> {
    const wasOpen = this.bindIsOpen;
    this.bindIsOpen = false;
    if (wasOpen) await this.bind.close();
    try {
      this.bind.expectDatagrams?.(this.maxDatagram());
      const actual = await this.bind.open(port, this, this.source);
      this.bindIsOpen = true;
      this.port = actual;
      if (this.mark !== 0) this.bind.setMark(this.mark);
      // A new socket (another port, or addresses changed while the device was down): replies leave
      // from a source the kernel chooses afresh, as wireguard-go clears cached sources on a bind change.
      for (const peer of this.peers.values()) peer.endpoint?.clearSrc();
    } catch (err) {
      if (wasOpen) {
        // Put the old socket back so a refused port change leaves the device as it was.
        try {
          await this.bind.open(this.port, this, this.source);
          this.bindIsOpen = true;
        } catch {
          /* the old port is gone too: the device stays without a socket, as the error says */
        }
      }
      throw err;
    }
  }

  async down(): Promise<void> {
    this.linkUpWhileDown = false;
    if (this.state !== 'up') return;
    this.state = 'down';
    // Batches on the crypto threads finish and go out (or in) while the bind is still open.
    this.receiver.drain();
    this.sender.drain();
    if (this.gcTimer !== null) clearInterval(this.gcTimer);
    this.gcTimer = null;
    for (const peer of this.peers.values()) peer.stop();
    this.handshakes.clear();
    const wasOpen = this.bindIsOpen;
    this.bindIsOpen = false;
    if (wasOpen) await this.bind.close();
    this.verbose('device down');
  }

  /** Down, remove every peer (wiping keys), close the TUN. Returns buffers still outstanding (0 if none leaked). */
  async close(): Promise<number> {
    if (this.state === 'closed') return this.pool.outstanding;
    await this.down();
    this.state = 'closed';
    this.receiver.close();
    this.sender.close();
    this.removeAllPeers();
    this.setPrivateKey(null);
    this.cookieChecker.destroy();
    this.rateLimiter.close();
    this.pool.budget?.offResume(this.resumeReaders);
    this.tun.close();
    return this.pool.outstanding;
  }

  get closed(): boolean {
    return this.state === 'closed';
  }
}
