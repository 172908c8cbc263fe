// The RFC 9293 state machine against a scripted peer (RawPeer): active and passive opens with and
// without options, SYN-SENT's ACK and RST rules, resets for segments nobody takes, RFC 5961 challenge
// ACKs (RST in window, SYN in a synchronized state, blind ACKs), PAWS, the orderly close from each
// side with TIME-WAIT and its 2 MSL, retransmitted FINs in TIME-WAIT. Then, between two real stacks:
// simultaneous open and simultaneous close, TIME-WAIT reuse (RFC 6191) and the TIME-WAIT bound.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Link, RawPeer, type RawSegment } from './_testing.js';
import { TcpSocket } from '../tcp-socket.js';
import { TcpServer } from '../tcp-server.js';
import { State } from './connection.js';
import { TIME_WAIT_MS } from './constants.js';

const FIN = 0x01;
const SYN = 0x02;
const RST = 0x04;
const PSH = 0x08;
const ACK = 0x10;

const PEER_PORT = 80;
const PEER_ISS = 5000;

function add(a: number, n: number): number {
  return (a + n) >>> 0;
}

/** A socket on the stack under test connecting to the raw peer; returns it with the SYN it sent. */
async function openActive(raw: RawPeer): Promise<{ sock: TcpSocket; syn: RawSegment; events: string[] }> {
  const sock = new TcpSocket(raw.tcp);
  const events: string[] = [];
  sock.on('connect', () => events.push('connect'));
  sock.on('ready', () => events.push('ready'));
  sock.on('error', (e: NodeJS.ErrnoException) => events.push(`error:${e.code}`));
  sock.on('close', (hadError: boolean) => events.push(`close:${hadError}`));
  sock.on('end', () => events.push('end'));
  sock.connect(PEER_PORT, '10.0.0.2');
  await raw.link.settle();
  const out = raw.take();
  assert.equal(out.length, 1, 'one SYN');
  return { sock, syn: out[0]!, events };
}

/** Complete an active open with a SYN-ACK carrying `opts`; returns the stack's ISS. */
async function established(raw: RawPeer, opts: Partial<RawSegment> = { mss: 1400, wscale: 7, sackPermitted: true, ts: [1000, 0] }) {
  const o = await openActive(raw);
  const { syn } = o;
  const ts: [number, number] | undefined = opts.ts !== undefined ? [opts.ts[0], syn.ts![0]] : undefined;
  raw.inject({ ...opts, ts, srcPort: PEER_PORT, dstPort: syn.srcPort, seq: PEER_ISS, ack: add(syn.seq, 1), flags: SYN | ACK, window: 65535 });
  await raw.link.settle();
  const iss = syn.seq;
  return { ...o, iss, port: syn.srcPort };
}

test('active open: the SYN offers MSS, window scale, SACK and timestamps; SYN-ACK -> ESTABLISHED, ACK, connect then ready', async () => {
  const raw = new RawPeer();
  const { sock, syn, events, iss } = await established(raw);
  assert.equal(syn.flags, SYN);
  assert.equal(syn.mss, 1380, 'MSS from the path: 1420 - 40');
  assert.equal(syn.wscale, 7, 'a shift that lets the 6 MiB receive buffer be advertised');
  assert.equal(syn.sackPermitted, true);
  assert.ok(syn.ts !== undefined && syn.ts[1] === 0);
  const out = raw.take();
  assert.equal(out.length, 1);
  assert.equal(out[0]!.flags, ACK);
  assert.equal(out[0]!.seq, add(iss, 1));
  assert.equal(out[0]!.ack, PEER_ISS + 1);
  assert.deepEqual(out[0]!.ts![1], 1000, 'echoes the peer TSval');
  assert.equal(out[0]!.window, Math.floor((128 * 1024) / 128), 'the window is scaled by our shift');
  assert.deepEqual(events, ['connect', 'ready']);
  assert.equal(sock.connection!.state, State.ESTABLISHED);
  assert.equal(sock.remoteAddress, '10.0.0.2');
  assert.equal(sock.remotePort, PEER_PORT);
  assert.equal(sock.localAddress, '10.0.0.1');
  sock.destroy();
  assert.equal(await raw.link.close(), 0);
});

