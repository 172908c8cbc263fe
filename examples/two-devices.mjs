// Two WireGuard devices in one process, talking real UDP on 127.0.0.1: one IP packet goes through the
// tunnel from A to B. Run from a clone after `npm install`: node examples/two-devices.mjs
import { Device, MemoryTun, StdBind, generatePrivateKey, publicKey, keyToBase64 } from 'wgts';

const keyA = generatePrivateKey();
const keyB = generatePrivateKey();
const tunA = new MemoryTun({ name: 'a' });
const tunB = new MemoryTun({ name: 'b' });
const a = new Device({ tun: tunA, bind: new StdBind({ ipv6: false, ipv4Address: '127.0.0.1' }) });
const b = new Device({ tun: tunB, bind: new StdBind({ ipv6: false, ipv4Address: '127.0.0.1' }) });

// Configure with wg-quick style text (keys in base64), as `wg setconf` reads it.
await b.configure(`[Interface]\nPrivateKey = ${keyToBase64(keyB)}\nListenPort = 0\n`);
const portB = await b.up();
await a.configure(`
[Interface]
PrivateKey = ${keyToBase64(keyA)}

[Peer]
PublicKey = ${keyToBase64(publicKey(keyB))}
Endpoint = 127.0.0.1:${portB}
AllowedIPs = 10.0.0.2/32
`);
await a.up();
// B learns A's endpoint from the handshake; it only needs A's key and allowed IPs.
await b.ipcSet(`public_key=${Buffer.from(publicKey(keyA)).toString('hex')}\nallowed_ip=10.0.0.1/32\n`);

a.on('handshake', (peer) => console.log(`A: handshake with ${peer}`));
const arrived = new Promise((resolve) => {
  tunB.onPacket = (packet) => resolve(Buffer.from(packet));
});

// A minimal IPv4 header (protocol 253, "experimentation") from 10.0.0.1 to 10.0.0.2 plus a payload.
const payload = Buffer.from('hello through the tunnel');
const packet = Buffer.alloc(20 + payload.length);
packet[0] = 0x45;
packet.writeUInt16BE(packet.length, 2);
packet[8] = 64;
packet[9] = 253;
packet.set([10, 0, 0, 1], 12);
packet.set([10, 0, 0, 2], 16);
payload.copy(packet, 20);
tunA.writePacket(packet);

const got = await arrived;
console.log(`B received: ${got.subarray(20).toString()}`);
console.log(a.ipcGet().split('\n').filter((l) => l.startsWith('tx_bytes') || l.startsWith('endpoint')).join('\n'));
await a.close();
await b.close();
