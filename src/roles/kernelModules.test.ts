import assert from 'node:assert/strict';
import { mkdir, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, it } from 'node:test';
import pino from 'pino';
import { FakeRunner } from '../../test/fakes/FakeRunner.ts';
import { AGENT_MODULES, loadKernelModules, NODE_MODULES } from './kernelModules.ts';

describe('loadKernelModules', () => {
  let sys: string;
  const lines: { msg: string; module?: string }[] = [];
  const log = pino({ level: 'info' }, { write: (line: string) => void lines.push(JSON.parse(line) as { msg: string }) });

  beforeEach(async () => {
    sys = await mkdtemp(join(tmpdir(), 'vbs-sys-'));
    lines.length = 0;
  });
  afterEach(() => rm(sys, { recursive: true, force: true }));

  it('runs modprobe for each module not under /sys/module, and only for those', async () => {
    await mkdir(join(sys, 'module', 'target_core_mod'), { recursive: true });
    const runner = new FakeRunner().on(['modprobe'], {});
    const result = await loadKernelModules(AGENT_MODULES, { runner, log, sysRoot: sys });
    assert.deepEqual(runner.argvs, [['modprobe', 'dm_thin_pool'], ['modprobe', 'target_core_iblock'], ['modprobe', 'iscsi_target_mod']]);
    assert.deepEqual(result.alreadyLoaded, ['target_core_mod']);
    assert.deepEqual(result.loaded, ['dm_thin_pool', 'target_core_iblock', 'iscsi_target_mod']);
    assert.equal(result.failed.size, 0);
  });

  it('does not throw when modprobe fails: it logs which module and what to do, and goes on with the others', async () => {
    const runner = new FakeRunner()
      .on(['modprobe', 'iscsi_tcp'], { exitCode: 1, stderr: "modprobe: FATAL: Module iscsi_tcp not found in directory /lib/modules/6.1.0-56-amd64" });
    const result = await loadKernelModules(NODE_MODULES, { runner, log, sysRoot: sys });
    assert.deepEqual(result.loaded, []);
    assert.match(result.failed.get('iscsi_tcp') ?? '', /Module iscsi_tcp not found/);
    const warning = lines.find((l) => l.module === 'iscsi_tcp');
    assert.match(warning?.msg ?? '', /could not load kernel module iscsi_tcp: this role stays not ready until it is loaded on the host \(modprobe iscsi_tcp/);

    const agentRunner = new FakeRunner().on(['modprobe', 'dm_thin_pool'], { exitCode: 1 }).on(['modprobe'], {});
    const agent = await loadKernelModules(AGENT_MODULES, { runner: agentRunner, log, sysRoot: sys });
    assert.deepEqual([...agent.failed.keys()], ['dm_thin_pool']);
    assert.deepEqual(agent.loaded, ['target_core_mod', 'target_core_iblock', 'iscsi_target_mod']);
  });

  it('refuses a module name that could be an option or a path', async () => {
    const runner = new FakeRunner();
    await assert.rejects(loadKernelModules(['-r'], { runner, log, sysRoot: sys }), /not valid/);
    await assert.rejects(loadKernelModules(['../x'], { runner, log, sysRoot: sys }), /not valid/);
    assert.equal(runner.calls.length, 0);
  });
});