test('active open to a peer without options: no timestamps later, windows unscaled, MSS 536 by default', async () => {
  const raw = new RawPeer();
  const { sock, iss, port } = await established(raw, {});
  raw.take();
  sock.write(Buffer.alloc(2000, 1));
  await raw.link.settle();
  const out = raw.take();
  assert.ok(out.length >= 1);
  assert.equal(out[0]!.ts, undefined, 'no timestamps');
  assert.equal(out[0]!.data.length, 536, 'RFC 9293 §3.7.1 default MSS');
  assert.equal(out[0]!.seq, add(iss, 1));
  assert.equal(out[0]!.window, 0xffff, 'an unscaled window saturates at 65535');
  // The peer's unscaled window of 1000 bytes limits what flies.
  raw.inject({ srcPort: PEER_PORT, dstPort: port, seq: PEER_ISS + 1, ack: add(iss, 1), window: 1000 });
  sock.write(Buffer.alloc(5000, 2));
  await raw.link.settle();
  assert.equal(raw.take().length, 0, 'nothing beyond the window (and no small segment: sender SWS)');
  sock.destroy();
  assert.equal(await raw.link.close(), 0);
});

test('SYN-SENT: an RST that ACKs the SYN refuses the connection (ECONNREFUSED); others are ignored (RFC 5961 §3.2)', async () => {
  const raw = new RawPeer();
  const { sock, syn, events } = await openActive(raw);
  raw.inject({ srcPort: PEER_PORT, dstPort: syn.srcPort, seq: 0, ack: 0, flags: RST });
  raw.inject({ srcPort: PEER_PORT, dstPort: syn.srcPort, seq: 0, ack: add(syn.seq, 7), flags: RST | ACK });
  await raw.link.settle();
  assert.equal(sock.connection!.state, State.SYN_SENT, 'RST without ACK, or with a wrong ACK: ignored');
  raw.inject({ srcPort: PEER_PORT, dstPort: syn.srcPort, seq: 0, ack: add(syn.seq, 1), flags: RST | ACK });
  await raw.link.settle();
  await raw.link.settle();
  assert.deepEqual(events, ['error:ECONNREFUSED', 'close:true']);
  assert.equal(raw.tcp.stats().connections, 0);
  assert.equal(await raw.link.close(), 0);
});

test('SYN-SENT: an ACK of something we never sent draws <SEQ=SEG.ACK><RST>', async () => {
  const raw = new RawPeer();
  const { sock, syn } = await openActive(raw);
  raw.inject({ srcPort: PEER_PORT, dstPort: syn.srcPort, seq: 77, ack: add(syn.seq, 1000), flags: ACK });
  await raw.link.settle();
  const out = raw.take();
  assert.equal(out.length, 1);
  assert.equal(out[0]!.flags, RST);
  assert.equal(out[0]!.seq, add(syn.seq, 1000));
  assert.equal(sock.connection!.state, State.SYN_SENT);
  sock.destroy();
  assert.equal(await raw.link.close(), 0);
});

test('connect times out with ETIMEDOUT after the SYN retransmissions, backing off (RFC 6298 §5.5)', async () => {
  const raw = new RawPeer();
  const { events } = await openActive(raw);
  const times: number[] = [];
  raw.link.a.tap = (b) => {
    if (b[13] === SYN) times.push(raw.link.clock.now());
  };
  await raw.link.run(() => events.includes('close:true'), 300_000, 100);
  assert.deepEqual(events, ['error:ETIMEDOUT', 'close:true']);
  const gaps = times.slice(1).map((t, i) => t - times[i]!);
  assert.equal(times.length, 6, 'six retransmissions');
  // Doubling, within the timer wheel's granularity (1/8 of the delay).
  for (let i = 1; i < gaps.length; i++) {
    const ratio = gaps[i]! / gaps[i - 1]!;
    assert.ok(ratio > 1.75 && ratio < 2.3, `back-off ${gaps.join(',')}`);
  }
  assert.equal(await raw.link.close(), 0);
});

