// Metrics: two real devices over the memory network exchange packets; the exposition then shows each
// peer's handshake, bytes and endpoint as `wg show` would, the pool and the process, in valid
// Prometheus text; the HTTP server serves it and readiness, and nothing else.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import http from 'node:http';
import net from 'node:net';
import { closePair, exchange, makePair } from '../device/_testing.js';
import { keyToBase64 } from '../crypto/keys.js';
import { GcMeter } from '../base/gc-meter.js';
import { MetricsText, peersFromUapi, writeDeviceMetrics, writeProcessMetrics } from './metrics.js';
import { MetricsServer, PROMETHEUS_CONTENT_TYPE } from './metrics-server.js';

/** Each sample line: name{labels} value, as the text format defines it. */
const SAMPLE_RE = /^[a-zA-Z_:][a-zA-Z0-9_:]*(\{[a-zA-Z_][a-zA-Z0-9_]*="(?:[^"\\\n]|\\.)*"(,[a-zA-Z_][a-zA-Z0-9_]*="(?:[^"\\\n]|\\.)*")*\})? (-?[0-9.e+-]+|\+Inf|NaN)$/;

function valueOf(text: string, series: string): number {
  const line = text.split('\n').find((l) => l.startsWith(series + ' '));
  assert.ok(line !== undefined, `no sample ${series}`);
  return Number(line.slice(series.length + 1).replace('+Inf', 'Infinity'));
}

test('device metrics: per-peer handshake, bytes and endpoint from UAPI; pool and process', async () => {
  const p = await makePair();
  await exchange(p, 1);
  const m = new MetricsText();
  const gc = new GcMeter();
  writeDeviceMetrics(m, p.a.dev, p.clock.wallNow() + 5000);
  writeProcessMetrics(m, gc);
  gc.stop();
  const text = m.text();
  for (const line of text.split('\n')) {
    if (line === '' || line.startsWith('# HELP ') || line.startsWith('# TYPE ')) continue;
    assert.match(line, SAMPLE_RE);
  }
  const pub = keyToBase64(p.b.pub);
  assert.ok(text.includes(`wgts_peer_info{public_key="${pub}",endpoint="192.0.2.2:51820"} 1`));
  assert.equal(valueOf(text, `wgts_peer_handshake_age_seconds{public_key="${pub}"}`), 5);
  assert.ok(valueOf(text, `wgts_peer_transmit_bytes_total{public_key="${pub}"}`) > 0);
  assert.ok(valueOf(text, `wgts_peer_receive_bytes_total{public_key="${pub}"}`) > 0);
  assert.equal(valueOf(text, 'wgts_pool_outstanding_buffers'), 0);
  assert.ok(valueOf(text, 'process_resident_memory_bytes') > 0);
  assert.ok(text.includes('wgts_device_drops_total{reason="replay"} 0'));
  assert.ok(!/private|preshared/.test(text), 'no key material');
  assert.deepEqual(await closePair(p), [0, 0]);
});

test('a peer without a handshake has age +Inf and no endpoint', () => {
  const peers = peersFromUapi('private_key=00\npublic_key=0101010101010101010101010101010101010101010101010101010101010101\nlast_handshake_time_sec=0\nlast_handshake_time_nsec=0\nrx_bytes=0\ntx_bytes=0\npersistent_keepalive_interval=25\n');
  assert.deepEqual(peers, [{ publicKey: 'AQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQE=', endpoint: null, lastHandshakeMs: null, rxBytes: 0, txBytes: 0, persistentKeepaliveSec: 25 }]);
  const m = new MetricsText().family('x', 'gauge', 'a "quoted"\nhelp').sample('x', { l: 'a"b\\c\nd' }, Infinity);
  assert.equal(m.text(), '# HELP x a "quoted"\\nhelp\n# TYPE x gauge\nx{l="a\\"b\\\\c\\nd"} +Inf\n');
});

function get(port: number, path: string, method = 'GET'): Promise<{ status: number; type: string | undefined; body: string }> {
  return new Promise((resolve, reject) => {
    http
      .request({ host: '127.0.0.1', port, path, method }, (res) => {
        let body = '';
        res.on('data', (c) => (body += c));
        res.on('end', () => resolve({ status: res.statusCode!, type: res.headers['content-type'], body }));
      })
      .on('error', reject)
      .end();
  });
}

test('the metrics server: /metrics, /readyz 200 or 503, 404 and 405 otherwise', async () => {
  let ok = false;
  const s = new MetricsServer({ metrics: () => 'up 1\n', ready: () => ({ ok, body: JSON.stringify({ ok }) }) });
  const { port } = await s.listen({ host: '127.0.0.1', port: 0, family: 4 });
  const m = await get(port, '/metrics');
  assert.deepEqual([m.status, m.type, m.body], [200, PROMETHEUS_CONTENT_TYPE, 'up 1\n']);
  assert.equal((await get(port, '/readyz')).status, 503);
  ok = true;
  assert.deepEqual(await get(port, '/readyz'), { status: 200, type: 'application/json', body: '{"ok":true}' });
  assert.equal((await get(port, '/other')).status, 404);
  assert.equal((await get(port, '/metrics', 'POST')).status, 405);
  await s.close();
  const busy = net.createServer();
  await new Promise<void>((r) => busy.listen(0, '127.0.0.1', r));
  const taken = (busy.address() as net.AddressInfo).port;
  await assert.rejects(new MetricsServer({ metrics: () => '', ready: null }).listen({ host: '127.0.0.1', port: taken, family: 4 }), /EADDRINUSE/);
  busy.close();
});
