// RFC 6298 RTO computation: first sample, smoothing, the floor and ceiling, back-off and its reset,
// RFC 7323 Appendix G gain division, the windowed minimum RTT.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { RttEstimator } from './rtt.js';
import { INITIAL_RTO_MS, MAX_RTO_MS, MIN_RTO_MS } from './constants.js';

test('before any sample the RTO is 1 s (RFC 6298 §2.1)', () => {
  const r = new RttEstimator();
  assert.equal(r.rto, INITIAL_RTO_MS);
  assert.equal(r.hasSample, false);
});

test('first sample: SRTT = R, RTTVAR = R/2, RTO = SRTT + 4 RTTVAR (§2.2)', () => {
  const r = new RttEstimator();
  r.sample(400, 0, 1);
  assert.equal(r.srtt, 400);
  assert.equal(r.rttvar, 200);
  assert.equal(r.rto, 400 + 800);
});

test('later samples smooth with alpha 1/8 and beta 1/4 (§2.3)', () => {
  const r = new RttEstimator();
  r.sample(400, 0, 1);
  r.sample(200, 1, 1);
  // RTTVAR = 3/4 * 200 + 1/4 * |400 - 200| = 200; SRTT = 7/8 * 400 + 1/8 * 200 = 375.
  assert.equal(r.rttvar, 200);
  assert.equal(r.srtt, 375);
  assert.equal(r.rto, 375 + 800);
});

test('the RTO never goes below the floor nor above the ceiling (§2.4, §2.5)', () => {
  const r = new RttEstimator();
  for (let i = 0; i < 50; i++) r.sample(0.05, i, 1);
  assert.equal(r.rto, MIN_RTO_MS);
  const big = new RttEstimator();
  big.sample(100_000, 0, 1);
  assert.equal(big.rto, MAX_RTO_MS);
});

test('back-off doubles up to the ceiling; a new ACK resets it (§5.5, §5.7)', () => {
  const r = new RttEstimator();
  r.sample(100, 0, 1); // RTO = 300
  const base = r.rto;
  r.backOff();
  assert.equal(r.rto, 2 * base);
  r.backOff();
  assert.equal(r.rto, 4 * base);
  for (let i = 0; i < 20; i++) r.backOff();
  assert.equal(r.rto, MAX_RTO_MS);
  r.resetBackoff();
  assert.equal(r.rto, base);
});

test('with many samples per RTT the gains shrink (RFC 7323 Appendix G)', () => {
  const one = new RttEstimator();
  const many = new RttEstimator();
  one.sample(100, 0, 1);
  many.sample(100, 0, 1);
  one.sample(200, 1, 1);
  many.sample(200, 1, 10);
  assert.ok(many.srtt < one.srtt && many.srtt > 100);
  assert.ok(Math.abs(many.srtt - (100 + 100 / 80)) < 1e-9);
});

test('a SYN timeout without a sample sets a 3 s RTO for data (§5.7)', () => {
  const r = new RttEstimator();
  r.synTimedOut(3000);
  assert.equal(r.rto, 3000);
  r.sample(10, 0, 1);
  r.synTimedOut(3000);
  assert.equal(r.rto, MIN_RTO_MS, 'a sample wins');
});

test('minimum RTT: the smallest sample, forgotten after its window', () => {
  const r = new RttEstimator();
  r.sample(10, 0, 1);
  r.sample(5, 1000, 1);
  r.sample(8, 2000, 1);
  assert.equal(r.minRtt, 5);
  r.sample(9, 1000 + 300_001, 1);
  assert.equal(r.minRtt, 9);
});
