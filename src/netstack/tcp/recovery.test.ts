// Loss recovery against a scripted peer on a FakeClock: the RTO and its back-off, Karn's rule (no RTT
// sample from a retransmitted segment), the tail loss probe, RACK's fast retransmit once DupThresh
// segments are SACKed and its reorder timer below that, NewReno's three duplicate ACKs and partial
// ACKs for a peer without SACK, and D-SACK counting.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { RawPeer, type RawSegment } from './_testing.js';
import { TcpSocket } from '../tcp-socket.js';
import { MIN_RTO_MS } from './constants.js';

const SYN = 0x02;
const ACK = 0x10;
const PEER_ISS = 9000;

function add(a: number, n: number): number {
  return (a + n) >>> 0;
}

interface Setup {
  raw: RawPeer;
  sock: TcpSocket;
  port: number;
  iss: number;
  /** ACK from the peer (with optional SACK blocks, relative to ISS + 1). */
  ack(rel: number, sack?: [number, number][], ts?: number): void;
  /** Data segments the stack sent since the last call: [relative seq, length, time]. */
  sent(): [number, number, number][];
}

async function setup(opts: Partial<RawSegment>, rttMs = 10): Promise<Setup> {
  // The loss-based responses (ssthresh, PRR, slow start from one segment) are CUBIC's; bbr.test.ts has BBR's.
  const raw = new RawPeer({ tcp: { congestion: 'cubic' } });
  const sock = new TcpSocket(raw.tcp);
  sock.on('error', () => {});
  sock.connect(80, '10.0.0.2');
  await raw.link.settle();
  const syn = raw.take()[0]!;
  raw.link.clock.advance(rttMs);
  const ts: [number, number] | undefined = opts.ts !== undefined ? [opts.ts[0], syn.ts![0]] : undefined;
  raw.inject({ ...opts, ts, srcPort: 80, dstPort: syn.srcPort, seq: PEER_ISS, ack: add(syn.seq, 1), flags: SYN | ACK, window: 65535 });
  await raw.link.settle();
  raw.take();
  const iss = syn.seq;
  const port = syn.srcPort;
  const times: number[] = [];
  const log: [number, number, number][] = [];
  raw.link.a.tap = (b) => {
    const seqAbs = ((b[4]! << 24) | (b[5]! << 16) | (b[6]! << 8) | b[7]!) >>> 0;
    const doff = (b[12]! >>> 4) * 4;
    if (b.length > doff) log.push([(seqAbs - iss - 1) >>> 0, b.length - doff, raw.link.clock.now()]);
    times.push(raw.link.clock.now());
  };
  let lastTs = 1000;
  return {
    raw,
    sock,
    port,
    iss,
    ack(rel, sack, tsEcr) {
      const abs = sack?.map(([l, r]) => [add(iss, 1 + l), add(iss, 1 + r)] as [number, number]);
      const t: [number, number] | undefined = opts.ts !== undefined ? [++lastTs, tsEcr ?? 0] : undefined;
      raw.inject({ srcPort: 80, dstPort: port, seq: PEER_ISS + 1, ack: add(iss, 1 + rel), flags: ACK, window: 65535, sack: abs, ts: t });
    },
    sent() {
      return log.splice(0);
    },
  };
}

const NO_TS = { mss: 1000 };
const SACK_NO_TS = { mss: 1000, sackPermitted: true };

test('RTO: a lost segment is resent after the RTO, then at 2x, 4x (RFC 6298 §5.4-5.6); a new ACK ends the back-off', async () => {
  const s = await setup(NO_TS, 10);
  const rtt = s.sock.connection!.snd.rtt;
  assert.equal(rtt.samples, 1, 'the SYN gave a sample');
  const rto = rtt.rto;
  assert.equal(rto, MIN_RTO_MS);
  s.sock.write(Buffer.alloc(500, 1));
  await s.raw.link.settle();
  const t0 = s.raw.link.clock.now();
  assert.deepEqual(s.sent().map((x) => x[0]), [0]);
  await s.raw.link.run(() => false, rto - 1);
  assert.equal(s.sent().length, 0, 'not before the RTO');
  const resend: number[] = [];
  await s.raw.link.run(() => {
    for (const x of s.sent()) resend.push(x[2] - t0);
    return resend.length === 3;
  }, 10_000);
  // 200, 600, 1400 from the first send, within the wheel's 1/8.
  const expect = [rto, 3 * rto, 7 * rto];
  for (let i = 0; i < 3; i++) assert.ok(resend[i]! >= expect[i]! && resend[i]! <= expect[i]! * 1.15, `retransmissions at ${resend.join(',')}`);
  assert.equal(s.raw.tcp.stats().rtoTimeouts, 3);
  // Karn (RFC 6298 §3): the ACK of a retransmitted segment gives no sample.
  const samples = rtt.samples;
  s.raw.link.clock.advance(5);
  s.ack(500);
  await s.raw.link.settle();
  assert.equal(rtt.samples, samples, 'no sample from an ambiguous ACK');
  assert.equal(rtt.backoff, 0, 'back-off reset by the new ACK');
  assert.equal(rtt.rto, rto);
  // A segment sent once and ACKed after 30 ms is a sample.
  s.sock.write(Buffer.alloc(100, 2));
  await s.raw.link.settle();
  s.sent();
  s.raw.link.clock.advance(30);
  s.ack(600);
  await s.raw.link.settle();
  assert.equal(rtt.samples, samples + 1);
  assert.equal(rtt.latest, 30);
  s.sock.destroy();
  assert.equal(await s.raw.link.close(), 0);
});

