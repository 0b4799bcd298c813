import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { pino } from 'pino';
import { createProcessMetrics } from './index.ts';
import { serveMetrics } from './serveMetrics.ts';

describe('serveMetrics', () => {
  test('answers GET /metrics with the text exposition, 404 elsewhere, 405 for other methods, and closes', async () => {
    const { registry, calls } = createProcessMetrics();
    calls.forService('csi.v1.Identity').observe('Probe', 'OK', 0.002);
    const server = await serveMetrics({ registry, host: '127.0.0.1', port: 0, log: pino({ level: 'silent' }) });
    assert.ok(server.port > 0);
    assert.equal(server.address, `127.0.0.1:${server.port}`);
    const base = `http://${server.address}`;
    try {
      const ok = await fetch(`${base}/metrics`);
      assert.equal(ok.status, 200);
      assert.match(ok.headers.get('content-type') ?? '', /^text\/plain; version=0\.0\.4/);
      const text = await ok.text();
      assert.match(text, /^vbs_csi_operations_total\{service="csi.v1.Identity",method="Probe",code="OK"\} 1$/m);
      assert.match(text, /^# TYPE vbs_csi_operation_duration_seconds histogram$/m);
      assert.match(text, /^process_resident_memory_bytes \d+/m);

      assert.equal((await fetch(`${base}/metrics?name=x`)).status, 200, 'a query string is still /metrics');
      const notFound = await fetch(`${base}/`);
      assert.equal(notFound.status, 404);
      await notFound.body?.cancel();
      assert.equal((await fetch(`${base}/metrics/extra`)).status, 404);
      const post = await fetch(`${base}/metrics`, { method: 'POST' });
      assert.equal(post.status, 405);
      assert.equal(post.headers.get('allow'), 'GET, HEAD');
    } finally {
      await server.close();
    }
    await assert.rejects(fetch(`${base}/metrics`), 'the port is closed after close(), even with keep-alive connections open');
  });

  test('fails to start on a port that is taken, naming the error', async () => {
    const { registry } = createProcessMetrics({ processMetrics: false });
    const log = pino({ level: 'silent' });
    const first = await serveMetrics({ registry, host: '127.0.0.1', port: 0, log });
    try {
      await assert.rejects(serveMetrics({ registry, host: '127.0.0.1', port: first.port, log }), /EADDRINUSE/);
    } finally {
      await first.close();
    }
  });
});
