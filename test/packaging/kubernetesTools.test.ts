import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { chmodSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { parse as parseYaml } from 'yaml';
import { goBuildArgs, KUBE_COMPONENTS, kubeBinaryPath, selectComponents, versionKey } from '../../scripts/build-kubernetes.ts';
import { projectRoot } from './support.ts';

/** The directives of a go.mod that decide what is built: require, replace and tool, single-line or in blocks. */
function goModDirectives(text: string): { require: Map<string, string>; replace: Map<string, string>; tool: string[] } {
  const require = new Map<string, string>();
  const replace = new Map<string, string>();
  const tool: string[] = [];
  let block: string | undefined;
  for (const raw of text.split('\n')) {
    const line = raw.replace(/\/\/.*$/, '').trim();
    if (line === '') continue;
    if (block !== undefined && line === ')') {
      block = undefined;
      continue;
    }
    const opened = /^(require|replace|tool) \($/.exec(line);
    if (opened) {
      block = opened[1];
      continue;
    }
    const single = /^(require|replace|tool) (.+)$/.exec(line);
    const [verb, rest] = single ? [single[1], single[2]!] : [block, line];
    if (verb === 'require') {
      const [path, version] = rest.split(/\s+/);
      require.set(path!, version!);
    } else if (verb === 'replace') {
      const [from, to] = rest.split(/\s*=>\s*/);
      replace.set(from!, to!);
    } else if (verb === 'tool') {
      tool.push(rest);
    }
  }
  return { require, replace, tool };
}

const toolsDir = join(projectRoot, 'tools');
const dirs = [...new Set(KUBE_COMPONENTS.map((c) => c.dir))];
const goMod = (dir: string) => goModDirectives(readFileSync(join(toolsDir, dir, 'go.mod'), 'utf8'));

describe('the Go modules under tools/ that build Kubernetes, etcd, containerd and the sidecars (scripts/build-kubernetes.ts)', () => {
  it('each tools/ directory is built by the script, and each has its go.sum', () => {
    const onDisk = readdirSync(toolsDir, { withFileTypes: true }).filter((e) => e.isDirectory()).map((e) => e.name);
    assert.deepEqual(onDisk.sort(), [...dirs].sort());
    for (const dir of dirs) assert.ok(existsSync(join(toolsDir, dir, 'go.sum')), `tools/${dir}/go.sum`);
  });

  it('each go.mod requires the upstream module at the version in the script\'s table', () => {
    for (const c of KUBE_COMPONENTS) {
      assert.equal(goMod(c.dir).require.get(c.module), c.version, `${c.name}: tools/${c.dir}/go.mod requires ${c.module} ${c.version}`);
    }
  });

  it('the tool lines of each go.mod are exactly the packages the table builds from it', () => {
    for (const dir of dirs) {
      const packages = KUBE_COMPONENTS.filter((c) => c.dir === dir).map((c) => c.package);
      assert.deepEqual([...goMod(dir).tool].sort(), packages.sort(), `tools/${dir}/go.mod`);
    }
  });

  it('no replace points at a local path: every module comes from the proxy, checked against go.sum', () => {
    for (const dir of dirs) {
      for (const [from, to] of goMod(dir).replace) assert.match(to, /^[a-z0-9.-]+\.[a-z]+\/\S+ v\S+$/, `tools/${dir}: ${from} => ${to}`);
    }
  });

  it('Kubernetes\' staging modules are replaced by their tags of the same release (v1.M.P ↔ v0.M.P)', () => {
    const { require, replace } = goMod('kubernetes');
    const staging = `v0.${require.get('k8s.io/kubernetes')!.replace(/^v1\./, '')}`;
    assert.ok(replace.size > 0);
    for (const [from, to] of replace) assert.equal(to, `${from} ${staging}`, from);
    // Kubernetes' go.mod requires its staging modules at v0.0.0; one left unreplaced would not resolve.
    for (const [path, version] of require) if (version === 'v0.0.0') assert.ok(replace.has(path), `${path} v0.0.0 is replaced`);
  });

  it('the sidecars are at the chart\'s image versions (charts/vbs-csi/values.yaml)', () => {
    const values = parseYaml(readFileSync(join(projectRoot, 'charts/vbs-csi/values.yaml'), 'utf8')) as { sidecars: Record<string, { image?: string }> };
    const images = Object.values(values.sidecars).flatMap((s) => (s.image ? [s.image] : []));
    const checked = new Set<string>();
    for (const image of images) {
      const [, name, tag] = /\/([^/:]+):(\S+)$/.exec(image) ?? [];
      const component = KUBE_COMPONENTS.find((c) => c.name === name);
      if (!component) continue;
      assert.equal(component.version, tag, `${name}: the chart runs ${tag}`);
      checked.add(name!);
    }
    assert.deepEqual([...checked].sort(), ['csi-attacher', 'csi-provisioner', 'csi-resizer', 'csi-snapshotter']);
    const snapshotter = KUBE_COMPONENTS.find((c) => c.name === 'csi-snapshotter')!;
    assert.equal(KUBE_COMPONENTS.find((c) => c.name === 'snapshot-controller')?.version, snapshotter.version, 'snapshot-controller is released with csi-snapshotter');
  });
});

describe('building (scripts/build-kubernetes.ts)', () => {
  it('--only picks components in table order; an unknown name or argument is refused, listing what is known', () => {
    assert.deepEqual(selectComponents([]).map((c) => c.name), KUBE_COMPONENTS.map((c) => c.name));
    assert.deepEqual(selectComponents(['--only', 'kubelet,etcd', '--only=kube-apiserver']).map((c) => c.name), ['kube-apiserver', 'kubelet', 'etcd']);
    assert.throws(() => selectComponents(['--only', 'kubectl']), /unknown component kubectl: scripts\/build-kubernetes\.ts builds kube-apiserver, .*snapshot-controller/);
    assert.throws(() => selectComponents(['--only']), /unexpected argument "--only": usage/);
    assert.throws(() => selectComponents(['kubelet']), /unexpected argument "kubelet"/);
  });

  it('the version key changes with go.mod, go.sum and the build settings, and names the directory and version', () => {
    const base = versionKey('etcd', 'mod', 'sum', KUBE_COMPONENTS);
    assert.match(base, /^etcd-v3\.6\.16-[0-9a-f]{12}$/);
    assert.equal(versionKey('etcd', 'mod', 'sum', KUBE_COMPONENTS), base);
    assert.notEqual(versionKey('etcd', 'mod2', 'sum', KUBE_COMPONENTS), base);
    assert.notEqual(versionKey('etcd', 'mod', 'sum2', KUBE_COMPONENTS), base);
    const relinked = KUBE_COMPONENTS.map((c) => (c.name === 'etcd' ? { ...c, versionVars: { 'main.x': 'y' } } : c));
    assert.notEqual(versionKey('etcd', 'mod', 'sum', relinked), base);
    assert.throws(() => versionKey('nothing', 'mod', 'sum', KUBE_COMPONENTS), /no component is built from tools\/nothing/);
  });

  it('Kubernetes binaries report their release, not v0.0.0-master', () => {
    const args = goBuildArgs(KUBE_COMPONENTS.find((c) => c.name === 'kube-apiserver')!, '/out');
    assert.deepEqual(args.slice(-4), [args.at(-4), '-o', '/out', 'k8s.io/kubernetes/cmd/kube-apiserver']);
    assert.match(args.find((a) => a.startsWith('-ldflags='))!, /-X k8s\.io\/component-base\/version\.gitVersion=v1\.37\.2 .*gitMajor=1 .*gitMinor=37/);
  });

  it('builds a missing binary once into the cache, skips it after, and says how to retry when go fails', () => {
    const temp = mkdtempSync(join(tmpdir(), 'vbs-kube-build-'));
    try {
      // A stand-in go, first on PATH: it records where and how it ran and writes the -o file, or fails on request
      // after writing part of it.
      const calls = join(temp, 'calls');
      mkdirSync(join(temp, 'bin'));
      const fakeGo = join(temp, 'bin', 'go');
      writeFileSync(fakeGo, `#!/bin/sh\necho "$PWD $*" >> '${calls}'\necho "$GOMODCACHE $GOCACHE $GOTOOLCHAIN $CGO_ENABLED $GOFLAGS" > '${calls}.env'\nwhile [ "$1" != "-o" ]; do shift; done\n[ -n "$FAKE_GO_FAIL" ] && { echo part > "$2"; echo "fake go: no proxy" >&2; exit 1; }\necho built > "$2"\n`);
      chmodSync(fakeGo, 0o755);
      const run = (extraEnv: Record<string, string> = {}) => {
        const env = { ...process.env, GOFLAGS: '-tags=caller', PATH: `${join(temp, 'bin')}:${process.env['PATH'] ?? ''}`, XDG_CACHE_HOME: join(temp, 'cache'), ...extraEnv };
        const result = spawnSync(process.execPath, [join(projectRoot, 'scripts/build-kubernetes.ts'), '--only', 'etcd'], { encoding: 'utf8', env });
        return { ...result, calls: existsSync(calls) ? readFileSync(calls, 'utf8').trim().split('\n') : [] };
      };
      const etcd = KUBE_COMPONENTS.find((c) => c.name === 'etcd')!;
      const binary = kubeBinaryPath(etcd, { XDG_CACHE_HOME: join(temp, 'cache') });

      const failed = run({ FAKE_GO_FAIL: '1' });
      assert.equal(failed.status, 1, failed.stderr);
      assert.match(failed.stderr, /fake go: no proxy/);
      assert.match(failed.stderr, /go build .* failed in tools\/etcd for etcd v3\.6\.16 .*run `node scripts\/build-kubernetes\.ts --only etcd`/);
      assert.equal(existsSync(binary), false, 'a failed build leaves no binary');
      assert.deepEqual(readdirSync(join(binary, '..')), [], 'nor a partial one');

      const first = run();
      assert.equal(first.status, 0, first.stderr);
      assert.equal(first.stdout, `etcd\t${binary}\n`);
      assert.match(first.stderr, /kubernetes: etcd v3\.6\.16: built in \d+\.\d s/);
      assert.equal(readFileSync(binary, 'utf8'), 'built\n');
      assert.equal(first.calls.length, 2);
      assert.equal(first.calls[1], `${join(projectRoot, 'tools', 'etcd')} ${goBuildArgs(etcd, `${binary}.tmp-${first.pid}`).join(' ')}`);
      const goCaches = join(temp, 'cache', 'vbs-csi', 'go');
      assert.equal(readFileSync(`${calls}.env`, 'utf8'), `${join(goCaches, 'mod')} ${join(goCaches, 'build')} local 0 -mod=readonly -modcacherw\n`);

      const second = run();
      assert.equal(second.status, 0, second.stderr);
      assert.match(second.stderr, /kubernetes: etcd v3\.6\.16: up to date/);
      assert.equal(second.calls.length, 2, 'go did not run again');
    } finally {
      rmSync(temp, { recursive: true, force: true });
    }
  });
});
