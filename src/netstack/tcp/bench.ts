/**
 * Benchmark: one TCP stream between two stacks in this process, with no IP layer and no crypto in
 * between, so what it measures is TCP and the socket: a link that hands each side's segments to the
 * other once per event-loop turn (as a device batch would), the real clock, a TcpSocket writing 256
 * KiB chunks with backpressure into a TcpSocket that counts what it reads. Reports Gbit/s each way for
 * CUBIC, NewReno and BBR, retransmissions (none expected without loss), GC count and pause, and the pool's
 * buffers at the end. `npm run bench:tcp` (node dist/netstack/tcp/bench.js); TCP_BENCH_MIB sets the size (default 500),
 * TCP_BENCH_LOSS a share of segments dropped at random each way (default 0; 0.01 for 1%), TCP_BENCH_CC
 * the controllers (comma list, default cubic,newreno,bbr).
 * Measures performance only; no test asserts on it.
 */
import { PerformanceObserver, type PerformanceEntry } from 'node:perf_hooks';
import { systemClock } from '../../base/clock.js';
import { HEADROOM_BYTES, TAILROOM_BYTES, TieredPool } from '../../buffer/index.js';
import type { PacketBuffer } from '../../buffer/packet-buffer.js';
import { TimerWheel } from '../timer-wheel.js';
import type { IpFamily, IpInfo, IpOutput } from '../transport.js';
import { TcpServer } from '../tcp-server.js';
import { TcpSocket } from '../tcp-socket.js';
import type { CongestionName } from './congestion.js';
import { Tcp } from './tcp.js';

const MIB = Number(process.env.TCP_BENCH_MIB ?? 500);
/** Share of segments the link drops at random, each way (TCP_BENCH_LOSS, e.g. 0.01): loss recovery's cost. */
const LOSS = Number(process.env.TCP_BENCH_LOSS ?? 0);
const CHUNK = Buffer.alloc(256 * 1024, 0x5a);

let gcCount = 0;
let gcMs = 0;
new PerformanceObserver((list) => {
  const entries: PerformanceEntry[] = list.getEntries();
  for (let i = 0; i < entries.length; i++) {
    gcCount++;
    gcMs += entries[i]!.duration;
  }
}).observe({ entryTypes: ['gc'] });

/** One side's IP layer: a queue handed to the peer's TCP once per turn. */
class TurnLink implements IpOutput {
  peer: TurnLink | null = null;
  tcp: Tcp | null = null;
  private queue: PacketBuffer[] = [];
  private scheduled = false;
  private readonly deliverFn = (): void => this.deliver();
  readonly info: IpInfo;

  constructor(
    private readonly pool: TieredPool,
    readonly address: Uint8Array,
    peerAddress: Uint8Array,
  ) {
    this.info = { family: 4, src: address, dst: peerAddress, ttl: 64, tos: 0 };
  }

  maxTransportBytes(family: IpFamily): number {
    return 1420 - (family === 4 ? 20 : 40);
  }

  alloc(_family: IpFamily, transportBytes: number): PacketBuffer | null {
    const buf = this.pool.get(HEADROOM_BYTES + 40 + transportBytes + TAILROOM_BYTES);
    if (buf === null) return null;
    buf.start += 40;
    buf.end = buf.start;
    return buf;
  }

  send(buf: PacketBuffer): boolean {
    this.queue.push(buf);
    if (!this.scheduled) {
      this.scheduled = true;
      setImmediate(this.deliverFn);
    }
    return true;
  }

  isLocal(): boolean {
    return true;
  }

  sourceFor(): Uint8Array {
    return this.address;
  }

  private deliver(): void {
    this.scheduled = false;
    const q = this.queue;
    this.queue = [];
    const tcp = this.peer!.tcp!;
    for (let i = 0; i < q.length; i++) {
      if (LOSS > 0 && Math.random() < LOSS) q[i]!.release();
      else tcp.receive(q[i]!, this.info);
    }
  }
}

async function run(congestion: CongestionName, upload: boolean): Promise<void> {
  const pool = new TieredPool({ debug: false });
  const wheel = new TimerWheel(systemClock);
  const addrA = Uint8Array.from([10, 0, 0, 1]);
  const addrB = Uint8Array.from([10, 0, 0, 2]);
  const a = new TurnLink(pool, addrA, addrB);
  const b = new TurnLink(pool, addrB, addrA);
  a.peer = b;
  b.peer = a;
  a.tcp = new Tcp(a, { wheel, congestion });
  b.tcp = new Tcp(b, { wheel, congestion });
  const total = MIB * 1024 * 1024;
  let received = 0;
  let done: () => void = () => {};
  const finished = new Promise<void>((r) => (done = r));
  const sink = (s: TcpSocket): void => {
    s.on('data', (d: Buffer) => {
      received += d.length;
      if (received >= total) done();
    });
  };
  const source = (s: TcpSocket): void => {
    let sent = 0;
    const pump = (): void => {
      while (sent < total) {
        sent += CHUNK.length;
        if (!s.write(CHUNK)) {
          s.once('drain', pump);
          return;
        }
      }
      s.end();
    };
    pump();
  };
  const server = new TcpServer(b.tcp, (s) => (upload ? sink(s) : source(s)));
  server.listen(5201);
  const gc0 = gcCount;
  const gcMs0 = gcMs;
  const t0 = performance.now();
  const c = new TcpSocket(a.tcp);
  c.connect(5201, '10.0.0.2', () => (upload ? source(c) : sink(c)));
  // The stacks' timers do not keep a process alive (a Tunnel's UDP socket does): without this, a run
  // whose segments in flight were all dropped would end the process while it waits for its RTO.
  const alive = setInterval(() => {}, 1000);
  await finished;
  clearInterval(alive);
  const dt = (performance.now() - t0) / 1000;
  const st = (upload ? a.tcp : b.tcp).stats();
  c.destroy();
  server.close();
  await new Promise((r) => setTimeout(r, 50));
  a.tcp.close();
  b.tcp.close();
  wheel.close();
  const dir = upload ? 'A->B' : 'B->A';
  console.log(
    `${congestion.padEnd(7)} ${dir}: ${((total * 8) / dt / 1e9).toFixed(2)} Gbit/s (${MIB} MiB in ${dt.toFixed(2)} s), ` +
      `retransmits ${st.retransmits}, GC ${gcCount - gc0} (${(gcMs - gcMs0).toFixed(0)} ms), pool outstanding ${pool.outstanding}`,
  );
}

for (const cc of (process.env.TCP_BENCH_CC?.split(',') ?? ['cubic', 'newreno', 'bbr']) as CongestionName[]) {
  await run(cc, true);
  await run(cc, false);
}