test('passive open: SYN -> SYN-ACK mirroring the offered options; ACK -> connection; a repeated SYN re-sends the SYN-ACK', async () => {
  const raw = new RawPeer();
  const conns: TcpSocket[] = [];
  const server = new TcpServer(raw.tcp, (s) => conns.push(s));
  server.listen(8080);
  await raw.link.settle();
  raw.inject({ srcPort: 40000, dstPort: 8080, seq: 100, flags: SYN, window: 29200, mss: 1000, sackPermitted: true });
  await raw.link.settle();
  let out = raw.take();
  assert.equal(out.length, 1);
  const synack = out[0]!;
  assert.equal(synack.flags, SYN | ACK);
  assert.equal(synack.ack, 101);
  assert.equal(synack.sackPermitted, true);
  assert.equal(synack.wscale, undefined, 'no window scale: the SYN offered none');
  assert.equal(synack.ts, undefined, 'no timestamps: the SYN offered none');
  raw.inject({ srcPort: 40000, dstPort: 8080, seq: 100, flags: SYN, window: 29200, mss: 1000, sackPermitted: true });
  await raw.link.settle();
  out = raw.take();
  assert.equal(out.length, 1, 'SYN-ACK again');
  assert.equal(out[0]!.seq, synack.seq);
  raw.inject({ srcPort: 40000, dstPort: 8080, seq: 101, ack: add(synack.seq, 1), flags: ACK, window: 29200, data: Buffer.from('hello') });
  await raw.link.settle();
  await raw.link.settle();
  assert.equal(conns.length, 1);
  assert.equal(conns[0]!.remotePort, 40000);
  assert.equal(conns[0]!.read()?.toString(), 'hello', 'data on the handshake ACK is delivered');
  // Segments now carry at most the peer's MSS of 1000.
  conns[0]!.write(Buffer.alloc(3000, 1));
  await raw.link.settle();
  out = raw.take().filter((s) => s.data.length > 0);
  assert.deepEqual(out.map((s) => s.data.length), [1000, 1000, 1000]);
  server.close();
  conns[0]!.destroy();
  assert.equal(await raw.link.close(), 0);
});

test('passive open: an RST in SYN-RECEIVED drops the half-open connection silently', async () => {
  const raw = new RawPeer();
  let accepted = 0;
  const server = new TcpServer(raw.tcp, () => accepted++);
  server.listen(8080);
  await raw.link.settle();
  raw.inject({ srcPort: 40000, dstPort: 8080, seq: 100, flags: SYN });
  await raw.link.settle();
  raw.take();
  assert.equal(raw.tcp.stats().connections, 1);
  raw.inject({ srcPort: 40000, dstPort: 8080, seq: 101, flags: RST });
  await raw.link.settle();
  assert.equal(raw.tcp.stats().connections, 0);
  assert.equal(accepted, 0);
  server.close();
  assert.equal(await raw.link.close(), 0);
});

test('segments nobody takes: SYN -> <SEQ=0><ACK=SEG.SEQ+1><RST,ACK>; ACK -> <SEQ=SEG.ACK><RST>; RST -> nothing (RFC 9293 §3.10.7.1)', async () => {
  const raw = new RawPeer();
  raw.inject({ srcPort: 40000, dstPort: 9, seq: 100, flags: SYN, data: Buffer.from('xy') });
  raw.inject({ srcPort: 40000, dstPort: 9, seq: 100, ack: 4242, flags: ACK });
  raw.inject({ srcPort: 40000, dstPort: 9, seq: 100, ack: 4242, flags: RST | ACK });
  await raw.link.settle();
  const out = raw.take();
  assert.equal(out.length, 2);
  assert.deepEqual([out[0]!.flags, out[0]!.seq, out[0]!.ack], [RST | ACK, 0, 103]);
  assert.deepEqual([out[1]!.flags, out[1]!.seq], [RST, 4242]);
  assert.equal(await raw.link.close(), 0);
});

