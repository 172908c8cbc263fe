/**
 * The TUN contract: how the device exchanges IP packets with the operating system (or, for the memory
 * TUN, with the embedding program).
 *
 * Push model, batch-shaped: the TUN reads when it has packets and hands a batch to the handler
 * installed once at open(). Buffers are allocated at the edge: the TUN takes them from the Source it
 * is given, at the size it alone knows (DESIGN.md "Allocation at the edge").
 *
 * Ownership: a buffer handed to `TunHandler.onPackets` belongs to the handler, which must release it.
 * A buffer given to `Tun.write` belongs to the TUN from then on; it releases it once written. The
 * arrays themselves are reused by their caller after the call returns: keep no reference to them.
 */
import type { PacketBuffer, Source } from '../buffer/packet-buffer.js';

/**
 * The MTU of a TUN whose creator names none: 1420 = 1500 (Ethernet) - 40 (an outer IPv6 header) - 8
 * (UDP) - 32 (WireGuard's 16-byte header and 16-byte tag), so a tunnel packet fits one Ethernet frame
 * over either IP version (wg-quick's and wireguard-go's default too).
 */
export const DEFAULT_MTU = 1500 - 40 - 8 - 32;

export type TunEvent = 'up' | 'down' | 'mtu' | 'closed';

export interface TunHandler {
  /** A batch of IP packets read from the TUN: bufs[0..count) are the handler's to release. */
  onPackets(bufs: PacketBuffer[], count: number): void;
  /** Link state changes and removal, as the TUN learns of them. */
  onEvent(event: TunEvent): void;
}

export interface Tun {
  /** Interface name ("wg0", or a label for in-process TUNs). */
  readonly name: string;
  /** Current MTU of the inner packets. */
  mtu(): number;
  /**
   * Begin delivering packets. `source` supplies buffers; when it returns null (budget exhausted) the
   * TUN stops reading until resume(). Called once.
   */
  open(handler: TunHandler, source: Source): void;
  /** Hand IP packets bufs[0..count) to the system; the TUN owns and releases them. */
  write(bufs: PacketBuffer[], count: number): void;
  /** Backpressure: stop reading (no new buffers taken) until resume(). */
  pause(): void;
  resume(): void;
  /** Stop reading and release resources; later write() calls release their buffers and drop them. */
  close(): void;
}
