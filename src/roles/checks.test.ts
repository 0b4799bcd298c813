import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdir, mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { initiatorNameCheck, kernelModuleCheck, lioConfigfsCheck } from './checks.ts';

const signal = new AbortController().signal;

describe('readiness checks', () => {
  test('a kernel module is ready once /sys/module/<name> exists', async () => {
    const sys = await mkdtemp(join(tmpdir(), 'vbs-sys-'));
    const check = kernelModuleCheck('iscsi_tcp', sys);
    assert.match((await check.check(signal)) ?? '', /modprobe iscsi_tcp/);
    await mkdir(join(sys, 'module', 'iscsi_tcp'), { recursive: true });
    assert.equal(await check.check(signal), undefined);
  });

  test('LIO needs configfs target and the iscsi fabric module, not target/iscsi', async () => {
    const root = await mkdtemp(join(tmpdir(), 'vbs-lio-'));
    const check = lioConfigfsCheck(join(root, 'config/target'), join(root, 'sys'));
    assert.match((await check.check(signal)) ?? '', /mount configfs/);
    await mkdir(join(root, 'config/target'), { recursive: true });
    assert.match((await check.check(signal)) ?? '', /iscsi_target_mod/);
    await mkdir(join(root, 'sys/module/iscsi_target_mod'), { recursive: true });
    assert.equal(await check.check(signal), undefined);
  });

  test('the initiator name file must exist and hold an iqn', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'vbs-iscsi-'));
    const file = join(dir, 'initiatorname.iscsi');
    const check = initiatorNameCheck(file);
    assert.match((await check.check(signal)) ?? '', /is missing/);
    await writeFile(file, '## generated\nInitiatorName=\n');
    assert.match((await check.check(signal)) ?? '', /no InitiatorName/);
    await writeFile(file, '## generated\nInitiatorName=iqn.1993-08.org.debian:01:abc\n');
    assert.equal(await check.check(signal), undefined);
  });
});
