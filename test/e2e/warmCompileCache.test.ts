import assert from 'node:assert/strict';
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { projectRoot } from '../packaging/support.ts';

describe('the compile cache warmer of the TCG test image (e2e/vm/warmCompileCache.ts)', () => {
  it('fills a cache from which a role\'s modules load without stripping their types again', () => {
    const cache = mkdtempSync(join(tmpdir(), 'vbs-compile-cache-'));
    try {
      const env = { ...process.env, NODE_COMPILE_CACHE: cache };
      const out = execFileSync(process.execPath, [join(projectRoot, 'e2e/vm/warmCompileCache.ts'), join(projectRoot, 'src')], { env, encoding: 'utf8', timeout: 60_000 });
      assert.match(out, /compile cache: \d{2,} modules of .*src and @kubernetes\/client-node/);
      // A second process that loads what `node src/main.ts agent …` loads finds every TypeScript module in the cache.
      const load = `await import(${JSON.stringify(join(projectRoot, 'src/roles/runDriver.ts'))});`;
      const run = spawnSync(process.execPath, ['--input-type=module', '-e', load], { env: { ...env, NODE_DEBUG_NATIVE: 'COMPILE_CACHE' }, encoding: 'utf8', timeout: 60_000 });
      assert.equal(run.status, 0, run.stderr);
      const debug = `${run.stdout}${run.stderr}`;
      const hits = debug.match(/retrieving transpile cache for StrippedTypeScript \S+\.\.\.success/g) ?? [];
      const misses = debug.match(/retrieving transpile cache for StrippedTypeScript \S+\.\.\.(?!success)\S*/g) ?? [];
      assert.ok(hits.length >= 20, `only ${hits.length} modules came from the cache:\n${debug.slice(0, 2000)}`);
      assert.deepEqual(misses, []);
    } finally {
      rmSync(cache, { recursive: true, force: true });
    }
  });
});
