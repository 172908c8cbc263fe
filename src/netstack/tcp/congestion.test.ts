// CUBIC and NewReno as units: slow start, congestion avoidance, the reductions on a congestion event
// and on an RTO, application-limited flows, and CUBIC's curve (K, the plateau at W_max, fast
// convergence, the Reno-friendly region) against RFC 9438's formulas; then the two side by side.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Cubic } from './cubic.js';
import { NewReno } from './newreno.js';
import { initialWindow, type CongestionControl } from './congestion.js';
import { CUBIC_BETA, CUBIC_C } from './constants.js';

const MSS = 1000;

/** One RTT of ACKs for a full window, every second segment ACKed (the delayed-ACK shape). */
function oneRtt(cc: CongestionControl, now: number, rtt: number): void {
  const segs = Math.floor(cc.cwnd / MSS);
  for (let i = 0; i < segs; i += 2) cc.onAck(2 * MSS, true, rtt, now + (rtt * i) / segs);
}

test('initial window is RFC 6928 IW10', () => {
  assert.equal(initialWindow(1460), 14600);
  assert.equal(initialWindow(536), 5360);
  assert.equal(initialWindow(9000), 18000);
  assert.equal(new Cubic(MSS).cwnd, 10 * MSS);
  assert.equal(new NewReno(MSS).cwnd, 10 * MSS);
});

for (const make of [(m: number): CongestionControl => new NewReno(m), (m: number): CongestionControl => new Cubic(m)]) {
  const name = make(MSS).name;

  test(`${name}: slow start doubles per RTT and stops at ssthresh`, () => {
    const cc = make(MSS);
    oneRtt(cc, 0, 10);
    assert.equal(cc.cwnd, 20 * MSS);
    cc.ssthresh = 30 * MSS;
    oneRtt(cc, 10, 10);
    assert.ok(cc.cwnd >= 30 * MSS && cc.cwnd < 31 * MSS, `cwnd ${cc.cwnd}`);
  });

  test(`${name}: an application-limited flow does not grow`, () => {
    const cc = make(MSS);
    for (let i = 0; i < 100; i++) cc.onAck(MSS, false, 10, i);
    assert.equal(cc.cwnd, 10 * MSS);
  });

  test(`${name}: an RTO leaves one segment`, () => {
    const cc = make(MSS);
    cc.cwnd = 100 * MSS;
    cc.onRto(100 * MSS, 0);
    assert.equal(cc.cwnd, MSS);
    assert.ok(cc.ssthresh >= 2 * MSS && cc.ssthresh < 100 * MSS);
  });
}

test('newreno: a congestion event halves the flight; recovery end sets cwnd to ssthresh', () => {
  const cc = new NewReno(MSS);
  cc.cwnd = 40 * MSS;
  cc.onCongestionEvent(40 * MSS, 0);
  assert.equal(cc.ssthresh, 20 * MSS);
  cc.onRecoveryEnd(0);
  assert.equal(cc.cwnd, 20 * MSS);
  cc.onCongestionEvent(2 * MSS, 0);
  assert.equal(cc.ssthresh, 2 * MSS, 'never below two segments (RFC 5681 eq. 4)');
});

test('newreno: congestion avoidance adds one MSS per window acked', () => {
  const cc = new NewReno(MSS);
  cc.ssthresh = 10 * MSS;
  for (let rtt = 0; rtt < 5; rtt++) oneRtt(cc, rtt * 10, 10);
  assert.equal(cc.cwnd, 15 * MSS);
});

test('cubic: a congestion event keeps 0.7 of cwnd (RFC 9438 §4.6) and sets W_max', () => {
  const cc = new Cubic(MSS);
  cc.cwnd = 100 * MSS;
  cc.onCongestionEvent(100 * MSS, 0);
  assert.equal(cc.ssthresh, 70 * MSS);
  assert.equal(cc.wMax, 100);
  cc.onRecoveryEnd(0);
  assert.equal(cc.cwnd, 70 * MSS);
});

test('cubic: fast convergence lowers W_max after a loss below the last one (§4.7)', () => {
  const cc = new Cubic(MSS);
  cc.cwnd = 100 * MSS;
  cc.onCongestionEvent(100 * MSS, 0);
  cc.onRecoveryEnd(0);
  cc.onCongestionEvent(70 * MSS, 1);
  assert.equal(cc.wMax, (70 * (1 + CUBIC_BETA)) / 2);
});

