// The test packet builders verify as RFC 1071 §2 says: the sum over the covered bytes, checksum
// included, is 0xffff (ICMPv6 with its pseudo-header, RFC 8200 §8.1); replies mirror requests.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { echoReplyFor, icmp4Echo, icmp6Echo, parseEcho } from './_packets.js';
import { parseIp } from './address.js';
import { checksumReference, pseudoHeaderSum } from './checksum.js';

const payload = new TextEncoder().encode('echo, odd length');

test('icmp4Echo: header and ICMP checksums verify; the reply swaps addresses and keeps id, sequence and payload', () => {
  const req = icmp4Echo(parseIp('10.0.0.1')!, parseIp('10.0.0.2')!, 8, 0x1234, 7, payload);
  assert.equal(checksumReference(req, 0, 20, 0), 0xffff);
  assert.equal(checksumReference(req, 20, req.length, 0), 0xffff);
  assert.deepEqual(parseEcho(req), { type: 8, id: 0x1234, seq: 7 });
  const reply = echoReplyFor(req)!;
  assert.deepEqual(parseEcho(reply), { type: 0, id: 0x1234, seq: 7 });
  assert.deepEqual([...reply.subarray(12, 16)], [10, 0, 0, 2]);
  assert.deepEqual([...reply.subarray(28)], [...payload]);
  assert.equal(checksumReference(reply, 20, reply.length, 0), 0xffff);
});

test('icmp6Echo: the checksum verifies over the pseudo-header; the reply mirrors the request', () => {
  const req = icmp6Echo(parseIp('fd00::1')!, parseIp('fd00::2')!, 128, 0x4321, 9, payload);
  const len = req.length - 40;
  assert.equal(checksumReference(req, 40, req.length, pseudoHeaderSum(req, 8, 16, 58, len)), 0xffff);
  const reply = echoReplyFor(req)!;
  assert.deepEqual(parseEcho(reply), { type: 129, id: 0x4321, seq: 9 });
  assert.equal(checksumReference(reply, 40, reply.length, pseudoHeaderSum(reply, 8, 16, 58, len)), 0xffff);
  assert.equal(echoReplyFor(reply), null, 'a reply gets no reply');
});
