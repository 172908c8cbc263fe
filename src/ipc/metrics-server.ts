/**
 * A small HTTP server for monitoring: GET /metrics (Prometheus text, metrics.ts) and, when the owner
 * defines readiness, GET /readyz (200 or 503 with a short JSON body), as wireproxy's `--info` server and
 * Kubernetes-style probes expect. Anything else is 404 (405 for other methods). Bounded: a few
 * connections at a time, headers within a short timeout; it is for a scraper, not for the public.
 */
import http from 'node:http';
import type net from 'node:net';
import type { HostPort } from '../net/host-port.js';

export interface MetricsRoutes {
  metrics(): string;
  /** null: no /readyz. */
  ready: (() => { ok: boolean; body: string }) | null;
}

const MAX_CONNECTIONS = 16;
const HEADERS_TIMEOUT_MS = 10_000;
export const PROMETHEUS_CONTENT_TYPE = 'text/plain; version=0.0.4; charset=utf-8';

export class MetricsServer {
  private readonly server: http.Server;

  constructor(routes: MetricsRoutes) {
    this.server = http.createServer({ headersTimeout: HEADERS_TIMEOUT_MS, requestTimeout: HEADERS_TIMEOUT_MS }, (req, res) => {
      const path = (req.url ?? '/').split('?')[0];
      if (req.method !== 'GET' && req.method !== 'HEAD') {
        res.writeHead(405, { Allow: 'GET, HEAD' }).end();
        return;
      }
      if (path === '/metrics') {
        res.writeHead(200, { 'Content-Type': PROMETHEUS_CONTENT_TYPE }).end(routes.metrics());
        return;
      }
      if (path === '/readyz' && routes.ready !== null) {
        const r = routes.ready();
        res.writeHead(r.ok ? 200 : 503, { 'Content-Type': 'application/json' }).end(r.body);
        return;
      }
      res.writeHead(404, { 'Content-Type': 'text/plain' }).end('not found\n');
    });
    this.server.maxConnections = MAX_CONNECTIONS;
  }

  /** Listen on `bind` (a name or address and a port); resolves with the bound address. */
  listen(bind: HostPort): Promise<net.AddressInfo> {
    return new Promise((resolve, reject) => {
      this.server.once('error', reject);
      this.server.listen({ port: bind.port, host: bind.host === '' ? undefined : bind.host }, () => {
        this.server.off('error', reject);
        resolve(this.server.address() as net.AddressInfo);
      });
    });
  }

  close(): Promise<void> {
    this.server.closeAllConnections();
    return new Promise((resolve) => this.server.close(() => resolve()));
  }
}
