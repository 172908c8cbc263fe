/**
 * The WireGuard device: one static identity, its peers, the cryptokey routing table, and the two
 * directions of the data path between a Tun and a Bind. The control surface (configure, up, down,
 * close, events) is here; the packet work is in send.ts, receive.ts and handshake.ts.
 */
import { EventEmitter } from 'node:events';
import type { PacketBuffer, Source } from '../buffer/packet-buffer.js';
import { TieredPool } from '../buffer/tiered-pool.js';
import type { Bind, BindHandler, Endpoint } from '../conn/bind.js';
import { constantTimeEqual, keyToHex } from '../crypto/keys.js';
import type { Tun, TunEvent, TunHandler } from '../tun/tun.js';
import { AllowedIPs } from './allowed-ips.js';
import { systemClock, type Clock } from '../base/clock.js';
import { REJECT_AFTER_MESSAGES } from './constants.js';
import { DATA_HEADER_LEN, PADDING_MULTIPLE, TAG_LEN } from './messages.js';
import type { DeviceContext } from './context.js';
import { CookieChecker } from './cookie.js';
import { DeviceStateError } from './errors.js';
import { HandshakeQueue } from './handshake.js';
import { IndexTable } from './index-table.js';
import type { Keypair } from './keypair.js';
import { silentLogger, type Logger } from '../base/logger.js';
import { StaticIdentity } from './noise.js';
import { Peer } from './peer.js';
import { RateLimiter } from './ratelimiter.js';
import { Receiver } from './receive.js';
import { Sender } from './send.js';
import { DropCounters } from './stats.js';
import { PeerTimers, type TimerActions } from './timers.js';
import { uapiGet, uapiSet } from './uapi.js';
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