test('RST in ESTABLISHED: exactly RCV.NXT resets (ECONNRESET); elsewhere in the window draws a challenge ACK; outside, nothing (RFC 5961 §3.2)', async () => {
  const raw = new RawPeer();
  const { sock, events, iss, port } = await established(raw);
  raw.take();
  raw.inject({ srcPort: PEER_PORT, dstPort: port, seq: PEER_ISS + 1 + 500, flags: RST });
  await raw.link.settle();
  let out = raw.take();
  assert.equal(out.length, 1, 'challenge ACK');
  assert.deepEqual([out[0]!.flags, out[0]!.seq, out[0]!.ack], [ACK, add(iss, 1), PEER_ISS + 1]);
  raw.inject({ srcPort: PEER_PORT, dstPort: port, seq: PEER_ISS + 1 + 10_000_000, flags: RST });
  await raw.link.settle();
  assert.equal(raw.take().length, 0, 'out of window: dropped silently');
  assert.equal(sock.connection!.state, State.ESTABLISHED);
  raw.inject({ srcPort: PEER_PORT, dstPort: port, seq: PEER_ISS + 1, flags: RST });
  await raw.link.settle();
  await raw.link.settle();
  assert.deepEqual(events, ['connect', 'ready', 'error:ECONNRESET', 'close:true']);
  out = raw.take();
  assert.equal(out.length, 0, 'no answer to an accepted RST');
  assert.equal(await raw.link.close(), 0);
});

test('SYN in ESTABLISHED draws a challenge ACK and changes nothing (RFC 5961 §4); challenge ACKs are rate-limited', async () => {
  const raw = new RawPeer();
  const { sock, port, iss } = await established(raw);
  raw.take();
  raw.inject({ srcPort: PEER_PORT, dstPort: port, seq: 999_999, flags: SYN });
  raw.inject({ srcPort: PEER_PORT, dstPort: port, seq: 999_999, flags: SYN });
  await raw.link.settle();
  const out = raw.take();
  assert.equal(out.length, 1, 'one challenge ACK within the rate limit');
  assert.deepEqual([out[0]!.flags, out[0]!.seq, out[0]!.ack], [ACK, add(iss, 1), PEER_ISS + 1]);
  assert.equal(sock.connection!.state, State.ESTABLISHED);
  assert.equal(raw.tcp.stats().challengeAcks, 1);
  sock.destroy();
  assert.equal(await raw.link.close(), 0);
});

test('ACK checks (RFC 5961 §5.2): an ACK of unsent data is answered and dropped; an ACK from before the window is a challenge', async () => {
  const raw = new RawPeer();
  const { sock, port, iss } = await established(raw, { mss: 1400 });
  raw.take();
  sock.write(Buffer.from('abc'));
  await raw.link.settle();
  raw.take();
  raw.inject({ srcPort: PEER_PORT, dstPort: port, seq: PEER_ISS + 1, ack: add(iss, 100), flags: ACK, data: Buffer.from('zz') });
  await raw.link.settle();
  let out = raw.take();
  assert.equal(out.length, 1);
  assert.equal(out[0]!.ack, PEER_ISS + 1, 'the data of a segment with a bad ACK is not taken');
  assert.equal(sock.read(), null);
  raw.link.clock.advance(1000);
  raw.take(); // the retransmissions of 'abc' the second brought
  raw.inject({ srcPort: PEER_PORT, dstPort: port, seq: PEER_ISS + 1, ack: add(iss, -200_000), flags: ACK, data: Buffer.from('zz') });
  await raw.link.settle();
  out = raw.take();
  assert.equal(out.length, 1, 'challenge ACK');
  assert.equal(out[0]!.data.length, 0);
  assert.equal(sock.read(), null);
  raw.inject({ srcPort: PEER_PORT, dstPort: port, seq: PEER_ISS + 1, ack: add(iss, 4), flags: ACK | PSH, data: Buffer.from('ok') });
  await raw.link.settle();
  assert.equal(sock.read()?.toString(), 'ok');
  assert.equal(sock.connection!.snd.una >>> 0, add(iss, 4));
  sock.destroy();
  assert.equal(await raw.link.close(), 0);
});