test('one SACK, below DupThresh: the RACK reorder timer (RFC 8985 §6.3) marks the older segments lost before any RTO', async () => {
  const s = await setup(SACK_NO_TS, 10);
  s.sock.write(Buffer.alloc(5000, 1));
  await s.raw.link.settle();
  assert.deepEqual(s.sent().map((x) => x[0]), [0, 1000, 2000, 3000, 4000]);
  s.ack(0, [[3000, 4000]]); // one SACK: below DupThresh, RACK waits a reorder window
  await s.raw.link.settle();
  await s.raw.link.run(() => s.raw.tcp.stats().rtoTimeouts + s.raw.tcp.stats().fastRecoveries > 0, 2000);
  const c = s.sock.connection!;
  // The reorder timer (RACK §6.3) fired before any RTO: segments below the SACK were marked lost.
  assert.equal(s.raw.tcp.stats().rtoTimeouts, 0);
  assert.equal(s.raw.tcp.stats().fastRecoveries, 1);
  const resent = s.sent().map((x) => x[0]);
  assert.deepEqual(resent.slice(0, 3), [0, 1000, 2000]);
  assert.equal(c.snd.records.sacked, 1000);
  s.sock.destroy();
  assert.equal(await s.raw.link.close(), 0);
});

test('RACK with DupThresh: three SACKed segments above a hole retransmit it at once (RFC 8985 §6.2, RFC 6675)', async () => {
  const s = await setup(SACK_NO_TS, 10);
  s.sock.write(Buffer.alloc(6000, 1));
  await s.raw.link.settle();
  s.sent();
  s.raw.link.clock.advance(10);
  s.ack(1000, [[2000, 5000]]);
  await s.raw.link.settle();
  const resent = s.sent();
  assert.equal(resent[0]![0], 1000, 'the hole first');
  assert.equal(s.raw.tcp.stats().fastRecoveries, 1);
  assert.equal(s.raw.tcp.stats().rtoTimeouts, 0);
  const snd = s.sock.connection!.snd;
  assert.ok(snd.cc.ssthresh < Infinity, 'a congestion event');
  // The retransmission arrives: the cumulative ACK jumps past the SACKed data; recovery ends at the RecoveryPoint.
  s.raw.link.clock.advance(10);
  s.ack(6000);
  await s.raw.link.settle();
  assert.equal(snd.recovery.state, 0);
  assert.equal(snd.cc.cwnd, snd.cc.ssthresh);
  s.sock.destroy();
  assert.equal(await s.raw.link.close(), 0);
});

test('tail loss probe: with the last two segments unACKed, a probe goes out after 2 SRTT, long before the RTO (RFC 8985 §7)', async () => {
  const s = await setup(SACK_NO_TS, 10);
  const snd = s.sock.connection!.snd;
  s.sock.write(Buffer.alloc(4000, 1));
  await s.raw.link.settle();
  const t0 = s.raw.link.clock.now();
  s.sent();
  s.raw.link.clock.advance(10);
  s.ack(2000); // the last two segments' fate is unknown
  await s.raw.link.settle();
  let probeAt = -1;
  await s.raw.link.run(() => {
    const x = s.sent();
    if (x.length > 0) probeAt = x[0]![2] - t0;
    return probeAt >= 0;
  }, 1000);
  assert.equal(s.raw.tcp.stats().tlpProbes, 1);
  assert.ok(probeAt > 10 && probeAt < MIN_RTO_MS / 2, `probe at ${probeAt} ms (srtt ${snd.rtt.srtt})`);
  assert.equal(s.raw.tcp.stats().rtoTimeouts, 0);
  s.sock.destroy();
  assert.equal(await s.raw.link.close(), 0);
});

