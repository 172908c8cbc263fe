/**
 * The client side of the rootless benchmark (rootless.ts), run inside the client namespace. One
 * program for every path, so the rows differ only in the path: `via` is
 *
 * - "net": the kernel's TCP (through the wgts daemon's TUN, or to a forwarder's local port);
 * - "socks5": the kernel's TCP to a SOCKS5 proxy, then RFC 1928 CONNECT to the target;
 * - "tunnel": a Tunnel opened in this process from a wg-quick file (the rootless library).
 *
 * Modes (one JSON argument: {mode, via, host, port, ...}):
 * - down: bytes received from the first one for `seconds`; prints {"bytes","ms"} and exits.
 * - up: writes as fast as the connection takes them until the sink ends it (it counts, bulk-serve.ts);
 *   prints {"sent"} and exits.
 * - hold: opens `count` connections to the echo service when told "open" on stdin (each proven by one
 *   echoed byte), prints "open N"; ends them all on "close" and prints "closed" once every one is
 *   closed; exits on "exit". The harness reads this process's RSS (or the proxy's) in between.
 * - soak: for `seconds`, `concurrency` loops each open a connection, send 1 KiB, read its echo and
 *   close; prints {"done","failed"}.
 * Every line that ends a mode carries, for "tunnel", the Tunnel's TCP counters as well.
 *
 * Before anything, the process prints "ready" (for "tunnel": once the tunnel has a handshake).
 */
import net from 'node:net';
import { readFileSync } from 'node:fs';
import { createInterface } from 'node:readline';
import type { Duplex } from 'node:stream';
import type { CongestionName } from '../netstack/tcp/congestion.js';
import { Tunnel } from '../tunnel/tunnel.js';

export interface ClientJob {
  mode: 'down' | 'up' | 'hold' | 'soak';
  via: 'net' | 'socks5' | 'tunnel';
  host: string;
  port: number;
  /** "tunnel": the wg-quick file. */
  config?: string;
  /** "socks5": the proxy, HOST:PORT. */
  socks?: string;
  seconds?: number;
  count?: number;
  concurrency?: number;
}

const WRITE_BYTES = 64 * 1024;
const HANDSHAKE_WAIT_MS = 10_000;
/** Connections opened at once by hold (a SYN burst of 1,000 overflows queues for no gain). */
const OPEN_AT_ONCE = 100;
const SOAK_MESSAGE_BYTES = 1024;

type Opener = () => Promise<Duplex>;

function connected<T extends Duplex>(sock: T, event = 'connect'): Promise<T> {
  return new Promise((resolve, reject) => {
    const onError = (err: Error): void => reject(err);
    sock.once('error', onError);
    sock.once(event, () => {
      sock.off('error', onError);
      resolve(sock);
    });
  });
}

/** Resolves at the socket's 'close', whatever error came before it. */
function closed(sock: Duplex): Promise<void> {
  return sock.closed ? Promise.resolve() : new Promise((resolve) => sock.once('close', () => resolve()));
}

/** Read exactly n bytes (anything past them is put back for the next reader). */
async function readN(sock: Duplex, n: number): Promise<Buffer> {
  let got = Buffer.alloc(0);
  while (got.length < n) {
    const chunk = sock.read() as Buffer | null;
    if (chunk !== null) {
      got = Buffer.concat([got, chunk]);
      continue;
    }
    if (sock.readableEnded || sock.destroyed) throw new Error('closed before the reply');
    await new Promise<void>((resolve) => {
      const done = (): void => {
        sock.off('readable', done);
        sock.off('close', done);
        resolve();
      };
      sock.once('readable', done);
      sock.once('close', done);
    });
  }
  if (got.length > n) sock.unshift(got.subarray(n));
  return got.subarray(0, n);
}

/** RFC 1928 §3-§6 with no authentication, CONNECT to an IPv4 address. */
async function socks5Connect(proxy: string, host: string, port: number): Promise<Duplex> {
  const at = proxy.lastIndexOf(':');
  const sock = await connected(net.connect({ host: proxy.slice(0, at), port: Number(proxy.slice(at + 1)), noDelay: true }));
  sock.write(Buffer.from([5, 1, 0]));
  const method = await readN(sock, 2);
  if (method[1] !== 0) throw new Error(`SOCKS5 method refused (${method[1]})`);
  const req = Buffer.alloc(10);
  req.set([5, 1, 0, 1], 0);
  req.set(host.split('.').map(Number), 4);
  req.writeUInt16BE(port, 8);
  sock.write(req);
  const reply = await readN(sock, 10);
  if (reply[1] !== 0) throw new Error(`SOCKS5 CONNECT failed (reply ${reply[1]})`);
  return sock;
}

async function openTunnel(file: string): Promise<Tunnel> {
  // BENCH_TUNNEL_CONGESTION: the Tunnel's TCP congestion control for a comparison run (default: the Tunnel's own).
  const congestion = process.env.BENCH_TUNNEL_CONGESTION as CongestionName | undefined;
  const tunnel = await Tunnel.open(readFileSync(file, 'utf8'), congestion !== undefined ? { tcp: { congestion } } : {});
  const end = Date.now() + HANDSHAKE_WAIT_MS;
  while (tunnel.stats().peers.every((p) => p.lastHandshake === 0)) {
    if (Date.now() > end) throw new Error('no handshake');
    await new Promise((r) => setTimeout(r, 20));
  }
  return tunnel;
}

