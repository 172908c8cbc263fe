// BBR (bbr.ts) on scripted delivery-rate samples: Startup ends after three rounds without 25% more
// bandwidth, Drain, then ProbeBW at 2 BDP plus the allowance; a loss in ProbeBW costs no window
// (packet conservation for a round, the window back when recovery ends) where CUBIC's falls to 0.7;
// an RTO leaves one segment and recovery restores the window; ProbeRTT after 10 s without a new
// minimum holds four segments for 200 ms and a round. Then the stack over the in-process link at 2%
// loss each way: BBR moves the same bytes in less simulated time than CUBIC, every byte intact.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { Bbr, BbrMode } from './bbr.js';
import { Cubic } from './cubic.js';
import { DeliveryRate } from './delivery-rate.js';
import { Link } from './_testing.js';
import { TcpServer } from '../tcp-server.js';
import { TcpSocket } from '../tcp-socket.js';

const MSS = 1000;
/** 1,000 bytes per ms (8 Mbit/s) at a 10 ms RTT: a BDP of 10,000 bytes. */
const RATE = 1000;
const RTT = 10;
const BDP = RATE * RTT;
/** 2 BDP and three quanta of two segments each (a millisecond at 1,000 bytes/ms is below two MSS). */
const PROBE_BW_CWND = 2 * BDP + 3 * 2 * MSS;

/** Drives a Bbr with one ACK per round, each delivering `acked` bytes at `rate`. */
class Driver {
  readonly bbr = new Bbr(MSS);
  readonly rs = new DeliveryRate();
  now = 0;
  delivered = 0;

  ack(opts: { rate?: number; rtt?: number; acked?: number; inflight?: number; recovery?: boolean; appLimited?: boolean; sameRound?: boolean }): void {
    const acked = opts.acked ?? MSS;
    this.now += opts.rtt ?? RTT;
    const prior = opts.sameRound === true ? this.delivered - acked : this.delivered;
    this.delivered += acked;
    this.rs.delivered = this.delivered;
    this.rs.priorDelivered = prior;
    this.rs.rate = opts.rate ?? RATE;
    this.rs.rateValid = true;
    this.rs.appLimited = opts.appLimited ?? false;
    this.rs.rtt = opts.rtt ?? RTT;
    this.rs.deliveredThisAck = acked;
    this.bbr.onDelivery(this.rs, opts.inflight ?? BDP, opts.recovery ?? false, this.now);
  }

  /** Startup, Drain and into ProbeBW at a steady rate. */
  toProbeBw(): void {
    for (let i = 0; i < 20 && this.bbr.mode !== BbrMode.PROBE_BW; i++) this.ack({ acked: 5 * MSS });
    assert.equal(this.bbr.mode, BbrMode.PROBE_BW);
    for (let i = 0; i < 40; i++) this.ack({ acked: 5 * MSS });
  }
}

test('Startup grows the window, three rounds without 25% more bandwidth end it, Drain, then ProbeBW at 2 BDP + allowance', () => {
  const d = new Driver();
  const iw = d.bbr.cwnd;
  const modes: BbrMode[] = [];
  // The rate doubles for four rounds (Startup keeps growing), then holds.
  for (let i = 0; i < 4; i++) {
    d.ack({ rate: RATE / 16 * 2 ** i, acked: 2 * MSS });
    modes.push(d.bbr.mode);
  }
  assert.deepEqual(modes, [BbrMode.STARTUP, BbrMode.STARTUP, BbrMode.STARTUP, BbrMode.STARTUP]);
  assert.ok(d.bbr.cwnd > iw, 'Startup grew the window');
  d.ack({ rate: RATE });
  d.ack({ rate: RATE });
  d.ack({ rate: RATE });
  assert.equal(d.bbr.filledPipe, false, 'still growing by 25% a round until three rounds pass');
  d.ack({ rate: RATE, inflight: 3 * BDP });
  d.ack({ rate: RATE, inflight: 3 * BDP });
  d.ack({ rate: RATE, inflight: 3 * BDP });
  assert.equal(d.bbr.filledPipe, true);
  assert.equal(d.bbr.mode, BbrMode.DRAIN, 'the queue Startup built drains first');
  d.ack({ rate: RATE, inflight: BDP });
  assert.equal(d.bbr.mode, BbrMode.PROBE_BW);
  assert.equal(d.bbr.bw, RATE);
  assert.equal(d.bbr.minRtt, RTT);
  for (let i = 0; i < 40; i++) d.ack({ acked: 5 * MSS });
  assert.equal(d.bbr.cwnd, PROBE_BW_CWND);
});

test('application-limited samples do not lower the estimate; the filter forgets a rate after ten rounds', () => {
  const d = new Driver();
  d.toProbeBw();
  d.ack({ rate: RATE / 10, appLimited: true });
  assert.equal(d.bbr.bw, RATE, 'a slow application is not a slow path');
  for (let i = 0; i < 10; i++) d.ack({ rate: RATE / 2 });
  assert.equal(d.bbr.bw, RATE / 2, 'ten rounds at half the rate: the old maximum aged out');
});

