/**
 * A DNS server for the namespace tests (not part of the public API): serves the zone given as JSON on
 * UDP and TCP port 53 (or the port given) of each address given, with the kernel's sockets, and says
 * "ready" on stdout once every socket is bound.
 *
 *   node dist/tunnel/_dns-serve.js <zone-json> <port> <address>...
 */
import dgram from 'node:dgram';
import net from 'node:net';
import { answer, type Zone } from './_dns-responder.js';

const [zoneText, portText, ...addresses] = process.argv.slice(2);
const zone = JSON.parse(zoneText ?? '{}') as Zone;
const port = Number(portText ?? 53);

async function serveUdp(address: string): Promise<void> {
  const sock = dgram.createSocket(address.includes(':') ? 'udp6' : 'udp4');
  sock.on('message', (q, r) => {
    const a = answer(q, zone);
    if (a !== null) sock.send(a, r.port, r.address);
  });
  await new Promise<void>((resolve, reject) => {
    sock.once('error', reject);
    sock.bind(port, address, () => resolve());
  });
}

async function serveTcp(address: string): Promise<void> {
  const server = net.createServer((c) => {
    let buf = Buffer.alloc(0);
    c.on('data', (d: Buffer) => {
      buf = Buffer.concat([buf, d]);
      while (buf.length >= 2 && buf.length >= 2 + buf.readUInt16BE(0)) {
        const q = buf.subarray(2, 2 + buf.readUInt16BE(0));
        buf = buf.subarray(2 + q.length);
        const a = answer(q, zone, true);
        if (a === null) continue;
        const len = Buffer.alloc(2);
        len.writeUInt16BE(a.length);
        c.write(Buffer.concat([len, a]));
      }
    });
    c.on('error', () => c.destroy());
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, address, () => resolve());
  });
}

for (const a of addresses) {
  await serveUdp(a);
  await serveTcp(a);
}
process.stdout.write('ready\n');