test('PAWS (RFC 7323 §5.3): a segment with an older TSval is dropped and answered', async () => {
  const raw = new RawPeer();
  const { sock, port, iss } = await established(raw);
  raw.take();
  raw.inject({ srcPort: PEER_PORT, dstPort: port, seq: PEER_ISS + 1, ack: add(iss, 1), ts: [2000, 0], data: Buffer.from('new') });
  await raw.link.settle();
  assert.equal(sock.read()?.toString(), 'new');
  raw.take();
  raw.inject({ srcPort: PEER_PORT, dstPort: port, seq: PEER_ISS + 4, ack: add(iss, 1), ts: [1500, 0], data: Buffer.from('old') });
  await raw.link.settle();
  assert.equal(sock.read(), null, 'old duplicate dropped');
  const out = raw.take();
  assert.equal(out.length, 1);
  assert.equal(out[0]!.ack, PEER_ISS + 4);
  assert.equal(out[0]!.ts![1], 2000, 'TS.Recent unchanged');
  sock.destroy();
  assert.equal(await raw.link.close(), 0);
});

test('active close: FIN-WAIT-1 -> FIN-WAIT-2 -> TIME-WAIT for 2 MSL; a retransmitted FIN is ACKed again and restarts it', async () => {
  const raw = new RawPeer();
  const { sock, port, iss, events } = await established(raw, { mss: 1400 });
  raw.take();
  sock.resume();
  sock.end();
  await raw.link.settle();
  let out = raw.take();
  assert.equal(out.length, 1);
  assert.equal(out[0]!.flags, FIN | ACK);
  assert.equal(out[0]!.seq, add(iss, 1));
  const c = sock.connection!;
  assert.equal(c.state, State.FIN_WAIT_1);
  raw.inject({ srcPort: PEER_PORT, dstPort: port, seq: PEER_ISS + 1, ack: add(iss, 2) });
  await raw.link.settle();
  assert.equal(c.state, State.FIN_WAIT_2);
  raw.inject({ srcPort: PEER_PORT, dstPort: port, seq: PEER_ISS + 1, ack: add(iss, 2), flags: FIN | ACK });
  await raw.link.settle();
  await raw.link.settle();
  out = raw.take();
  assert.equal(out.length, 1);
  assert.deepEqual([out[0]!.flags, out[0]!.ack], [ACK, PEER_ISS + 2]);
  assert.deepEqual(events, ['connect', 'ready', 'end', 'close:false']);
  // The socket is gone: TIME-WAIT goes on as a compact record (time-wait.ts), not as the connection.
  assert.equal(raw.tcp.stats().timeWait, 1);
  assert.equal(raw.tcp.stats().connections, 0);
  assert.equal(c.state, State.CLOSED);
  raw.link.clock.advance(TIME_WAIT_MS / 2);
  raw.inject({ srcPort: PEER_PORT, dstPort: port, seq: PEER_ISS + 1, ack: add(iss, 2), flags: FIN | ACK });
  await raw.link.settle();
  assert.equal(raw.take().length, 1, 'the retransmitted FIN is ACKed');
  raw.link.clock.advance(TIME_WAIT_MS - 1000);
  await raw.link.settle();
  assert.equal(raw.tcp.stats().timeWait, 1, 'the 2 MSL restarted');
  raw.link.clock.advance(2000);
  await raw.link.settle();
  assert.equal(raw.tcp.stats().timeWait, 0);
  assert.equal(await raw.link.close(), 0);
});

