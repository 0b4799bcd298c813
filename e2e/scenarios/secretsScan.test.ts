import assert from 'node:assert/strict';
import { appendFileSync, mkdirSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PassThrough } from 'node:stream';
import { once } from 'node:events';
import { afterEach, describe, test } from 'node:test';
import { argvSamplesPath } from '../support/argvSampler.ts';
import { ledgerPath, recordSecret, SecretLedger, useSuiteLedger } from '../support/secretLedger.ts';
import { createScenarioLog, persistOutput, suiteLogDir } from '../support/suiteLogs.ts';
import { identityScenario } from './identity.scenario.ts';
import { lioIscsiScenario } from './lioIscsi.scenario.ts';
import type { ScenarioContext } from './Scenario.ts';
import { secretsScanScenario } from './secretsScan.scenario.ts';

const PASSWORD = 'Hk2-LmQ_9zRt7VbX';

/** A run as the guest runner lays it out: a work root, its log dir and ledger, one work dir per scenario. */
function suiteRun() {
  const root = mkdtempSync(join(tmpdir(), 'vbs-e2e-'));
  mkdirSync(suiteLogDir(root));
  const ledger = new SecretLedger(ledgerPath(root));
  useSuiteLedger(ledger);
  const begin = (name: string): { workDir: string; log: string } => {
    ledger.beginScenario(name);
    const workDir = mkdtempSync(join(root, 'scenario-'));
    return { workDir, log: createScenarioLog(workDir, name) };
  };
  const scan = async (): Promise<string[]> => {
    const { workDir } = begin(secretsScanScenario.name);
    const lines: string[] = [];
    const ctx: ScenarioContext = { projectRoot: '/', workDir, signal: new AbortController().signal, goTools: {}, cluster: undefined, log: (m) => lines.push(m) };
    await secretsScanScenario.run(ctx);
    return lines;
  };
  /** What the argv sampler would have written: one command line per sample. */
  const sampleArgv = (...argvs: string[][]): void => {
    for (const [i, argv] of argvs.entries()) appendFileSync(argvSamplesPath(root), `${JSON.stringify({ pid: 100 + i, argv })}\n`);
  };
  return { begin, scan, sampleArgv };
}

const ISCSIADM_UPDATE = ['iscsiadm', '-m', 'node', '-T', 'iqn.2026-11.io.x:t', '-o', 'update', '-n', 'node.session.auth.username', '-v', 'u'];

describe('the secrets scan scenario', () => {
  afterEach(() => useSuiteLedger(undefined));

  test('passes a run whose logs hold no secret, and says what it scanned', async () => {
    const run = suiteRun();
    const lio = run.begin(lioIscsiScenario.name);
    recordSecret('chap-secret', 'chosen', PASSWORD);
    appendFileSync(lio.log, 'login with CHAP user e2e-initiator: ok\n');
    run.sampleArgv(ISCSIADM_UPDATE, ['node', 'e2e/guest/runScenarios.ts']);
    const lines = await run.scan();
    assert.ok(lines.some((l) => /^scanned 3 file\(s\), \d+ bytes, for 1 secret\(s\) in \d+ ms: 0 hit\(s\)$/.test(l)), lines.join('\n'));
    assert.ok(lines.includes('argv: 2 command line(s) sampled, 1 of them iscsiadm'), lines.join('\n'));
  });

  test('fails when a CHAP password was on a command line, though no log has it', async () => {
    const run = suiteRun();
    run.begin(lioIscsiScenario.name);
    recordSecret('chap-secret', 'chosen', PASSWORD);
    run.sampleArgv([...ISCSIADM_UPDATE, '-n', 'node.session.auth.password', '-v', PASSWORD]);
    const err = await run.scan().then(() => undefined, (e: unknown) => e as Error);
    assert.match(err?.message ?? '', /LEAK .*argv-samples\.jsonl \(\/proc\/\*\/cmdline samples\):1: chap-secret "chosen"/);
  });

  test('fails when a scenario logged in but the argv sampler saw no iscsiadm (a scan that proves nothing)', async () => {
    const run = suiteRun();
    run.begin(lioIscsiScenario.name);
    recordSecret('chap-secret', 'chosen', PASSWORD);
    run.sampleArgv(['node', 'e2e/guest/runScenarios.ts']);
    const err = await run.scan().then(() => undefined, (e: unknown) => e as Error);
    assert.match(err?.message ?? '', /not covered: the argv sampler saw no iscsiadm run although LIO export/);
  });

  test('fails when a CHAP password is in a scenario log, naming file, line and label but not the password', async () => {
    const run = suiteRun();
    const lio = run.begin(lioIscsiScenario.name);
    recordSecret('chap-secret', 'chosen by the LIO scenario', PASSWORD);
    appendFileSync(lio.log, `first line\niscsiadm -v ${PASSWORD}\n`);
    const err = await run.scan().then(() => undefined, (e: unknown) => e as Error);
    assert.ok(err, 'the scan must fail');
    assert.match(err.message, /LEAK .*scenario-\w+\.scenario\.log:3: chap-secret "chosen by the LIO scenario" \(Hk… \(16 chars\)\) as raw/);
    assert.ok(!err.message.includes(PASSWORD.slice(2)), 'the report must not carry the password');
  });

  test('fails when a driver process printed a private key, found in its persisted output', async () => {
    const run = suiteRun();
    const identity = run.begin(identityScenario.name);
    recordSecret('chap-key', 'key', Buffer.alloc(32, 7));
    const pem = '-----BEGIN PRIVATE KEY-----\nMIGHAgEAMBMGByqGSM49AgEGCCqGSM49AwEHBG0wawIBAQQgq3iV0Yy0p1QyJ2sA\n-----END PRIVATE KEY-----\n';
    recordSecret('tls-private-key', 'all-in-one key', pem);
    const out = new PassThrough();
    persistOutput(identity.workDir, 'all-in-one', out);
    out.end(`${JSON.stringify({ level: 50, msg: 'bad config', key: pem })}\n`);
    await once(out, 'close');
    await assert.rejects(run.scan(), /LEAK .*-all-in-one-1\.log:1: tls-private-key "all-in-one key"/);
  });

  test('fails when a scenario that uses secrets ran but recorded none, or left no driver log', async () => {
    const run = suiteRun();
    run.begin(lioIscsiScenario.name);
    run.begin(identityScenario.name);
    await assert.rejects(run.scan(), (err: Error) => {
      assert.match(err.message, /not covered: "LIO export[^"]*" ran but the ledger holds no chap-secret from it/);
      assert.match(err.message, /not covered: "the all-in-one driver[^"]*" ran but the ledger holds no chap-key, tls-private-key from it/);
      assert.match(err.message, /not covered: "the all-in-one driver[^"]*" starts driver processes but left no process log/);
      return true;
    });
  });

  test('passes alone with an empty ledger, saying nothing ran before it', async () => {
    const lines = await suiteRun().scan();
    assert.ok(lines.includes('note: no other scenario ran in this run and the ledger is empty: there was nothing to leak'), lines.join('\n'));
  });
});
