/**
 * The proxy's own metric families (issue 9 point 4): per listener, connections open, in total and
 * turned away, failed upstream attempts, bytes and datagrams each way. Labels: `kind` (socks5, http,
 * sni, tcp-client, tcp-server, udp-client, udp-server) and `address` (where it listens; "tunnel:PORT"
 * for a port on the tunnel's address). Also the tunnel's own TCP/IP stack: its TCP connections and
 * its event counters (retransmissions, resets, drops by reason), when the tunnel reports them.
 */
import type { MetricsText } from '../ipc/metrics.js';
import type { ListenerSnapshot } from './listener-stats.js';

type Field = Exclude<keyof ListenerSnapshot, 'kind' | 'address'>;

const FAMILIES: readonly [string, 'gauge' | 'counter', Field, string][] = [
  ['wgts_listener_connections_open', 'gauge', 'open', 'Client connections open'],
  ['wgts_listener_connections_total', 'counter', 'total', 'Client connections accepted'],
  ['wgts_listener_connections_refused_total', 'counter', 'refused', 'Connections closed at once: the listener was at its limit'],
  ['wgts_listener_upstream_failures_total', 'counter', 'failed', 'Connections or sends toward the target that failed'],
  ['wgts_listener_received_bytes_total', 'counter', 'bytesIn', 'Bytes received from clients'],
  ['wgts_listener_sent_bytes_total', 'counter', 'bytesOut', 'Bytes sent to clients'],
  ['wgts_listener_datagrams_received_total', 'counter', 'datagramsIn', 'UDP datagrams received from clients'],
  ['wgts_listener_datagrams_sent_total', 'counter', 'datagramsOut', 'UDP datagrams sent to clients'],
  ['wgts_listener_datagrams_dropped_total', 'counter', 'dropped', 'UDP datagrams dropped (fragments, malformed, strangers, full queues)'],
];

export function writeListenerMetrics(m: MetricsText, listeners: readonly ListenerSnapshot[]): void {
  for (const [name, type, field, help] of FAMILIES) {
    m.family(name, type, help);
    for (const l of listeners) m.sample(name, { kind: l.kind, address: l.address }, l[field]);
  }
}

/** What a Tunnel's stats() gives that the proxy shows: the IP layer's counters and TCP's. */
export interface TunnelCounters {
  netstack: Readonly<Record<string, number>>;
  tcp?: object;
}

/** TCP fields that are levels, not counts. */
const TCP_GAUGES = new Set(['connections', 'timeWait', 'listeners']);

export function writeTunnelMetrics(m: MetricsText, stats: TunnelCounters): void {
  m.family('wgts_netstack_events_total', 'counter', 'Events of the tunnel\'s IP layer: packets and bytes each way, ICMP, drops by reason');
  for (const [event, n] of Object.entries(stats.netstack)) m.sample('wgts_netstack_events_total', { event }, n);
  if (stats.tcp === undefined) return;
  const tcp = Object.entries(stats.tcp).filter((e): e is [string, number] => typeof e[1] === 'number');
  m.family('wgts_tcp_sockets', 'gauge', 'TCP connections, TIME-WAIT entries and listeners of the tunnel\'s stack');
  for (const [state, n] of tcp) if (TCP_GAUGES.has(state)) m.sample('wgts_tcp_sockets', { state }, n);
  m.family('wgts_tcp_events_total', 'counter', 'Events of the tunnel\'s TCP: opens, segments, retransmissions, recoveries, resets, SYN cookies');
  for (const [event, n] of tcp) if (!TCP_GAUGES.has(event)) m.sample('wgts_tcp_events_total', { event }, n);
}
