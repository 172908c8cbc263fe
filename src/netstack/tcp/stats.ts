/**
 * TCP's counters: what stats() reports (Tunnel.stats().tcp) and what the tests assert recovery by.
 * Connections keep their own counters while they live; the stack adds them in when they close.
 */
import type { Connection } from './connection.js';

export interface TcpStats {
  connections: number;
  timeWait: number;
  listeners: number;
  activeOpens: number;
  passiveOpens: number;
  segmentsIn: number;
  segmentsOut: number;
  retransmits: number;
  rtoTimeouts: number;
  /** RTOs found spurious by their ACK's timestamp echo and undone (RFC 3522). */
  spuriousRtos: number;
  fastRecoveries: number;
  tlpProbes: number;
  dsacksReceived: number;
  resetsSent: number;
  resetsReceived: number;
  challengeAcks: number;
  badSegments: number;
  synCookiesSent: number;
  synCookiesAccepted: number;
  /** ACKs to a listener in its cookie window that carried no valid cookie, stray ACKs of closed connections included (reset; Linux's SyncookiesFailed). */
  synCookiesFailed: number;
  synDropped: number;
  timeWaitReused: number;
  timeWaitEvicted: number;
}

export function emptyStats(): TcpStats {
  return {
    connections: 0,
    timeWait: 0,
    listeners: 0,
    activeOpens: 0,
    passiveOpens: 0,
    segmentsIn: 0,
    segmentsOut: 0,
    retransmits: 0,
    rtoTimeouts: 0,
    spuriousRtos: 0,
    fastRecoveries: 0,
    tlpProbes: 0,
    dsacksReceived: 0,
    resetsSent: 0,
    resetsReceived: 0,
    challengeAcks: 0,
    badSegments: 0,
    synCookiesSent: 0,
    synCookiesAccepted: 0,
    synCookiesFailed: 0,
    synDropped: 0,
    timeWaitReused: 0,
    timeWaitEvicted: 0,
  };
}

/** Add a connection's own counters into `t`. */
export function addCounters(t: TcpStats, c: Connection): void {
  t.segmentsIn += c.segmentsIn;
  t.segmentsOut += c.segmentsOut;
  t.retransmits += c.snd.retransmits;
  t.rtoTimeouts += c.snd.rtoCount;
  t.spuriousRtos += c.snd.recovery.undone;
  t.fastRecoveries += c.snd.recovery.entered;
  t.tlpProbes += c.snd.tlp.probes;
  t.dsacksReceived += c.snd.dsacks;
  t.challengeAcks += c.challengeAcks;
}
