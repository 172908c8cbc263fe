/**
 * Two Tunnels in one process over the memory network (not part of the public API): A at 10.0.0.1 /
 * fd00::1, B at 10.0.0.2 / fd00::2, each the other's peer, with optional extra wg-quick lines.
 */
import { FakeClock, type Clock } from '../base/clock.js';
import { TieredPool } from '../buffer/tiered-pool.js';
import { MemoryNetwork } from '../conn/memory.js';
import { keyToBase64 } from '../crypto/keys.js';
import { generatePrivateKey, publicKey } from '../crypto/x25519.js';
import { Tunnel, type TunnelOptions } from './tunnel.js';

export interface TunnelPair {
  net: MemoryNetwork;
  clock: Clock;
  a: Tunnel;
  b: Tunnel;
  poolA: TieredPool;
  poolB: TieredPool;
}

export interface PairOptions {
  /** Extra [Interface] lines for A (DNS = ..., MTU = ...). */
  interfaceA?: string;
  optionsA?: Partial<TunnelOptions>;
  /** Use a FakeClock (default: the system clock). */
  fakeClock?: boolean;
}

export function tunnelConfig(priv: Uint8Array, address: string, peer: Uint8Array, endpoint: string, allowed: string, extra = ''): string {
  return `[Interface]
PrivateKey = ${keyToBase64(priv)}
Address = ${address}
ListenPort = 51820
${extra}

[Peer]
PublicKey = ${keyToBase64(publicKey(peer))}
Endpoint = ${endpoint}:51820
AllowedIPs = ${allowed}
`;
}

export async function tunnelPair(options: PairOptions = {}): Promise<TunnelPair> {
  const net = new MemoryNetwork();
  const clock = options.fakeClock === true ? new FakeClock() : undefined;
  const ka = generatePrivateKey();
  const kb = generatePrivateKey();
  const poolA = new TieredPool({ debug: true });
  const poolB = new TieredPool({ debug: true });
  const b = await Tunnel.open(tunnelConfig(kb, '10.0.0.2/24, fd00::2/64', ka, '192.0.2.1', '10.0.0.1/32, fd00::1/128'), {
    bind: net.createBind('192.0.2.2'),
    pool: poolB,
    clock,
  });
  const a = await Tunnel.open(tunnelConfig(ka, '10.0.0.1/24, fd00::1/64', kb, '192.0.2.2', '10.0.0.2/32, fd00::2/128', options.interfaceA), {
    bind: net.createBind('192.0.2.1'),
    pool: poolA,
    clock,
    ...options.optionsA,
  });
  return { net, clock: clock ?? a.device.clock, a, b, poolA, poolB };
}
