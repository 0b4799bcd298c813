import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { execa } from 'execa';
import { connectIdentity } from '../../src/grpc/csiClients.ts';
import { readInitiatorName } from '../../src/iscsi/index.ts';
import { makeClusterCertificates } from '../support/clusterCertificates.ts';
import { persistOutput } from '../support/suiteLogs.ts';
import { pollUntil } from '../vm/poll.ts';
import type { Scenario, ScenarioContext } from './Scenario.ts';

const LIVEZ = '127.0.0.1:19813';

/**
 * Issue 16, "liveness separate from readiness": a worker without iscsi_tcp must not crash-loop. In the
 * real kernel, with iscsi_tcp unloaded, the node role (as the chart starts it) keeps running, /livez
 * answers 200 (liveness) and Probe is not ready (readiness), naming the module; started with
 * --load-kernel-modules=true it runs modprobe itself and becomes ready.
 */
export const nodeModulesScenario: Scenario = {
  name: 'a node without iscsi_tcp stays alive and not ready, and loads the module itself with --load-kernel-modules',
  timeoutMs: 240_000,
  async run(ctx) {
    const initiator = await readInitiatorName();
    const certs = await makeClusterCertificates(join(ctx.workDir, 'tls'), [], [initiator]);
    const tls = certs.nodes.get(initiator);
    assert.ok(tls);
    const tlsFlags = ['--tls-ca', certs.caPath, '--tls-cert', tls.cert, '--tls-key', tls.key];

    await unloadIscsiTcp(ctx);
    try {
      // 1. Without loading: alive, not ready, for longer than a liveness probe would wait.
      const first = await startNode(ctx, 'node-no-load', tlsFlags, []);
      try {
        await sleep(12_000, undefined, { signal: ctx.signal });
        assert.equal(first.exitCode(), null, `the node exited without iscsi_tcp:\n${first.output()}`);
        const live = await fetch(`http://${LIVEZ}/livez`);
        assert.equal(live.status, 200, 'liveness: the process answers');
        assert.equal((await first.client.probe()).ready?.value, false, 'readiness: iscsi_tcp is missing');
        assert.match(first.output(), /kernel module iscsi_tcp: not loaded/);
        assert.equal(existsSync('/sys/module/iscsi_tcp'), false, 'nobody loaded it');
        ctx.log('without --load-kernel-modules: alive (/livez 200), not ready (iscsi_tcp not loaded)');
      } finally {
        await first.stop();
      }

      // 2. With --load-kernel-modules=true: modprobe at start, then ready.
      const second = await startNode(ctx, 'node-load', tlsFlags, ['--load-kernel-modules=true']);
      try {
        await pollUntil(async () => ((await second.client.probe()).ready?.value ? true : undefined), {
          deadlineMs: Date.now() + 30_000,
          intervalMs: 500,
          what: 'Probe ready once the node loaded iscsi_tcp',
          signal: ctx.signal,
        });
        assert.ok(existsSync('/sys/module/iscsi_tcp'), 'iscsi_tcp is loaded');
        assert.match(second.output(), /"module":"iscsi_tcp".*"msg":"loaded kernel module"/);
        assert.equal((await fetch(`http://${LIVEZ}/livez`)).status, 200);
        ctx.log('with --load-kernel-modules=true: modprobe iscsi_tcp at start, Probe ready');
      } finally {
        await second.stop();
      }
    } finally {
      // Leave the bed as found: the other scenarios need iscsi_tcp.
      await execa('modprobe', ['iscsi_tcp'], { reject: false });
    }
  },
};

async function unloadIscsiTcp(ctx: ScenarioContext): Promise<void> {
  if (!existsSync('/sys/module/iscsi_tcp')) return;
  const r = await execa('modprobe', ['-r', 'iscsi_tcp'], { reject: false, all: true });
  if (r.exitCode !== 0 || existsSync('/sys/module/iscsi_tcp')) {
    throw new Error(`cannot unload iscsi_tcp for this scenario (an iSCSI session left by another?): ${r.all ?? ''}`);
  }
  ctx.log('iscsi_tcp unloaded');
}

async function startNode(ctx: ScenarioContext, label: string, tlsFlags: readonly string[], extra: readonly string[]) {
  const socket = join(ctx.workDir, `${label}.sock`);
  const driver = execa(
    'node',
    [
      'src/main.ts', 'node', '--endpoint', `unix://${socket}`, '--node-id', 'e2e-guest', '--log-level', 'debug',
      '--state-dir', join(ctx.workDir, `${label}-state`), '--health-address', LIVEZ, ...tlsFlags, ...extra,
    ],
    { cwd: ctx.projectRoot, reject: false, cancelSignal: ctx.signal, all: true },
  );
  persistOutput(ctx.workDir, label, driver.all);
  const chunks: string[] = [];
  driver.all?.on('data', (chunk: Buffer) => chunks.push(chunk.toString()));
  const output = () => chunks.join('');
  try {
    await pollUntil(
      () => {
        if (driver.exitCode !== null) throw new Error(`${label} exited early (code ${driver.exitCode}):\n${output()}`);
        return existsSync(socket) ? true : undefined;
      },
      { deadlineMs: Date.now() + 90_000, what: `${label}'s socket`, signal: ctx.signal },
    );
  } catch (err: unknown) {
    driver.kill('SIGKILL');
    throw new Error(`${label} did not serve: ${err instanceof Error ? err.message : String(err)}\n--- its output ---\n${output()}`);
  }
  const client = connectIdentity(`unix://${socket}`, 10_000);
  return {
    client,
    output,
    exitCode: () => driver.exitCode,
    async stop() {
      client.close();
      driver.kill('SIGTERM');
      const done = await driver;
      ctx.log(`${label} output:\n${output()}`);
      assert.equal(done.exitCode, 0, `${label} exited with ${done.exitCode ?? done.signal} after SIGTERM`);
    },
  };
}
