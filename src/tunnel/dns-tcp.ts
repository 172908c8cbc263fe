/**
 * DNS over TCP (RFC 1035 §4.2.2, RFC 7766): the message with a two-byte length in front, the answer
 * likewise; used when a UDP answer came back truncated. One query per connection, bounded in time and
 * in size (a DNS message is at most 65535 bytes).
 */
import type { Duplex } from 'node:stream';

/** Send `query` on `sock` (connecting or connected) and resolve to the answer; the socket is closed after. */
export function queryOverTcp(sock: Duplex, query: Uint8Array, timeoutMs: number): Promise<Uint8Array> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let have = 0;
    let done = false;
    const timer = setTimeout(() => finish(new Error(`DNS over TCP: no answer in ${timeoutMs} ms`), null), timeoutMs);
    const finish = (err: Error | null, answer: Uint8Array | null): void => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      sock.removeAllListeners('data');
      sock.destroy();
      if (answer !== null) resolve(answer);
      else reject(err ?? new Error('DNS over TCP: connection closed before the answer'));
    };
    sock.on('data', (d: Buffer) => {
      chunks.push(d);
      have += d.length;
      if (have < 2) return;
      const all = Buffer.concat(chunks, have);
      const len = all.readUInt16BE(0);
      if (have >= 2 + len) finish(null, all.subarray(2, 2 + len));
    });
    sock.once('error', (err: Error) => finish(err, null));
    sock.once('close', () => finish(null, null));
    const framed = Buffer.alloc(2 + query.length);
    framed.writeUInt16BE(query.length, 0);
    framed.set(query, 2);
    sock.write(framed);
  });
}
