/**
 * The "set=1" request of the cross-platform UAPI description, parsed as it streams in: each key=value
 * line is validated when it arrives and goes into a compact change set, so a request of any size is
 * never held as text. Nothing touches the device here; uapi.ts applies the change set once the whole
 * request is known to be valid (a set is transactional in wgts).
 *
 * Keys, their order rules and their errno values follow wireguard-go's IpcSetOperation: device keys
 * until the first "public_key", peer keys after it; EPROTO for a line without "=", EINVAL for a bad key
 * or value. Two bounds of our own, each answered with an errno rather than a closed connection:
 *   - a line longer than any legal one is EIO, as wireguard-go's line scanner fails on a too-long line;
 *   - a request past UAPI_MAX_PEERS peers or UAPI_MAX_ALLOWED_IPS allowed IPs is ENOMEM, as the kernel
 *     refuses a peer past its MAX_PEERS_PER_DEVICE.
 * After the first bad line the rest of the request is still read (and ignored), so the client gets its
 * errno instead of a connection closed under it.
 */
import type { Endpoint } from '../conn/bind.js';
import { isZero, keyFromHex } from '../crypto/keys.js';
import { parseCidr } from '../net/address.js';
import { UapiError } from './errors.js';
import { PrefixList } from './prefix-list.js';

/**
 * Longest line accepted, in bytes. The longest legal line is an endpoint with a scope,
 * "endpoint=[" + 45-character IPv6 text + "%" + interface name or index + "]:65535", under 90 bytes;
 * this leaves room for spellings wg itself never sends and still bounds what a reader buffers.
 */
export const UAPI_MAX_LINE_BYTES = 1024;
/** Peers one request may name (our choice): 100,000 peers fit, as configurations that large exist. */
export const UAPI_MAX_PEERS = 1 << 17;
/** Allowed IPs one request may carry (our choice): a million fit; pending, each takes 18 bytes. */
export const UAPI_MAX_ALLOWED_IPS = 1 << 20;

/** What one request asks of one peer ("public_key=" and the lines after it). */
export interface PeerChange {
  readonly publicKey: Uint8Array;
  updateOnly: boolean;
  remove: boolean;
  presharedKey: Uint8Array | null;
  endpoint: Endpoint | null;
  /** Seconds, or -1 for unchanged. */
  keepalive: number;
  replaceAllowedIPs: boolean;
  /** The peer's new allowed IPs are entries [ipStart, ipEnd) of the change set's list. */
  ipStart: number;
  ipEnd: number;
}

/** A whole valid set request. */
export interface UapiChangeSet {
  /** A new private key, null to clear it, undefined for unchanged. */
  privateKey: Uint8Array | null | undefined;
  /** -1 for unchanged. */
  listenPort: number;
  /** -1 for unchanged. */
  fwmark: number;
  replacePeers: boolean;
  readonly peers: PeerChange[];
  readonly allowedIPs: PrefixList;
}

export interface UapiSetLimits {
  maxPeers: number;
  maxAllowedIPs: number;
}

