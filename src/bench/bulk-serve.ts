/**
 * The kernel's side of the rootless benchmark (rootless.ts): TCP services on the peer's tunnel
 * address, served by the kernel's TCP/IP stack behind the peer's TUN. One process, three ports:
 *
 * - SOURCE_PORT: a download source. Each connection is written to as fast as it drains, from one
 *   reused buffer, until the client goes away.
 * - SINK_PORT: an upload sink. Each connection's bytes are counted from the first one for `seconds`;
 *   then one JSON line `{"port":SINK_PORT,"bytes":N,"ms":M}` goes to stdout and the connection is
 *   reset. The figure is taken where the bytes arrive, so nothing a sender or a forwarder buffers
 *   counts as sent.
 * - ECHO_PORT: an echo service with a backlog for thousands of connections at once (held idle for the
 *   RSS rows, opened and closed for the soak).
 *
 * Usage: node bulk-serve.js HOST SECONDS. Prints "ready" once all three listen.
 */
import net from 'node:net';
import { pathToFileURL } from 'node:url';

export const SOURCE_PORT = 5001;
export const SINK_PORT = 5002;
export const ECHO_PORT = 5003;
/** Node's default backlog (511) overflows when 1,000 connections arrive at once. */
const BACKLOG = 4096;
const WRITE_BYTES = 256 * 1024;

/** One upload's figure, as the sink prints it. */
export interface SinkReport {
  port: number;
  bytes: number;
  ms: number;
}

function serveSource(sock: net.Socket, chunk: Buffer): void {
  const pump = (): void => {
    while (!sock.destroyed && sock.write(chunk));
  };
  sock.on('drain', pump);
  sock.on('error', () => undefined);
  sock.resume();
  pump();
}

function serveSink(sock: net.Socket, seconds: number): void {
  let bytes = 0;
  let start = 0;
  let timer: NodeJS.Timeout | null = null;
  let reported = false;
  const report = (): void => {
    if (reported) return;
    reported = true;
    if (timer !== null) clearTimeout(timer);
    const r: SinkReport = { port: SINK_PORT, bytes, ms: Math.min(Date.now() - start, seconds * 1000) };
    process.stdout.write(JSON.stringify(r) + '\n');
    sock.resetAndDestroy();
  };
  sock.on('data', (d: Buffer) => {
    if (start === 0) {
      start = Date.now();
      timer = setTimeout(report, seconds * 1000);
    }
    bytes += d.length;
  });
  sock.on('error', () => undefined);
  // A sender that stopped early (or died) still gets its figure: what arrived over the time it ran.
  sock.on('close', () => {
    if (start !== 0) report();
  });
}

function serveEcho(sock: net.Socket): void {
  sock.on('error', () => undefined);
  sock.pipe(sock);
}

function main(): void {
  const [host, secondsText] = process.argv.slice(2);
  const seconds = Number(secondsText);
  if (host === undefined || !(seconds > 0)) {
    console.error('usage: bulk-serve.js HOST SECONDS');
    process.exit(2);
  }
  const chunk = Buffer.alloc(WRITE_BYTES, 0x5a);
  const servers = [
    net.createServer((s) => serveSource(s, chunk)).listen({ port: SOURCE_PORT, host, backlog: BACKLOG }),
    net.createServer((s) => serveSink(s, seconds)).listen({ port: SINK_PORT, host, backlog: BACKLOG }),
    net.createServer({ allowHalfOpen: true }, serveEcho).listen({ port: ECHO_PORT, host, backlog: BACKLOG }),
  ];
  let listening = 0;
  for (const s of servers) {
    s.on('listening', () => {
      if (++listening === servers.length) process.stdout.write('ready\n');
    });
    s.on('error', (err) => {
      console.error(`bulk-serve: ${err.message}`);
      process.exit(1);
    });
  }
}

if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href) main();
