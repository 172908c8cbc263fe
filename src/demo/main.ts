/**
 * The demo (`npm start`): two WireGuard devices in one process, each with an in-memory TUN, talking
 * real UDP over 127.0.0.1 through the portable node:dgram bind. No root needed.
 *
 * A handshake runs, then 256 MiB of IP packets go from A to B; B checks every byte and sends each packet
 * back; A checks every byte again. A window of packets in flight keeps the UDP sockets from
 * overflowing, and anything lost is sent again, so the demo verifies a complete, exact transfer. It
 * prints the handshake time, the throughput and the packet pools' statistics, and exits 0 on success.
 */
import { Device } from '../device/device.js';
import { MemoryTun } from '../tun/memory.js';
import { StdBind } from '../conn/std.js';
import { TieredPool } from '../buffer/tiered-pool.js';
import { generatePrivateKey, publicKey } from '../crypto/x25519.js';
import { keyToHex } from '../crypto/keys.js';
import { GcMeter } from '../base/gc-meter.js';

const TOTAL_BYTES = Number(process.env.WGTS_DEMO_MIB ?? 256) * 1024 * 1024;
const MTU = 1420;
const HEADER = 20 + 8; // IPv4 + UDP
const PAYLOAD = MTU - HEADER;
const WINDOW = 512; // packets in flight: well inside the sockets' 4 MiB buffers
const RESEND_AFTER_MS = 300;

function fill(p: Uint8Array, seq: number, src: number, dst: number): void {
  const total = HEADER + PAYLOAD;
  p[0] = 0x45;
  p[1] = 0;
  p[2] = total >> 8;
  p[3] = total & 0xff;
  p[8] = 64;
  p[9] = 17;
  p[12] = 10; p[13] = 0; p[14] = 0; p[15] = src;
  p[16] = 10; p[17] = 0; p[18] = 0; p[19] = dst;
  p[24] = (8 + PAYLOAD) >> 8;
  p[25] = (8 + PAYLOAD) & 0xff;
  p[28] = seq >>> 24; p[29] = (seq >>> 16) & 0xff; p[30] = (seq >>> 8) & 0xff; p[31] = seq & 0xff;
  for (let i = 4; i < PAYLOAD; i++) p[28 + i] = (seq * 131 + i * 7) & 0xff;
}

function verify(p: Uint8Array, src: number, dst: number): number {
  if (p.length !== HEADER + PAYLOAD || p[15] !== src || p[19] !== dst) return -1;
  const seq = ((p[28]! << 24) | (p[29]! << 16) | (p[30]! << 8) | p[31]!) >>> 0;
  for (let i = 4; i < PAYLOAD; i++) if (p[28 + i] !== ((seq * 131 + i * 7) & 0xff)) return -1;
  return seq;
}

