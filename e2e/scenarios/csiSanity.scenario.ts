import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import { execa } from 'execa';
import { pino } from 'pino';
import { ExecaRunner } from '../../src/exec/index.ts';
import { connectIdentity } from '../../src/grpc/csiClients.ts';
import { connectCsi } from '../../src/grpc/csiServiceClients.ts';
import { createCertificateAuthority, issueCertificate } from '../../src/tls/index.ts';
import { csiSanityArgs, sanityProblems, summarizeGinkgoReport } from '../support/csiSanity.ts';
import type { ExpectedSkip, SanityAccessType, SanitySummary } from '../support/csiSanity.ts';
import { startDriverProcess, superviseChild } from '../support/driverProcess.ts';
import { createLoopVolumeGroup } from '../support/loopVolumeGroup.ts';
import { recordSecret } from '../support/secretLedger.ts';
import { pollUntil } from '../vm/poll.ts';
import type { Scenario } from './Scenario.ts';

const MiB = 1024 * 1024;
/** Small volumes keep mkfs and the thin pool cheap under emulation; ext4 (the default fsType) takes them. */
const VOLUME_BYTES = 32 * MiB;
const EXPAND_BYTES = 64 * MiB;
/** ginkgo's suite deadline per access type, about twice the slower run measured (mount 5.6 min, 2026-12-07); the process gets a minute more for its report. */
const SUITE_TIMEOUT_S = 12 * 60;

/**
 * Specs the driver honestly cannot run, each with the reason; docs/conformance.md lists the same.
 * Anything else skipped fails the scenario, so a capability that stops working shows.
 */
export const EXPECTED_SKIPS: readonly ExpectedSkip[] = [
  { spec: /^GroupController Service /, reason: 'no GroupController service (volume group snapshots): GetPluginCapabilities does not offer GROUP_CONTROLLER_SERVICE' },
  { spec: /^ModifyVolume \[Controller Server\] /, reason: 'no ControllerModifyVolume (VolumeAttributesClass): the MODIFY_VOLUME controller capability is not offered' },
  { spec: /^Controller Service \[Controller Server\] CreateVolume should (not )?create volume with (a|an invalid) volume attribute class$/, reason: 'mutable parameters need ControllerModifyVolume, which is not offered' },
  { spec: /^GetSnapshot \[Controller Server\] /, reason: 'no GetSnapshot: the GET_SNAPSHOT controller capability (alpha) is not offered; ListSnapshots by snapshot_id answers the same question' },
  { spec: /^ControllerListVolumeHealth \[Controller Server\] /, reason: 'no LIST_VOLUME_HEALTH capability (alpha in CSI 1.13); ControllerGetVolumeHealth per volume is offered and runs' },
  { spec: /^CreateSnapshot \[Controller Server\] should succeed when creating a snapshot with accessibility requirements$/, reason: 'no SNAPSHOT_ACCESSIBILITY_CONSTRAINTS plugin capability (alpha in CSI 1.13): a snapshot lives on its volume\'s storage node' },
  { spec: /^Node Service NodeGetStorageHealth /, reason: 'no NodeGetStorageHealth: the GET_STORAGE_HEALTH node capability (alpha in CSI 1.13) is not offered' },
  { spec: /^Controller Service \[Controller Server\] ControllerPublishVolume should fail when publishing more volumes than the node max attach limit$/, reason: 'NodeGetInfo reports no max_volumes_per_node: the driver sets no attach limit' },
];

/**
 * The community conformance suite, csi-sanity (github.com/kubernetes-csi/csi-test v5.6.0, CSI spec
 * v1.13), against the all-in-one driver in a real kernel, once with mount and once with block volumes:
 * every spec that runs passes; those skipped are EXPECTED_SKIPS. See docs/conformance.md.
 */