function emptyChangeSet(): UapiChangeSet {
  return { privateKey: undefined, listenPort: -1, fwmark: -1, replacePeers: false, peers: [], allowedIPs: new PrefixList() };
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

/**
 * Takes the lines of one set request (after "set=1", without their newlines, up to the empty line)
 * one at a time. `finish()` gives the change set, or throws the first bad line's UapiError.
 */
export class UapiSetParser {
  private changes: UapiChangeSet;
  private peer: PeerChange | null;
  private lines: number;
  private error: UapiError | null;

  constructor(
    private readonly parseEndpoint: (text: string) => Endpoint,
    private readonly limits: UapiSetLimits = { maxPeers: UAPI_MAX_PEERS, maxAllowedIPs: UAPI_MAX_ALLOWED_IPS },
  ) {
    this.changes = emptyChangeSet();
    this.peer = null;
    this.lines = 0;
    this.error = null;
  }

  /** One line, without its newline. After a bad line, the rest are only counted. */
  line(text: string): void {
    this.lines++;
    if (this.error !== null) return;
    try {
      if (text.length > UAPI_MAX_LINE_BYTES) throw this.tooLong();
      this.parse(text);
    } catch (err) {
      this.fail(err instanceof UapiError ? err : new UapiError('ENOANO', `line ${this.lines}: ${(err as Error).message}`));
    }
  }

  /** A line longer than UAPI_MAX_LINE_BYTES went by; the reader skipped its bytes. */
  lineTooLong(): void {
    this.lines++;
    if (this.error === null) this.fail(this.tooLong());
  }

  /** The request ended: its change set, or its first error (UapiError). */
  finish(): UapiChangeSet {
    if (this.error !== null) throw this.error;
    return this.changes;
  }

  private tooLong(): UapiError {
    return new UapiError('EIO', `line ${this.lines} is longer than ${UAPI_MAX_LINE_BYTES} bytes`);
  }

  /** Keep the first error and let go of what was collected: the request will change nothing. */
  private fail(err: UapiError): void {
    this.error = err;
    this.changes = emptyChangeSet();
    this.peer = null;
  }

  private parse(line: string): void {
    const eq = line.indexOf('=');
    // The line itself is not quoted: it may be a mangled key line, and errors are logged.
    if (eq < 0) throw new UapiError('EPROTO', `failed to parse line ${this.lines}: expected key=value`);
    const key = line.slice(0, eq);
    const value = line.slice(eq + 1);
    if (key === 'public_key') this.startPeer(parseKey(key, value));
    else if (this.peer === null) this.deviceLine(key, value);
    else this.peerLine(this.peer, key, value);
  }

  private startPeer(publicKey: Uint8Array): void {
    const c = this.changes;
    if (c.peers.length >= this.limits.maxPeers) {
      throw new UapiError('ENOMEM', `more than ${this.limits.maxPeers} peers in one request`);
    }
    const at = c.allowedIPs.length;
    this.peer = {
      publicKey,
      updateOnly: false,
      remove: false,
      presharedKey: null,
      endpoint: null,
      keepalive: -1,
      replaceAllowedIPs: false,
      ipStart: at,
      ipEnd: at,
    };
    c.peers.push(this.peer);
  }

  private deviceLine(key: string, value: string): void {
    const c = this.changes;
    switch (key) {
      case 'private_key': {
        const k = parseKey(key, value);
        c.privateKey = isZero(k) ? null : k;
        break;
      }
      case 'listen_port':
        c.listenPort = parseUint(key, value, 65535);
        break;
      case 'fwmark':
        c.fwmark = parseUint(key, value, 0xffffffff);
        break;
      case 'replace_peers':
        mustBeTrue(key, value);
        c.replacePeers = true;
        break;
      default:
        throw new UapiError('EINVAL', `invalid UAPI device key: ${JSON.stringify(key)}`);
    }
  }

  private peerLine(peer: PeerChange, key: string, value: string): void {
    switch (key) {
      case 'allowed_ip':
        this.allowedIP(peer, value);
        break;
      case 'endpoint':
        try {
          peer.endpoint = this.parseEndpoint(value);
        } catch (err) {
          throw new UapiError('EINVAL', `invalid endpoint: ${(err as Error).message}`);
        }
        break;
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
      case 'persistent_keepalive_interval':
        peer.keepalive = parseUint(key, value, 65535);
        break;
      case 'replace_allowed_ips':
        mustBeTrue(key, value);
        peer.replaceAllowedIPs = true;
        // Only what follows counts: the peer's entries are the tail of the list.
        this.changes.allowedIPs.truncate(peer.ipStart);
        peer.ipEnd = peer.ipStart;
        break;
      case 'protocol_version':
        if (value !== '1') throw new UapiError('EINVAL', `invalid protocol_version ${JSON.stringify(value)}: only 1 is supported`);
        break;
      default:
        throw new UapiError('EINVAL', `invalid UAPI peer key: ${JSON.stringify(key)}`);
    }
  }

  private allowedIP(peer: PeerChange, value: string): void {
    const list = this.changes.allowedIPs;
    if (list.length >= this.limits.maxAllowedIPs) {
      throw new UapiError('ENOMEM', `more than ${this.limits.maxAllowedIPs} allowed IPs in one request`);
    }
    if (!value.includes('/')) throw new UapiError('EINVAL', `invalid allowed_ip ${JSON.stringify(value)}: expected address/cidr`);
    let p: { ip: Uint8Array; cidr: number };
    try {
      p = parseCidr(value);
    } catch (err) {
      throw new UapiError('EINVAL', `invalid allowed_ip: ${(err as Error).message}`);
    }
    list.push(p.ip, p.cidr);
    peer.ipEnd = list.length;
  }
}
