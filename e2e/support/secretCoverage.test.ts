import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { checkCoverage } from './secretCoverage.ts';
import type { CoverageInput, SecretExpectation } from './secretCoverage.ts';

const SELF = 'secrets scan';
const expectations = new Map<string, SecretExpectation>([
  ['cluster', { kinds: ['chap-key', 'chap-secret', 'tls-private-key'], driverProcesses: true }],
  ['lio', { kinds: ['chap-secret'], driverProcesses: false }],
]);
const clusterLedger = [
  { kind: 'chap-key', scenario: 'cluster' },
  { kind: 'chap-secret', scenario: 'cluster' },
  { kind: 'tls-private-key', scenario: 'cluster' },
] as const;

function check(over: Partial<CoverageInput>) {
  return checkCoverage({ self: SELF, ran: [SELF], ledger: [], processLogs: new Map(), expectations, ...over });
}

describe('checkCoverage', () => {
  test('is satisfied when every scenario that ran recorded each kind it uses and left its process logs', () => {
    const c = check({ ran: ['cluster', 'lio', SELF], ledger: [...clusterLedger, { kind: 'chap-secret', scenario: 'lio' }], processLogs: new Map([['cluster', 4]]) });
    assert.deepEqual(c, { problems: [], notes: [] });
  });

  test('fails a scenario that ran without recording a kind it uses', () => {
    const c = check({ ran: ['cluster', 'lio', SELF], ledger: clusterLedger.filter((e) => e.kind !== 'tls-private-key'), processLogs: new Map([['cluster', 1]]) });
    assert.deepEqual(c.problems, [
      '"cluster" ran but the ledger holds no tls-private-key from it: its secrets would go unchecked',
      '"lio" ran but the ledger holds no chap-secret from it: its secrets would go unchecked',
    ]);
  });

  test('does not count another scenario\'s secrets towards a scenario', () => {
    const c = check({ ran: ['lio', SELF], ledger: [{ kind: 'chap-secret', scenario: 'cluster' }] });
    assert.equal(c.problems.length, 1);
  });

  test('fails a scenario with driver processes that left no process log', () => {
    const c = check({ ran: ['cluster', SELF], ledger: clusterLedger });
    assert.deepEqual(c.problems, ['"cluster" starts driver processes but left no process log: their output would go unchecked']);
  });

  test('fails an empty ledger when scenarios that use secrets ran', () => {
    assert.equal(check({ ran: ['cluster', 'lio', SELF], processLogs: new Map([['cluster', 2]]) }).problems.length, 2);
  });

  test('passes an empty ledger when nothing ran before the scan, and says so', () => {
    assert.deepEqual(check({ ran: [SELF] }), { problems: [], notes: ['no other scenario ran in this run and the ledger is empty: there was nothing to leak'] });
    assert.deepEqual(check({ ran: [] }).problems, []);
  });

  test('passes an empty ledger when only scenarios without secrets ran, and notes each', () => {
    const c = check({ ran: ['kernel stack', SELF] });
    assert.deepEqual(c.problems, []);
    assert.deepEqual(c.notes, ['"kernel stack" has no expectation; it recorded no secret', 'the ledger is empty; none of the 1 scenario(s) that ran is known to use a secret']);
  });

  test('notes what a scenario without an expectation recorded', () => {
    const c = check({ ran: ['fault suite', SELF], ledger: [{ kind: 'chap-key', scenario: 'fault suite' }] });
    assert.deepEqual(c, { problems: [], notes: ['"fault suite" has no expectation; it recorded chap-key'] });
  });
});
