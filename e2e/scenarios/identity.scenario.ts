import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { readFile, writeFile } from 'node:fs/promises';
import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import { execa } from 'execa';
import { pino } from 'pino';
import { ExecaRunner } from '../../src/exec/index.ts';
import { connectIdentity } from '../../src/grpc/csiClients.ts';
import { createCertificateAuthority, issueCertificate } from '../../src/tls/index.ts';
import { createLoopVolumeGroup } from '../support/loopVolumeGroup.ts';
import { recordSecret } from '../support/secretLedger.ts';
import { persistOutput } from '../support/suiteLogs.ts';
import { pollUntil } from '../vm/poll.ts';
import type { Scenario } from './Scenario.ts';

/**
 * Scenario (a) of the foundation: the driver, started as a user would (`node src/main.ts all-in-one`),
 * serves CSI Identity on a unix socket in a real kernel; Probe is ready because the guest has
 * every dependency; SIGTERM removes the socket and exits 0.
 */
export const identityScenario: Scenario = {
  name: 'the all-in-one driver serves Identity on a unix socket and stops cleanly on SIGTERM',
  timeoutMs: 90_000,
  async run(ctx) {
    const socket = join(ctx.workDir, 'csi.sock');
    const pkg = JSON.parse(await readFile(join(ctx.projectRoot, 'package.json'), 'utf8')) as { version: string };
    // all-in-one includes the storage agent, which needs its VG, a certificate and the CHAP key.
    const runner = new ExecaRunner({ log: pino({ level: 'silent' }) });
    const vg = await createLoopVolumeGroup({ runner, dir: ctx.workDir, vgName: 'vbs-identity', fileMiB: 256, poolMiB: 128, signal: ctx.signal });
    const ca = await createCertificateAuthority({ commonName: 'e2e CA', validDays: 2 });
    // The agent's certificate names its storage node (the node id by default); the controller
    // inside uses controller.crt/.key next to ca.crt, as `vbs-csi certs --controller controller` writes them.
    const leaf = await issueCertificate(ca, { commonName: 'all-in-one', ipAddresses: ['127.0.0.4'], usages: 'server', identity: { kind: 'agent', storageNode: 'e2e-guest' }, validDays: 1 });
    const controllerLeaf = await issueCertificate(ca, { commonName: 'controller', usages: 'client', identity: { kind: 'controller' }, validDays: 1 });
    const file = (name: string) => join(ctx.workDir, name);
    await writeFile(file('ca.crt'), ca.certPem);
    await writeFile(file('node.crt'), leaf.certPem);
    await writeFile(file('node.key'), recordSecret('tls-private-key', 'all-in-one key', leaf.keyPem), { mode: 0o600 });
    await writeFile(file('controller.crt'), controllerLeaf.certPem);
    await writeFile(file('controller.key'), recordSecret('tls-private-key', 'all-in-one controller key', controllerLeaf.keyPem), { mode: 0o600 });
    await writeFile(file('chap.key'), recordSecret('chap-key', 'all-in-one CHAP key', randomBytes(32)), { mode: 0o600 });
    const agentFlags = [
      '--vg', 'vbs-identity', '--portal', '127.0.0.4', '--agent-listen', 'tcp://127.0.0.4:9500', '--iqn-prefix', 'iqn.2026-11.io.vbs-identity',
      '--tls-ca', file('ca.crt'), '--tls-cert', file('node.crt'), '--tls-key', file('node.key'), '--chap-key-file', file('chap.key'),
    ];
    const driver = execa('node', ['src/main.ts', 'all-in-one', '--endpoint', `unix://${socket}`, '--node-id', 'e2e-guest', '--log-level', 'debug', ...agentFlags], {
      cwd: ctx.projectRoot,
      reject: false,
      cancelSignal: ctx.signal,
      all: true,
    });
    persistOutput(ctx.workDir, 'all-in-one', driver.all);
    const output: string[] = [];
    driver.all?.on('data', (chunk: Buffer) => output.push(chunk.toString()));
    const client = connectIdentity(`unix://${socket}`, 10_000);
    try {
      await pollUntil(
        () => {
          if (driver.exitCode !== null) throw new Error(`the driver exited early (code ${driver.exitCode}):\n${output.join('')}`);
          return existsSync(socket) ? true : undefined;
        },
        { deadlineMs: Date.now() + 45_000, what: 'the driver socket', signal: ctx.signal },
      );
      ctx.log(`socket ${socket} is up`);

      const info = await client.getPluginInfo();
      assert.equal(info.name, 'vbs.csi.io');
      assert.equal(info.vendor_version, pkg.version);
      ctx.log(`GetPluginInfo: ${info.name} ${info.vendor_version}`);

      const caps = await client.getPluginCapabilities();
      // all-in-one serves the Controller and Node services too; exactly these may be advertised.
      assert.deepEqual(
        caps.capabilities.map((c) => c.service?.type ?? `volume_expansion:${c.volume_expansion?.type}`).sort(),
        ['CONTROLLER_SERVICE', 'VOLUME_ACCESSIBILITY_CONSTRAINTS', 'volume_expansion:ONLINE'],
      );

      // Ready once the agent's first reconcile is done: poll, with a deadline.
      await pollUntil(async () => ((await client.probe()).ready?.value ? true : undefined), {
        deadlineMs: Date.now() + 60_000,
        intervalMs: 500,
        what: 'Probe to report ready in a guest that has every dependency',
        signal: ctx.signal,
      });
      ctx.log('Probe: ready');
    } finally {
      client.close();
      driver.kill('SIGTERM');
      await driver;
      await vg.destroy(ctx.log);
      ctx.log(`driver output:\n${output.join('')}`);
    }
    const exited = await driver;
    assert.equal(exited.exitCode, 0, `the driver exited with ${exited.exitCode ?? exited.signal} after SIGTERM`);
    assert.equal(existsSync(socket), false, 'the socket is still there after SIGTERM');
    assert.match(output.join(''), /"msg":"stopped"/);
  },
};
