import assert from 'node:assert/strict';
import { execFileSync, spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { parse as parseYaml } from 'yaml';
import { ctrArgs, importArgs, importConfig, K8S_NAMESPACE, storeInputs, VBS_CSI_IMAGE_REPOSITORY, vbsCsiRef } from '../../e2e/vm/containerdImageStore.ts';
import { archiveFile, BUSYBOX_BINARY, BUSYBOX_IMAGE, buildahSteps, imageInputs, PAUSE_IMAGE, PAUSE_SCRIPT, storageArgs, testImages, VBS_CSI_COMPILE_CACHE, VBS_CSI_TCG_IMAGE } from '../../e2e/vm/testImages.ts';
import { find, projectRoot, render } from '../packaging/support.ts';

const values = parseYaml(readFileSync(join(projectRoot, 'charts/vbs-csi/values.yaml'), 'utf8')) as { sidecars: Record<string, { image?: string }> };

describe('the test bed images (e2e/vm/testImages.ts)', () => {
  const images = testImages({ XDG_CACHE_HOME: '/cache' });

  it('the controller sidecars are named exactly as the chart runs them, so it renders unchanged', () => {
    const refs = images.map((i) => i.ref);
    for (const key of ['provisioner', 'attacher', 'resizer', 'snapshotter']) assert.ok(refs.includes(values.sidecars[key]!.image!), `${key}: ${values.sidecars[key]!.image}`);
    assert.ok(!refs.some((r) => r.includes('snapshot-controller')), 'snapshot-controller runs on the host: no image in the guest');
    assert.deepEqual(refs.slice(-3), [BUSYBOX_IMAGE, PAUSE_IMAGE, VBS_CSI_TCG_IMAGE]);
    assert.equal(new Set(images.map((i) => i.file)).size, images.length, 'one archive file each');
  });

  it('the TCG variant of vbs-csi is the image of `npm run image` with node --liftoff-only as the entrypoint and a compile cache warmed with the same flags', () => {
    const tcg = images.find((i) => i.ref === VBS_CSI_TCG_IMAGE)!;
    const warmer = join(projectRoot, 'e2e/vm/warmCompileCache.ts');
    assert.deepEqual(tcg.content, { kind: 'derived', archive: join(projectRoot, '.e2e-work/image/vbs-csi.oci.tar'), warmer });
    assert.ok(existsSync(warmer));
    assert.ok(tcg.entrypoint.includes('--liftoff-only'));
    const steps = buildahSteps(tcg, 'ctr1', '/base.tar', '/out/t.tar');
    assert.deepEqual(steps.map((s) => s[0]), ['run', 'config', 'commit'], 'no copy step: the layers stay the base\'s');
    assert.deepEqual(steps[0], [
      'run', '--isolation', 'chroot', '--volume', `${warmer}:/tmp/warmCompileCache.ts:ro`, '--env', `NODE_COMPILE_CACHE=${VBS_CSI_COMPILE_CACHE}`,
      'ctr1', '--', 'node', '--liftoff-only', '/tmp/warmCompileCache.ts', '/app/src',
    ]);
    assert.deepEqual(steps[1]!.slice(0, 4), ['config', '--env', `NODE_COMPILE_CACHE=${VBS_CSI_COMPILE_CACHE}`, '--entrypoint'], 'the roles read the cache the build wrote');
  });

  it('a sidecar is its static binary at /<name> as the entrypoint, from the Kubernetes build cache', () => {
    const provisioner = images.find((i) => i.ref.includes('/csi-provisioner:'))!;
    assert.deepEqual(provisioner.entrypoint, ['/csi-provisioner']);
    assert.equal(provisioner.content.kind, 'binary');
    assert.match(provisioner.content.kind === 'binary' ? provisioner.content.path : '', /^\/cache\/vbs-csi\/kubernetes\/external-provisioner-v6\.4\.0-[0-9a-f]{12}\/bin\/csi-provisioner$/);
    const steps = buildahSteps(provisioner, 'ctr1', '/src/csi-provisioner', '/out/p.tar');
    assert.deepEqual(steps, [
      ['copy', '--quiet', '--chmod', '0755', 'ctr1', '/src/csi-provisioner', '/csi-provisioner'],
      ['config', '--entrypoint', '["/csi-provisioner"]', '--label', 'io.vbs-csi.e2e=test-bed', 'ctr1'],
      ['commit', '--quiet', '--timestamp', '0', '--format', 'oci', 'ctr1', 'oci-archive:/out/p.tar:registry.k8s.io/sig-storage/csi-provisioner:v6.4.0'],
    ]);
  });

  it('busybox and pause share the busybox tree, copied to /', () => {
    const pause = images.find((i) => i.ref === PAUSE_IMAGE)!;
    assert.deepEqual(pause.entrypoint, ['/bin/sh', '-c', PAUSE_SCRIPT]);
    assert.deepEqual(buildahSteps(pause, 'c', '/staged', '/o.tar')[0], ['copy', '--quiet', 'c', '/staged', '/']);
    assert.deepEqual(storageArgs({ root: '/r', runroot: '/rr' }), ['--root', '/r', '--runroot', '/rr', '--storage-driver', 'vfs']);
  });

  it('archive names come from validated references', () => {
    assert.equal(archiveFile('localhost/vbs-e2e/pause:1'), 'pause-1.oci.tar');
    for (const bad of ['localhost/x', 'Upper/x:1', 'x:1;rm', '../x:1 2', '/abs:1']) assert.throws(() => archiveFile(bad), /not an image reference/, bad);
  });

  it('the inputs stamp changes with the content, the entrypoint, buildah and the builder, and only then', () => {
    const busybox = images.find((i) => i.ref === BUSYBOX_IMAGE)!;
    const base = imageInputs(busybox, 'aa', 'buildah 1', 'bb');
    assert.equal(imageInputs(busybox, 'aa', 'buildah 1', 'bb'), base);
    for (const other of [imageInputs(busybox, 'ab', 'buildah 1', 'bb'), imageInputs(busybox, 'aa', 'buildah 2', 'bb'), imageInputs(busybox, 'aa', 'buildah 1', 'bc'), imageInputs({ ...busybox, entrypoint: ['/bin/ash'] }, 'aa', 'buildah 1', 'bb')]) {
      assert.notEqual(other, base);
    }
  });

  it('the pause entrypoint sleeps until SIGTERM, then exits 0 at once', { skip: !existsSync(BUSYBOX_BINARY) && `${BUSYBOX_BINARY} is not installed` }, async () => {
    // Its own process group: the orphaned `sleep 3600` goes with it below (in a container, with the PID namespace).
    const child = spawn(BUSYBOX_BINARY, ['sh', '-c', PAUSE_SCRIPT], { stdio: 'ignore', detached: true });
    try {
      const exit = new Promise<{ code: number | null; signal: string | null }>((resolve) => child.on('exit', (code, signal) => resolve({ code, signal })));
      const still = await Promise.race([exit, new Promise((resolve) => setTimeout(() => resolve('running'), 300))]);
      assert.equal(still, 'running', 'it does not exit by itself');
      const sent = Date.now();
      child.kill('SIGTERM');
      assert.deepEqual(await exit, { code: 0, signal: null });
      assert.ok(Date.now() - sent < 2000, 'the trap ran without waiting for the sleep');
    } finally {
      try {
        process.kill(-child.pid!, 'SIGKILL');
      } catch {
        // the group is gone already
      }
    }
  });
});

describe('the containerd image store (e2e/vm/containerdImageStore.ts)', () => {
  it('the import config keeps containerd to its own root, state and socket, without CRI or the host\'s conf.d', () => {
    const config = importConfig('/p/.e2e-work/containerd-store/root', '/tmp/vbs-ctd-x');
    assert.match(config, /^version = 3$/m);
    assert.match(config, /^root = '\/p\/\.e2e-work\/containerd-store\/root'$/m);
    assert.match(config, /^state = '\/tmp\/vbs-ctd-x'$/m);
    assert.match(config, /^imports = \[\]$/m);
    assert.match(config, /^\[grpc\]\n {2}address = '\/tmp\/vbs-ctd-x\/containerd\.sock'$/m);
    assert.match(config, /^disabled_plugins = \[.*'io\.containerd\.grpc\.v1\.cri'.*'io\.containerd\.nri\.v1\.nri'.*'io\.containerd\.internal\.v1\.opt'\]$/m);
  });

  it('refuses paths that are relative, would break out of the TOML string, or make a socket path too long', () => {
    assert.throws(() => importConfig('root', '/tmp/s'), /absolute and plain/);
    assert.throws(() => importConfig("/r'\nroot = '/etc", '/tmp/s'), /absolute and plain/);
    assert.throws(() => importConfig('/r', `/tmp/${'s'.repeat(90)}`), /socket path too long/);
  });

  it('imports into CRI\'s namespace, unpacked for the snapshotter, layers discarded after unpacking', () => {
    assert.equal(K8S_NAMESPACE, 'k8s.io');
    assert.deepEqual(importArgs('/tmp/s/containerd.sock', 'overlayfs', '/a/x.oci.tar'), ['--address', '/tmp/s/containerd.sock', '--namespace', 'k8s.io', 'images', 'import', '--local', '--snapshotter', 'overlayfs', '--discard-unpacked-layers', '/a/x.oci.tar']);
    assert.deepEqual(ctrArgs('/s', 'images', 'ls'), ['--address', '/s', '--namespace', 'k8s.io', 'images', 'ls']);
  });

  it('the store stamp changes with any archive\'s inputs, the set of images, containerd and the snapshotter, not with their order', () => {
    const a = { ref: 'a:1', archive: '/a', inputs: 'ia' };
    const b = { ref: 'b:1', archive: '/b', inputs: 'ib' };
    const base = storeInputs([a, b], '/c/containerd', 'overlayfs', 'h');
    assert.equal(storeInputs([b, a], '/c/containerd', 'overlayfs', 'h'), base);
    for (const other of [
      storeInputs([a, { ...b, inputs: 'ib2' }], '/c/containerd', 'overlayfs', 'h'),
      storeInputs([a], '/c/containerd', 'overlayfs', 'h'),
      storeInputs([a, b], '/c2/containerd', 'overlayfs', 'h'),
      storeInputs([a, b], '/c/containerd', 'native', 'h'),
      storeInputs([a, b], '/c/containerd', 'overlayfs', 'h2'),
    ]) {
      assert.notEqual(other, base);
    }
  });

  it('reads the vbs-csi archive\'s name from its OCI index, and refuses another name', () => {
    const dir = mkdtempSync(join(tmpdir(), 'vbs-ctd-test-'));
    try {
      const make = (ref: string) => {
        writeFileSync(join(dir, 'index.json'), JSON.stringify({ schemaVersion: 2, manifests: [{ annotations: { 'org.opencontainers.image.ref.name': ref } }] }));
        execFileSync('tar', ['-cf', join(dir, 'a.tar'), '-C', dir, 'index.json']);
        return join(dir, 'a.tar');
      };
      assert.equal(vbsCsiRef(make('localhost/vbs-csi:0.1.0')), 'localhost/vbs-csi:0.1.0');
      assert.throws(() => vbsCsiRef(make('0.1.0')), /named "0\.1\.0", not localhost\/vbs-csi:<tag>/);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('with image.repository=localhost/vbs-csi the chart runs the image npm run image tags (localhost/vbs-csi:<appVersion>)', () => {
    const version = (JSON.parse(readFileSync(join(projectRoot, 'package.json'), 'utf8')) as { version: string }).version;
    const objects = render(['--set', `image.repository=${VBS_CSI_IMAGE_REPOSITORY}`]);
    const controller = find(objects, 'Deployment', 'vbs-csi-controller') as unknown as { spec: { template: { spec: { containers: { name: string; image: string }[] } } } };
    const images = controller.spec.template.spec.containers.map((c) => c.image);
    assert.ok(images.includes(`${VBS_CSI_IMAGE_REPOSITORY}:${version}`), images.join(' '));
    for (const key of ['provisioner', 'attacher', 'resizer', 'snapshotter']) assert.ok(images.includes(values.sidecars[key]!.image!), key);
  });
});
