// The SACK scoreboard (sent-records.ts) and RACK (rack.ts), table-driven: pipe accounting through
// SACK, cumulative ACK (whole and partial), loss marking, retransmission and loss of a
// retransmission, RTO marking with and without reneging, splitting; RACK's update, reordering
// detection, reordering window and loss walk with its timer.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { EVER_RETRANS, FIN_FLAG, LOST, RETRANS, SACKED, SentRecords, type DeliveryObserver } from './sent-records.js';
import { Rack } from './rack.js';

const ignore: DeliveryObserver = { delivered: () => {} };

/** n records of `size` bytes from `seq`, record i sent at time i. */
function sent(n: number, seq = 1000, size = 100): SentRecords {
  const r = new SentRecords();
  for (let i = 0; i < n; i++) r.append(seq + i * size, size, i, 0);
  return r;
}

function flagsOf(r: SentRecords): number[] {
  const out: number[] = [];
  for (let i = 0; i < r.count; i++) out.push(r.flags[r.at(i)]!);
  return out;
}

function counters(r: SentRecords): Record<string, number> {
  return { out: r.out, sacked: r.sacked, lost: r.lost, retransmitted: r.retransmitted, inflight: r.inflight, lostPending: r.lostPending };
}

test('scoreboard: SACK marks whole records only, and pipe follows (RFC 6675 §4)', () => {
  const r = sent(10);
  assert.equal(r.inflight, 1000);
  assert.equal(r.sack(1300, 1500, ignore), 200);
  assert.equal(r.sack(1350, 1450, ignore), 0, 'inside SACKed records: nothing new');
  assert.equal(r.sack(1550, 1650, ignore), 0, 'halves of two records: neither');
  assert.equal(r.sack(1300, 1500, ignore), 0, 'repeated block');
  assert.deepEqual(counters(r), { out: 1000, sacked: 200, lost: 0, retransmitted: 0, inflight: 800, lostPending: 0 });
  assert.equal(r.sackedSegments, 2);
  assert.equal(r.fack, 1500);
});

test('scoreboard: cumulative ACK removes whole records and trims a partial one', () => {
  const r = sent(5);
  const seen: number[] = [];
  const obs: DeliveryObserver = { delivered: (rec, p) => seen.push(rec.end(p)) };
  r.sack(1300, 1400, obs);
  assert.equal(r.ackUpTo(1250, obs), 250);
  assert.deepEqual(seen, [1400, 1100, 1200], 'SACKed first, then each newly ACKed record');
  assert.equal(r.count, 3);
  assert.equal(r.seq[r.at(0)], 1250);
  assert.equal(r.len[r.at(0)], 50);
  assert.equal(r.ackUpTo(1400, obs), 150);
  assert.deepEqual(seen, [1400, 1100, 1200, 1300], 'a SACKed record is not delivered twice');
  assert.deepEqual(counters(r), { out: 100, sacked: 0, lost: 0, retransmitted: 0, inflight: 100, lostPending: 0 });
  assert.equal(r.sackedSegments, 0);
});

