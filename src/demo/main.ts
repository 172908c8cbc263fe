/**
 * The demo (`npm start`): a real WireGuard tunnel in one process, no root, no TUN device.
 *
 * Two Tunnels (each a WireGuard device whose other side is wgts's own TCP/IP stack) talk WireGuard over
 * real UDP on 127.0.0.1, through the bind a library user gets by default (the batched native one where
 * the shim built, node:dgram elsewhere). B serves HTTP on its tunnel address with Node's own http
 * server; A downloads a generated body with `fetch` and uploads one through a TCP socket, and both ends
 * check SHA-256. Then a UDP round trip. It prints the handshake time, each direction's throughput, the
 * packet pools and the process's memory, and exits 0 only when every byte arrived intact and no packet
 * buffer is left outstanding. WGTS_DEMO_MIB sets the size of each transfer (default 64).
 */
import { createHash } from 'node:crypto';
import http from 'node:http';
import { Readable } from 'node:stream';
import { GcMeter } from '../base/gc-meter.js';
import { keyToBase64 } from '../crypto/keys.js';
import { generatePrivateKey, publicKey } from '../crypto/x25519.js';
import { Tunnel } from '../tunnel/tunnel.js';

const MIB = Number(process.env.WGTS_DEMO_MIB ?? 64);
const TOTAL_BYTES = Math.max(1, Math.round(MIB * 1024 * 1024));
const CHUNK_BYTES = 64 * 1024;

/** One deterministic chunk, repeated with its index stamped in, so the body is cheap and not constant. */
const PATTERN = new Uint8Array(CHUNK_BYTES);
for (let i = 0; i < CHUNK_BYTES; i++) PATTERN[i] = (i * 131 + (i >>> 8) * 7) & 0xff;

/** The body: TOTAL_BYTES made of PATTERN with each chunk's index in its first 4 bytes. */
function body(): Readable {
  let sent = 0;
  let index = 0;
  return new Readable({
    highWaterMark: 4 * CHUNK_BYTES,
    read() {
      if (sent >= TOTAL_BYTES) {
        this.push(null);
        return;
      }
      const n = Math.min(CHUNK_BYTES, TOTAL_BYTES - sent);
      const chunk = Buffer.from(PATTERN.subarray(0, n));
      chunk.writeUInt32BE(index++ >>> 0, 0);
      sent += n;
      this.push(chunk);
    },
  });
}

async function expectedDigest(): Promise<string> {
  const h = createHash('sha256');
  for await (const chunk of body()) h.update(chunk as Buffer);
  return h.digest('hex');
}

function rate(bytes: number, ms: number): string {
  return `${((bytes * 8) / (ms / 1000) / 1e9).toFixed(3)} Gbit/s`;
}

