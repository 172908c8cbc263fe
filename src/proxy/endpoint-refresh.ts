/**
 * Dynamic DNS for peer endpoints: a peer whose Endpoint names a host (my.ddns.example.com:51820) had
 * that name resolved once, when the tunnel opened, since the UAPI takes addresses only. When its
 * handshakes fail (the device gives up after REKEY_ATTEMPT_TIME, WireGuard paper 6.4, and emits
 * 'handshake-failed'), the name is resolved again through this host's resolver; if it now points
 * elsewhere, the endpoint is re-set through the UAPI and the next packet or keepalive handshakes with
 * the new address. wg-quick users get the same from the reresolve-dns.sh script run by a timer.
 *
 * A peer that roamed (its endpoint learned from an authenticated packet) is not moved back by this
 * unless its handshakes fail: the resolved name wins only when the current address has stopped working.
 */
import { isIP } from 'node:net';
import type { Logger } from '../base/logger.js';
import type { PeerConfig } from '../config/wg-quick.js';
import { resolveEndpoint } from '../config/resolve.js';
import { keyToBase64, keyToHex } from '../crypto/keys.js';
import { peersFromUapi } from '../ipc/metrics.js';
import type { DeviceLike } from './tunnel-like.js';

interface Named {
  hex: string;
  /** As configured: "host:port". */
  endpoint: string;
}

export class EndpointRefresher {
  private readonly device: DeviceLike;
  private readonly logger: Logger;
  private readonly resolve: (endpoint: string) => Promise<string>;
  /** Peers with a host name in their Endpoint, by base64 public key. */
  private readonly named = new Map<string, Named>();
  private readonly inFlight = new Set<string>();
  private readonly onFailed = (publicKey: string): void => void this.refresh(publicKey);
  /** Endpoints changed so far (for logs and tests). */
  changes = 0;

  constructor(device: DeviceLike, peers: readonly PeerConfig[], logger: Logger, resolve: (endpoint: string) => Promise<string> = resolveEndpoint) {
    this.device = device;
    this.logger = logger;
    this.resolve = resolve;
    for (const p of peers) {
      if (p.endpoint === undefined || p.endpoint.startsWith('[')) continue;
      const host = p.endpoint.slice(0, p.endpoint.lastIndexOf(':'));
      if (isIP(host) !== 0) continue;
      this.named.set(keyToBase64(p.publicKey), { hex: keyToHex(p.publicKey), endpoint: p.endpoint });
    }
  }

  /** Whether any peer's endpoint is a name (nothing to watch otherwise). */
  get watching(): boolean {
    return this.named.size > 0;
  }

  start(): void {
    if (this.watching) this.device.on('handshake-failed', this.onFailed);
  }

  stop(): void {
    this.device.off('handshake-failed', this.onFailed);
  }

  /** Resolve the peer's configured name again and move the peer if it points elsewhere now. */
  async refresh(publicKey: string): Promise<void> {
    const peer = this.named.get(publicKey);
    if (peer === undefined || this.inFlight.has(publicKey)) return;
    this.inFlight.add(publicKey);
    try {
      const fresh = await this.resolve(peer.endpoint);
      const current = peersFromUapi(this.device.ipcGet()).find((p) => p.publicKey === publicKey)?.endpoint ?? null;
      if (fresh === current) return;
      await this.device.ipcSet(`public_key=${peer.hex}\nendpoint=${fresh}\n`);
      this.changes++;
      this.logger.error?.(`peer ${publicKey.slice(0, 8)}...: handshakes failed; ${peer.endpoint} now resolves to ${fresh} (was ${current ?? 'none'}): endpoint updated`);
    } catch (err) {
      this.logger.error?.(`peer ${publicKey.slice(0, 8)}...: handshakes failed and ${peer.endpoint} could not be resolved again: ${(err as Error).message}`);
    } finally {
      this.inFlight.delete(publicKey);
    }
  }
}
