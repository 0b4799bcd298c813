import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, test } from 'node:test';
import { LioTarget } from '../../src/lio/index.ts';
import { SimulatedLioConfigFs } from '../../src/lio/testing/SimulatedLioConfigFs.ts';
import { parseLedger, readLedger, recordChap, recordLioChapSecrets, recordSecret, recordTargetChapSecrets, SecretLedger, useSuiteLedger } from './secretLedger.ts';

const key = Buffer.from('00ff10ee20dd30cc40bb50aa60997088', 'hex');

function freshLedger(): SecretLedger {
  const ledger = new SecretLedger(join(mkdtempSync(join(tmpdir(), 'ledger-')), 'secret-ledger.jsonl'));
  useSuiteLedger(ledger);
  return ledger;
}

describe('secret ledger', () => {
  afterEach(() => useSuiteLedger(undefined));

  test('is a file only its owner can read, created before anything is recorded', () => {
    const ledger = freshLedger();
    assert.equal(statSync(ledger.path).mode & 0o777, 0o600);
    assert.deepEqual(readLedger(ledger.path), []);
  });

  test('reads back each secret with its kind, label and scenario, binary ones as the same bytes', () => {
    const ledger = freshLedger();
    ledger.beginScenario('data path');
    assert.equal(recordSecret('chap-secret', 'chosen', 'abcdefghijkl'), 'abcdefghijkl', 'a recording returns its value');
    ledger.beginScenario('agents');
    assert.equal(recordSecret('chap-key', 'cluster key', key), key);
    assert.deepEqual(readLedger(ledger.path), [
      { kind: 'chap-secret', label: 'chosen', scenario: 'data path', value: 'abcdefghijkl' },
      { kind: 'chap-key', label: 'cluster key', scenario: 'agents', value: key },
    ]);
  });

  test('records a value once per scenario however often it is seen', () => {
    const ledger = freshLedger();
    ledger.beginScenario('a');
    for (let i = 0; i < 3; i++) recordSecret('chap-secret', `stage ${i}`, 'the-same-password');
    ledger.beginScenario('b');
    recordSecret('chap-secret', 'again', 'the-same-password');
    assert.deepEqual(readLedger(ledger.path).map((e) => `${e.scenario}:${e.label}`), ['a:stage 0', 'b:again']);
  });

  test('records the CHAP passwords of credentials, not the usernames', () => {
    const ledger = freshLedger();
    recordChap('chosen', { username: 'u', password: 'p3-xxxxxxxxxxxx', usernameIn: 'v', passwordIn: 'p4-xxxxxxxxxxxx' });
    recordChap('derived', { username: 'u', password: 'p5-xxxxxxxxxxxx', mutual: { username: 'v', password: 'p6-xxxxxxxxxxxx' } });
    assert.deepEqual(readLedger(ledger.path).map((e) => [e.kind, e.label, e.value]), [
      ['chap-secret', 'chosen', 'p3-xxxxxxxxxxxx'],
      ['chap-secret', 'chosen (mutual)', 'p4-xxxxxxxxxxxx'],
      ['chap-secret', 'derived', 'p5-xxxxxxxxxxxx'],
      ['chap-secret', 'derived (mutual)', 'p6-xxxxxxxxxxxx'],
    ]);
  });

  test('records the CHAP passwords of the LIO ACLs under an IQN prefix', async () => {
    const ledger = freshLedger();
    const sim = await SimulatedLioConfigFs.create();
    const lio = new LioTarget({ configFs: sim });
    const chap = { username: 'vbs-in', password: 'acl-password-1', mutual: { username: 'vbs-out', password: 'acl-password-2' } };
    const acls = [{ initiatorIqn: 'iqn.2026-11.io.test:worker', chap }];
    await lio.exportVolume({ backstoreName: 'vol', devicePath: '/dev/vg0/vol', serial: '01234567-89ab-cdef-0123-456789abcdef', targetIqn: 'iqn.2026-11.io.demo:vol', portal: { ip: '127.0.0.1', port: 3260 }, thin: true, acls });
    try {
      await recordLioChapSecrets('demo', 'iqn.2026-11.io.demo', lio);
      await recordLioChapSecrets('other', 'iqn.2026-11.io.other', lio);
      ledger.beginScenario('next'); // the same secrets again, recorded again under a new scenario
      await recordTargetChapSecrets('pvc on w1', 'iqn.2026-11.io.demo:vol', lio);
      await recordTargetChapSecrets('gone', 'iqn.2026-11.io.demo:gone', lio);
      assert.deepEqual(readLedger(ledger.path).map((e) => [e.label, e.value]), [
        ['demo: iqn.2026-11.io.demo:vol for iqn.2026-11.io.test:worker', 'acl-password-1'],
        ['demo: iqn.2026-11.io.demo:vol for iqn.2026-11.io.test:worker (mutual)', 'acl-password-2'],
        ['pvc on w1: iqn.2026-11.io.demo:vol for iqn.2026-11.io.test:worker', 'acl-password-1'],
        ['pvc on w1: iqn.2026-11.io.demo:vol for iqn.2026-11.io.test:worker (mutual)', 'acl-password-2'],
      ]);
    } finally {
      await sim.destroy();
    }
  });

  test('records nothing when no ledger is open', () => {
    useSuiteLedger(undefined);
    assert.equal(recordSecret('chap-secret', 'x', 'abcdefghijkl'), 'abcdefghijkl');
  });

  test('names the line of a malformed entry without echoing it', () => {
    assert.throws(() => parseLedger('{"kind":"chap-secret","label":"a","scenario":"s","encoding":"utf8","value":"v"}\nnot-json-secret'), /^Error: secret ledger line 2 is not JSON$/);
    assert.throws(() => parseLedger('{"kind":"password","label":"a","scenario":"s","encoding":"utf8","value":"v"}'), /line 1 is not an entry/);
    assert.equal(readFileSync(freshLedger().path, 'utf8'), '');
  });
});
