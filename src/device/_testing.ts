/**
 * Test harness shared by the protocol tests (not part of the public API): two devices over the memory
 * network, packet builders, and helpers to let the event loop run.
 */
import { MemoryNetwork, type MemoryBind } from '../conn/memory.js';
import { generatePrivateKey, publicKey } from '../crypto/x25519.js';
import { keyToHex } from '../crypto/keys.js';
import { MemoryTun } from '../tun/memory.js';
import { TieredPool } from '../buffer/tiered-pool.js';
import assert from 'node:assert/strict';
import { FakeClock, type Clock } from '../base/clock.js';
import { parseIp } from '../net/address.js';
import { setIpv4HeaderChecksum } from '../net/checksum.js';
import { Device } from './device.js';

export interface Node {
  dev: Device;
  tun: MemoryTun;
  bind: MemoryBind;
  pool: TieredPool;
  priv: Uint8Array;
  pub: Uint8Array;
  ip: string;
  /** Packets that came out of this node's TUN, copied. */
  received: Uint8Array[];
}

export function makeNode(net: MemoryNetwork, clock: Clock, address: string, ip: string, priv = generatePrivateKey()): Node {
  const tun = new MemoryTun({ name: `tun-${ip}` });
  const bind = net.createBind(address);
  const pool = new TieredPool({ debug: true });
  const dev = new Device({ tun, bind, pool, clock });
  const node: Node = { dev, tun, bind, pool, priv, pub: publicKey(priv), ip, received: [] };
  tun.onPacket = (p) => node.received.push(new Uint8Array(p));
  return node;
}

export interface Pair {
  net: MemoryNetwork;
  clock: FakeClock;
  a: Node;
  b: Node;
}

export interface PairOptions {
  /** Which sides know the other's endpoint (default both). */
  endpoints?: 'both' | 'a-knows-b' | 'b-knows-a';
  psk?: Uint8Array | { a: Uint8Array; b: Uint8Array };
  keepalive?: number;
}

/** Two devices, A (10.0.0.1, 192.0.2.1) and B (10.0.0.2, 192.0.2.2), configured as each other's peer, up. */
export async function makePair(options: PairOptions = {}): Promise<Pair> {
  const net = new MemoryNetwork();
  const clock = new FakeClock();
  const a = makeNode(net, clock, '192.0.2.1', '10.0.0.1');
  const b = makeNode(net, clock, '192.0.2.2', '10.0.0.2');
  await a.dev.ipcSet(`private_key=${keyToHex(a.priv)}\nlisten_port=51820\n`);
  await b.dev.ipcSet(`private_key=${keyToHex(b.priv)}\nlisten_port=51820\n`);
  await a.dev.up();
  await b.dev.up();
  const ends = options.endpoints ?? 'both';
  const psk = options.psk;
  const pskA = psk === undefined ? null : psk instanceof Uint8Array ? psk : psk.a;
  const pskB = psk === undefined ? null : psk instanceof Uint8Array ? psk : psk.b;
  const ka = options.keepalive !== undefined ? `persistent_keepalive_interval=${options.keepalive}\n` : '';
  await a.dev.ipcSet(
    `public_key=${keyToHex(b.pub)}\n` +
      (pskA ? `preshared_key=${keyToHex(pskA)}\n` : '') +
      (ends !== 'b-knows-a' ? 'endpoint=192.0.2.2:51820\n' : '') +
      `allowed_ip=10.0.0.2/32\nallowed_ip=fd00::2/128\n` +
      ka,
  );
  await b.dev.ipcSet(
    `public_key=${keyToHex(a.pub)}\n` +
      (pskB ? `preshared_key=${keyToHex(pskB)}\n` : '') +
      (ends !== 'a-knows-b' ? 'endpoint=192.0.2.1:51820\n' : '') +
      `allowed_ip=10.0.0.1/32\nallowed_ip=fd00::1/128\n`,
  );
  return { net, clock, a, b };
}

/** Let the event loop run `turns` times (batches flush on setImmediate). */
export async function settle(turns = 20): Promise<void> {
  for (let i = 0; i < turns; i++) await new Promise<void>((r) => setImmediate(r));
}

/**
 * Run the loop until `cond` holds, or until both `turns` turns and `minMs` of wall time have passed;
 * returns whether it held. The time floor is for work the shim's crypto threads do: a thread woken
 * on a busy or virtual machine may take milliseconds to run, however many turns the loop makes.
 */
