import assert from 'node:assert/strict';
import { chmodSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { after, describe, test } from 'node:test';
import { freePorts, startControlPlane } from '../../e2e/cluster/controlPlane.ts';
import { KUBE_COMPONENTS, kubeBinaryPath } from '../../scripts/build-kubernetes.ts';

/**
 * startControlPlane's failure paths, with stand-in binaries (shell scripts) where the built ones would be:
 * the real start is scripts/check-control-plane.ts, which needs Kubernetes built.
 */
const cache = mkdtempSync(join(tmpdir(), 'cp-fake-cache-'));
const env = { ...process.env, XDG_CACHE_HOME: cache };
after(() => rmSync(cache, { recursive: true, force: true }));

function fakeBinaries(etcdScript: string): void {
  for (const name of ['etcd', 'kube-apiserver', 'kube-controller-manager', 'kube-scheduler', 'snapshot-controller']) {
    const path = kubeBinaryPath(KUBE_COMPONENTS.find((c) => c.name === name)!, env);
    mkdirSync(dirname(path), { recursive: true });
    writeFileSync(path, name === 'etcd' ? `#!/bin/sh\n${etcdScript}\n` : '#!/bin/sh\nexit 3\n');
    chmodSync(path, 0o755);
  }
}

describe('startControlPlane', () => {
  test('a component that exits is reported with its log; the files stay', async () => {
    fakeBinaries('echo "etcd: cannot start: $1"; exit 2');
    const dir = join(cache, 'run-exit');
    const lines: string[] = [];
    await assert.rejects(startControlPlane({ dir, log: (l) => lines.push(l), env }), /etcd exited \(2\) before etcd healthy; its log:\netcd: cannot start: --name=vbs-e2e/);
    assert.ok(existsSync(join(dir, 'tokens.csv')), 'the directory is kept');
    assert.match(readFileSync(join(dir, 'etcd.log'), 'utf8'), /cannot start/);
    assert.ok(lines.some((l) => /credentials written/.test(l)));
  });

  test('an abort stops the components started so far and rejects with its reason', async () => {
    const pidFile = join(cache, 'etcd.pid');
    fakeBinaries(`echo $$ > ${pidFile}; exec sleep 60`);
    const controller = new AbortController();
    const started = startControlPlane({ dir: join(cache, 'run-abort'), log: () => {}, env, signal: controller.signal });
    while (!existsSync(pidFile) || readFileSync(pidFile, 'utf8').trim() === '') await new Promise((r) => setTimeout(r, 20));
    controller.abort(new Error('the scenario was cut short'));
    await assert.rejects(started, /the scenario was cut short/);
    const pid = Number(readFileSync(pidFile, 'utf8'));
    assert.throws(() => process.kill(pid, 0), { code: 'ESRCH' }, 'the fake etcd was stopped');
  });

  test('the binaries must be built', async () => {
    await assert.rejects(startControlPlane({ dir: join(cache, 'x'), log: () => {}, env: { ...process.env, XDG_CACHE_HOME: join(cache, 'empty') } }), /etcd is not built .*npm run kube:build/);
  });

  test('free ports are distinct', async () => {
    const ports = await freePorts(6);
    assert.equal(new Set(ports).size, 6);
    for (const p of ports) assert.ok(p > 0 && p < 65536);
  });
});