async function main(): Promise<void> {
  const gc = new GcMeter();

  const keyA = generatePrivateKey();
  const keyB = generatePrivateKey();
  const poolA = new TieredPool();
  const poolB = new TieredPool();
  const tunA = new MemoryTun({ name: 'demo-a', mtu: MTU });
  const tunB = new MemoryTun({ name: 'demo-b', mtu: MTU });
  const a = new Device({ tun: tunA, bind: new StdBind({ ipv6: false, ipv4Address: '127.0.0.1' }), pool: poolA });
  const b = new Device({ tun: tunB, bind: new StdBind({ ipv6: false, ipv4Address: '127.0.0.1' }), pool: poolB });
  await a.ipcSet(`private_key=${keyToHex(keyA)}\nlisten_port=0\n`);
  await b.ipcSet(`private_key=${keyToHex(keyB)}\nlisten_port=0\n`);
  const portA = await a.up();
  const portB = await b.up();
  await a.ipcSet(`public_key=${keyToHex(publicKey(keyB))}\nendpoint=127.0.0.1:${portB}\nallowed_ip=10.0.0.2/32\n`);
  await b.ipcSet(`public_key=${keyToHex(publicKey(keyA))}\nendpoint=127.0.0.1:${portA}\nallowed_ip=10.0.0.1/32\n`);
  console.log(`wgts demo: two devices on 127.0.0.1:${portA} and 127.0.0.1:${portB}, MTU ${MTU}`);

  // Handshake: the first packet triggers it; time until B sees it.
  const t0 = performance.now();
  const hsDone = new Promise<number>((resolve) => a.once('handshake', () => resolve(performance.now() - t0)));
  const packets = Math.ceil(TOTAL_BYTES / PAYLOAD);
  const done = new Uint8Array(packets);
  const sentAt = new Float64Array(packets);
  let next = 0; // next sequence to send for the first time
  let completed = 0;
  let lowest = 0; // lowest sequence not yet completed
  let bad = 0;
  const pkt = new Uint8Array(HEADER + PAYLOAD);
  const echo = new Uint8Array(HEADER + PAYLOAD);

  // B: verify and send back.
  tunB.onPacket = (p) => {
    const seq = verify(p, 1, 2);
    if (seq < 0) {
      bad++;
      return;
    }
    echo.set(p);
    echo[15] = 2;
    echo[19] = 1;
    tunB.writePacket(echo);
  };

  let finish: () => void = () => {};
  const finished = new Promise<void>((r) => (finish = r));
  let tStart = 0;

  const pump = (): void => {
    while (next < packets && next - lowest < WINDOW) {
      fill(pkt, next, 1, 2);
      if (!tunA.writePacket(pkt)) return; // backpressure: onDrain calls pump again
      sentAt[next] = performance.now();
      next++;
    }
  };
  tunA.onDrain = pump;

  // A: verify the echo, advance the window.
  tunA.onPacket = (p) => {
    const seq = verify(p, 2, 1);
    if (seq < 0 || seq >= packets) {
      bad++;
      return;
    }
    if (done[seq] === 0) {
      done[seq] = 1;
      completed++;
      while (lowest < packets && done[lowest] === 1) lowest++;
    }
    if (completed === packets) finish();
    else if (next - lowest < WINDOW / 2) setImmediate(pump);
  };

  // Loss recovery: resend what has been in flight too long.
  const resend = setInterval(() => {
    const now = performance.now();
    for (let s = lowest; s < next; s++) {
      if (done[s] === 0 && now - sentAt[s]! > RESEND_AFTER_MS) {
        fill(pkt, s, 1, 2);
        if (!tunA.writePacket(pkt)) break;
        sentAt[s] = now;
      }
    }
    pump();
  }, 100);

  pump();
  const handshakeMs = await hsDone;
  tStart = performance.now();
  await finished;
  const elapsed = (performance.now() - tStart) / 1000;
  clearInterval(resend);

  const bytesEachWay = packets * PAYLOAD;
  const gbits = (2 * bytesEachWay * 8) / elapsed / 1e9;
  console.log(`handshake: ${handshakeMs.toFixed(1)} ms`);
  console.log(`transferred: ${(bytesEachWay / 1048576).toFixed(0)} MiB A->B and back, ${packets} packets each way, every byte verified`);
  console.log(`time: ${elapsed.toFixed(2)} s, throughput: ${gbits.toFixed(3)} Gbit/s (both directions summed, payload bytes)`);
  for (const [name, pool] of [['A', poolA], ['B', poolB]] as const) {
    const s = pool.stats();
    console.log(
      `pool ${name}: ${s.gets} gets, ${s.hits} from free lists, ${s.misses} new slabs, peak ${s.peakOutstanding} buffers ` +
        `outstanding, ${s.slabs} slabs = ${(s.reservedBytes / 1048576).toFixed(1)} MiB reserved`,
    );
  }
  gc.stop();
  console.log(`GC: ${gc.count} collections, ${gc.ms.toFixed(1)} ms total`);
  const leftA = await a.close();
  const leftB = await b.close();
  console.log(`buffers outstanding after close: A ${leftA}, B ${leftB}`);
  if (bad > 0 || leftA !== 0 || leftB !== 0) {
    console.error(`demo FAILED: ${bad} corrupt packets, ${leftA + leftB} buffers leaked`);
    process.exit(1);
  }
  console.log('demo OK');
}

main().catch((err: unknown) => {
  console.error(err);
  process.exit(1);
});
