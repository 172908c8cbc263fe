/**
 * The configuration protocol of the cross-platform UAPI description: "get=1" answers with the
 * device's state as key=value lines; "set=1" applies key=value lines. Keys and their order follow
 * wireguard-go, so `wg` reads wgts exactly as it reads wireguard-go.
 *
 * A set is transactional here: the whole request is parsed and validated (uapi-parser.ts, line by line
 * as it arrives) before anything changes, so a bad line anywhere returns its errno and leaves the device
 * as it was. (wireguard-go applies line by line and may leave half a request applied.)
 */
import { keyToHex } from '../crypto/keys.js';
import type { Endpoint } from '../conn/bind.js';
import { formatIp } from '../net/address.js';
import type { AllowedIPs } from './allowed-ips.js';
import { UapiError } from './errors.js';
import type { StaticIdentity } from './noise.js';
import type { Peer } from './peer.js';
import { UapiSetParser, type UapiChangeSet, type UapiSetLimits } from './uapi-parser.js';

/**
 * What the configuration protocol reads and changes on a device. The Device implements it; this file
 * depends on it alone, so device.ts can import this file without a cycle.
 */
export interface UapiDevice {
  readonly identity: StaticIdentity;
  readonly allowedIPs: AllowedIPs<Peer>;
  /** Peers by lower-case hex public key, in the order they were added. */
  readonly peers: ReadonlyMap<string, Peer>;
  readonly listenPort: number;
  readonly fwmark: number;
  /** @throws for text that is not a numeric endpoint. */
  parseEndpoint(text: string): Endpoint;
  /** @throws (changing nothing) when the port cannot be bound. */
  setListenPort(port: number): Promise<void>;
  setFwmark(mark: number): void;
  setPrivateKey(key: Uint8Array | null): void;
  peerByPublicKey(key: Uint8Array): Peer | null;
  /** The peer, created if absent; null for our own public key. */
  addPeer(publicKey: Uint8Array): Peer | null;
  removePeer(publicKey: Uint8Array): boolean;
  removeAllPeers(): void;
}

/** A parser for one set request to `dev`, for lines as they arrive. */
export function uapiSetParser(dev: UapiDevice, limits?: UapiSetLimits): UapiSetParser {
  return new UapiSetParser((text) => dev.parseEndpoint(text), limits);
}

/**
 * Apply a set request given as text (the lines after "set=1", up to an empty line or the end). Throws
 * UapiError with the errno for `wg`; on error nothing was changed.
 */
export async function uapiSet(dev: UapiDevice, text: string): Promise<void> {
  const parser = uapiSetParser(dev);
  let at = 0;
  while (at < text.length) {
    let nl = text.indexOf('\n', at);
    if (nl < 0) nl = text.length;
    // A "\r" before the newline is dropped, as wireguard-go's line scanner drops it.
    const end = nl > at && text.charCodeAt(nl - 1) === 0x0d ? nl - 1 : nl;
    if (end === at) break;
    parser.line(text.slice(at, end));
    at = nl + 1;
  }
  await uapiApply(dev, parser.finish());
}

/**
 * Apply a valid change set. A listen-port change on a running device rebinds first, so a port in use
 * is refused (EADDRINUSE) before anything else is applied; nothing after it can fail.
 */
export async function uapiApply(dev: UapiDevice, req: UapiChangeSet): Promise<void> {
  if (req.listenPort >= 0 && req.listenPort !== dev.listenPort) {
    try {
      await dev.setListenPort(req.listenPort);
    } catch (err) {
      throw new UapiError('EADDRINUSE', `failed to set listen_port ${req.listenPort}: ${(err as Error).message}`);
    }
  }
  if (req.fwmark >= 0 && req.fwmark !== dev.fwmark) dev.setFwmark(req.fwmark);
  if (req.privateKey !== undefined) dev.setPrivateKey(req.privateKey);
  if (req.replacePeers) dev.removeAllPeers();

  const ips = req.allowedIPs;
  for (const op of req.peers) {
    if (op.remove) {
      dev.removePeer(op.publicKey);
      continue;
    }
    const exists = dev.peerByPublicKey(op.publicKey) !== null;
    if (op.updateOnly && !exists) continue;
    const peer = dev.addPeer(op.publicKey);
    if (peer === null) continue; // our own public key: ignored, as wireguard-go does
    if (op.presharedKey !== null) peer.setPresharedKey(op.presharedKey);
    if (op.endpoint !== null) peer.setEndpoint(op.endpoint);
    if (op.replaceAllowedIPs) dev.allowedIPs.removeByValue(peer);
    for (let i = op.ipStart; i < op.ipEnd; i++) dev.allowedIPs.insert(ips.ip(i), ips.cidr(i), peer);
    if (op.keepalive >= 0) peer.setPersistentKeepalive(op.keepalive);
    peer.sendStaged();
  }
}

/**
 * The get answer as bytes, written as it is made into one Buffer sized for it up front: no string of
 * the answer lives long enough to be promoted, nothing is copied to grow, and the socket takes the
 * Buffer as it is. Measured in-process, warm (Node 20, 2-core VM), 10,000 peers: 140 ms with a string
 * and a copied address per line joined at the end, 45 ms with a string a peer, 30 ms this way. At
 * 100,000 peers (a 36 MB answer) most of the time is a mark-compact of the heap the peers hold, which
 * new external memory sets off: a Buffer that doubled as it filled (128 MB allocated) set it off on
 * every get, a chunk list (36 MB) on every other one and made 10,000 peers slower (50 ms).
 */
