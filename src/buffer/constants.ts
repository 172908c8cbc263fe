/**
 * Sizes and limits of packet memory, in one place (DESIGN.md, "Packet memory — the allocator pattern").
 *
 * Split as wireguard-go's constants.go is: values fixed by the protocol or the IP stack first, then the
 * choices this package makes, each with its reason. Derived values are written as their derivation.
 * Sizes are in bytes unless the name carries another unit.
 */

import { HEADROOM_BYTES } from './packet-buffer.js';

// ---------------------------------------------------------------------------------------------------
// From the protocol and the IP stack.

/**
 * 16: headroom in front of every data window for the transport header written with no copy
 * (type 4 + receiver 4 + counter 8, paper 5.4.6 "Subsequent Messages: Transport Data Messages").
 * Defined beside PacketBuffer, re-exported here so every size is found in one file.
 */
export { HEADROOM_BYTES };

/** 16: the Poly1305 tag appended to every sealed payload (RFC 8439 §2.8). */
export const TAG_BYTES = 16;

/** 16: plaintext is zero-padded to a multiple of this before sealing (paper 5.4.6). */
export const PADDING_MULTIPLE_BYTES = 16;

/** 65535: the largest IPv4 packet, UDP datagram or TSO/GRO super-packet the kernel hands us. */
export const MAX_DATAGRAM_BYTES = 65535;

/** 4096: the page size slabs and large chunks are rounded to (x86-64 and arm64 default). */
export const PAGE_BYTES = 4096;

// ---------------------------------------------------------------------------------------------------
// Our choices.

/**
 * 32 = 15 + 16 rounded up to 32: room after the data window for up to 15 bytes of zero padding to a
 * multiple of 16 plus the 16-byte tag, so sealing happens in place. Rounded so that any window that
 * starts at HEADROOM_BYTES keeps 16-byte multiples on both sides.
 */
export const TAILROOM_BYTES = roundUp(PADDING_MULTIPLE_BYTES - 1 + TAG_BYTES, 16);

/**
 * 2048: one MTU-sized packet (1420 for WireGuard over 1500, up to a plain 1500) plus headroom and
 * tailroom: 1500 + 16 + 32 = 1548 fits. A power of two, so 512 of them fill a 1 MiB slab exactly.
 * Nearly every packet lives here.
 */
export const SMALL_CHUNK_BYTES = 2048;

/**
 * 10240 = 10 KiB: a jumbo-frame packet (9000 MTU + 16 + 32 = 9048 fits), as the seed's middle class.
 * Without it a 9000-byte packet would take a 68 KiB large chunk: 7x the waste.
 */
export const MEDIUM_CHUNK_BYTES = 10240;

/**
 * 69632 = roundUp(65535 + 16 + 32, 4096) = 17 pages: one TSO/GRO super-packet with head- and tailroom.
 * Why page-rounded rather than the seed's 65 KiB (66560):
 * - 15 chunks fill a 1 MiB slab either way (15 x 69632 = 1020 KiB, 15 x 66560 = 975 KiB); the
 *   page-rounded chunk leaves only 4 KiB of the slab target unused instead of 49 KiB.
 * - every large chunk starts on a page boundary of a page-aligned slab, so a native shim may later
 *   madvise(MADV_DONTNEED) one free chunk on its own;
 * - the 4049 bytes of slack cover a virtio_net_hdr (10–12 bytes) in front of a 64 KiB TUN read.
 */
export const LARGE_CHUNK_BYTES = roundUp(MAX_DATAGRAM_BYTES + HEADROOM_BYTES + TAILROOM_BYTES, PAGE_BYTES);

/** The default tiers of a TieredPool, ascending: [2048, 10240, 69632]. */
export const DEFAULT_TIER_BYTES: readonly number[] = Object.freeze([
  SMALL_CHUNK_BYTES,
  MEDIUM_CHUNK_BYTES,
  LARGE_CHUNK_BYTES,
]);

/**
 * 1048576 = 1 MiB: the target size of one slab; a tier carves floor(SLAB_BYTES / chunk) chunks from
 * each (512 small, 102 medium, 15 large) and sizes the slab to exactly that many chunks. Large enough
 * that a slab is allocated once per hundreds of small packets in flight; small enough that memory is
 * given back in useful steps (slab.ts has the measurement of whether a dropped slab leaves RSS).
 */
export const SLAB_BYTES = 1 << 20;

/** 30000: a slab wholly free for this long is dropped by TieredPool.trim() (give memory back). */
export const IDLE_SLAB_MS = 30_000;

/**
 * 0.75: a paused Budget resumes when outstanding bytes fall below this fraction of its limit. The gap
 * (hysteresis) keeps readers from flapping between paused and resumed on every released packet.
 */
export const BUDGET_RESUME_FRACTION = 0.75;

/**
 * 262144 = 256 KiB: default Arena capacity; holds three 64 KiB super-packets plus headers, the GRO
 * scratch of one TUN write batch.
 */
export const ARENA_BYTES = 256 * 1024;

/** 0xdb: the byte released chunks are filled with in debug mode; writes to free memory show up. */
export const POISON_BYTE = 0xdb;

/** Rounds `n` up to a multiple of `m` (both positive integers). */
function roundUp(n: number, m: number): number {
  return Math.ceil(n / m) * m;
}
