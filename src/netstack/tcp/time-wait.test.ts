// TIME-WAIT as a compact record (time-wait.ts): once the socket is gone the connection object goes and
// a row answers for it, against a scripted peer (RFC 9293 §3.10.7.4 in TIME-WAIT, RFC 7323 PAWS,
// RFC 5961 challenge ACKs), and between two stacks: many rows, their 2 MSL, the arrays given back.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Link, RawPeer } from './_testing.js';
import { TcpSocket } from '../tcp-socket.js';
import { TcpServer } from '../tcp-server.js';
import { ACK, FIN, OOW_ACK_INTERVAL_MS, RST, SYN, TIME_WAIT_MS } from './constants.js';

const PEER_PORT = 80;
const PEER_ISS = 5000;

function add(a: number, n: number): number {
  return (a + n) >>> 0;
}

/** An active close to the scripted peer, with timestamps, ending in TIME-WAIT with the socket gone. */
async function intoTimeWait(raw: RawPeer, rows = 1): Promise<{ port: number; iss: number; finAckWindow: number }> {
  const sock = new TcpSocket(raw.tcp);
  sock.resume();
  sock.connect(PEER_PORT, '10.0.0.2');
  await raw.link.settle();
  const syn = raw.take()[0]!;
  const port = syn.srcPort;
  const iss = syn.seq;
  raw.inject({ srcPort: PEER_PORT, dstPort: port, seq: PEER_ISS, ack: add(iss, 1), flags: SYN | ACK, mss: 1400, wscale: 7, ts: [1000, syn.ts![0]] });
  await raw.link.settle();
  sock.end();
  await raw.link.settle();
  raw.inject({ srcPort: PEER_PORT, dstPort: port, seq: PEER_ISS + 1, ack: add(iss, 2), ts: [1050, 0] });
  raw.inject({ srcPort: PEER_PORT, dstPort: port, seq: PEER_ISS + 1, ack: add(iss, 2), flags: FIN | ACK, ts: [1100, 0] });
  await raw.link.settle();
  await raw.link.settle();
  const acks = raw.take().filter((s) => s.flags === ACK && s.ack === PEER_ISS + 2);
  assert.equal(acks.length, 1, 'the FIN is ACKed');
  assert.equal(sock.destroyed, true);
  const s = raw.tcp.stats();
  assert.equal(s.connections, 0, 'no connection object left');
  assert.equal(s.timeWait, rows, 'a TIME-WAIT record');
  return { port, iss, finAckWindow: acks[0]!.window };
}

test('a TIME-WAIT record re-ACKs a retransmitted FIN as the connection did, and restarts its 2 MSL', async () => {
  const raw = new RawPeer();
  const { port, iss, finAckWindow } = await intoTimeWait(raw);
  raw.link.clock.advance(TIME_WAIT_MS / 2);
  raw.inject({ srcPort: PEER_PORT, dstPort: port, seq: PEER_ISS + 1, ack: add(iss, 2), flags: FIN | ACK, ts: [1200, 0] });
  const out = raw.take();
  assert.equal(out.length, 1);
  const a = out[0]!;
  assert.deepEqual([a.flags, a.seq, a.ack, a.window], [ACK, add(iss, 2), PEER_ISS + 2, finAckWindow]);
  assert.equal(a.ts![1], 1100, 'TSecr is TS.Recent (the FIN below RCV.NXT does not move it)');
  assert.equal(a.sack, undefined);
  raw.link.clock.advance(TIME_WAIT_MS - 1000);
  await raw.link.settle();
  assert.equal(raw.tcp.stats().timeWait, 1, 'restarted by the FIN');
  raw.link.clock.advance(2000);
  await raw.link.settle();
  assert.equal(raw.tcp.stats().timeWait, 0);
  // Gone: the tuple now draws an RST like any other.
  raw.inject({ srcPort: PEER_PORT, dstPort: port, seq: PEER_ISS + 2, ack: add(iss, 2), ts: [1300, 0] });
  assert.deepEqual(raw.take().map((s) => s.flags), [RST]);
  assert.equal(await raw.link.close(), 0);
});

