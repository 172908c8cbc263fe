/**
 * The configuration protocol of the cross-platform UAPI description: "get=1" answers with the
 * device's state as key=value lines; "set=1" applies key=value lines. Keys and their order follow
 * wireguard-go, so `wg` reads wgts exactly as it reads wireguard-go.
 *
 * A set is transactional here: the whole request is parsed and validated before anything changes, so a
 * bad line anywhere returns its errno and leaves the device as it was. (wireguard-go applies line by
 * line and may leave half a request applied.)
 */
import { keyFromHex, keyToHex, isZero } from '../crypto/keys.js';
import type { Endpoint } from '../conn/bind.js';
import { formatCidr, parseCidr } from '../net/address.js';
import type { AllowedIPs } from './allowed-ips.js';
import { UapiError } from './errors.js';
import type { StaticIdentity } from './noise.js';
import type { Peer } from './peer.js';

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

interface PeerOp {
  publicKey: Uint8Array;
  updateOnly: boolean;
  remove: boolean;
  presharedKey: Uint8Array | null;
  endpoint: Endpoint | null;
  keepalive: number | null;
  replaceAllowedIPs: boolean;
  allowedIPs: { ip: Uint8Array; cidr: number }[];
}

interface SetRequest {
  privateKey: Uint8Array | null | undefined;
  listenPort: number | null;
  fwmark: number | null;
  replacePeers: boolean;
  peers: PeerOp[];
}

function parseUint(key: string, value: string, max: number): number {
  if (!/^[0-9]{1,10}$/.test(value) || Number(value) > max) {
    throw new UapiError('EINVAL', `invalid ${key}: ${JSON.stringify(value)} (expected an integer 0..${max})`);
  }
  return Number(value);
}

function parseKey(key: string, value: string): Uint8Array {
  try {
    return keyFromHex(value);
  } catch {
    throw new UapiError('EINVAL', `invalid ${key}: expected 64 hexadecimal characters`);
  }
}

function mustBeTrue(key: string, value: string): void {
  if (value !== 'true') throw new UapiError('EINVAL', `invalid ${key}: ${JSON.stringify(value)} (only "true" is accepted)`);
}

/** Parse and validate a set request body (lines up to the blank line or the end). Changes nothing. */
function parseSet(dev: UapiDevice, text: string): SetRequest {
  const req: SetRequest = { privateKey: undefined, listenPort: null, fwmark: null, replacePeers: false, peers: [] };
  let peer: PeerOp | null = null;
  const lines = text.split('\n');
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i]!;
    if (line === '') break;
    const eq = line.indexOf('=');
    // The line itself is not quoted: it may be a mangled key line, and errors are logged.
    if (eq < 0) throw new UapiError('EPROTO', `failed to parse line ${i + 1}: expected key=value`);
    const key = line.slice(0, eq);
    const value = line.slice(eq + 1);
    if (key === 'public_key') {
      peer = {
        publicKey: parseKey(key, value),
        updateOnly: false,
        remove: false,
        presharedKey: null,
        endpoint: null,
        keepalive: null,
        replaceAllowedIPs: false,
        allowedIPs: [],
      };
      req.peers.push(peer);
      continue;
    }
    if (peer === null) {
      switch (key) {
        case 'private_key': {
          const k = parseKey(key, value);
          req.privateKey = isZero(k) ? null : k;
          break;
        }
        case 'listen_port':
          req.listenPort = parseUint(key, value, 65535);
          break;
        case 'fwmark':
          req.fwmark = parseUint(key, value, 0xffffffff);
          break;
        case 'replace_peers':
          mustBeTrue(key, value);
          req.replacePeers = true;
          break;
        default:
          throw new UapiError('EINVAL', `invalid UAPI device key: ${JSON.stringify(key)}`);
      }
      continue;
    }
    switch (key) {
      case 'update_only':
        mustBeTrue(key, value);
        peer.updateOnly = true;
        break;
      case 'remove':
        mustBeTrue(key, value);
        peer.remove = true;
        break;
      case 'preshared_key':
        peer.presharedKey = parseKey(key, value);
        break;
      case 'endpoint':
        try {
          peer.endpoint = dev.parseEndpoint(value);
        } catch (err) {
          throw new UapiError('EINVAL', `invalid endpoint: ${(err as Error).message}`);
        }
        break;
      case 'persistent_keepalive_interval':
        peer.keepalive = parseUint(key, value, 65535);
        break;
      case 'replace_allowed_ips':
        mustBeTrue(key, value);
        peer.replaceAllowedIPs = true;
        peer.allowedIPs.length = 0;
        break;
      case 'allowed_ip': {
        if (!value.includes('/')) throw new UapiError('EINVAL', `invalid allowed_ip ${JSON.stringify(value)}: expected address/cidr`);
        try {
          const p = parseCidr(value);
          peer.allowedIPs.push({ ip: p.ip, cidr: p.cidr });
        } catch (err) {
          throw new UapiError('EINVAL', `invalid allowed_ip: ${(err as Error).message}`);
        }
        break;
      }
      case 'protocol_version':
        if (value !== '1') throw new UapiError('EINVAL', `invalid protocol_version ${JSON.stringify(value)}: only 1 is supported`);
        break;
      default:
        throw new UapiError('EINVAL', `invalid UAPI peer key: ${JSON.stringify(key)}`);
    }
  }
  return req;
}

