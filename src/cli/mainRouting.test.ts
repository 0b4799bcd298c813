import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';

const MAIN = fileURLToPath(new URL('../main.ts', import.meta.url));

function vbsCsi(args: string[]) {
  const r = spawnSync(process.execPath, [MAIN, ...args], { encoding: 'utf8', timeout: 30_000});
  return { code: r.status, out: r.stdout, err: r.stderr };
}

describe('src/main.ts routes the CLI commands to src/cli', () => {
  for (const word of ['volume', 'nodes']) {
    it(`"vbs-csi ${word} --help" prints the CLI usage and exits 0`, () => {
      const r = vbsCsi([word, '--help']);
      assert.equal(r.code, 0, r.err);
      assert.match(r.out, /Usage: vbs-csi /);
      assert.match(r.out, /Exit status: 0 done, 1 failed, 2 usage error/);
    });
  }
  it('a CLI usage error exits 2 without starting a driver role', () => {
    const r = vbsCsi(['volume', 'create', 'x']);
    assert.equal(r.code, 2);
    assert.match(r.err, /--size is required/);
    assert.doesNotMatch(r.err, /invalid configuration/);
  });
});