test('a TIME-WAIT record: PAWS and out-of-window segments get rate-limited ACKs; RST only at RCV.NXT ends it; an old SYN is challenged', async () => {
  const raw = new RawPeer();
  const { port, iss } = await intoTimeWait(raw);
  const clock = raw.link.clock;
  // An in-window bare ACK with a newer timestamp: acceptable, nothing to answer.
  raw.inject({ srcPort: PEER_PORT, dstPort: port, seq: PEER_ISS + 2, ack: add(iss, 2), ts: [1150, 0] });
  assert.equal(raw.take().length, 0);
  // PAWS (RFC 7323 §5.3): an older TSval is an old duplicate: one ACK, then the rate limit.
  clock.advance(OOW_ACK_INTERVAL_MS);
  raw.inject({ srcPort: PEER_PORT, dstPort: port, seq: PEER_ISS + 2, ack: add(iss, 2), ts: [900, 0] });
  raw.inject({ srcPort: PEER_PORT, dstPort: port, seq: PEER_ISS + 2, ack: add(iss, 2), ts: [900, 0] });
  let out = raw.take();
  assert.equal(out.length, 1);
  assert.deepEqual([out[0]!.flags, out[0]!.ack, out[0]!.ts![1]], [ACK, PEER_ISS + 2, 1150], 'TS.Recent took the in-window ACK');
  // An ACK for something never sent (RFC 5961 §5.2), after the interval: answered.
  clock.advance(OOW_ACK_INTERVAL_MS);
  raw.inject({ srcPort: PEER_PORT, dstPort: port, seq: PEER_ISS + 2, ack: add(iss, 100), ts: [1160, 0] });
  assert.equal(raw.take().length, 1);
  // An RST inside the window but not at RCV.NXT: a challenge ACK, the record stays.
  clock.advance(OOW_ACK_INTERVAL_MS);
  raw.inject({ srcPort: PEER_PORT, dstPort: port, seq: PEER_ISS + 10, flags: RST });
  out = raw.take();
  assert.deepEqual(out.map((s) => [s.flags, s.ack]), [[ACK, PEER_ISS + 2]]);
  assert.equal(raw.tcp.stats().timeWait, 1);
  // A SYN that is no newer (same TSval as TS.Recent): not a new incarnation; a challenge ACK.
  clock.advance(OOW_ACK_INTERVAL_MS);
  raw.inject({ srcPort: PEER_PORT, dstPort: port, seq: PEER_ISS + 1, flags: SYN, ts: [1150, 0], mss: 1400 });
  out = raw.take();
  assert.deepEqual(out.map((s) => s.flags), [ACK]);
  assert.equal(raw.tcp.stats().timeWait, 1);
  // An RST out of the window: ignored.
  raw.inject({ srcPort: PEER_PORT, dstPort: port, seq: PEER_ISS + 1_000_000, flags: RST });
  assert.equal(raw.take().length, 0);
  assert.equal(raw.tcp.stats().timeWait, 1);
  // An RST at RCV.NXT: the record goes, silently.
  raw.inject({ srcPort: PEER_PORT, dstPort: port, seq: PEER_ISS + 2, flags: RST });
  assert.equal(raw.take().length, 0);
  assert.equal(raw.tcp.stats().timeWait, 0);
  assert.equal(await raw.link.close(), 0);
});

test('a socket still held in TIME-WAIT keeps its connection; letting go turns it into a record', async () => {
  const link = new Link();
  let server: TcpSocket | null = null;
  const srv = new TcpServer(link.tcpB, { allowHalfOpen: true }, (s) => (server = s));
  srv.listen(80);
  const a = new TcpSocket(link.tcpA, { allowHalfOpen: true });
  let connected = false;
  a.connect(80, '10.0.0.2', () => (connected = true));
  assert.ok(await link.run(() => connected && server !== null, 1000));
  // a does not read: the peer's FIN waits unread, so the socket (and its connection) stays open.
  a.end();
  server!.end();
  server!.resume();
  assert.ok(await link.run(() => link.tcpA.stats().timeWait === 1, 5000));
  assert.equal(link.tcpA.stats().connections, 0, 'TIME-WAIT is not counted as a connection');
  assert.ok(a.connection !== null, 'the socket still holds its connection');
  a.destroy();
  await link.settle();
  assert.equal(link.tcpA.stats().timeWait, 1, 'still in TIME-WAIT, now as a record');
  srv.close();
  assert.equal(await link.close(), 0);
});

test('many TIME-WAIT records: each tuple found and answered, all expire after 2 MSL, and the table gives its memory back', async () => {
  const raw = new RawPeer();
  const N = 100;
  const rows: { port: number; iss: number }[] = [];
  for (let i = 0; i < N; i++) rows.push(await intoTimeWait(raw, i + 1));
  const table = (raw.tcp as unknown as { timeWait: { cap: number } }).timeWait;
  assert.ok(table.cap >= N, `grown to ${table.cap} rows`);
  for (const { port, iss } of rows) {
    raw.inject({ srcPort: PEER_PORT, dstPort: port, seq: PEER_ISS + 1, ack: add(iss, 2), flags: FIN | ACK, ts: [1200, 0] });
    const out = raw.take();
    assert.deepEqual(out.map((s) => [s.flags, s.dstPort, s.seq, s.ack]), [[ACK, PEER_PORT, add(iss, 2), PEER_ISS + 2]], `port ${port}`);
  }
  // A new connection to the same peer port is given a port no record holds.
  const again = new TcpSocket(raw.tcp);
  again.on('error', () => {});
  again.connect(PEER_PORT, '10.0.0.2');
  await raw.link.settle();
  const syn = raw.take()[0]!;
  assert.equal(syn.flags & SYN, SYN);
  assert.ok(!rows.some((r) => r.port === syn.srcPort));
  again.destroy();
  raw.link.clock.advance(TIME_WAIT_MS + 1000);
  await raw.link.settle();
  assert.equal(raw.tcp.stats().timeWait, 0);
  assert.equal(table.cap, 16, 'back to its first 16 rows');
  assert.equal(await raw.link.close(), 0);
});