const lossCases: { name: string; ops: (r: SentRecords) => void; flags: number[]; c: Record<string, number> }[] = [
  {
    name: 'marked lost leaves the pipe',
    ops: (r) => r.markLost(r.at(0)),
    flags: [LOST, 0, 0],
    c: { out: 300, sacked: 0, lost: 100, retransmitted: 0, inflight: 200, lostPending: 1 },
  },
  {
    name: 'a retransmission re-enters the pipe',
    ops: (r) => {
      r.markLost(r.at(0));
      r.onRetransmit(r.at(0), 10);
    },
    flags: [LOST | RETRANS | EVER_RETRANS, 0, 0],
    c: { out: 300, sacked: 0, lost: 100, retransmitted: 100, inflight: 300, lostPending: 0 },
  },
  {
    name: 'a lost retransmission waits for the next one',
    ops: (r) => {
      r.markLost(r.at(0));
      r.onRetransmit(r.at(0), 10);
      r.markLost(r.at(0));
    },
    flags: [LOST | EVER_RETRANS, 0, 0],
    c: { out: 300, sacked: 0, lost: 100, retransmitted: 0, inflight: 200, lostPending: 1 },
  },
  {
    name: 'a SACK of a retransmitted record clears lost and retransmitted',
    ops: (r) => {
      r.markLost(r.at(1));
      r.onRetransmit(r.at(1), 10);
      r.sack(1100, 1200, ignore);
    },
    flags: [0, SACKED | EVER_RETRANS, 0],
    c: { out: 300, sacked: 100, lost: 0, retransmitted: 0, inflight: 200, lostPending: 0 },
  },
  {
    name: 'a SACKed record cannot be marked lost',
    ops: (r) => {
      r.sack(1000, 1100, ignore);
      r.markLost(r.at(0));
    },
    flags: [SACKED, 0, 0],
    c: { out: 300, sacked: 100, lost: 0, retransmitted: 0, inflight: 200, lostPending: 0 },
  },
  {
    name: 'RTO marks all but the SACKed lost, retransmissions included',
    ops: (r) => {
      r.markLost(r.at(0));
      r.onRetransmit(r.at(0), 10);
      r.sack(1200, 1300, ignore);
      r.markAllLost(false);
    },
    flags: [LOST | EVER_RETRANS, LOST, SACKED],
    c: { out: 300, sacked: 100, lost: 200, retransmitted: 0, inflight: 0, lostPending: 2 },
  },
  {
    name: 'RTO after reneging forgets the SACKs too (RFC 2018 §8)',
    ops: (r) => {
      r.sack(1200, 1300, ignore);
      r.markAllLost(true);
    },
    flags: [LOST, LOST, LOST],
    c: { out: 300, sacked: 0, lost: 300, retransmitted: 0, inflight: 0, lostPending: 3 },
  },
  {
    name: 'a cumulative ACK of lost and retransmitted records clears their counts',
    ops: (r) => {
      r.markLost(r.at(0));
      r.markLost(r.at(1));
      r.onRetransmit(r.at(0), 10);
      r.ackUpTo(1200, ignore);
    },
    flags: [0],
    c: { out: 100, sacked: 0, lost: 0, retransmitted: 0, inflight: 100, lostPending: 0 },
  },
];

for (const c of lossCases) {
  test(`scoreboard: ${c.name}`, () => {
    const r = sent(3);
    c.ops(r);
    assert.deepEqual(flagsOf(r), c.flags);
    assert.deepEqual(counters(r), c.c);
  });
}

test('scoreboard: split keeps the counts and puts the FIN in the second part', () => {
  const r = new SentRecords();
  r.append(0, 1000, 0, 0);
  r.append(1000, 1001, 1, FIN_FLAG);
  r.markLost(r.at(1));
  r.split(1, 500);
  assert.equal(r.count, 3);
  assert.deepEqual([r.seq[r.at(1)], r.len[r.at(1)], r.seq[r.at(2)], r.len[r.at(2)]], [1000, 500, 1500, 501]);
  assert.deepEqual(flagsOf(r), [0, LOST, LOST | FIN_FLAG]);
  assert.deepEqual(counters(r), { out: 2001, sacked: 0, lost: 1001, retransmitted: 0, inflight: 1000, lostPending: 2 });
  assert.equal(r.find(1499), 1);
  assert.equal(r.find(1500), 2);
  assert.equal(r.find(2001), -1);
});

