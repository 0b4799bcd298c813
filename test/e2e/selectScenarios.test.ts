import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import type { Scenario } from '../../e2e/scenarios/Scenario.ts';
import { selectScenarios } from '../../e2e/scenarios/selectScenarios.ts';

const scenario = (name: string): Scenario => ({ name, timeoutMs: 1, run: async () => {} });
const all = [scenario('kernel stack'), scenario('controller burst'), scenario('kubernetes sequence: block'), scenario('controller restart')];
const names = (list: readonly Scenario[]): string[] => list.map((s) => s.name);

describe('selectScenarios', () => {
  test('without a filter runs every scenario in registry order', () => {
    assert.deepEqual(names(selectScenarios(all, undefined)), names(all));
  });

  test('a substring picks the scenarios whose names hold it', () => {
    assert.deepEqual(names(selectScenarios(all, 'controller')), ['controller burst', 'controller restart']);
  });

  test('`|` joins alternatives, still in registry order', () => {
    assert.deepEqual(names(selectScenarios(all, 'restart|kubernetes')), ['kubernetes sequence: block', 'controller restart']);
  });

  test('refuses two scenarios with one name', () => {
    assert.throws(() => selectScenarios([scenario('a'), scenario('a')], undefined), /two scenarios are named "a"/);
  });
});
