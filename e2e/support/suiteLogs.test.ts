import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, readFileSync, readdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PassThrough } from 'node:stream';
import { once } from 'node:events';
import { describe, test } from 'node:test';
import { classifyLogFiles, createScenarioLog, listSuiteLogs, persistOutput, suiteLogDir, writeProcessLog } from './suiteLogs.ts';

/** A work root with its log dir and one scenario's work dir in it, as runScenario makes them. */
function scenarioWorkDir(): { root: string; workDir: string } {
  const root = mkdtempSync(join(tmpdir(), 'suite-'));
  mkdirSync(suiteLogDir(root));
  const workDir = mkdtempSync(join(root, 'data-path-'));
  return { root, workDir };
}

describe('suite logs', () => {
  test('keep a scenario log and each process\'s output, numbered per name, and sort them back by scenario', async () => {
    const { root, workDir } = scenarioWorkDir();
    createScenarioLog(workDir, 'data path: a thin LV exported');
    const out = new PassThrough();
    const agentLog = persistOutput(workDir, 'store-a', out);
    out.write('{"msg":"started"}\n');
    out.end('{"msg":"stopped"}\n');
    await once(out, 'close');
    persistOutput(workDir, 'store-a', undefined);
    writeProcessLog(workDir, 'controller#1', 'cli output\n');

    const dir = workDir.split('/').at(-1)!;
    assert.deepEqual(readdirSync(suiteLogDir(root)).sort(), [`${dir}-controller-1-1.log`, `${dir}-store-a-1.log`, `${dir}-store-a-2.log`, `${dir}.scenario.log`]);
    assert.equal(readFileSync(agentLog, 'utf8'), '{"msg":"started"}\n{"msg":"stopped"}\n');
    const logs = listSuiteLogs(root);
    assert.deepEqual(logs.scenarios.map((s) => [s.name, s.scenarioDir]), [['data path: a thin LV exported', dir]]);
    assert.deepEqual(logs.processes.map((p) => p.scenarioDir), [dir, dir, dir]);
  });

  test('file a process log under no scenario when none matches, and a headerless scenario log by its file name', () => {
    const logs = classifyLogFiles('/l', ['a-1.scenario.log', 'stray.log'], () => 'garbage');
    assert.deepEqual(logs.scenarios, [{ path: '/l/a-1.scenario.log', scenarioDir: 'a-1', name: '(no header in a-1.scenario.log)' }]);
    assert.deepEqual(logs.processes, [{ path: '/l/stray.log', scenarioDir: '' }]);
  });

  test('is empty when the run made no log directory', () => {
    assert.deepEqual(listSuiteLogs(mkdtempSync(join(tmpdir(), 'none-'))), { scenarios: [], processes: [] });
  });
});
