/**
 * The proxy's tunnel: a Tunnel (tunnel/) opened from the configuration's WireGuard part, which is all
 * the proxy needs of it (TunnelLike). Peer endpoints that name hosts are resolved by the Device when it
 * is configured, and again by the endpoint refresher when handshakes fail.
 */
import type { Logger } from '../base/logger.js';
import type { TieredPool } from '../buffer/tiered-pool.js';
import { Tunnel } from '../tunnel/tunnel.js';
import type { ProxyConfig } from './config.js';
import type { TunnelLike } from './tunnel-like.js';

export async function openTunnel(config: ProxyConfig, options: { logger: Logger; pool?: TieredPool }): Promise<TunnelLike> {
  const tunnel: TunnelLike = await Tunnel.open(config.wg, { logger: options.logger, pool: options.pool });
  return tunnel;
}
