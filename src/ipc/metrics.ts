/**
 * Metrics in the Prometheus text exposition format (version 0.0.4: `# HELP`, `# TYPE`, then
 * `name{label="value"} number` lines), for the daemon's WGTS_METRICS_ADDRESS and the proxy's info
 * server alike:
 *
 * - per peer, from the device's own UAPI `get` answer (so exactly what `wg show` reports): last
 *   handshake time and age, received and sent bytes, endpoint (as a label of an info series);
 * - the device's drop counters by reason;
 * - the packet pool: buffers and bytes outstanding, slabs held and trimmed, budget refusals, resumes;
 * - the process: resident memory, heap, CPU seconds, garbage collections and their pause time.
 *
 * Label values are escaped as the format requires (backslash, double quote, newline). Keys never
 * appear: peers are labelled by public key, and the UAPI answer's private fields are not read.
 */
import type { GcMeter } from '../base/gc-meter.js';
import type { PoolStats } from '../buffer/tiered-pool.js';

type Labels = Readonly<Record<string, string>> | null;

/** One exposition, built family by family. */
export class MetricsText {
  private readonly lines: string[] = [];

  /** Start a metric family: its help text and type. */
  family(name: string, type: 'gauge' | 'counter', help: string): this {
    this.lines.push(`# HELP ${name} ${help.replace(/\\/g, '\\\\').replace(/\n/g, '\\n')}`, `# TYPE ${name} ${type}`);
    return this;
  }

  sample(name: string, labels: Labels, value: number): this {
    this.lines.push(`${name}${formatLabels(labels)} ${formatValue(value)}`);
    return this;
  }

  /** A family with one unlabelled sample. */
  single(name: string, type: 'gauge' | 'counter', help: string, value: number): this {
    return this.family(name, type, help).sample(name, null, value);
  }

  text(): string {
    return this.lines.join('\n') + '\n';
  }
}

function formatLabels(labels: Labels): string {
  if (labels === null) return '';
  const parts: string[] = [];
  for (const [k, v] of Object.entries(labels)) parts.push(`${k}="${v.replace(/\\/g, '\\\\').replace(/"/g, '\\"').replace(/\n/g, '\\n')}"`);
  return parts.length === 0 ? '' : `{${parts.join(',')}}`;
}

function formatValue(v: number): string {
  if (Number.isNaN(v)) return 'NaN';
  if (v === Infinity) return '+Inf';
  if (v === -Infinity) return '-Inf';
  return String(v);
}

// ---- the device ------------------------------------------------------------------------------------

export interface PeerState {
  /** Base64, as `wg` prints it. */
  publicKey: string;
  endpoint: string | null;
  /** Wall-clock milliseconds of the last handshake, or null for none yet. */
  lastHandshakeMs: number | null;
  rxBytes: number;
  txBytes: number;
  persistentKeepaliveSec: number;
}

/** The peers in a UAPI `get` answer (the cross-platform description's keys), in order. */
export function peersFromUapi(text: string): PeerState[] {
  const peers: PeerState[] = [];
  let p: PeerState | null = null;
  let sec = 0;
  for (const line of text.split('\n')) {
    const eq = line.indexOf('=');
    if (eq < 0) continue;
    const key = line.slice(0, eq);
    const value = line.slice(eq + 1);
    if (key === 'public_key') {
      p = { publicKey: Buffer.from(value, 'hex').toString('base64'), endpoint: null, lastHandshakeMs: null, rxBytes: 0, txBytes: 0, persistentKeepaliveSec: 0 };
      peers.push(p);
      continue;
    }
    if (p === null) continue;
    switch (key) {
      case 'endpoint':
        p.endpoint = value;
        break;
      case 'last_handshake_time_sec':
        sec = Number(value);
        break;
      case 'last_handshake_time_nsec': {
        const ms = sec * 1000 + Math.floor(Number(value) / 1e6);
        p.lastHandshakeMs = ms === 0 ? null : ms;
        break;
      }
      case 'rx_bytes':
        p.rxBytes = Number(value);
        break;
      case 'tx_bytes':
        p.txBytes = Number(value);
        break;
      case 'persistent_keepalive_interval':
        p.persistentKeepaliveSec = Number(value);
        break;
    }
  }
  return peers;
}

/** What the device section reads: the Device, or the proxy's view of it. */
export interface MetricsDevice {
  ipcGet(): string;
  readonly pool: { stats(): PoolStats; readonly budget: MetricsBudget | null };
  readonly drops?: { snapshot(): Record<string, number> };
}

export interface MetricsBudget {
  readonly limit: number;
  readonly outstanding: number;
  readonly refusals: number;
  readonly resumes: number;
  readonly paused: boolean;
}

