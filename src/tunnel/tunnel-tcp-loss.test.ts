// TCP through two whole Tunnels (netstack, device, WireGuard, memory network) with the tunnel's UDP
// datagrams lost (1%, 5%, bursts), duplicated and reordered on the memory network: every byte of a
// bulk transfer in each direction arrives in order, both families; the recovery counters moved; the
// pools end at zero. (The WireGuard replay window drops duplicated datagrams before TCP sees them;
// reordered ones reach TCP reordered.)
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { once } from 'node:events';
import { createHash } from 'node:crypto';
import type { Endpoint } from '../conn/bind.js';
import type { TcpSocket } from '../netstack/tcp-socket.js';
import { tunnelPair, type TunnelPair } from './_testing.js';

interface Faults {
  loss: number;
  burst: number;
  duplicate: number;
  reorder: number;
}

/** Faults on every datagram of the memory network; deterministic (xorshift). */
function inject(p: TunnelPair, f: Faults, seed: number): () => void {
  let x = seed;
  const rnd = (): number => {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    return (x >>> 0) / 0x1_0000_0000;
  };
  let burst = 0;
  let inner = false;
  const held: [Uint8Array, Endpoint, Endpoint][] = [];
  let timer: NodeJS.Immediate | null = null;
  const release = (): void => {
    timer = null;
    const now = held.splice(0);
    inner = true;
    for (const [d, from, to] of now) p.net.transmit(d, from, to);
    inner = false;
  };
  p.net.filter = (data, from, to) => {
    if (inner) return true;
    if (burst > 0) {
      burst--;
      return false;
    }
    if (rnd() < f.loss) {
      burst = f.burst - 1;
      return false;
    }
    if (rnd() < f.duplicate) {
      inner = true;
      p.net.transmit(data.slice(), from, to);
      inner = false;
    }
    if (rnd() < f.reorder) {
      held.push([data.slice(), from, to]);
      timer ??= setImmediate(release);
      return false;
    }
    return true;
  };
  return () => {
    p.net.filter = null;
    if (timer !== null) clearImmediate(timer);
    held.length = 0;
  };
}

function digestOf(s: TcpSocket): Promise<{ sha: string; bytes: number }> {
  const h = createHash('sha256');
  let bytes = 0;
  s.on('data', (d: Buffer) => {
    h.update(d);
    bytes += d.length;
  });
  return new Promise((resolve, reject) => {
    s.once('end', () => resolve({ sha: h.digest('hex'), bytes }));
    s.once('error', reject);
  });
}

const cases: { name: string; f: Faults; seed: number }[] = [
  { name: '1% loss', f: { loss: 0.01, burst: 1, duplicate: 0, reorder: 0 }, seed: 101 },
  { name: '5% loss', f: { loss: 0.05, burst: 1, duplicate: 0, reorder: 0 }, seed: 102 },
  { name: 'bursts of 3 at 1%', f: { loss: 0.01, burst: 3, duplicate: 0, reorder: 0 }, seed: 103 },
  { name: '1% loss, 2% duplication, 2% reordering', f: { loss: 0.01, burst: 1, duplicate: 0.02, reorder: 0.02 }, seed: 104 },
];

for (const c of cases) {
  test(`TCP through two Tunnels with ${c.name}: 2 MiB each way, both families, every byte`, async () => {
    const p = await tunnelPair();
    // The stack's timers never hold the event loop (a real bind's socket does); the memory network
    // holds nothing, so keep the loop alive while a retransmission timer is all that is pending.
    const keepAlive = setInterval(() => {}, 1000);
    const stop = inject(p, c.f, c.seed);
    // allowHalfOpen: the server answers after the client's FIN (as net.Server needs it to).
    const server = p.b.createServer({ allowHalfOpen: true }, (s) => {
      // Upload in, then the download out: the server answers with the SHA-256 of what it got, then 2 MiB.
      const got = digestOf(s);
      s.on('error', () => {});
      void got.then(({ sha }) => {
        s.write(sha);
        s.end(download);
      });
    });
    const download = Buffer.alloc(2 << 20);
    for (let i = 0; i < download.length; i++) download[i] = (i * 13 + (i >>> 12)) & 0xff;
    server.listen(9000);
    await once(server, 'listening');
    for (const host of ['10.0.0.2', 'fd00::2']) {
      const upload = Buffer.alloc(2 << 20);
      for (let i = 0; i < upload.length; i++) upload[i] = (i * 7 + host.length) & 0xff;
      const s = p.a.connect(9000, host);
      await once(s, 'connect');
      const reply = digestOf(s);
      s.end(upload);
      const { sha, bytes } = await reply;
      const want = createHash('sha256').update(Buffer.concat([Buffer.from(createHash('sha256').update(upload).digest('hex')), download])).digest('hex');
      assert.equal(bytes, 64 + download.length, `${host}: reply length`);
      assert.equal(sha, want, `${host}: upload checked by the server, download intact`);
    }
    const a = p.a.stats().tcp;
    const b = p.b.stats().tcp;
    assert.ok(a.retransmits > 0 && b.retransmits > 0, 'both directions recovered losses');
    assert.ok(a.fastRecoveries + b.fastRecoveries > 0, 'SACK/RACK recovery ran');
    stop();
    clearInterval(keepAlive);
    server.close();
    await p.a.close();
    await p.b.close();
    assert.equal(p.poolA.outstanding, 0, 'A leaked buffers');
    assert.equal(p.poolB.outstanding, 0, 'B leaked buffers');
  });
}
