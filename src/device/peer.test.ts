/**
 * The peer session alone, on a FakeClock, with a recording sender and host: the timers call the
 * sender themselves (6.4 retries and giving up, 6.5 keepalives), the initiation gate (REKEY_TIMEOUT,
 * 6.4), the once-per-handshake last-minute rekey (6.2), and stop() leaving nothing to fire.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { FakeClock } from '../base/clock.js';
import { TieredPool } from '../buffer/tiered-pool.js';
import { generatePrivateKey, publicKey } from '../crypto/x25519.js';
import { KEEPALIVE_TIMEOUT_MS, MAX_TIMER_HANDSHAKES, REKEY_TIMEOUT_JITTER_MAX_MS, REKEY_TIMEOUT_MS } from './constants.js';
import { Peer, type PeerHost, type PeerSender } from './peer.js';
import type { Endpoint } from '../conn/bind.js';
import { UdpEndpoint } from '../conn/endpoint.js';

class Recorder implements PeerSender, PeerHost {
  readonly calls: string[] = [];
  constructor(private readonly clock: FakeClock) {}
  sendInitiation(peer: Peer, isRetry: boolean): void {
    // As the Sender does: only when the gate lets it through.
    if (peer.beginInitiation(this.clock.now(), isRetry)) {
      this.calls.push(isRetry ? 'retry' : 'initiation');
      peer.onHandshakeInitiated();
    }
  }
  sendKeepalive(): void {
    this.calls.push('keepalive');
  }
  sendStaged(): void {
    this.calls.push('staged');
  }
  freeIndex(): void {}
  verbose(): void {}
  handshakeComplete(): void {
    this.calls.push('handshake');
  }
  endpointChanged(_peer: Peer, endpoint: Endpoint): void {
    this.calls.push(`endpoint ${endpoint}`);
  }
  handshakeFailed(): void {
    this.calls.push('failed');
  }
}

function makePeer(): { peer: Peer; clock: FakeClock; rec: Recorder } {
  const clock = new FakeClock();
  const rec = new Recorder(clock);
  const peer = new Peer(publicKey(generatePrivateKey()), clock, rec, rec);
  peer.start();
  return { peer, clock, rec };
}

test('an unanswered initiation is retried by the peer itself, then given up with the staged packets dropped', () => {
  const { peer, clock, rec } = makePeer();
  const pool = new TieredPool();
  peer.stage(pool.get(100)!);
  rec.sendInitiation(peer, false);
  clock.advance(200_000);
  const retries = rec.calls.filter((c) => c === 'retry').length;
  assert.equal(retries, MAX_TIMER_HANDSHAKES + 1, 'retries before giving up (attempts 2..20)');
  assert.equal(rec.calls.at(-1), 'failed');
  assert.equal(peer.stagedCount, 0);
  assert.equal(pool.outstanding, 0, 'the staged packet went back');
  peer.stop();
});

test('a fresh initiation waits REKEY_TIMEOUT after the last one; a completed handshake stops the retries', () => {
  const { peer, clock, rec } = makePeer();
  rec.sendInitiation(peer, false);
  rec.sendInitiation(peer, false);
  assert.deepEqual(rec.calls, ['initiation'], 'the second came too soon');
  clock.advance(REKEY_TIMEOUT_MS - 1);
  rec.sendInitiation(peer, false);
  assert.deepEqual(rec.calls, ['initiation']);
  peer.onHandshakeComplete();
  assert.ok(peer.lastHandshakeWallMs > 0);
  clock.advance(REKEY_TIMEOUT_MS + REKEY_TIMEOUT_JITTER_MAX_MS + 1);
  assert.deepEqual(rec.calls, ['initiation', 'handshake'], 'no retry after the handshake completed');
  rec.sendInitiation(peer, false);
  assert.deepEqual(rec.calls, ['initiation', 'handshake', 'initiation']);
  peer.stop();
});

test('passive keepalive: data received and nothing sent back for KEEPALIVE_TIMEOUT sends one, and one more if data came meanwhile', () => {
  const { peer, clock, rec } = makePeer();
  peer.onDataReceived();
  clock.advance(KEEPALIVE_TIMEOUT_MS / 2);
  peer.onDataReceived(); // while the timer is pending: another keepalive after this one
  clock.advance(KEEPALIVE_TIMEOUT_MS / 2);
  assert.deepEqual(rec.calls, ['keepalive']);
  clock.advance(KEEPALIVE_TIMEOUT_MS);
  assert.deepEqual(rec.calls, ['keepalive', 'keepalive']);
  // Sending anything authenticated cancels a pending keepalive.
  peer.onDataReceived();
  peer.onAuthenticatedPacketSent();
  clock.advance(2 * KEEPALIVE_TIMEOUT_MS);
  assert.deepEqual(rec.calls, ['keepalive', 'keepalive']);
  peer.stop();
});

test('the last-minute rekey is claimed once per handshake; roaming reports only a new endpoint', () => {
  const { peer, rec } = makePeer();
  assert.equal(peer.claimLastMinuteHandshake(), true);
  assert.equal(peer.claimLastMinuteHandshake(), false);
  peer.onHandshakeComplete();
  assert.equal(peer.claimLastMinuteHandshake(), true);
  const ep = new UdpEndpoint('192.0.2.1', 1);
  peer.roamTo(ep);
  peer.roamTo(ep);
  assert.deepEqual(rec.calls.filter((c) => c.startsWith('endpoint')), ['endpoint 192.0.2.1:1']);
  peer.stop();
});

test('after stop() no timer fires and the staged packets are gone', () => {
  const { peer, clock, rec } = makePeer();
  const pool = new TieredPool();
  peer.setPersistentKeepalive(25);
  assert.deepEqual(rec.calls, ['keepalive'], 'turning the persistent keepalive on sends one at once');
  peer.stage(pool.get(100)!);
  rec.sendInitiation(peer, false);
  peer.onDataSent();
  peer.onDataReceived();
  peer.stop();
  clock.advance(1_000_000);
  assert.deepEqual(rec.calls, ['keepalive', 'initiation']);
  assert.equal(pool.outstanding, 0);
  assert.equal(peer.running, false);
});
