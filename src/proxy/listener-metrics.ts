/**
 * The proxy's own metric families (issue 9 point 4): per listener, connections open, in total and
 * turned away, failed upstream attempts, bytes and datagrams each way. Labels: `kind` (socks5, http,
 * sni, tcp-client, tcp-server, udp-client, udp-server) and `address` (where it listens; "tunnel:PORT"
 * for a port on the tunnel's address).
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