test('a loss in ProbeBW: packet conservation for a round, the window back when recovery ends (CUBIC: 0.7)', () => {
  const d = new Driver();
  d.toProbeBw();
  const before = d.bbr.cwnd;
  // Recovery begins: one segment of the flight was lost.
  d.ack({ recovery: true, inflight: before - 2 * MSS, acked: MSS, sameRound: true });
  assert.equal(d.bbr.cwnd, before - MSS, 'what is in flight plus what was delivered');
  d.ack({ recovery: true, inflight: before - 2 * MSS, acked: MSS, sameRound: true });
  assert.equal(d.bbr.cwnd, before - MSS, 'no growth past delivery within the round');
  d.ack({ recovery: false, inflight: before - 2 * MSS, acked: MSS });
  assert.equal(d.bbr.cwnd, before, 'the window from before recovery');

  const cubic = new Cubic(MSS);
  cubic.cwnd = before;
  cubic.onCongestionEvent(before, 0);
  cubic.onRecoveryEnd(0);
  assert.equal(cubic.cwnd, before * 0.7);
});

test('an RTO leaves one segment; conservation regrows it and recovery ending restores the window', () => {
  const d = new Driver();
  d.toProbeBw();
  const before = d.bbr.cwnd;
  d.bbr.onRto(before, d.now);
  assert.equal(d.bbr.cwnd, MSS);
  d.ack({ recovery: true, inflight: 0, acked: MSS, sameRound: true });
  assert.equal(d.bbr.cwnd, 4 * MSS, 'never below four segments');
  d.ack({ recovery: false, inflight: 2 * MSS, acked: MSS });
  assert.equal(d.bbr.cwnd, before);
});

test('ProbeRTT: 10 s without a new minimum holds four segments for 200 ms and a round, then ProbeBW again', () => {
  const d = new Driver();
  d.toProbeBw();
  const before = d.bbr.cwnd;
  // RTT samples above the minimum for over 10 s (a standing queue).
  for (let t = 0; t < 10_000; t += 12 * 100) for (let i = 0; i < 100; i++) d.ack({ rtt: 12, inflight: 2 * BDP });
  assert.equal(d.bbr.mode, BbrMode.PROBE_RTT);
  assert.equal(d.bbr.cwnd, 4 * MSS);
  d.ack({ rtt: RTT, inflight: 3 * MSS, sameRound: true });
  assert.equal(d.bbr.mode, BbrMode.PROBE_RTT, 'held for 200 ms from when the flight drained');
  d.ack({ rtt: RTT, inflight: 3 * MSS });
  for (let i = 0; i < 25 && d.bbr.mode === BbrMode.PROBE_RTT; i++) d.ack({ rtt: RTT, inflight: 3 * MSS });
  assert.equal(d.bbr.mode, BbrMode.PROBE_BW);
  assert.ok(d.now >= 10_000 + 200);
  assert.equal(d.bbr.cwnd, before, 'the window from before ProbeRTT');
  assert.equal(d.bbr.minRtt, RTT);
});

/** Upload `n` bytes over a link with `loss` each way; returns the simulated ms and the received bytes' hash. */
async function upload(congestion: 'bbr' | 'cubic', n: number, loss: number): Promise<{ ms: number; hash: string; retransmits: number }> {
  const link = new Link({ seed: 7, delayMs: 2, tcp: { congestion } });
  link.a.faults = { loss };
  link.b.faults = { loss };
  const got = createHash('sha256');
  let ended = false;
  const server = new TcpServer(link.tcpB, (s) => {
    s.on('data', (d: Buffer) => got.update(d));
    s.on('end', () => {
      ended = true;
      s.end();
    });
  });
  server.listen(9);
  const data = Buffer.alloc(n);
  for (let i = 0; i < n; i++) data[i] = (i * 31 + (i >>> 8)) & 0xff;
  const sock = new TcpSocket(link.tcpA);
  sock.on('error', () => {});
  const t0 = link.clock.now();
  sock.connect(9, '10.0.0.2', () => sock.end(data));
  await link.run(() => ended, 600_000);
  const ms = link.clock.now() - t0;
  const retransmits = link.tcpA.stats().retransmits;
  sock.destroy();
  server.close();
  await link.close();
  assert.equal(ended, true, `${congestion}: the upload finished`);
  return { ms, hash: got.digest('hex'), retransmits };
}

test('2% loss each way on the in-process link: BBR uploads 4 MiB intact in less simulated time than CUBIC', async () => {
  const n = 4 * 1024 * 1024;
  const want = createHash('sha256');
  const data = Buffer.alloc(n);
  for (let i = 0; i < n; i++) data[i] = (i * 31 + (i >>> 8)) & 0xff;
  want.update(data);
  const digest = want.digest('hex');
  const bbr = await upload('bbr', n, 0.02);
  const cubic = await upload('cubic', n, 0.02);
  assert.equal(bbr.hash, digest);
  assert.equal(cubic.hash, digest);
  assert.ok(bbr.retransmits > 0 && cubic.retransmits > 0, 'losses were recovered');
  assert.ok(bbr.ms < cubic.ms, `BBR ${bbr.ms} ms of simulated time, CUBIC ${cubic.ms} ms`);
});

test('an unknown congestion control is refused with a clear error', () => {
  assert.throws(() => new Link({ tcp: { congestion: 'vegas' as 'bbr' } }), /tcp.congestion must be 'bbr', 'cubic' or 'newreno', not "vegas"/);
});
