// Echo requests from the stack (ping.ts): a round trip between two stacks in both families, the time
// measured on the injected clock; replies that do not match (data, source, identifier) resolve
// nothing; timeouts, ICMP errors quoting a request, the bound on outstanding requests and close()
// reject in node:net's shape; no buffer is left behind.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { checksum, pseudoHeaderSumOf } from '../net/checksum.js';
import { MAX_OUTSTANDING_PINGS } from './ping.js';
import { Harness, icmp, ipv4, ipv6, settle, wire } from './_testing.js';

/** The echo request in an outbound packet: [identifier, sequence, data], its checksum verified. */
function request(p: Uint8Array): [number, number, Uint8Array] {
  const v4 = p[0]! >>> 4 === 4;
  const m = p.subarray(v4 ? 20 : 40);
  assert.equal(m[0], v4 ? 8 : 128, 'an echo request');
  assert.equal(m[1], 0);
  const initial = v4 ? 0 : pseudoHeaderSumOf(p.subarray(8, 24), p.subarray(24, 40), 58, m.length);
  assert.equal(checksum(m, 0, m.length, initial), 0xffff, 'checksum');
  return [(m[4]! << 8) | m[5]!, (m[6]! << 8) | m[7]!, m.slice(8)];
}

/** An echo reply from `from` to `to` with the given identifier, sequence and data. */
function reply(from: string, to: string, id: number, seq: number, data: Uint8Array): Uint8Array {
  const v6 = from.includes(':');
  const m = icmp(from, to, v6 ? 129 : 0, 0, ((id << 16) | seq) >>> 0, data);
  return v6 ? ipv6(from, to, 58, m) : ipv4(from, to, 1, m);
}

test('ping between two stacks: both families, the round trip on the clock, nothing left behind', async () => {
  const a = new Harness();
  const b = new Harness({ addresses: ['10.0.0.2/24', 'fd00::2/64'], clock: a.clock });
  wire(a, b);
  for (const dst of ['10.0.0.2', 'fd00::2']) {
    const rtt = a.stack.ping(dst);
    // The request waits for the end of this turn; the clock moves meanwhile.
    a.clock.advance(7);
    assert.equal(await rtt, 7, dst);
  }
  assert.equal(b.stack.counters.echoReplies, 2);
  assert.equal(a.stack.counters.echoRepliesReceived, 2);
  assert.equal(a.stack.pingsOutstanding, 0);
  assert.equal(a.clock.pending, 0, 'no timer left');
  a.stack.close();
  b.stack.close();
  assert.equal(a.pool.outstanding + b.pool.outstanding, 0, 'buffers leaked');
});

test('a reply resolves its request only with the same identifier, sequence, source and data', async () => {
  const h = new Harness();
  let rtt = -1;
  void h.stack.ping('10.0.0.9', { size: 16 }).then((ms) => (rtt = ms));
  const [id, seq, data] = request(h.take()[0]!);
  assert.equal(data.length, 16);
  const wrong = data.slice();
  wrong[3]! ^= 1;
  h.inject(
    reply('10.0.0.9', '10.0.0.1', id, seq, wrong),
    reply('10.0.0.8', '10.0.0.1', id, seq, data),
    reply('10.0.0.9', '10.0.0.1', id ^ 1, seq, data),
    reply('10.0.0.9', '10.0.0.1', id, seq, data.subarray(0, 15)),
  );
  await settle();
  assert.equal(rtt, -1, 'no mismatched reply resolved it');
  assert.equal(h.stack.counters.icmpIgnored, 4);
  h.clock.advance(3);
  h.inject(reply('10.0.0.9', '10.0.0.1', id, seq, data));
  await settle();
  assert.equal(rtt, 3);
  h.stack.close();
  assert.equal(h.pool.outstanding, 0);
});

test('no reply: ETIMEDOUT after the timeout; an ICMP error quoting the request: EHOSTUNREACH', async () => {
  const h = new Harness();
  const lost = h.stack.ping('fd00::9', { timeout: 2000 });
  h.take();
  h.clock.advance(1999);
  await settle();
  assert.equal(h.stack.pingsOutstanding, 1);
  h.clock.advance(1);
  await assert.rejects(lost, { code: 'ETIMEDOUT', syscall: 'ping', address: 'fd00::9' });

  for (const [dst, router] of [['10.0.0.9', '10.0.0.254'], ['fd00::9', 'fd00::fe']] as const) {
    const p = h.stack.ping(dst);
    const req = h.take()[0]!;
    // Destination unreachable (code 1: host), quoting the request as sent.
    const v6 = dst.includes(':');
    const err = icmp(router, v6 ? 'fd00::1' : '10.0.0.1', v6 ? 1 : 3, v6 ? 3 : 1, 0, req);
    h.inject(v6 ? ipv6(router, 'fd00::1', 58, err) : ipv4(router, '10.0.0.1', 1, err));
    await assert.rejects(p, { code: 'EHOSTUNREACH', address: dst });
  }
  assert.equal(h.stack.pingsOutstanding, 0);
  assert.equal(h.clock.pending, 0, 'the timers went with the requests');
  h.stack.close();
  assert.equal(h.pool.outstanding, 0);
});

test('outstanding requests are bounded; close() rejects the waiting ones; bad arguments throw', async () => {
  const h = new Harness();
  const waiting: Promise<number>[] = [];
  for (let i = 0; i < MAX_OUTSTANDING_PINGS; i++) waiting.push(h.stack.ping('10.0.0.9'));
  await assert.rejects(h.stack.ping('10.0.0.9'), { code: 'ENOBUFS' });
  const seqs = new Set(h.take().map((p) => request(p)[1]));
  assert.equal(seqs.size, MAX_OUTSTANDING_PINGS, 'each request its own sequence number');
  h.stack.close();
  for (const p of waiting) await assert.rejects(p, { code: 'ECONNABORTED' });
  await assert.rejects(h.stack.ping('10.0.0.9'), { code: 'ECONNABORTED' });
  assert.throws(() => h.stack.ping('not-an-address'), TypeError);
  assert.throws(() => h.stack.ping('10.0.0.9', { timeout: 0 }), RangeError);
  assert.throws(() => h.stack.ping('10.0.0.9', { size: 5000 }), RangeError);
  assert.equal(h.pool.outstanding, 0);
});

test('no address of the family: ENETUNREACH', async () => {
  const h = new Harness({ addresses: ['10.0.0.1/24'] });
  await assert.rejects(h.stack.ping('fd00::9'), { code: 'ENETUNREACH' });
  h.stack.close();
  assert.equal(h.pool.outstanding, 0);
});