async function main(): Promise<void> {
  const gc = new GcMeter();

  const keyA = generatePrivateKey();
  const keyB = generatePrivateKey();
  const b = await Tunnel.open(`
[Interface]
PrivateKey = ${keyToBase64(keyB)}
Address = 10.0.0.2/24, fd00::2/64
ListenPort = 0

[Peer]
PublicKey = ${keyToBase64(publicKey(keyA))}
AllowedIPs = 10.0.0.1/32, fd00::1/128
`);
  const a = await Tunnel.open(
    `
[Interface]
PrivateKey = ${keyToBase64(keyA)}
Address = 10.0.0.1/24, fd00::1/64

[Peer]
PublicKey = ${keyToBase64(publicKey(keyB))}
Endpoint = 127.0.0.1:${b.device.listenPort}
AllowedIPs = 10.0.0.0/24, fd00::/64
`,
    { hosts: { 'b.demo': '10.0.0.2' } },
  );
  console.log(`wgts demo: two tunnels in one process, WireGuard over UDP 127.0.0.1:${a.device.listenPort} <-> 127.0.0.1:${b.device.listenPort}`);
  console.log(`A is 10.0.0.1 / fd00::1, B is 10.0.0.2 / fd00::2 inside the tunnel; ${MIB} MiB each way`);

  const want = await expectedDigest();

  // B: an HTTP server on its tunnel address, Node's own, fed the tunnel's sockets; POST bodies are hashed.
  const uploads: Promise<string>[] = [];
  const web = http.createServer((req, res) => {
    if (req.method === 'POST') {
      const h = createHash('sha256');
      const done = new Promise<string>((resolve, reject) => {
        req.on('data', (d: Buffer) => h.update(d));
        req.on('end', () => {
          const digest = h.digest('hex');
          res.end(digest);
          resolve(digest);
        });
        req.on('error', reject);
      });
      uploads.push(done);
      return;
    }
    res.setHeader('content-length', String(TOTAL_BYTES));
    body().pipe(res);
  });
  const server = b.createServer((socket) => web.emit('connection', socket)).listen(80);

  // The handshake happens on the first packet: time the first request.
  const t0 = performance.now();
  const hello = await fetch('http://b.demo/hello', { method: 'HEAD', dispatcher: a.dispatcher });
  const handshakeMs = performance.now() - t0;
  console.log(`handshake and first request: ${handshakeMs.toFixed(1)} ms (HTTP ${hello.status})`);

  // Download: fetch through the tunnel's undici dispatcher.
  const t1 = performance.now();
  const res = await fetch('http://b.demo/big', { dispatcher: a.dispatcher });
  const hd = createHash('sha256');
  let got = 0;
  for await (const chunk of res.body as unknown as AsyncIterable<Uint8Array>) {
    hd.update(chunk);
    got += chunk.length;
  }
  const downMs = performance.now() - t1;
  const downOk = got === TOTAL_BYTES && hd.digest('hex') === want;
  console.log(`download (fetch, B -> A): ${got} bytes in ${(downMs / 1000).toFixed(2)} s, ${rate(got, downMs)}, SHA-256 ${downOk ? 'ok' : 'MISMATCH'}`);

  // Upload: a raw TCP socket through the tunnel (net.Socket's shape), HTTP written by hand, over IPv6.
  const t2 = performance.now();
  const upOk = await new Promise<boolean>((resolve, reject) => {
    const sock = a.connect(80, 'fd00::2', () => {
      sock.write(`POST /up HTTP/1.1\r\nhost: b.demo\r\ncontent-length: ${TOTAL_BYTES}\r\nconnection: close\r\n\r\n`);
      body().pipe(sock, { end: false });
    });
    let reply = '';
    sock.setEncoding('utf8');
    sock.on('data', (d: string) => (reply += d));
    sock.on('end', () => resolve(reply.endsWith(want)));
    sock.on('error', reject);
  });
  const upMs = performance.now() - t2;
  const serverSaw = (await Promise.all(uploads)).every((d) => d === want);
  console.log(`upload (TCP socket over IPv6, A -> B): ${TOTAL_BYTES} bytes in ${(upMs / 1000).toFixed(2)} s, ${rate(TOTAL_BYTES, upMs)}, SHA-256 ${upOk && serverSaw ? 'ok' : 'MISMATCH'}`);

  // UDP: an echo on B, a datagram from A (node:dgram's shape).
  const echo = b.createSocket('udp4', (msg, rinfo) => echo.send(msg, rinfo.port, rinfo.address));
  await new Promise<void>((resolve) => echo.bind(7, resolve));
  const client = a.createSocket('udp4');
  const udpReply = new Promise<string>((resolve) => client.once('message', (msg) => resolve(msg.toString())));
  client.send('hello through the tunnel', 7, '10.0.0.2');
  const udpOk = (await udpReply) === 'hello through the tunnel';
  console.log(`UDP echo: ${udpOk ? 'ok' : 'MISMATCH'}`);

  const mem = process.memoryUsage();
  for (const [name, t] of [['A', a], ['B', b]] as const) {
    const s = t.device.pool.stats();
    console.log(
      `pool ${name}: ${s.gets} gets, ${s.hits} from free lists, peak ${s.peakOutstanding} buffers outstanding, ` +
        `${s.slabs} slabs = ${(s.reservedBytes / 1048576).toFixed(1)} MiB reserved`,
    );
  }
  console.log(`process: RSS ${(mem.rss / 1048576).toFixed(1)} MiB, heap ${(mem.heapUsed / 1048576).toFixed(1)} MiB, array buffers ${(mem.arrayBuffers / 1048576).toFixed(1)} MiB; GC ${gc.count} collections, ${gc.ms.toFixed(1)} ms`);
  gc.stop();

  client.close();
  echo.close();
  server.close();
  web.close();
  const poolA = a.device.pool;
  const poolB = b.device.pool;
  await a.close();
  await b.close();
  const left = poolA.outstanding + poolB.outstanding;
  console.log(`buffers outstanding after close: ${left}`);
  if (!downOk || !upOk || !serverSaw || !udpOk || left !== 0) {
    console.error('demo FAILED');
    process.exit(1);
  }
  console.log('demo OK');
}

main().catch((err: unknown) => {
  console.error(err);
  process.exit(1);
});
