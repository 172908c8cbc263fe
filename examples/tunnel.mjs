// Two Tunnels in one process, WireGuard between them over real UDP on 127.0.0.1. Each has its own
// address inside the tunnel, and the program talks through it with sockets: no root, no TUN device.
// Run from a clone after `npm install`: node examples/tunnel.mjs
import http from 'node:http';
import { Tunnel, generatePrivateKey, publicKey, keyToBase64 } from 'wgts';

const keyA = generatePrivateKey();
const keyB = generatePrivateKey();

// B: a wg-quick file, as for any WireGuard interface. ListenPort = 0 picks a free port.
const b = await Tunnel.open(`
[Interface]
PrivateKey = ${keyToBase64(keyB)}
Address = 10.0.0.2/24
ListenPort = 0

[Peer]
PublicKey = ${keyToBase64(publicKey(keyA))}
AllowedIPs = 10.0.0.1/32
`);

// A knows where B listens; B learns A's endpoint from the handshake.
const a = await Tunnel.open(`
[Interface]
PrivateKey = ${keyToBase64(keyA)}
Address = 10.0.0.1/24

[Peer]
PublicKey = ${keyToBase64(publicKey(keyB))}
Endpoint = 127.0.0.1:${b.device.listenPort}
AllowedIPs = 10.0.0.0/24
`, { hosts: { 'b.internal': '10.0.0.2' } });

// An HTTP server listening on B's tunnel address: Node's own http server, fed the tunnel's sockets.
const web = http.createServer((req, res) => res.end(`hello ${req.socket.remoteAddress}, you asked for ${req.url}\n`));
b.createServer((socket) => web.emit('connection', socket)).listen(80);

// fetch through the tunnel (the global fetch, with the tunnel's undici dispatcher). Host names resolve
// through a.lookup(): here a hosts entry; with DNS = in the config, the tunnel's name servers.
const res = await fetch('http://b.internal/hi', { dispatcher: a.dispatcher });
console.log(`A fetched: ${(await res.text()).trim()}`);

// TCP in net.Socket's shape, and UDP in node:dgram's.
const sock = a.connect(80, '10.0.0.2', () => sock.end('GET /raw HTTP/1.0\r\n\r\n'));
sock.on('data', (d) => console.log(`A read ${d.length} bytes from ${sock.remoteAddress}:${sock.remotePort}`));
await new Promise((resolve) => sock.on('close', resolve));

// A UDP echo server on B's tunnel address, in node:dgram's shape.
const echo = b.createSocket('udp4', (msg, rinfo) => echo.send(msg, rinfo.port, rinfo.address));
echo.bind(7);

const [address] = await a.lookup('b.internal');
const client = a.createSocket('udp4');
const reply = new Promise((resolve) => client.once('message', (msg, rinfo) => resolve(`${msg} from ${rinfo.address}:${rinfo.port}`)));
client.send('hello through the tunnel', 7, address);
console.log(`A got: ${await reply}`);
console.log(`A's peer: ${JSON.stringify(a.stats().peers[0])}`);

await a.close();
await b.close();
web.close();