/**
 * Apply a set request (the lines after "set=1"). Throws UapiError with the errno for `wg`; on error
 * nothing was changed. A listen-port change on a running device rebinds first, so a port in use is
 * refused before anything else is applied.
 */
export async function uapiSet(dev: UapiDevice, text: string): Promise<void> {
  const req = parseSet(dev, text);

  if (req.listenPort !== null && req.listenPort !== dev.listenPort) {
    try {
      await dev.setListenPort(req.listenPort);
    } catch (err) {
      throw new UapiError('EADDRINUSE', `failed to set listen_port ${req.listenPort}: ${(err as Error).message}`);
    }
  }
  if (req.fwmark !== null && req.fwmark !== dev.fwmark) dev.setFwmark(req.fwmark);
  if (req.privateKey !== undefined) dev.setPrivateKey(req.privateKey);
  if (req.replacePeers) dev.removeAllPeers();

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
    for (const a of op.allowedIPs) dev.allowedIPs.insert(a.ip, a.cidr, peer);
    if (op.keepalive !== null) peer.setPersistentKeepalive(op.keepalive);
    peer.sendStaged();
  }
}

/** The "get=1" answer without the trailing errno line: key=value lines, each ending in "\n". */
export function uapiGet(dev: UapiDevice): string {
  const out: string[] = [];
  if (dev.identity.hasKey) out.push(`private_key=${keyToHex(dev.identity.privateKey)}`);
  if (dev.listenPort !== 0) out.push(`listen_port=${dev.listenPort}`);
  if (dev.fwmark !== 0) out.push(`fwmark=${dev.fwmark}`);
  for (const peer of dev.peers.values()) {
    out.push(`public_key=${peer.publicKeyHex}`);
    out.push(`preshared_key=${keyToHex(peer.handshake.presharedKey)}`);
    out.push('protocol_version=1');
    if (peer.endpoint !== null) out.push(`endpoint=${peer.endpoint.toString()}`);
    const ms = peer.lastHandshakeWallMs;
    const sec = Math.floor(ms / 1000);
    out.push(`last_handshake_time_sec=${sec}`);
    out.push(`last_handshake_time_nsec=${Math.round((ms - sec * 1000) * 1e6)}`);
    out.push(`tx_bytes=${peer.txBytes}`);
    out.push(`rx_bytes=${peer.rxBytes}`);
    out.push(`persistent_keepalive_interval=${peer.persistentKeepaliveSec}`);
    for (const e of dev.allowedIPs.entriesFor(peer)) out.push(`allowed_ip=${formatCidr(e.ip, e.cidr)}`);
  }
  return out.length === 0 ? '' : out.join('\n') + '\n';
}

/**
 * One whole UAPI exchange as the socket sees it: `request` is "get=1\n\n" or "set=1\n...\n\n"; the
 * answer ends with "errno=N\n\n" (0, or the negated errno). Used by the UAPI socket server, which
 * passes `onError` to log why a request was refused (the protocol itself carries only the errno).
 */
export async function uapiHandle(dev: UapiDevice, request: string, onError?: (err: UapiError) => void): Promise<string> {
  try {
    if (request === 'get=1\n\n' || request === 'get=1\n') return uapiGet(dev) + 'errno=0\n\n';
    if (request.startsWith('set=1\n')) {
      await uapiSet(dev, request.slice(6));
      return 'errno=0\n\n';
    }
    throw new UapiError('EINVAL', `invalid UAPI operation: ${JSON.stringify(request.split('\n')[0])}`);
  } catch (err) {
    const e = err instanceof UapiError ? err : new UapiError('ENOANO', `other UAPI error: ${(err as Error).message}`);
    onError?.(e);
    return `errno=-${e.errno}\n\n`;
  }
}
