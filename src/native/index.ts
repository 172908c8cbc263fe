/**
 * The TypeScript face of the C shim (DESIGN.md, "The native shim"): loading (native, nativeError),
 * the binding's types and shared layouts, errors (NativeError), batch descriptors, readiness, and
 * the control-path wrappers for interfaces and UDP sockets. Knows nothing of WireGuard.
 */
export { native, nativeError, requireNative, NATIVE_PATH } from './load.js';
export * from './binding.js';
export * from './errno.js';
export { SlabBatch } from './slab-batch.js';
export { FdPoll, type PollCallback } from './poll.js';
export * from './netdev.js';
export * from './udp.js';
export { AEAD_KEY_BYTES, aeadSealWindows, aeadOpenWindows } from './aead-batch.js';