test('passive close: CLOSE-WAIT -> LAST-ACK -> CLOSED; the FIN waits for queued data', async () => {
  const raw = new RawPeer();
  const { sock, port, iss, events } = await established(raw, { mss: 1400 });
  raw.take();
  sock.resume();
  const c = sock.connection!;
  raw.inject({ srcPort: PEER_PORT, dstPort: port, seq: PEER_ISS + 1, ack: add(iss, 1), flags: FIN | ACK });
  await raw.link.settle();
  await raw.link.settle();
  assert.equal(c.state, State.LAST_ACK, 'allowHalfOpen false: the peer FIN ended our side too');
  assert.deepEqual(events, ['connect', 'ready', 'end', 'close:false']);
  const out = raw.take();
  assert.ok(out.some((s) => (s.flags & FIN) !== 0 && s.seq === add(iss, 1)));
  raw.inject({ srcPort: PEER_PORT, dstPort: port, seq: PEER_ISS + 2, ack: add(iss, 2) });
  await raw.link.settle();
  await raw.link.settle();
  assert.equal(c.state, State.CLOSED);
  assert.equal(raw.tcp.stats().connections, 0);
  assert.equal(await raw.link.close(), 0);
});

test('simultaneous open between two stacks (RFC 9293 §3.5 figure 8)', async () => {
  const link = new Link();
  const a = new TcpSocket(link.tcpA);
  const b = new TcpSocket(link.tcpB);
  let ca = false;
  let cb = false;
  a.connect({ port: 6000, host: '10.0.0.2', localPort: 5000 }, () => (ca = true));
  b.connect({ port: 5000, host: '10.0.0.1', localPort: 6000 }, () => (cb = true));
  const gotA: Buffer[] = [];
  const gotB: Buffer[] = [];
  a.on('data', (d: Buffer) => gotA.push(d));
  b.on('data', (d: Buffer) => gotB.push(d));
  assert.ok(await link.run(() => ca && cb, 10_000));
  a.write('from a');
  b.write('from b');
  await link.run(() => gotA.length > 0 && gotB.length > 0, 1000);
  assert.equal(Buffer.concat(gotA).toString(), 'from b');
  assert.equal(Buffer.concat(gotB).toString(), 'from a');
  a.destroy();
  b.destroy();
  await link.run(() => link.tcpA.stats().connections === 0 && link.tcpB.stats().connections === 0, 10_000);
  assert.equal(await link.close(), 0);
});

test('simultaneous close: both FIN-WAIT-1 -> CLOSING -> TIME-WAIT', async () => {
  const link = new Link();
  let server: TcpSocket | null = null;
  const srv = new TcpServer(link.tcpB, { allowHalfOpen: true }, (s) => (server = s));
  srv.listen(80);
  const a = new TcpSocket(link.tcpA, { allowHalfOpen: true });
  let connected = false;
  a.connect(80, '10.0.0.2', () => (connected = true));
  await link.run(() => connected && server !== null, 1000);
  const ca = a.connection!;
  const cb = server!.connection!;
  const states = new Set<string>();
  const watch = (): boolean => {
    states.add(`a${ca.state}`);
    states.add(`b${cb.state}`);
    return ca.state === State.TIME_WAIT && cb.state === State.TIME_WAIT;
  };
  a.end();
  server!.end();
  assert.ok(await link.run(watch, 5000));
  assert.ok(states.has(`a${State.CLOSING}`) && states.has(`b${State.CLOSING}`), `both went through CLOSING: ${[...states]}`);
  a.resume();
  server!.resume();
  srv.close();
  assert.equal(await link.close(), 0);
});