export async function until(cond: () => boolean, turns = 500, minMs = 2000): Promise<boolean> {
  const start = performance.now();
  for (let i = 0; i < turns || performance.now() - start < minMs; i++) {
    if (cond()) return true;
    await new Promise<void>((r) => setImmediate(r));
  }
  return cond();
}

/** An IPv4 UDP packet from src to dst with `payloadLen` bytes derived from `seed`. */
export function ipv4Packet(src: string, dst: string, payloadLen: number, seed = 0): Uint8Array {
  const total = 20 + 8 + payloadLen;
  const p = new Uint8Array(total);
  p[0] = 0x45;
  p[2] = total >> 8;
  p[3] = total & 0xff;
  p[8] = 64;
  p[9] = 17;
  p.set(parseIp(src)!, 12);
  p.set(parseIp(dst)!, 16);
  setIpv4HeaderChecksum(p, 0, 20);
  p[20] = 0x30;
  p[21] = 0x39;
  p[22] = 0x30;
  p[23] = 0x39;
  p[24] = (8 + payloadLen) >> 8;
  p[25] = (8 + payloadLen) & 0xff;
  for (let i = 0; i < payloadLen; i++) p[28 + i] = (seed * 31 + i * 7) & 0xff;
  return p;
}

/** An IPv6 UDP packet (no checksum) from src to dst (16-byte arrays). */
export function ipv6Packet(src: Uint8Array, dst: Uint8Array, payloadLen: number, seed = 0): Uint8Array {
  const p = new Uint8Array(40 + 8 + payloadLen);
  p[0] = 0x60;
  p[4] = (8 + payloadLen) >> 8;
  p[5] = (8 + payloadLen) & 0xff;
  p[6] = 17;
  p[7] = 64;
  p.set(src, 8);
  p.set(dst, 24);
  p[44] = (8 + payloadLen) >> 8;
  p[45] = (8 + payloadLen) & 0xff;
  for (let i = 0; i < payloadLen; i++) p[48 + i] = (seed * 13 + i) & 0xff;
  return p;
}

export function equalBytes(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

/** Close both devices and return the buffers each pool still has outstanding. */
export async function closePair(p: Pair): Promise<[number, number]> {
  const oa = await p.a.dev.close();
  const ob = await p.b.dev.close();
  return [oa, ob];
}

/**
 * Move fake time forward in steps, letting the event loop deliver datagrams between steps: a real
 * network delivers in microseconds, and one big synchronous jump would fire every timer before any
 * packet in flight arrived.
 */
export async function advance(p: { clock: FakeClock }, ms: number, stepMs = 250): Promise<void> {
  for (let t = 0; t < ms; t += stepMs) {
    p.clock.advance(Math.min(stepMs, ms - t));
    await settle(4);
  }
}

/** One packet A->B and one B->A, each checked byte for byte on arrival. */
export async function exchange(p: Pair, seed: number): Promise<void> {
  const ab = ipv4Packet('10.0.0.1', '10.0.0.2', 100 + seed, seed);
  const ba = ipv4Packet('10.0.0.2', '10.0.0.1', 200 + seed, seed + 1);
  const ra = p.a.received.length;
  const rb = p.b.received.length;
  assert.ok(p.a.tun.writePacket(ab));
  assert.ok(await until(() => p.b.received.length > rb), 'A->B did not arrive');
  assert.ok(equalBytes(p.b.received[p.b.received.length - 1]!, ab));
  assert.ok(p.b.tun.writePacket(ba));
  assert.ok(await until(() => p.a.received.length > ra), 'B->A did not arrive');
  assert.ok(equalBytes(p.a.received[p.a.received.length - 1]!, ba));
}

/**
 * 130,560 "allowed_ip=" lines (about 3 MB with their newlines): for a in 1..255 and b in 0..255,
 * a.b.0.0/16 and a::b/128. The size of configuration that once passed the UAPI request cap.
 */
export function manyAllowedIPLines(): string[] {
  const lines: string[] = [];
  for (let a = 1; a < 256; a++) {
    for (let b = 0; b < 256; b++) lines.push(`allowed_ip=${a}.${b}.0.0/16`, `allowed_ip=${a.toString(16)}::${b.toString(16)}/128`);
  }
  return lines;
}
