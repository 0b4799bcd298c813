import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { pino } from 'pino';
import { serveHealth } from './serveHealth.ts';

describe('serveHealth', () => {
  test('/readyz is 503 while the role starts, then answers from the reporter; /livez is 200 throughout', async (t) => {
    const health = await serveHealth({ host: '127.0.0.1', port: 0, log: pino({ level: 'silent' }) });
    t.after(() => health.close());
    const base = `http://${health.address}`;
    const starting = await fetch(`${base}/readyz`);
    assert.equal(starting.status, 503);
    assert.equal(await starting.text(), 'not ready: starting\n');
    assert.equal((await fetch(`${base}/livez`)).status, 200);

    let ready = false;
    health.setReadiness(async () => (ready ? { ready: true, problems: [] } : { ready: false, problems: ['iscsid: not running'] }));
    const notReady = await fetch(`${base}/readyz`);
    assert.equal(notReady.status, 503);
    assert.equal(await notReady.text(), 'not ready: iscsid: not running\n');
    ready = true;
    assert.equal((await fetch(`${base}/readyz`, { method: 'HEAD' })).status, 200);
    assert.equal((await fetch(`${base}/readyz`, { method: 'POST' })).status, 405);
    assert.equal((await fetch(`${base}/healthz`)).status, 404);

    health.setReadiness(async () => {
      throw new Error('check crashed');
    });
    const failed = await fetch(`${base}/readyz`);
    assert.equal(failed.status, 503);
    assert.match(await failed.text(), /check crashed/);
  });
});
