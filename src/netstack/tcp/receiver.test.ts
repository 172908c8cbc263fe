// Receiver's ACK policy for out-of-order data: the first three segments past a hole are ACKed at once
// (the peer's duplicate ACKs, RFC 5681 §3.2), later ones with SACK wait for the batch's end or for
// every 44th segment (compressed SACK information); without SACK every one goes at once; a new hole
// (RCV.NXT moved) starts the count again; a segment that fills the hole is ACKed at once.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Receiver } from './receiver.js';

const MSS = 1000;
const IRS = 5000;
const data = new Uint8Array(MSS);

function receiver(sackOk: boolean): Receiver {
  const r = new Receiver(4 * 1024 * 1024);
  r.init(IRS, 0);
  r.sackOk = sackOk;
  r.wscale = 7;
  r.bufLimit = r.bufMax;
  r.mss = MSS;
  r.ackSent(r.window(0));
  return r;
}

/** Segment k (0-based) of the stream; returns whether it asked for an ACK at once, and one at the flush. */
function arrive(r: Receiver, k: number): { immediate: boolean; atFlush: boolean } {
  r.onSegment((IRS + 1 + k * MSS) | 0, data, 0, MSS, false, 1);
  const out = { immediate: r.ackImmediate, atFlush: r.ackNow };
  if (r.ackImmediate) r.ackSent(r.window(0));
  return out;
}

test('with SACK: three duplicate ACKs at once, then one ACK per 44 out-of-order segments or at the flush', () => {
  const r = receiver(true);
  for (let k = 0; k < 20; k++) arrive(r, k); // quick-ACK mode and in-order data
  r.ackSent(r.window(0));
  // Segment 20 is lost.
  const immediate: number[] = [];
  for (let k = 21; k < 21 + 100; k++) {
    const a = arrive(r, k);
    if (a.immediate) immediate.push(k);
    else assert.equal(a.atFlush, true, `segment ${k} leaves an ACK for the flush`);
  }
  assert.deepEqual(immediate, [21, 22, 23, 23 + 44, 23 + 88]);
  // The flush sends the compressed ACK; its SACK block covers everything past the hole.
  r.ackSent(r.window(0));
  const blocks = new Int32Array(8);
  assert.equal(r.sackBlocks(blocks, 4), 1);
  assert.deepEqual([blocks[0], blocks[1]], [(IRS + 1 + 21 * MSS) | 0, (IRS + 1 + 121 * MSS) | 0]);
  // The retransmission fills the hole: ACKed at once, and RCV.NXT jumps past everything held.
  const fill = arrive(r, 20);
  assert.equal(fill.immediate, true);
  assert.equal(r.nxt, (IRS + 1 + 121 * MSS) | 0);
  // A new hole (segment 121 lost): three at once again.
  const again: boolean[] = [];
  for (let k = 122; k < 126; k++) again.push(arrive(r, k).immediate);
  assert.deepEqual(again, [true, true, true, false]);
});

test('without SACK every out-of-order segment is ACKed at once (duplicate ACKs are all the sender has)', () => {
  const r = receiver(false);
  for (let k = 0; k < 20; k++) arrive(r, k);
  for (let k = 21; k < 80; k++) assert.equal(arrive(r, k).immediate, true, `segment ${k}`);
});