export class Device extends EventEmitter<DeviceEvents> implements DeviceContext, TunHandler, BindHandler, TimerActions {
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
  private bound: Bind | null = null;
  /** Configured listen port; after up(), the port actually bound. */
  listenPort = 0;
  fwmark = 0;
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
    this.sender = new Sender(this);
    this.handshakes = new HandshakeQueue(this, this.sender);
    this.receiver = new Receiver(this, this.sender, this.handshakes);
    this.resumeReaders = () => {
      this.tun.resume();
      this.bound?.resume();
    };
    this.pool.budget?.onResume(this.resumeReaders);
    this.tun.open(this, this.source);
  }

  // ---- DeviceContext ----

  get bindOrNull(): Bind | null {
    return this.bound;
  }

  get mtu(): number {
    return this.tun.mtu();
  }

  isUp(): boolean {
    return this.state === 'up';
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

  notifyHandshake(peer: Peer): void {
    this.emit('handshake', peer.publicKeyBase64);
  }

  notifyEndpoint(peer: Peer, endpoint: Endpoint): void {
    this.emit('endpoint', peer.publicKeyBase64, endpoint.toString());
  }

  // ---- TunHandler / BindHandler: the data path enters here ----

  onPackets(bufs: PacketBuffer[], count: number): void {
    this.sender.routeBatch(bufs, count);
  }

  onEvent(event: TunEvent): void {
    this.verbose(`interface ${this.tun.name}: ${event}`);
    if (event === 'mtu') this.bind.expectDatagrams?.(this.maxDatagram());
    this.emit('tun', event);
  }

  onDatagrams(bufs: PacketBuffer[], endpoints: Endpoint[], count: number): void {
    this.receiver.receiveBatch(bufs, endpoints, count);
  }

  /** The largest transport message our peers send if their MTU is ours: header, padded packet, tag. */
  private maxDatagram(): number {
    return DATA_HEADER_LEN + this.tun.mtu() + PADDING_MULTIPLE + TAG_LEN;
  }

  // ---- TimerActions ----

  sendInitiation(peer: Peer, isRetry: boolean): void {
    this.sender.sendInitiation(peer, isRetry);
  }

  sendKeepalive(peer: Peer): void {
    this.sender.sendKeepalive(peer);
  }

  handshakeGaveUp(peer: Peer): void {
    peer.flushStaged();
    this.emit('handshake-failed', peer.publicKeyBase64);
  }

  zeroKeyMaterial(peer: Peer): void {
    this.verbose(`${peer}: removing all keys, since we haven't received a new one in a while`);
    peer.zeroKeys();
  }

  // ---- configuration ----

  /** Set (or, with null / all zeros, clear) the private key. Peers whose key is our own are removed. */
  setPrivateKey(key: Uint8Array | null): void {
    // The same key again (wg setconf / syncconf re-send it) changes nothing: sessions stay up.
    if (key !== null && this.identity.hasKey && constantTimeEqual(key, this.identity.privateKey)) return;
    if (key === null && !this.identity.hasKey) return;
    this.identity.set(key);
    this.cookieChecker.init(this.identity.hasKey ? this.identity.publicKey : null);
    for (const peer of [...this.peers.values()]) {
      if (this.identity.hasKey && constantTimeEqual(peer.publicKey, this.identity.publicKey)) {
        this.removePeer(peer.publicKey);
        continue;
      }
      peer.handshake.precompute(this.identity);
      this.expireCurrentKeypairs(peer);
    }
  }

  /** Sessions made under old keys must not carry new data: force a fresh handshake on next send. */
  private expireCurrentKeypairs(peer: Peer): void {
    peer.handshake.clear();
    peer.handshake.lastSentHandshake = -Infinity;
    const kps = peer.keypairs;
    if (kps.current !== null) kps.current.sendCounter = REJECT_AFTER_MESSAGES;
    if (kps.next !== null) kps.next.sendCounter = REJECT_AFTER_MESSAGES;
  }

  /** The peer with this public key, created if absent. Returns null for our own public key. */
  addPeer(publicKey: Uint8Array): Peer | null {
    const hex = keyToHex(publicKey);
    const existing = this.peers.get(hex);
    if (existing !== undefined) return existing;
    if (this.identity.hasKey && constantTimeEqual(publicKey, this.identity.publicKey)) return null;
    const peer = new Peer(publicKey, (k) => this.dropKeypair(k));
    peer.timers = new PeerTimers(peer, this.clock, this);
    peer.handshake.precompute(this.identity);
    this.peers.set(hex, peer);
    if (this.state === 'up') this.startPeer(peer);
    return peer;
  }

  removePeer(publicKey: Uint8Array): boolean {
    const hex = keyToHex(publicKey);
    const peer = this.peers.get(hex);
    if (peer === undefined) return false;
    this.stopPeer(peer);
    this.allowedIPs.removeByValue(peer);
    peer.destroy();
    this.peers.delete(hex);
    return true;
  }

  removeAllPeers(): void {
    for (const peer of [...this.peers.values()]) this.removePeer(peer.publicKey);
  }

  setPersistentKeepalive(peer: Peer, seconds: number): void {
    const was = peer.persistentKeepaliveSec;
    peer.persistentKeepaliveSec = seconds;
    peer.timers.onPersistentKeepaliveChanged();
    // Turning it on sends one at once, so a NAT mapping opens now (as wireguard-go does).
    if (was === 0 && seconds > 0 && peer.running) this.sender.sendKeepalive(peer);
  }

  private dropKeypair(k: Keypair): void {
    this.indexTable.delete(k.localIndex);
    k.destroy();
  }

  private startPeer(peer: Peer): void {
    if (peer.running) return;
    peer.running = true;
    peer.handshake.lastSentHandshake = -Infinity;
    if (peer.persistentKeepaliveSec > 0) this.sender.sendKeepalive(peer);
  }

  private stopPeer(peer: Peer): void {
    peer.running = false;
    peer.timers.stop();
    if (peer.handshake.localIndex !== 0) this.indexTable.delete(peer.handshake.localIndex);
    peer.handshake.localIndex = 0;
    peer.zeroKeys();
    peer.flushStaged();
  }

  /** Flush a peer's staged packets now (after configuration gave it an endpoint, say). */
  flushPeer(peer: Peer): void {
    if (peer.running && peer.stagedCount > 0) this.sender.flush(peer);
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
    for (const peer of this.peers.values()) this.startPeer(peer);
    this.verbose('device up');
    return this.listenPort;
  }

  /** Close the bind (throws like bind.open when the port is taken) and open it again on `port`. */
  async rebind(port: number): Promise<void> {
    const old = this.bound;
    this.bound = null;
    if (old !== null) await old.close();
    try {
      this.bind.expectDatagrams?.(this.maxDatagram());
      const actual = await this.bind.open(port, this, this.source);
      this.bound = this.bind;
      this.listenPort = actual;
      if (this.fwmark !== 0) this.bind.setMark(this.fwmark);
    } catch (err) {
      if (old !== null) {
        // Put the old socket back so a refused port change leaves the device as it was.
        try {
          await this.bind.open(this.listenPort, this, this.source);
          this.bound = this.bind;
        } catch {
          /* the old port is gone too: the device stays without a socket, as the error says */
        }
      }
      throw err;
    }
  }

  /** Whether the bind is open: a port change on a down device is only remembered. */
  get hasBind(): boolean {
    return this.bound !== null;
  }

  async down(): Promise<void> {
    if (this.state !== 'up') return;
    this.state = 'down';
    if (this.gcTimer !== null) clearInterval(this.gcTimer);
    this.gcTimer = null;
    for (const peer of this.peers.values()) this.stopPeer(peer);
    this.handshakes.clear();
    const b = this.bound;
    this.bound = null;
    if (b !== null) await b.close();
    this.verbose('device down');
  }

  /** Down, remove every peer (wiping keys), close the TUN. Returns buffers still outstanding (0 if none leaked). */
  async close(): Promise<number> {
    if (this.state === 'closed') return this.pool.outstanding;
    await this.down();
    this.state = 'closed';
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