/** Peers, drops and pool of `dev`; `nowMs` is wall-clock time for handshake ages. */
export function writeDeviceMetrics(m: MetricsText, dev: MetricsDevice, nowMs: number): void {
  const peers = peersFromUapi(dev.ipcGet());
  m.family('wgts_peer_info', 'gauge', 'A configured peer; its endpoint as a label (empty until known)');
  for (const p of peers) m.sample('wgts_peer_info', { public_key: p.publicKey, endpoint: p.endpoint ?? '' }, 1);
  m.family('wgts_peer_last_handshake_seconds', 'gauge', 'Unix time of the last completed handshake (0: none yet)');
  for (const p of peers) m.sample('wgts_peer_last_handshake_seconds', { public_key: p.publicKey }, p.lastHandshakeMs === null ? 0 : p.lastHandshakeMs / 1000);
  m.family('wgts_peer_handshake_age_seconds', 'gauge', 'Seconds since the last completed handshake (+Inf: none yet)');
  for (const p of peers) m.sample('wgts_peer_handshake_age_seconds', { public_key: p.publicKey }, p.lastHandshakeMs === null ? Infinity : Math.max(0, (nowMs - p.lastHandshakeMs) / 1000));
  m.family('wgts_peer_receive_bytes_total', 'counter', 'Bytes received from the peer (transport payloads, as wg show counts them)');
  for (const p of peers) m.sample('wgts_peer_receive_bytes_total', { public_key: p.publicKey }, p.rxBytes);
  m.family('wgts_peer_transmit_bytes_total', 'counter', 'Bytes sent to the peer');
  for (const p of peers) m.sample('wgts_peer_transmit_bytes_total', { public_key: p.publicKey }, p.txBytes);
  m.family('wgts_peer_persistent_keepalive_seconds', 'gauge', 'Persistent keepalive interval (0: off)');
  for (const p of peers) m.sample('wgts_peer_persistent_keepalive_seconds', { public_key: p.publicKey }, p.persistentKeepaliveSec);

  if (dev.drops !== undefined) {
    m.family('wgts_device_drops_total', 'counter', 'Packets dropped by the device, by reason');
    for (const [reason, n] of Object.entries(dev.drops.snapshot())) m.sample('wgts_device_drops_total', { reason }, n);
  }

  const pool = dev.pool.stats();
  m.single('wgts_pool_outstanding_buffers', 'gauge', 'Packet buffers handed out and not yet released', pool.outstanding);
  m.single('wgts_pool_outstanding_bytes', 'gauge', 'Bytes of packet buffers handed out and not yet released', pool.outstandingBytes);
  m.single('wgts_pool_slabs', 'gauge', 'Slabs the packet pool holds', pool.slabs);
  m.single('wgts_pool_reserved_bytes', 'gauge', 'Bytes held in the packet pool\'s slabs', pool.reservedBytes);
  m.single('wgts_pool_trimmed_slabs_total', 'counter', 'Idle slabs given back', pool.trimmedSlabs);
  m.single('wgts_pool_refused_total', 'counter', 'Buffer requests refused by the budget', pool.refused);
  const b = dev.pool.budget;
  if (b !== null) {
    m.single('wgts_budget_limit_bytes', 'gauge', 'Cap on packet bytes outstanding', b.limit);
    m.single('wgts_budget_outstanding_bytes', 'gauge', 'Packet bytes charged to the budget', b.outstanding);
    m.single('wgts_budget_paused', 'gauge', '1 while readers are paused at the budget', b.paused ? 1 : 0);
    m.single('wgts_budget_refusals_total', 'counter', 'Reservations refused: each pauses the readers', b.refusals);
    m.single('wgts_budget_resumes_total', 'counter', 'Times paused readers were resumed', b.resumes);
  }
}

// ---- the process ----------------------------------------------------------------------------------

export function writeProcessMetrics(m: MetricsText, gc: GcMeter | null): void {
  const mem = process.memoryUsage();
  const cpu = process.cpuUsage();
  m.single('process_resident_memory_bytes', 'gauge', 'Resident set size', mem.rss);
  m.single('process_cpu_seconds_total', 'counter', 'User and system CPU time', (cpu.user + cpu.system) / 1e6);
  m.single('process_start_time_seconds', 'gauge', 'Start time of the process, Unix seconds', Math.round((performance.timeOrigin) / 1000));
  m.single('nodejs_heap_used_bytes', 'gauge', 'V8 heap in use', mem.heapUsed);
  m.single('nodejs_heap_total_bytes', 'gauge', 'V8 heap reserved', mem.heapTotal);
  m.single('nodejs_external_bytes', 'gauge', 'Memory of objects outside the V8 heap (ArrayBuffers included)', mem.external);
  m.single('nodejs_array_buffers_bytes', 'gauge', 'Memory of ArrayBuffers and SharedArrayBuffers', mem.arrayBuffers);
  if (gc !== null) {
    m.single('nodejs_gc_runs_total', 'counter', 'Garbage collections since metrics started', gc.count);
    m.single('nodejs_gc_pause_seconds_total', 'counter', 'Time spent in garbage collection since metrics started', gc.ms / 1000);
  }
}
