/**
 * wgts: a userspace WireGuard implementation. The package root exports the library surface: the
 * Tunnel (sockets through WireGuard without root), the Device with its TUN and bind back ends
 * (in-memory and node:dgram everywhere; the kernel TUN and batched sockets on Linux with the native
 * shim), the netstack, the packet-memory allocator, configuration helpers and keys.
 */
export { Tunnel, type TunnelOptions, type TunnelStats, type TunnelPeerStats, type LookupOptions, type PingOptions } from './tunnel/tunnel.js';
export { NetStack, type NetStackOptions } from './netstack/stack.js';
export type { UdpSocket, UdpSocketType, RemoteInfo, SocketAddress } from './netstack/udp-socket.js';
export { Device, type DeviceOptions, type DeviceEvents } from './device/device.js';
export { UapiError, WgError, DeviceStateError, Errno } from './device/errors.js';
export { parseConfig, formatConfig, configToUapi, ConfigError, type WgConfig, type PeerConfig, type InterfaceConfig } from './config/wg-quick.js';
export { FakeClock, systemClock, type Clock } from './base/clock.js';
export { consoleLogger, type Logger } from './base/logger.js';
export type { DropCounters } from './device/stats.js';

export { DEFAULT_MTU, type Tun, type TunHandler, type TunEvent } from './tun/tun.js';
export { MemoryTun, type MemoryTunOptions } from './tun/memory.js';
export { LinuxTun, TunOpenError, type LinuxTunOptions } from './tun/linux.js';

export type { Bind, BindHandler, Endpoint } from './conn/bind.js';
export { StdBind, type StdBindOptions } from './conn/std.js';
export { LinuxBind, type LinuxBindOptions } from './conn/linux.js';
export { MemoryNetwork, MemoryBind } from './conn/memory.js';
export { parseEndpoint } from './conn/endpoint.js';

export * from './buffer/index.js';

export { generatePrivateKey, publicKey } from './crypto/x25519.js';
export { keyFromBase64, keyToBase64, keyFromHex, keyToHex } from './crypto/keys.js';
