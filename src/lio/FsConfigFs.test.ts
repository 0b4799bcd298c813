import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs/promises';
import { tmpdir } from 'node:os';
import * as nodePath from 'node:path';
import { ConfigFsError } from './ConfigFs.ts';
import { FsConfigFs } from './FsConfigFs.ts';

describe('FsConfigFs', () => {
  let root: string;
  let cfs: FsConfigFs;
  before(async () => {
    root = await fs.mkdtemp(nodePath.join(tmpdir(), 'vbs-fscfg-'));
    cfs = new FsConfigFs({ root });
  });
  after(async () => fs.rm(root, { recursive: true, force: true }));

  test('creates a directory once and reports whether it created it', async () => {
    assert.equal(await cfs.ensureDir('a'), true);
    assert.equal(await cfs.ensureDir('a'), false);
    assert.ok((await fs.stat(nodePath.join(root, 'a'))).isDirectory());
  });

  test('does not create parents: a missing parent is the kernel telling us a module is not loaded', async () => {
    await assert.rejects(cfs.ensureDir('missing/child'), (err: unknown) => err instanceof ConfigFsError && err.code === 'ENOENT');
  });

  test('writes an attribute without a trailing newline and replaces a longer old value', async () => {
    await fs.writeFile(nodePath.join(root, 'a', 'password'), 'a-much-longer-old-value\n');
    await cfs.writeAttr('a/password', 'pw');
    assert.equal(await fs.readFile(nodePath.join(root, 'a', 'password'), 'utf8'), 'pw');
    assert.equal(await cfs.readAttr('a/password'), 'pw');
  });

  test('refuses to create an attribute that does not exist, as configfs does', async () => {
    await assert.rejects(cfs.writeAttr('a/nonexistent', '1'), (err: unknown) => err instanceof ConfigFsError && err.code === 'ENOENT');
    assert.equal(await cfs.exists('a/nonexistent'), false);
  });

  test('never puts the written value into an error message', async () => {
    await assert.rejects(cfs.writeAttr('a/nonexistent', 'topsecret-chap'), (err: unknown) => err instanceof Error && !err.message.includes('topsecret-chap'));
  });

  test('reads a missing attribute as undefined', async () => {
    assert.equal(await cfs.readAttr('a/none'), undefined);
  });

  test('links once, accepts the same link again and refuses a link to something else', async () => {
    await cfs.ensureDir('b');
    await cfs.ensureDir('c');
    assert.equal(await cfs.ensureLink('a/to-b', 'b'), true);
    assert.equal(await cfs.ensureLink('a/to-b', 'b'), false);
    assert.equal(await cfs.readLink('a/to-b'), 'b');
    await assert.rejects(cfs.ensureLink('a/to-b', 'c'), (err: unknown) => err instanceof ConfigFsError && err.code === 'EEXIST');
  });

  test('resolves a relative link target, as configfs returns, against the link', async () => {
    await fs.symlink('../c', nodePath.join(root, 'a', 'rel'));
    assert.equal(await cfs.readLink('a/rel'), 'c');
  });

  test('lists directories, links and attributes, and a missing directory as empty', async () => {
    const entries = await cfs.list('a');
    assert.deepEqual(
      entries.map((e) => `${e.name}:${e.kind}`),
      ['password:attr', 'rel:link', 'to-b:link'],
    );
    assert.deepEqual(await cfs.list('nope'), []);
  });

  test('removes links and empty directories, and counts something already gone as done', async () => {
    assert.equal(await cfs.removeIfPresent('a/to-b'), true);
    assert.equal(await cfs.removeIfPresent('a/to-b'), false);
    assert.equal(await cfs.exists('b'), true, 'unlinking must not touch the link target');
    assert.equal(await cfs.removeIfPresent('b'), true);
    assert.equal(await cfs.removeIfPresent('b'), false);
  });

  test('refuses to remove an attribute file', async () => {
    await assert.rejects(cfs.removeIfPresent('a/password'), ConfigFsError);
  });

  const escapes = ['../etc', '/etc/passwd', 'a/../../x', 'a//b', ''];
  for (const path of escapes) {
    test(`refuses the path ${JSON.stringify(path)}, which is not a clean path below the root`, async () => {
      await assert.rejects(cfs.ensureDir(path), (err: unknown) => err instanceof ConfigFsError && err.code === 'EINVAL');
    });
  }
});
