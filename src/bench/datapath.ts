/**
 * `npm run bench:datapath`: the data path alone, in one process. Two Devices, A and B, each on a
 * MemoryTun, joined by a MemoryNetwork (no kernel, no sockets): 1420-byte IPv4 packets written into
 * A's TUN are routed, sealed, carried to B, opened, checked (replay window, allowed IPs) and come
 * out of B's TUN. Run with 0, 1 and 2 crypto threads (WGTS_CRYPTO_THREADS for a Device), each for
 * BENCH_SECONDS after a warm-up. Prints Gbit/s of inner packets, packets/s, CPU seconds of the
 * process (every thread: user + system) and of the event loop's thread alone, Gbit per CPU-second,
 * and GC collections and pause time. The event loop's CPU per packet and the crypto's are what the
 * README's projection for more cores is made of.
 *
 * The packets come from one template (no allocation per packet on the generator's side) and B's
 * packets are counted in a batch hook, so what is measured is the devices and the memory TUN and bind.
 *
 * Environment: BENCH_SECONDS (default 5), BENCH_THREADS (default "0,1,2").
 */
import { readFileSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import { GcMeter } from '../base/gc-meter.js';
import { Device } from '../device/device.js';
import { MemoryTun } from '../tun/memory.js';
import { MemoryNetwork } from '../conn/memory.js';
import { generatePrivateKey, publicKey } from '../crypto/x25519.js';
import { keyToHex } from '../crypto/keys.js';
import type { PacketBuffer } from '../buffer/packet-buffer.js';
import { ipv4Packet } from '../device/_testing.js';

const SECONDS = Number(process.env['BENCH_SECONDS'] ?? 5);
const WARMUP_MS = 1000;
const THREADS = (process.env['BENCH_THREADS'] ?? '0,1,2').split(',').map(Number);
const PACKET_BYTES = 1420;
/** Packets written per event-loop turn: enough to fill batches, few enough to let completions in. */
const PER_TURN = 512;

export interface DatapathResult {
  threads: number;
  gbps: number;
  pps: number;
  cpuSeconds: number;
  /** CPU seconds of the event loop's thread (the main thread): what more crypto threads cannot share out. */
  loopCpuSeconds: number;
  gbitPerCpuSecond: number;
  gcCount: number;
  gcMs: number;
}

async function runOne(threads: number): Promise<DatapathResult> {
  const net = new MemoryNetwork();
  const tunA = new MemoryTun({ name: 'bench-a', mtu: PACKET_BYTES });
  const tunB = new MemoryTun({ name: 'bench-b', mtu: PACKET_BYTES });
  const a = new Device({ tun: tunA, bind: net.createBind('192.0.2.1'), cryptoThreads: threads });
  const b = new Device({ tun: tunB, bind: net.createBind('192.0.2.2'), cryptoThreads: threads });
  const keyA = generatePrivateKey();
  const keyB = generatePrivateKey();
  await a.ipcSet(`private_key=${keyToHex(keyA)}\nlisten_port=51820\n`);
  await b.ipcSet(`private_key=${keyToHex(keyB)}\nlisten_port=51820\n`);
  await a.up();
  await b.up();
  await a.ipcSet(`public_key=${keyToHex(publicKey(keyB))}\nendpoint=192.0.2.2:51820\nallowed_ip=10.0.0.2/32\n`);
  await b.ipcSet(`public_key=${keyToHex(publicKey(keyA))}\nendpoint=192.0.2.1:51820\nallowed_ip=10.0.0.1/32\n`);

  let received = 0;
  let receivedBytes = 0;
  tunB.onPackets = (bufs: PacketBuffer[], count: number) => {
    for (let i = 0; i < count; i++) receivedBytes += bufs[i]!.end - bufs[i]!.start;
    received += count;
  };
  const packet = ipv4Packet('10.0.0.1', '10.0.0.2', PACKET_BYTES - 28);
  let running = true;
  const pump = (): void => {
    for (let i = 0; i < PER_TURN && running; i++) if (!tunA.writePacket(packet)) return; // onDrain resumes
    if (running) setImmediate(pump);
  };
  tunA.onDrain = () => setImmediate(pump);

  // Handshake, then warm up.
  tunA.writePacket(packet);
  for (let i = 0; i < 500 && received === 0; i++) await new Promise((r) => setTimeout(r, 10));
  if (received === 0) throw new Error('no packet came through the tunnel');
  pump();
  await new Promise((r) => setTimeout(r, WARMUP_MS));

  const gc = new GcMeter();
  const p0 = received;
  const b0 = receivedBytes;
  const c0 = process.cpuUsage();
  const l0 = mainThreadCpuSeconds();
  const t0 = performance.now();
  await new Promise((r) => setTimeout(r, SECONDS * 1000));
  const wall = (performance.now() - t0) / 1000;
  const cpu = process.cpuUsage(c0);
  const loopCpuSeconds = mainThreadCpuSeconds() - l0;
  const packets = received - p0;
  const bytes = receivedBytes - b0;
  gc.stop();
  running = false;
  await new Promise((r) => setTimeout(r, 50));
  const leftA = await a.close();
  const leftB = await b.close();
  if (leftA !== 0 || leftB !== 0) throw new Error(`buffers outstanding after close: ${leftA}, ${leftB}`);
  const cpuSeconds = (cpu.user + cpu.system) / 1e6;
  const gbps = (bytes * 8) / wall / 1e9;
  return { threads, gbps, pps: packets / wall, cpuSeconds, loopCpuSeconds, gbitPerCpuSecond: (bytes * 8) / 1e9 / cpuSeconds, gcCount: gc.count, gcMs: gc.ms };
}

/** utime + stime of this process's main thread (Linux /proc; its task id is the pid), in seconds. */
function mainThreadCpuSeconds(): number {
  const stat = readFileSync(`/proc/self/task/${process.pid}/stat`, 'utf8');
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return (Number(fields[11]) + Number(fields[12])) / 100;
}

async function main(): Promise<void> {
  const rows: DatapathResult[] = [];
  for (const t of THREADS) {
    const r = await runOne(t);
    rows.push(r);
    console.log(`${t} crypto threads: ${r.gbps.toFixed(2)} Gbit/s, ${Math.round(r.pps)} packets/s, ${r.cpuSeconds.toFixed(2)} CPU s (event loop ${r.loopCpuSeconds.toFixed(2)}) in ${SECONDS} s, ${r.gbitPerCpuSecond.toFixed(2)} Gbit/CPU-s, GC ${r.gcCount} x ${r.gcMs.toFixed(0)} ms`);
  }
  console.log(`\n| crypto threads | Gbit/s | packets/s | CPU s (all threads) | CPU s (event loop) | event loop us per packet | Gbit per CPU-s | GC count | GC pause ms |`);
  console.log('|---|---|---|---|---|---|---|---|---|');
  for (const r of rows) {
    const loopUs = (r.loopCpuSeconds / (r.pps * SECONDS)) * 1e6;
    console.log(`| ${r.threads} | ${r.gbps.toFixed(2)} | ${Math.round(r.pps)} | ${r.cpuSeconds.toFixed(2)} | ${r.loopCpuSeconds.toFixed(2)} | ${loopUs.toFixed(2)} | ${r.gbitPerCpuSecond.toFixed(2)} | ${r.gcCount} | ${r.gcMs.toFixed(0)} |`);
  }
  console.log(`\nCommand: npm run bench:datapath (BENCH_SECONDS=${SECONDS}); ${availableParallelism()} cores, Node ${process.version}; ${PACKET_BYTES}-byte packets, Gbit/s of inner packets.`);
}

main().catch((err: unknown) => {
  console.error(err);
  process.exit(1);
});