class ReplyWriter {
  private buf: Buffer;
  private len = 0;

  constructor(capacity: number) {
    this.buf = Buffer.allocUnsafe(capacity);
  }

  write(text: string): void {
    // Three bytes a UTF-16 unit at most (the text is ASCII but for an endpoint's zone); the exact
    // count only when that bound does not fit.
    if (this.len + 3 * text.length > this.buf.length) {
      const need = this.len + Buffer.byteLength(text, 'utf8');
      if (need > this.buf.length) {
        const bigger = Buffer.allocUnsafe(Math.max(need, 2 * this.buf.length));
        this.buf.copy(bigger, 0, 0, this.len);
        this.buf = bigger;
      }
    }
    this.len += this.buf.write(text, this.len, 'utf8');
  }

  bytes(): Buffer {
    return this.buf.subarray(0, this.len);
  }
}

/**
 * What a peer's lines take at most but for a long endpoint zone: two keys, an endpoint, the counters
 * (418 bytes), and an allowed_ip line (the longest IPv6 text, /128). The writer grows past them if
 * it must.
 */
const PEER_LINES_BYTES = 448;
const ALLOWED_IP_LINE_BYTES = 56;
const DEVICE_LINES_BYTES = 128;

/** The "get=1" answer: key=value lines, each ending in "\n", then `tail`. */
function getAnswer(dev: UapiDevice, tail: string): Buffer {
  const w = new ReplyWriter(
    DEVICE_LINES_BYTES + PEER_LINES_BYTES * dev.peers.size + ALLOWED_IP_LINE_BYTES * dev.allowedIPs.size + tail.length,
  );
  if (dev.identity.hasKey) w.write(`private_key=${keyToHex(dev.identity.privateKey)}\n`);
  if (dev.listenPort !== 0) w.write(`listen_port=${dev.listenPort}\n`);
  if (dev.fwmark !== 0) w.write(`fwmark=${dev.fwmark}\n`);
  const addAllowedIP = (ip: Uint8Array, cidr: number): void => w.write(`allowed_ip=${formatIp(ip)}/${cidr}\n`);
  for (const peer of dev.peers.values()) {
    const ms = peer.lastHandshakeWallMs;
    const sec = Math.floor(ms / 1000);
    w.write(
      `public_key=${peer.publicKeyHex}\npreshared_key=${keyToHex(peer.handshake.presharedKey)}\nprotocol_version=1\n` +
        (peer.endpoint !== null ? `endpoint=${peer.endpoint.toString()}\n` : '') +
        `last_handshake_time_sec=${sec}\nlast_handshake_time_nsec=${Math.round((ms - sec * 1000) * 1e6)}\n` +
        `tx_bytes=${peer.txBytes}\nrx_bytes=${peer.rxBytes}\npersistent_keepalive_interval=${peer.persistentKeepaliveSec}\n`,
    );
    dev.allowedIPs.forEachFor(peer, addAllowedIP);
  }
  w.write(tail);
  return w.bytes();
}

/** The "get=1" answer without the trailing errno line: key=value lines, each ending in "\n". */
export function uapiGet(dev: UapiDevice): string {
  return getAnswer(dev, '').toString('utf8');
}

type OnError = (err: UapiError) => void;

/** The reply to a refused request; anything but a UapiError is wireguard-go's "other UAPI error". */
function refusal(err: unknown, onError: OnError | undefined): string {
  const e = err instanceof UapiError ? err : new UapiError('ENOANO', `other UAPI error: ${(err as Error).message}`);
  onError?.(e);
  return `errno=-${e.errno}\n\n`;
}

/** The whole reply to "get=1", as the socket sends it. */
export function uapiGetReply(dev: UapiDevice): Buffer {
  return getAnswer(dev, 'errno=0\n\n');
}

/** Apply the set request `parser` read and give the reply: "errno=0", or the refusal's errno. */
export async function uapiSetReply(dev: UapiDevice, parser: UapiSetParser, onError?: OnError): Promise<string> {
  try {
    await uapiApply(dev, parser.finish());
    return 'errno=0\n\n';
  } catch (err) {
    return refusal(err, onError);
  }
}

/**
 * One whole UAPI exchange given as text: `request` is "get=1\n\n" or "set=1\n...\n\n"; the answer
 * ends with "errno=N\n\n" (0, or the negated errno). `onError` hears why a request was refused (the
 * protocol itself carries only the errno). The socket server reads requests as they stream in
 * instead, with uapiSetParser and uapiSetReply.
 */
export async function uapiHandle(dev: UapiDevice, request: string, onError?: OnError): Promise<string> {
  if (request === 'get=1\n\n' || request === 'get=1\n') return uapiGetReply(dev).toString('utf8');
  try {
    if (!request.startsWith('set=1\n')) {
      throw new UapiError('EINVAL', `invalid UAPI operation: ${JSON.stringify(request.split('\n')[0])}`);
    }
    await uapiSet(dev, request.slice(6));
    return 'errno=0\n\n';
  } catch (err) {
    return refusal(err, onError);
  }
}
