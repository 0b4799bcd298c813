import type { Scenario } from './Scenario.ts';

/**
 * Pure: the scenarios to run, in registry order. `only` (VBS_E2E_ONLY / --only) is a
 * case-sensitive substring of the name, or several joined by `|` (any matches), so one boot can
 * run a chosen group. The guest runner and the host test both call this, so they always agree on
 * which results to expect.
 */
export function selectScenarios(all: readonly Scenario[], only: string | undefined): Scenario[] {
  const names = new Set<string>();
  for (const scenario of all) {
    if (names.has(scenario.name)) throw new Error(`two scenarios are named ${JSON.stringify(scenario.name)}`);
    names.add(scenario.name);
  }
  if (only === undefined) return [...all];
  const parts = only.split('|').filter((part) => part !== '');
  return all.filter((scenario) => parts.some((part) => scenario.name.includes(part)));
}
