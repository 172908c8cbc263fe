/**
 * Packet memory (DESIGN.md, "Packet memory — the allocator pattern"): PacketBuffer and the origin and
 * source interfaces, the TieredPool, the Budget, the Arena, and the sizes they share. Knows nothing of
 * WireGuard; everything above it imports from here.
 */

export { PacketBuffer, type BufferOrigin, type Source } from './packet-buffer.js';
export * from './constants.js';
export { TieredPool, type TieredPoolOptions, type TierStats, type PoolStats } from './tiered-pool.js';
export { Budget, type BudgetOptions } from './budget.js';
export { Arena, type ArenaOptions } from './arena.js';
export { allocateSlab, mmapThresholdPinned } from './slab.js';
export { ReadSlots, MIN_READ_SLOTS } from './read-slots.js';