test('cubic: the window climbs back to W_max at K seconds and plateaus there (§4.2)', () => {
  const cc = new Cubic(MSS);
  cc.cwnd = 1000 * MSS;
  cc.ssthresh = 1000 * MSS;
  cc.onCongestionEvent(1000 * MSS, 0);
  cc.onRecoveryEnd(0);
  const k = Math.cbrt((1000 - 700) / CUBIC_C);
  // ACK a full window every RTT of 100 ms for K seconds.
  const rtt = 100;
  let now = 0;
  oneRtt(cc, now, rtt); // starts the epoch at 0
  assert.ok(Math.abs(cc.k - k) < 1e-9, `K ${cc.k} vs ${k}`);
  while (now < k * 1000 - rtt) {
    now += rtt;
    oneRtt(cc, now, rtt);
  }
  const atK = cc.cwnd / MSS;
  assert.ok(atK > 970 && atK <= 1001, `cwnd at K: ${atK} segments`);
  // Concave: the growth in the last RTT before K is smaller than in the first one.
  const a = new Cubic(MSS);
  a.cwnd = 1000 * MSS;
  a.ssthresh = 1000 * MSS;
  a.onCongestionEvent(1000 * MSS, 0);
  a.onRecoveryEnd(0);
  oneRtt(a, 0, rtt);
  const first = a.cwnd / MSS - 700;
  assert.ok(first > 1, `first RTT grew ${first}`);
});

test('cubic: on a short RTT the Reno-friendly estimate sets the pace (§4.3)', () => {
  const cc = new Cubic(MSS);
  cc.cwnd = 20 * MSS;
  cc.ssthresh = 20 * MSS;
  cc.onCongestionEvent(20 * MSS, 0);
  cc.onRecoveryEnd(0);
  // 1 ms RTT: W_cubic barely moves in 10 ms, W_est gains alpha_cubic (~0.53) segments per RTT.
  let now = 0;
  for (let i = 0; i < 10; i++) {
    oneRtt(cc, now, 1);
    now += 1;
  }
  const w = cc.cwnd / MSS;
  assert.ok(w > 14 + 10 * 0.45 && w < 14 + 10 * 0.6, `cwnd ${w} segments`);
  // Past W_max, alpha_cubic becomes 1: one segment per RTT.
  for (let i = 0; i < 10; i++) {
    oneRtt(cc, now, 1);
    now += 1;
  }
  const before = cc.cwnd / MSS;
  for (let i = 0; i < 10; i++) {
    oneRtt(cc, now, 1);
    now += 1;
  }
  const gained = cc.cwnd / MSS - before;
  assert.ok(gained > 9 && gained < 11, `gained ${gained} in 10 RTTs past W_max`);
});

test('cubic recovers faster than newreno on a long-RTT path after the same loss', () => {
  const cubic = new Cubic(MSS);
  const reno = new NewReno(MSS);
  for (const cc of [cubic, reno] as CongestionControl[]) {
    cc.cwnd = 500 * MSS;
    cc.ssthresh = 500 * MSS;
    cc.onCongestionEvent(500 * MSS, 0);
    cc.onRecoveryEnd(0);
  }
  assert.ok(cubic.cwnd > reno.cwnd, 'CUBIC reduces less (0.7 against 0.5)');
  const rtt = 200;
  for (let now = 0; now < 10_000; now += rtt) {
    oneRtt(cubic, now, rtt);
    oneRtt(reno, now, rtt);
  }
  assert.ok(cubic.cwnd >= 490 * MSS, `cubic ${cubic.cwnd / MSS}`);
  assert.ok(reno.cwnd < 320 * MSS, `reno ${reno.cwnd / MSS}`);
});

test('cubic: idle time shifts the epoch so the curve resumes where it stopped', () => {
  const a = new Cubic(MSS);
  const b = new Cubic(MSS);
  for (const cc of [a, b]) {
    cc.cwnd = 100 * MSS;
    cc.ssthresh = 100 * MSS;
    cc.onCongestionEvent(100 * MSS, 0);
    cc.onRecoveryEnd(0);
    oneRtt(cc, 0, 100);
  }
  b.onIdleRestart(5000);
  oneRtt(a, 100, 100);
  oneRtt(b, 5100, 100);
  assert.ok(Math.abs(a.cwnd - b.cwnd) < 1e-6);
});