function opener(job: ClientJob, tunnel: Tunnel | null): Opener {
  switch (job.via) {
    case 'net':
      return () => connected(net.connect({ host: job.host, port: job.port, noDelay: true }));
    case 'socks5':
      return () => socks5Connect(job.socks!, job.host, job.port);
    case 'tunnel':
      return () => connected(tunnel!.connect({ host: job.host, port: job.port }));
  }
}

function say(line: unknown): void {
  process.stdout.write((typeof line === 'string' ? line : JSON.stringify(line)) + '\n');
}

async function download(open: Opener, seconds: number): Promise<{ bytes: number; ms: number }> {
  const sock = await open();
  let bytes = 0;
  let start = 0;
  return new Promise((resolve, reject) => {
    const finish = (): void => {
      sock.destroy();
      resolve({ bytes, ms: Math.min(Date.now() - start, seconds * 1000) });
    };
    sock.on('data', (d: Buffer) => {
      if (start === 0) {
        start = Date.now();
        setTimeout(finish, seconds * 1000);
      }
      bytes += d.length;
    });
    sock.on('error', reject);
    sock.on('close', () => (start === 0 ? reject(new Error('closed before any data')) : finish()));
  });
}

async function upload(open: Opener): Promise<{ sent: number }> {
  const sock = await open();
  const chunk = Buffer.alloc(WRITE_BYTES, 0xa5);
  let sent = 0;
  const pump = (): void => {
    while (!sock.destroyed) {
      sent += chunk.length;
      if (!sock.write(chunk)) return;
    }
  };
  // The sink ends the transfer with a reset: the error is the expected end, not a failure.
  const ended = closed(sock);
  sock.on('drain', pump);
  sock.on('error', () => undefined);
  sock.resume();
  pump();
  await ended;
  return { sent };
}

/** One connection to the echo service, proven end to end by one echoed byte. */
async function openEchoed(open: Opener): Promise<Duplex> {
  const sock = await open();
  sock.write(Buffer.from([1]));
  await readN(sock, 1);
  return sock;
}

/** process.memoryUsage() in MiB, rounded to 0.1. */
function memory(): Record<string, number> {
  const out: Record<string, number> = {};
  for (const [k, v] of Object.entries(process.memoryUsage())) out[k] = Math.round((v / 1048576) * 10) / 10;
  return out;
}

async function hold(open: Opener, count: number): Promise<void> {
  const socks: Duplex[] = [];
  const lines = createInterface({ input: process.stdin });
  for await (const line of lines) {
    if (line === 'open') {
      for (let i = 0; i < count; i += OPEN_AT_ONCE) {
        const batch: Promise<Duplex>[] = [];
        for (let j = i; j < Math.min(count, i + OPEN_AT_ONCE); j++) batch.push(openEchoed(open));
        for (const s of await Promise.all(batch)) {
          s.on('error', () => undefined);
          socks.push(s);
        }
      }
      say(`open ${socks.length}`);
    } else if (line === 'close') {
      const all = socks.map(closed);
      for (const s of socks) {
        s.end();
        s.resume(); // the echo's FIN must be read for the close to complete
      }
      await Promise.all(all);
      socks.length = 0;
      say('closed');
    } else if (line === 'mem') {
      // Where this process's memory is (the harness reads RSS from /proc; this splits it up).
      say(memory());
    } else if (line === 'gc') {
      (globalThis as { gc?: () => void }).gc?.();
      say('gc');
    } else if (line === 'exit') {
      return;
    }
  }
}

async function soak(open: Opener, seconds: number, concurrency: number): Promise<{ done: number; failed: number }> {
  const end = Date.now() + seconds * 1000;
  const message = Buffer.alloc(SOAK_MESSAGE_BYTES, 0x33);
  let done = 0;
  let failed = 0;
  const loop = async (): Promise<void> => {
    while (Date.now() < end) {
      try {
        const sock = await open();
        sock.on('error', () => undefined);
        sock.write(message);
        await readN(sock, message.length);
        const ended = closed(sock);
        sock.end();
        sock.resume();
        await ended;
        done++;
      } catch {
        failed++;
      }
    }
  };
  await Promise.all(Array.from({ length: concurrency }, loop));
  return { done, failed };
}

async function main(): Promise<void> {
  const job = JSON.parse(process.argv[2] ?? '{}') as ClientJob;
  const tunnel = job.via === 'tunnel' ? await openTunnel(job.config!) : null;
  const open = opener(job, tunnel);
  say('ready');
  const extra = (): Record<string, number> => {
    const used = process.cpuUsage();
    const cpu = (used.user + used.system) / 1e6;
    if (tunnel === null) return { cpu };
    const t = tunnel.stats().tcp;
    return { cpu, retransmits: t.retransmits, rtoTimeouts: t.rtoTimeouts, fastRecoveries: t.fastRecoveries, dsacks: t.dsacksReceived };
  };
  switch (job.mode) {
    case 'down':
      say({ ...(await download(open, job.seconds ?? 10)), ...extra() });
      break;
    case 'up':
      say({ ...(await upload(open)), ...extra() });
      break;
    case 'hold':
      await hold(open, job.count ?? 1000);
      break;
    case 'soak':
      say({ ...(await soak(open, job.seconds ?? 60, job.concurrency ?? 16)), ...extra() });
      break;
  }
  process.exit(0);
}

main().catch((err: unknown) => {
  console.error(`bulk-client: ${(err as Error).stack ?? String(err)}`);
  process.exit(1);
});