test('NewReno without SACK: three duplicate ACKs retransmit, a partial ACK retransmits the next hole (RFC 6582)', async () => {
  const s = await setup(NO_TS, 10);
  s.sock.write(Buffer.alloc(8000, 1));
  await s.raw.link.settle();
  s.sent();
  s.raw.link.clock.advance(10);
  s.ack(1000);
  s.ack(1000);
  s.ack(1000);
  await s.raw.link.settle();
  assert.equal(s.sent().length, 0, 'two duplicates are not enough');
  s.ack(1000);
  await s.raw.link.settle();
  const first = s.sent();
  assert.equal(first[0]![0], 1000, 'fast retransmit of SND.UNA');
  assert.equal(s.raw.tcp.stats().fastRecoveries, 1);
  s.raw.link.clock.advance(10);
  s.ack(3000); // partial: 3000 was lost too
  await s.raw.link.settle();
  const second = s.sent();
  assert.equal(second[0]![0], 3000, 'the partial ACK retransmits the next segment');
  s.ack(8000);
  await s.raw.link.settle();
  assert.equal(s.sock.connection!.snd.recovery.state, 0);
  s.sock.destroy();
  assert.equal(await s.raw.link.close(), 0);
});

test('D-SACK: a duplicate reported below the ACK is counted, not taken as a SACK of new data (RFC 2883)', async () => {
  const s = await setup(SACK_NO_TS, 10);
  s.sock.write(Buffer.alloc(2000, 1));
  await s.raw.link.settle();
  s.raw.link.clock.advance(5);
  s.ack(2000, [[0, 1000]]);
  await s.raw.link.settle();
  const snd = s.sock.connection!.snd;
  assert.equal(snd.dsacks, 1);
  assert.equal(snd.records.count, 0);
  s.sock.destroy();
  assert.equal(await s.raw.link.close(), 0);
});

test('a spurious RTO is undone when the ACK echoes the original transmission (RFC 3522 Eifel, RFC 4015)', async () => {
  const s = await setup({ mss: 1012, sackPermitted: true, ts: [1000, 0] }, 10); // 1000 bytes beside timestamps
  const c = s.sock.connection!;
  s.sock.write(Buffer.alloc(3000, 1));
  await s.raw.link.settle();
  const t0 = s.raw.link.clock.now();
  const tsOriginal = c.tsVal(t0);
  assert.deepEqual(s.sent().map((x) => x[0]), [0, 1000, 2000]);
  const cwndBefore = c.snd.cc.cwnd;
  // The peer's ACKs are late: a TLP, then the RTO resends the first segment with cwnd cut to one.
  await s.raw.link.run(() => s.raw.tcp.stats().rtoTimeouts === 1, 5000);
  assert.ok(c.snd.cc.cwnd < cwndBefore);
  s.sent();
  // The late ACK of the original (its TSval echoed) arrives: the timeout was spurious.
  s.ack(1000, undefined, tsOriginal);
  await s.raw.link.settle();
  assert.equal(s.raw.tcp.stats().spuriousRtos, 1);
  assert.equal(c.snd.recovery.state, 0, 'back to open');
  assert.ok(c.snd.cc.cwnd >= cwndBefore, `cwnd ${c.snd.cc.cwnd} restored to ${cwndBefore}`);
  assert.deepEqual(s.sent().map((x) => x[0]), [], 'the rest of the flight is not resent');
  s.sock.destroy();
  assert.equal(await s.raw.link.close(), 0);
});

test('an RTO whose ACK echoes the retransmission was a real loss: nothing is undone', async () => {
  const s = await setup({ mss: 1012, sackPermitted: true, ts: [1000, 0] }, 10);
  const c = s.sock.connection!;
  s.sock.write(Buffer.alloc(3000, 1));
  await s.raw.link.settle();
  await s.raw.link.run(() => s.raw.tcp.stats().rtoTimeouts === 1, 5000);
  const cwndAfterRto = c.snd.cc.cwnd;
  s.ack(1000, undefined, c.tsVal(s.raw.link.clock.now()));
  await s.raw.link.settle();
  assert.equal(s.raw.tcp.stats().spuriousRtos, 0);
  assert.equal(c.snd.recovery.state, 2, 'still in loss recovery');
  assert.ok(c.snd.cc.cwnd <= 2 * cwndAfterRto, 'slow start from one segment');
  s.sock.destroy();
  assert.equal(await s.raw.link.close(), 0);
});

test('a timestamp echo from the same millisecond is an RTT of one tick, not zero: min_RTT stays above 0', async () => {
  const s = await setup({ mss: 1000, sackPermitted: true, ts: [1, 0] }, 10);
  const c = s.sock.connection!;
  const len = c.segmentPayload(); // one segment, so every byte is in the one that gets resent
  s.sock.write(Buffer.alloc(len, 1));
  await s.raw.link.settle();
  // The segment is lost and the RTO resends it: its ACK gives no sample by Karn's rule, only the echo.
  await s.raw.link.run(() => c.snd.retransmits > 0, 5000);
  assert.ok(c.snd.rtt.minRtt >= 10, 'the handshake gave 10 ms');
  s.ack(len, undefined, c.tsNow(s.raw.link.clock.now()));
  await s.raw.link.settle();
  assert.equal(c.snd.una, (s.iss + 1 + len) | 0, 'the ACK was taken');
  assert.equal(c.snd.rtt.latest, 1, 'an echo of this tick is under one tick, counted as one');
  assert.equal(c.snd.rtt.minRtt, 1);
});