export const csiSanityScenario: Scenario = {
  name: 'csi-sanity: the community CSI conformance suite passes against the all-in-one driver, mount and block',
  timeoutMs: 2 * (SUITE_TIMEOUT_S + 60) * 1000 + 180_000,
  goTools: ['csi-sanity'],
  async run(ctx) {
    const csiSanity = ctx.goTools['csi-sanity'];
    assert.ok(csiSanity !== undefined && existsSync(csiSanity), `csi-sanity is not built (${csiSanity ?? 'no path'}): run \`node scripts/build-go-tools.ts csi-sanity\` on the host`);
    const runner = new ExecaRunner({ log: pino({ level: 'silent' }) });
    const file = (name: string) => join(ctx.workDir, name);
    const vg = await createLoopVolumeGroup({ runner, dir: ctx.workDir, vgName: 'vbs-sanity', fileMiB: 1280, poolMiB: 1024, signal: ctx.signal });
    const ca = await createCertificateAuthority({ commonName: 'csi-sanity CA', validDays: 2 });
    // As `vbs-csi certs --out DIR --controller controller --agent sanity,ip=127.0.0.6` lays them out.
    const leaf = await issueCertificate(ca, { commonName: 'sanity', ipAddresses: ['127.0.0.6'], usages: 'server', identity: { kind: 'agent', storageNode: 'sanity' }, validDays: 1 });
    const controllerLeaf = await issueCertificate(ca, { commonName: 'controller', usages: 'client', identity: { kind: 'controller' }, validDays: 1 });
    await writeFile(file('ca.crt'), ca.certPem);
    await writeFile(file('sanity.crt'), leaf.certPem);
    await writeFile(file('sanity.key'), recordSecret('tls-private-key', 'csi-sanity agent key', leaf.keyPem), { mode: 0o600 });
    await writeFile(file('controller.crt'), controllerLeaf.certPem);
    await writeFile(file('controller.key'), recordSecret('tls-private-key', 'csi-sanity controller key', controllerLeaf.keyPem), { mode: 0o600 });
    await writeFile(file('chap.key'), recordSecret('chap-key', 'csi-sanity CHAP key', randomBytes(32)), { mode: 0o600 });
    const socket = file('csi.sock');
    const endpoint = `unix://${socket}`;
    const driver = startDriverProcess({
      ctx,
      role: 'all-in-one',
      name: 'all-in-one',
      env: { VBS_LOG_LEVEL: 'info' },
      args: [
        '--endpoint', endpoint, '--node-id', 'sanity', '--storage-node-name', 'sanity',
        '--vg', 'vbs-sanity', '--portal', '127.0.0.6', '--agent-listen', 'tcp://127.0.0.6:9500', '--iqn-prefix', 'iqn.2026-11.io.vbs-sanity',
        '--tls-ca', file('ca.crt'), '--tls-cert', file('sanity.crt'), '--tls-key', file('sanity.key'), '--chap-key-file', file('chap.key'),
        '--state-dir', file('node-state'), '--status-interval-seconds', '2',
      ],
    });
    const identity = connectIdentity(endpoint, 10_000);
    const csi = connectCsi(endpoint, 60_000);
    const summaries: { accessType: SanityAccessType; summary: SanitySummary; minutes: number }[] = [];
    try {
      await pollUntil(
        async () => {
          if (driver.hasExited()) throw new Error(`the driver exited:\n${driver.output()}`);
          if (!existsSync(socket)) return undefined;
          return (await identity.probe().catch(() => undefined))?.ready?.value ? true : undefined;
        },
        { deadlineMs: Date.now() + 120_000, intervalMs: 500, what: 'the all-in-one driver to be ready (Probe)', signal: ctx.signal },
      );
      // The controller learns its agent at its first status poll; csi-sanity's first CreateVolume must not come before.
      await pollUntil(async () => ((await csi.controller.getCapacity({}).catch(() => undefined))?.available_capacity ?? 0) > 0 || undefined, {
        deadlineMs: Date.now() + 60_000,
        intervalMs: 500,
        what: 'the controller to report capacity from its agent',
        signal: ctx.signal,
      });
      ctx.log('driver ready; its controller sees the agent');

      for (const accessType of ['mount', 'block'] as const) {
        const dir = file(`sanity-${accessType}`);
        await mkdir(dir);
        const reportPath = join(dir, 'report.json');
        const args = csiSanityArgs({
          endpoint,
          accessType,
          mountDir: join(dir, 'mount'),
          stagingDir: join(dir, 'staging'),
          volumeSizeBytes: VOLUME_BYTES,
          expandSizeBytes: EXPAND_BYTES,
          jsonReportPath: reportPath,
          suiteTimeoutS: SUITE_TIMEOUT_S,
        });
        ctx.log(`csi-sanity ${args.join(' ')}`);
        const started = performance.now();
        const child = superviseChild(
          ctx,
          `csi-sanity-${accessType}`,
          execa(csiSanity, args, { cwd: dir, reject: false, all: true, cancelSignal: ctx.signal, timeout: (SUITE_TIMEOUT_S + 60) * 1000, forceKillAfterDelay: 10_000 }),
        );
        const exit = await child.exited;
        const minutes = (performance.now() - started) / 60_000;
        ctx.log(`csi-sanity (${accessType}) exited ${exit.exitCode ?? exit.signal} after ${minutes.toFixed(1)} min`);
        if (!existsSync(reportPath)) throw new Error(`csi-sanity (${accessType}) wrote no report; its output:\n${child.output()}`);
        const summary = summarizeGinkgoReport(JSON.parse(await readFile(reportPath, 'utf8')));
        summaries.push({ accessType, summary, minutes });
        ctx.log(`csi-sanity (${accessType}): ${summary.passed.length} passed, ${summary.failed.length} failed, ${summary.skipped.length} skipped, ${summary.pending.length} pending, of ${summary.specsThatWillRun} to run (ginkgo seed ${summary.randomSeed ?? '?'})`);
        for (const s of summary.skipped) ctx.log(`  skipped: ${s.name} (${s.message ?? 'no reason given'})`);
        for (const s of summary.failed) ctx.log(`  FAILED: ${s.name}: ${s.message ?? ''}`);
        const problems = sanityProblems(summary, EXPECTED_SKIPS);
        if (problems.length > 0) {
          ctx.log(`csi-sanity (${accessType}) output:\n${child.output()}`);
          throw new Error(`csi-sanity (${accessType}) did not pass:\n${problems.join('\n')}`);
        }
        assert.equal(exit.exitCode, 0, `csi-sanity (${accessType}) exited ${exit.exitCode ?? exit.signal} though its report shows no failure`);
        // csi-sanity deletes what it made; a volume left over is one the driver said it deleted and did not.
        const left = await csi.controller.listVolumes({});
        assert.deepEqual(left.entries.map((e) => e.volume?.volume_id), [], `volumes left after csi-sanity (${accessType})`);
      }
      ctx.log(`summary: ${summaries.map((s) => `${s.accessType} ${s.summary.passed.length}/${s.summary.specsThatWillRun} passed, ${s.summary.skipped.length} skipped, ${s.minutes.toFixed(1)} min`).join('; ')}`);
    } finally {
      identity.close();
      csi.close();
      driver.kill('SIGTERM');
      await driver.exited;
      await vg.destroy(ctx.log);
    }
  },
};
