import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { mkdir, writeFile } from 'node:fs/promises';
import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import { execa } from 'execa';
import { pino } from 'pino';
import { ExecaRunner } from '../../src/exec/index.ts';
import { connectIdentity } from '../../src/grpc/csiClients.ts';
import { connectCsi } from '../../src/grpc/csiServiceClients.ts';
import { runCli } from '../../src/cli/index.ts';
import { createCertificateAuthority, issueCertificate } from '../../src/tls/index.ts';
import { createLoopVolumeGroup } from '../support/loopVolumeGroup.ts';
import { recordLioChapSecrets, recordSecret } from '../support/secretLedger.ts';
import { persistOutput, writeProcessLog } from '../support/suiteLogs.ts';
import { pollUntil } from '../vm/poll.ts';
import type { Scenario } from './Scenario.ts';

const MiB = 1024 * 1024;

/** A CLI command that exited non-zero; exitCode follows docs/cli.md (75: try again). */
class CliExit extends Error {
  readonly exitCode: number;
  constructor(args: readonly string[], exitCode: number, stderr: string) {
    super(`vbs-csi ${args.join(' ')} exited ${exitCode}: ${stderr.trim().split('\n').at(-1) ?? ''}`);
    this.exitCode = exitCode;
  }
}

export const DEMO_SCENARIO_NAME = 'demo: the all-in-one driver creates, attaches, writes, expands, snapshots and restores a volume';

/**
 * The main job (`npm run demo`): the driver as one all-in-one process on a loop-file VG, driven
 * by the operator CLI (`vbs-csi volume|attach|snapshot|detach|nodes`, docs/cli.md), which makes
 * the same CSI calls Kubernetes would: create, attach (publish, stage, mount), write, expand
 * online, snapshot, restore, verify, teardown, each step timed. It doubles as the all-in-one and
 * CLI e2e check.
 */
