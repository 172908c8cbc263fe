// DNS messages (RFC 1035 §4): the query we send, and responses read strictly: our ID and question only,
// CNAME chains in any order, compression with loops refused, malformed input never thrown.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { DNS_TYPE_A, DNS_TYPE_AAAA, DNS_UDP_PAYLOAD_BYTES, decodeResponse, encodeQuery, validName } from './dns-message.js';
import { answer } from './_dns-responder.js';

test('the query: header, question, EDNS(0) OPT with a 1232-byte payload', () => {
  const q = encodeQuery(0xabcd, 'db.Internal.', DNS_TYPE_AAAA);
  assert.deepEqual([...q.subarray(0, 12)], [0xab, 0xcd, 0x01, 0, 0, 1, 0, 0, 0, 0, 0, 1]);
  assert.deepEqual([...q.subarray(12, 12 + 13)], [2, 100, 98, 8, ...Buffer.from('Internal'), 0]);
  assert.deepEqual([...q.subarray(25, 29)], [0, 28, 0, 1]);
  assert.deepEqual([...q.subarray(29)], [0, 0, 41, DNS_UDP_PAYLOAD_BYTES >> 8, DNS_UDP_PAYLOAD_BYTES & 0xff, 0, 0, 0, 0, 0, 0]);
  assert.throws(() => encodeQuery(1, 'bad..name', DNS_TYPE_A), RangeError);
  assert.throws(() => encodeQuery(1, 'a'.repeat(64) + '.com', DNS_TYPE_A), RangeError);
  assert.ok(validName('_srv.example.com'));
  assert.ok(!validName('-x.com') && !validName('') && !validName('a b.com') && !validName('x'.repeat(254)));
});

test('answers through a CNAME chain, records in any order; case does not matter', () => {
  const zone = { 'www.example': { CNAME: 'web.example', ttl: 30 }, 'web.example': { A: ['10.1.2.3', '10.1.2.4'], AAAA: ['fd00::7'], ttl: 20 } };
  const r = decodeResponse(answer(encodeQuery(7, 'WWW.example', DNS_TYPE_A), zone)!, 7, 'WWW.example', DNS_TYPE_A)!;
  assert.equal(r.rcode, 0);
  assert.equal(r.truncated, false);
  assert.deepEqual(r.records.map((x) => [...x.address]), [[10, 1, 2, 3], [10, 1, 2, 4]]);
  assert.deepEqual(r.records.map((x) => x.ttl), [20, 20]);
  const r6 = decodeResponse(answer(encodeQuery(8, 'www.example', DNS_TYPE_AAAA), zone)!, 8, 'www.example', DNS_TYPE_AAAA)!;
  assert.equal(r6.records.length, 1);
  assert.equal(r6.records[0]!.address.length, 16);
  // Reverse the two answer records: the chain is still followed.
  const msg = answer(encodeQuery(9, 'www.example', DNS_TYPE_A), { 'www.example': { CNAME: 'web.example' }, 'web.example': { A: ['10.9.9.9'] } })!;
  const qEnd = 12 + 13 + 4;
  const cnameEnd = qEnd + 13 + 10 + 13;
  const swapped = Uint8Array.from([...msg.subarray(0, qEnd), ...msg.subarray(cnameEnd), ...msg.subarray(qEnd, cnameEnd)]);
  assert.deepEqual([...decodeResponse(swapped, 9, 'www.example', DNS_TYPE_A)!.records[0]!.address], [10, 9, 9, 9]);
  const nx = decodeResponse(answer(encodeQuery(10, 'nope.example', DNS_TYPE_A), zone)!, 10, 'nope.example', DNS_TYPE_A)!;
  assert.equal(nx.rcode, 3);
  assert.deepEqual(nx.records, []);
});

test('responses that do not answer our query are not used', () => {
  const zone = { 'a.example': { A: ['10.0.0.9'] } };
  const good = answer(encodeQuery(5, 'a.example', DNS_TYPE_A), zone)!;
  assert.ok(decodeResponse(good, 5, 'a.example', DNS_TYPE_A) !== null);
  assert.equal(decodeResponse(good, 6, 'a.example', DNS_TYPE_A), null, 'another ID');
  assert.equal(decodeResponse(good, 5, 'b.example', DNS_TYPE_A), null, 'another name');
  assert.equal(decodeResponse(good, 5, 'a.example', DNS_TYPE_AAAA), null, 'another type');
  const query = encodeQuery(5, 'a.example', DNS_TYPE_A);
  assert.equal(decodeResponse(query, 5, 'a.example', DNS_TYPE_A), null, 'a query is not a response');
  const cut = good.subarray(0, good.length - 2);
  assert.equal(decodeResponse(cut, 5, 'a.example', DNS_TYPE_A), null, 'record past the end');
  const trunc = answer(encodeQuery(5, 'a.example', DNS_TYPE_A), { 'a.example': { A: ['10.0.0.9'], truncate: true } })!;
  assert.equal(decodeResponse(trunc, 5, 'a.example', DNS_TYPE_A)!.truncated, true);
});

test('compression pointers are followed; a pointer loop is refused', () => {
  // Header, question "a.example" A, one answer whose owner is a pointer to the question name.
  const q = encodeQuery(3, 'a.example', DNS_TYPE_A).subarray(0, 12 + 11 + 4);
  const msg = Uint8Array.from([...q, 0xc0, 12, 0, 1, 0, 1, 0x80, 0, 0, 5, 0, 4, 10, 0, 0, 7]);
  msg[2] = 0x81;
  msg[3] = 0x80;
  msg[7] = 1;
  msg[11] = 0;
  const r = decodeResponse(msg, 3, 'a.example', DNS_TYPE_A)!;
  assert.deepEqual([...r.records[0]!.address], [10, 0, 0, 7]);
  assert.equal(r.records[0]!.ttl, 0, 'a TTL with the top bit set counts as 0 (RFC 2181 §8)');
  const loop = msg.slice();
  loop[12 + 11 + 4] = 0xc0;
  loop[12 + 11 + 5] = 12 + 11 + 4; // points at itself
  assert.equal(decodeResponse(loop, 3, 'a.example', DNS_TYPE_A), null);
});

test('random bytes never throw', () => {
  let seed = 7;
  for (let i = 0; i < 5000; i++) {
    const m = new Uint8Array(12 + (i % 120));
    for (let k = 0; k < m.length; k++) {
      seed = (Math.imul(seed, 1103515245) + 12345) >>> 0;
      m[k] = seed >>> 24;
    }
    m[0] = 0;
    m[1] = 1;
    m[2] |= 0x80;
    m[4] = 0;
    m[5] = 1;
    assert.doesNotThrow(() => decodeResponse(m, 1, 'a.example', DNS_TYPE_A));
  }
});