test('scoreboard: holds nothing until the first send, grows past its first ring, gives it back when emptied', () => {
  assert.equal(new SentRecords().seq.length, 0);
  const r = sent(100, 2 ** 32 - 5000);
  assert.ok(r.seq.length >= 100);
  assert.equal(r.find((2 ** 32 - 5000 + 50 * 100 + 7) >>> 0), 50, 'binary search across the 2^32 wrap');
  r.ackUpTo((2 ** 32 - 5000 + 100 * 100) >>> 0, ignore);
  assert.equal(r.count, 0);
  r.shrink();
  assert.equal(r.seq.length, 0);
  r.append(7, 100, 0, 0);
  assert.deepEqual([r.seq.length, r.count, r.seq[r.at(0)], r.end(r.at(0))], [16, 1, 7, 107]);
});

// RACK: records i = 0..n-1 of 100 bytes, record i sent at time i ms.
interface RackCase {
  name: string;
  n: number;
  /** SACK blocks (record index ranges [a, b)) and a cumulative ACK (record count), at `now`. */
  sacks: [number, number][];
  ackTo?: number;
  now: number;
  minRtt: number;
  inRecovery?: boolean;
  reordering?: boolean;
  lost: number[];
  timeout: number;
}

const rackCases: RackCase[] = [
  { name: 'no SACK: nothing lost', n: 5, sacks: [], ackTo: 2, now: 10, minRtt: 5, lost: [], timeout: 0 },
  {
    name: 'three SACKed above a hole: DupThresh sets the window to 0, older sends are lost',
    n: 6, sacks: [[3, 6]], now: 12, minRtt: 5, lost: [0, 1, 2], timeout: 0,
  },
  {
    name: 'one SACKed: a min_RTT/4 window; the youngest candidate waits',
    // RACK.rtt = 12 - 4 = 8, window 8/4 = 2: record i is lost when i + 8 + 2 <= 12.
    n: 5, sacks: [[4, 5]], now: 12, minRtt: 8, lost: [0, 1, 2], timeout: 1,
  },
  {
    name: 'in recovery with no reordering seen: window 0',
    n: 5, sacks: [[4, 5]], now: 12, minRtt: 8, inRecovery: true, lost: [0, 1, 2, 3], timeout: 0,
  },
  {
    name: 'reordering seen: the window stays min_RTT/4 even past DupThresh',
    n: 8, sacks: [[4, 8]], now: 17, minRtt: 8, reordering: true, lost: [0, 1, 2, 3], timeout: 0,
  },
  {
    name: 'reordering seen, young hole: the timer is armed for it',
    // RACK.rtt = 9.5 - 7 = 2.5, window min(8/4, srtt) = 2: i + 2.5 + 2 <= 9.5 for i <= 5.
    n: 8, sacks: [[6, 8]], now: 9.5, minRtt: 8, reordering: true, lost: [0, 1, 2, 3, 4, 5], timeout: 0,
  },
];

for (const c of rackCases) {
  test(`rack: ${c.name}`, () => {
    const r = sent(c.n, 0);
    const rack = new Rack();
    if (c.reordering) rack.reorderingSeen = true;
    rack.beginAck(c.now, c.minRtt, r.fack);
    for (const [a, b] of c.sacks) r.sack(a * 100, b * 100, rack);
    if (c.ackTo !== undefined) r.ackUpTo(c.ackTo * 100, rack);
    const wnd = rack.reoWnd(c.inRecovery === true, r.sackedSegments, c.minRtt, 1000);
    const t = rack.detectLoss(r, c.now, wnd);
    const lost: number[] = [];
    for (let i = 0; i < r.count; i++) if (r.flags[r.at(i)]! & LOST) lost.push(r.seq[r.at(i)]! / 100);
    assert.deepEqual(lost, c.lost);
    assert.ok(Math.abs(t - c.timeout) < 1e-9, `timeout ${t}, want ${c.timeout}`);
  });
}

test('rack: a never-retransmitted segment delivered below RACK.fack is reordering (§6.2 step 3)', () => {
  const r = sent(5, 0);
  const rack = new Rack();
  rack.beginAck(10, 1, r.fack);
  r.sack(300, 400, rack);
  assert.equal(rack.reorderingSeen, false);
  rack.beginAck(11, 1, r.fack);
  r.ackUpTo(200, rack);
  assert.equal(rack.reorderingSeen, true);
});

