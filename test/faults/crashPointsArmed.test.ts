import assert from 'node:assert/strict';
import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { FAULT_POINTS } from '../../e2e/scenarios/faultSuite.scenario.ts';
import { MIRROR_FAULT_POINTS } from '../../e2e/scenarios/replication.scenario.ts';

const SRC = join(import.meta.dirname, '..', '..', 'src');

async function sourceFiles(dir: string): Promise<string[]> {
  const out: string[] = [];
  for (const entry of await readdir(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name);
    if (entry.isDirectory() && entry.name !== 'generated') out.push(...(await sourceFiles(path)));
    else if (entry.isFile() && entry.name.endsWith('.ts') && !entry.name.endsWith('.test.ts')) out.push(path);
  }
  return out;
}

describe('the fault suite and the replication scenario arm every crash point in the driver', () => {
  it('names exactly the points written in src/ (the replicated volume\'s in the replication scenario)', async () => {
    const named = new Set<string>();
    for (const file of await sourceFiles(SRC)) {
      for (const m of (await readFile(file, 'utf8')).matchAll(/crashPoint\('([^']+)'\)/g)) named.add(m[1]!);
    }
    assert.deepEqual([...named].sort(), [...FAULT_POINTS.agent, ...FAULT_POINTS.node, ...MIRROR_FAULT_POINTS.controller, ...MIRROR_FAULT_POINTS.node].sort());
  });

  it("names only controller points of methods the controller serves", async () => {
    const handlers = await readFile(join(SRC, 'controller', 'controllerHandlers.ts'), 'utf8');
    assert.match(handlers, /crashPoint\(`controller\.\$\{method\}\.before-reply`\)/, 'the controller crash point is per method, before the reply');
    const served = new Set([...handlers.matchAll(/unary\('([A-Za-z]+)'/g)].map((m) => m[1]!));
    for (const point of FAULT_POINTS.controller) {
      const method = /^controller\.([A-Za-z]+)\.before-reply$/.exec(point)?.[1];
      assert.ok(method !== undefined && served.has(method), `${point} names a method the controller serves`);
    }
  });
});