export const demoScenario: Scenario = {
  name: DEMO_SCENARIO_NAME,
  timeoutMs: 600_000,
  async run(ctx) {
    const runner = new ExecaRunner({ log: pino({ level: 'silent' }) });
    const file = (name: string) => join(ctx.workDir, name);
    const sh = async (cmd: string, args: string[]) => (await execa(cmd, args, { cancelSignal: ctx.signal })).stdout.trim();
    const steps: { step: string; ms: number }[] = [];
    const timed = async <T>(step: string, fn: () => Promise<T>): Promise<T> => {
      const started = performance.now();
      const out = await fn();
      const ms = Math.round(performance.now() - started);
      steps.push({ step, ms });
      ctx.log(`${String(ms).padStart(7)} ms  ${step}`);
      return out;
    };

    const vg = await timed('loop-file VG with a 1 GiB thin pool', () =>
      createLoopVolumeGroup({ runner, dir: ctx.workDir, vgName: 'vbs-demo', fileMiB: 1280, poolMiB: 1024, signal: ctx.signal }),
    );
    const ca = await createCertificateAuthority({ commonName: 'demo CA', validDays: 2 });
    // As `vbs-csi certs --out DIR --controller controller --agent demo,ip=127.0.0.5` lays them out:
    // the all-in-one finds controller.crt/.key next to ca.crt for its controller.
    const leaf = await issueCertificate(ca, { commonName: 'demo', ipAddresses: ['127.0.0.5'], usages: 'server', identity: { kind: 'agent', storageNode: 'demo' }, validDays: 1 });
    const controllerLeaf = await issueCertificate(ca, { commonName: 'controller', usages: 'client', identity: { kind: 'controller' }, validDays: 1 });
    await writeFile(file('ca.crt'), ca.certPem);
    await writeFile(file('demo.crt'), leaf.certPem);
    await writeFile(file('demo.key'), recordSecret('tls-private-key', 'demo key', leaf.keyPem), { mode: 0o600 });
    await writeFile(file('controller.crt'), controllerLeaf.certPem);
    await writeFile(file('controller.key'), recordSecret('tls-private-key', 'demo controller key', controllerLeaf.keyPem), { mode: 0o600 });
    await writeFile(file('chap.key'), recordSecret('chap-key', 'demo CHAP key', randomBytes(32)), { mode: 0o600 });
    const socket = file('csi.sock');
    const driver = execa(
      'node',
      [
        'src/main.ts', 'all-in-one', '--endpoint', `unix://${socket}`, '--node-id', 'demo', '--storage-node-name', 'demo',
        '--vg', 'vbs-demo', '--portal', '127.0.0.5', '--agent-listen', 'tcp://127.0.0.5:9500', '--iqn-prefix', 'iqn.2026-11.io.vbs-demo',
        '--tls-ca', file('ca.crt'), '--tls-cert', file('demo.crt'), '--tls-key', file('demo.key'), '--chap-key-file', file('chap.key'),
        '--state-dir', file('node-state'), '--status-interval-seconds', '2',
      ],
      { cwd: ctx.projectRoot, reject: false, cancelSignal: ctx.signal, all: true, env: { VBS_LOG_LEVEL: 'info' } },
    );
    persistOutput(ctx.workDir, 'all-in-one', driver.all);
    const output: string[] = [];
    driver.all?.on('data', (chunk: Buffer) => output.push(chunk.toString()));
    const identity = connectIdentity(`unix://${socket}`, 10_000);
    const csi = connectCsi(`unix://${socket}`, 120_000);
    try {
      await timed('driver started and ready (Probe)', () =>
        pollUntil(
          async () => {
            if (driver.exitCode !== null) throw new Error(`the driver exited (code ${driver.exitCode})`);
            if (!existsSync(socket)) return undefined;
            return (await identity.probe().catch(() => undefined))?.ready?.value ? true : undefined;
          },
          { deadlineMs: Date.now() + 120_000, intervalMs: 500, what: 'the all-in-one driver to be ready', signal: ctx.signal },
        ),
      );
      const { node_id: nodeId } = await csi.node.nodeGetInfo({});
      ctx.log(`node id (initiator name): ${nodeId}`);

      // From here on the demo is what an operator types: the vbs-csi CLI, speaking CSI on the
      // driver's socket. The first command runs the real binary (src/main.ts routes it to the CLI);
      // the rest call the same runCli in this process, because each new node process costs 20-30 s
      // of module loading under emulation. Progress lines (stderr) go to the demo log.
      const cliEnv = { CSI_ENDPOINT: `unix://${socket}`, VBS_CLI_WORK_DIR: file('cli'), VBS_NODE_STATE_DIR: file('node-state') };
      const logLines = (text: string) => {
        for (const line of text.split('\n').filter((l) => l !== '')) ctx.log(`          | ${line}`);
      };
      const cliProcess = async (args: string[]): Promise<string> => {
        const run = await execa('node', ['src/main.ts', ...args], { cwd: ctx.projectRoot, env: cliEnv, reject: false, cancelSignal: ctx.signal });
        writeProcessLog(ctx.workDir, `cli ${args.slice(0, 2).join(' ')}`, `${run.stdout}\n${run.stderr}`);
        logLines(run.stderr);
        if (run.exitCode !== 0) throw new CliExit(args, run.exitCode ?? -1, run.stderr);
        return run.stdout;
      };
      const cli = async (args: string[]): Promise<string> => {
        let out = '';
        let err = '';
        const code = await runCli(args, { env: { ...process.env, ...cliEnv }, out: { write: (t: string) => (out += t) }, err: { write: (t: string) => (err += t) } });
        logLines(err);
        if (code !== 0) throw new CliExit(args, code, err);
        return out;
      };
      const cliJson = async <T>(args: string[]): Promise<T> => JSON.parse(await cli([...args, '--json'])) as T;
      const show = async (args: string[]) => {
        for (const line of (await cli(args)).split('\n')) ctx.log(`          ${line}`);
      };

      const created = await timed('vbs-csi volume create demo-pvc-1 --size 256Mi (the binary, as a process)', () =>
        pollUntil(
          // The controller learns its agent at its first status poll; until then the CLI exits 75 (try again).
          () =>
            cliProcess(['volume', 'create', 'demo-pvc-1', '--size', '256Mi', '--json']).then((out) => JSON.parse(out) as { volumeId: string; capacityBytes: number }, (err: unknown) => {
              if (err instanceof CliExit && err.exitCode === 75) return undefined;
              throw err;
            }),
          { deadlineMs: Date.now() + 150_000, intervalMs: 1000, what: 'vbs-csi volume create', signal: ctx.signal },
        ),
      );
      const volumeId = created.volumeId;
      ctx.log(`volume ${volumeId}, ${created.capacityBytes} bytes`);
      await timed('vbs-csi nodes', () => show(['nodes', '--agents', '127.0.0.5:9500', '--tls-ca', file('ca.crt'), '--client-tls-cert', file('controller.crt'), '--client-tls-key', file('controller.key')]));

      const attach = async (id: string, tag: string) => {
        const target = file(`pod-${tag}/mount`);
        await mkdir(target, { recursive: true });
        const attached = await timed(`vbs-csi attach ${tag} (publish, iSCSI login, serial check, mkfs if blank, mount)`, () =>
          cliJson<{ device: string; stagingPath: string; publishContext: Record<string, string> }>(['attach', id, '--target', target]),
        );
        ctx.log(`${tag}: ${attached.device} mounted at ${target}`);
        assert.deepEqual(Object.keys(attached.publishContext).filter((k) => /chap/i.test(k)), [], 'publish_context carries no CHAP secret (the node fetches it from the agent)');
        await recordLioChapSecrets(`demo ${tag}`, 'iqn.2026-11.io.vbs-demo');
        return target;
      };

      const first = await attach(volumeId, 'original');
      await timed('write 32 MiB of random data (fsync)', () => sh('dd', ['if=/dev/urandom', `of=${first}/data`, 'bs=1M', 'count=32', 'conv=fsync', 'status=none']));
      const written = (await sh('sha256sum', [`${first}/data`])).split(' ')[0];
      ctx.log(`sha256 written: ${written}`);

      await timed('vbs-csi volume expand --size 512Mi (LV, then rescan, dm reload, resize2fs online)', () => cli(['volume', 'expand', volumeId, '--size', '512Mi']));
      const fsBytes = Number(await sh('df', ['--output=size', '-B1', first]).then((o) => o.split('\n')[1]));
      ctx.log(`filesystem size after expand: ${fsBytes} bytes`);
      assert.ok(fsBytes > 400 * MiB, `the filesystem grew online (${fsBytes} bytes)`);

      const snap = await timed('vbs-csi snapshot create demo-snap-1', () => cliJson<{ snapshotId: string; readyToUse: boolean }>(['snapshot', 'create', 'demo-snap-1', '--volume', volumeId]));
      assert.equal(snap.readyToUse, true);
      const restored = await timed('vbs-csi volume create demo-pvc-restored --from-snapshot', () =>
        cliJson<{ volumeId: string }>(['volume', 'create', 'demo-pvc-restored', '--size', '512Mi', '--from-snapshot', snap.snapshotId]),
      );
      const restoredId = restored.volumeId;
      const second = await attach(restoredId, 'restored');
      const read = (await sh('sha256sum', [`${second}/data`])).split(' ')[0];
      ctx.log(`sha256 restored: ${read}`);
      assert.equal(read, written, 'the restored volume holds exactly the data written before the snapshot');
      ctx.log(`verified: checksum of the restored volume equals the original (${read})`);
      await timed('vbs-csi volume list', () => show(['volume', 'list']));

      await timed('vbs-csi detach restored', () => cli(['detach', restoredId, '--target', second]));
      await timed('vbs-csi detach original', () => cli(['detach', volumeId, '--target', first]));
      await timed('vbs-csi volume delete restored', () => cli(['volume', 'delete', restoredId]));
      await timed('vbs-csi snapshot delete', () => cli(['snapshot', 'delete', snap.snapshotId]));
      await timed('vbs-csi volume delete original', () => cli(['volume', 'delete', volumeId]));
      const left = await sh('lvs', ['--noheadings', '-o', 'lv_name', 'vbs-demo']);
      assert.deepEqual(left.split('\n').map((l) => l.trim()).filter((l) => l !== '' && l !== 'pool'), [], 'no volume LV is left');
      const sessions = await execa('iscsiadm', ['-m', 'session'], { reject: false });
      assert.ok(!sessions.stdout.includes('vbs-demo'), `no iSCSI session is left: ${sessions.stdout}`);
      ctx.log(`total ${steps.reduce((s, x) => s + x.ms, 0)} ms over ${steps.length} steps`);
    } catch (err: unknown) {
      ctx.log(`driver output:\n${output.join('').slice(-20_000)}`);
      throw err;
    } finally {
      identity.close();
      csi.close();
      driver.kill('SIGTERM');
      await driver;
      await vg.destroy(ctx.log);
    }
  },
};