test('TIME-WAIT reuse: a new SYN above the old incarnation opens a new connection (RFC 6191)', async () => {
  const link = new Link();
  const accepted: TcpSocket[] = [];
  const srv = new TcpServer(link.tcpB, (s) => {
    accepted.push(s);
    s.resume();
    s.end(); // the server closes first: it holds the TIME-WAIT
  });
  srv.listen(80);
  for (let round = 0; round < 2; round++) {
    const a = new TcpSocket(link.tcpA);
    let closed = false;
    a.on('close', () => (closed = true));
    a.resume();
    a.connect({ port: 80, host: '10.0.0.2', localPort: 7777 });
    assert.ok(await link.run(() => closed && link.tcpB.stats().timeWait === 1, 10_000), `round ${round}: the server side is in TIME-WAIT`);
    link.clock.advance(10);
  }
  assert.equal(accepted.length, 2);
  assert.equal(link.tcpB.stats().timeWaitReused, 1);
  srv.close();
  assert.equal(await link.close(), 0);
});

test('connect() from a port in TIME-WAIT: refused at first, allowed once timestamps protect it (>= 1 s)', async () => {
  const link = new Link();
  const srv = new TcpServer(link.tcpB, (s) => s.resume());
  srv.listen(80);
  const a = new TcpSocket(link.tcpA);
  let closed = false;
  a.on('close', () => (closed = true));
  a.resume();
  a.connect({ port: 80, host: '10.0.0.2', localPort: 7777 }, () => a.end());
  await link.run(() => closed && link.tcpA.stats().timeWait === 1, 10_000);
  const again = new TcpSocket(link.tcpA);
  let err: NodeJS.ErrnoException | null = null;
  again.on('error', (e) => (err = e));
  again.connect({ port: 80, host: '10.0.0.2', localPort: 7777 });
  await link.settle();
  assert.equal(err!.code, 'EADDRINUSE');
  link.clock.advance(1500);
  const third = new TcpSocket(link.tcpA);
  let ok = false;
  third.connect({ port: 80, host: '10.0.0.2', localPort: 7777 }, () => (ok = true));
  assert.ok(await link.run(() => ok, 5000));
  third.destroy();
  srv.close();
  assert.equal(await link.close(), 0);
});

test('the TIME-WAIT table is bounded: the oldest entry goes first', async () => {
  const link = new Link({ tcp: { maxTimeWait: 3 } });
  const srv = new TcpServer(link.tcpB, (s) => s.resume());
  srv.listen(80);
  for (let i = 0; i < 5; i++) {
    const a = new TcpSocket(link.tcpA);
    let closed = false;
    a.on('close', () => (closed = true));
    a.resume();
    a.connect(80, '10.0.0.2', () => a.end());
    await link.run(() => closed, 10_000);
  }
  await link.run(() => link.tcpA.stats().connections === 0, 1000);
  const s = link.tcpA.stats();
  assert.equal(s.timeWait, 3);
  assert.equal(s.timeWaitEvicted, 2);
  srv.close();
  assert.equal(await link.close(), 0);
});

test('ephemeral ports stay in 49152-65535 (RFC 6335 §6) whatever the destination (RFC 6056 §3.3.3 offset)', async () => {
  const raw = new RawPeer();
  const sockets: TcpSocket[] = [];
  for (let i = 0; i < 400; i++) {
    const s = new TcpSocket(raw.tcp);
    s.on('error', () => {});
    s.connect(1000 + i, i % 2 === 0 ? '10.0.0.2' : 'fd00::2');
    sockets.push(s);
  }
  await raw.link.settle();
  const ports = sockets.map((s) => s.connection!.localPort);
  for (const s of sockets) s.destroy();
  const outside = ports.filter((p) => p < 49152 || p > 65535);
  assert.deepEqual(outside, [], `ports outside the ephemeral range: ${outside.slice(0, 5).join(', ')}`);
  assert.equal(await raw.link.close(), 0);
});