test('rack: an ACK too quick for a retransmission does not move RACK.xmit_ts (§6.2 step 2)', () => {
  const r = sent(3, 0);
  r.markLost(r.at(2));
  r.onRetransmit(r.at(2), 50);
  const rack = new Rack();
  rack.beginAck(51, 5, r.fack); // 1 ms after the retransmission, min_RTT 5: the original's ACK
  r.sack(200, 300, rack);
  assert.equal(rack.xmitTs, -Infinity);
  rack.beginAck(60, 5, r.fack);
  r.ackUpTo(100, rack);
  assert.equal(rack.xmitTs, 0);
  assert.equal(rack.rtt, 60);
});

test('rack: a lost retransmission is detected by a later delivery', () => {
  const r = sent(3, 0);
  r.markLost(r.at(0));
  r.onRetransmit(r.at(0), 10); // resent at 10
  r.append(300, 100, 11, 0); // new data at 11
  const rack = new Rack();
  rack.beginAck(30, 5, r.fack);
  r.sack(300, 400, rack); // RACK.xmit_ts = 11, rtt 19
  const t = rack.detectLoss(r, 30, 0);
  assert.equal(t, 0);
  assert.equal(r.flags[r.at(0)]! & (LOST | RETRANS), LOST, 'lost again, waiting for a resend');
  assert.equal(r.lostPending, 3);
});

test('rack: DSACK rounds widen the window, recoveries narrow it back (§6.2 step 4)', () => {
  const rack = new Rack();
  rack.reorderingSeen = true;
  assert.equal(rack.reoWnd(false, 0, 8, 100), 2);
  rack.updateReoWnd(true, 0, 1000, false);
  assert.equal(rack.reoWnd(false, 0, 8, 100), 4);
  rack.updateReoWnd(true, 500, 1000, false);
  assert.equal(rack.reoWnd(false, 0, 8, 100), 4, 'one widening per round trip');
  rack.updateReoWnd(true, 1000, 2000, false);
  assert.equal(rack.reoWnd(false, 0, 8, 100), 6);
  assert.equal(rack.reoWnd(false, 0, 8, 5), 5, 'capped at SRTT');
  for (let i = 0; i < 16; i++) rack.updateReoWnd(false, 3000, 3000, true);
  assert.equal(rack.reoWnd(false, 0, 8, 100), 2);
});

test('rack: a DSACK counts as reordering seen, so the window is no longer 0 in recovery', () => {
  const rack = new Rack();
  assert.equal(rack.reoWnd(true, 0, 8, 100), 0, 'no reordering seen: 0 in recovery (§6.2 step 4)');
  // The original of a segment RACK marked lost arrived after all; only its retransmission's D-SACK tells.
  rack.updateReoWnd(true, 0, 1000, false);
  assert.equal(rack.reorderingSeen, true);
  assert.equal(rack.reoWnd(true, 0, 8, 100), 4);
});

test('rack: with timestamps, an echo from before a retransmission is the original\'s ACK, however late (§6.2 step 2)', () => {
  // Segment 3 resent at 50; an ACK at 60 (past min_RTT 5) SACKs it, echoing the TSval of `echoTick`.
  const sackResent = (echoTick: number): Rack => {
    const r = sent(3, 0);
    r.markLost(r.at(2));
    r.onRetransmit(r.at(2), 50);
    const rack = new Rack();
    rack.beginAck(60, 5, r.fack, echoTick);
    r.sack(200, 300, rack);
    return rack;
  };
  assert.equal(sackResent(40).xmitTs, -Infinity, 'echoing tick 40: the original arrived late, not the retransmission');
  const own = sackResent(50);
  assert.equal(own.xmitTs, 50, 'echoing the retransmission\'s own tick: it was the retransmission');
  assert.equal(own.rtt, 10);
});
