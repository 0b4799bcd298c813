import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { homedir, tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { GO_TOOLS, buildGoTools, goCacheEnv, goToolPath, selectGoTools, stampText } from '../../scripts/build-go-tools.ts';

const cache = mkdtempSync(join(tmpdir(), 'go-tools-test-'));
after(() => rmSync(cache, { recursive: true, force: true }));
const env = { ...process.env, XDG_CACHE_HOME: cache };
const sanity = selectGoTools(['csi-sanity'])[0]!;

describe('scripts/build-go-tools.ts', () => {
  it('pins every tool to a version and a module hash, and names each once', () => {
    for (const tool of GO_TOOLS) {
      assert.match(tool.version, /^v\d+\.\d+\.\d+$/, tool.name);
      assert.match(tool.sum, /^h1:[A-Za-z0-9+/]{43}=$/, tool.name);
      assert.ok(tool.package.startsWith(`${tool.module}/`), `${tool.name}: its package is in its module`);
    }
    assert.equal(new Set(GO_TOOLS.map((t) => t.name)).size, GO_TOOLS.length);
  });

  it('puts binaries at a versioned path and Go caches under $XDG_CACHE_HOME/vbs-csi, else ~/.cache/vbs-csi', () => {
    assert.equal(goToolPath(sanity, env), join(cache, 'vbs-csi', 'go-tools', `csi-sanity-${sanity.version}`, 'csi-sanity'));
    assert.equal(goToolPath(sanity, {}), join(homedir(), '.cache', 'vbs-csi', 'go-tools', `csi-sanity-${sanity.version}`, 'csi-sanity'));
    const go = goCacheEnv({ XDG_CACHE_HOME: cache, GOFLAGS: '-buildvcs=false' });
    assert.equal(go['GOMODCACHE'], join(cache, 'vbs-csi', 'go', 'mod'));
    assert.equal(go['GOCACHE'], join(cache, 'vbs-csi', 'go', 'build'));
    assert.equal(go['GOPATH'], join(cache, 'vbs-csi', 'go', 'path'));
    assert.equal(go['GOFLAGS'], '-buildvcs=false -modcacherw', 'the caller\'s GOFLAGS are kept');
    assert.equal(go['GOTOOLCHAIN'], 'local');
  });

  it('refuses an unknown tool name, naming the known ones', () => {
    assert.throws(() => selectGoTools(['csi-sanity', 'kubelet-typo']), /unknown Go tool kubelet-typo: .* knows csi-sanity/);
  });

  it('keeps a binary whose stamp names the pinned module, without running go', () => {
    const binary = goToolPath(sanity, env);
    mkdirSync(join(binary, '..'), { recursive: true });
    writeFileSync(binary, 'not really a binary');
    writeFileSync(`${binary}.stamp`, stampText(sanity));
    const lines: string[] = [];
    // GOPROXY=off: had it tried to build, go could not fetch anything and this would throw.
    assert.deepEqual(buildGoTools(['csi-sanity'], (l) => lines.push(l), { ...env, GOPROXY: 'off' }), { 'csi-sanity': binary });
    assert.deepEqual(lines, [`go-tools: csi-sanity ${sanity.version}: up to date`]);
  });

  it('rebuilds when the stamp names another hash, and says what to do when go cannot fetch the module', { timeout: 120_000 }, () => {
    const binary = goToolPath(sanity, env);
    writeFileSync(`${binary}.stamp`, stampText({ ...sanity, sum: 'h1:somethingElse' }));
    const lines: string[] = [];
    assert.throws(() => buildGoTools(['csi-sanity'], (l) => lines.push(l), { ...env, GOPROXY: 'off' }), /go mod download .* failed for csi-sanity .*Go module proxy \(GOPROXY\) is reachable/s);
    assert.match(lines[0]!, /go mod download github.com\/kubernetes-csi\/csi-test\/v5@v5\.6\.0/);
  });
});
