import assert from 'node:assert/strict';
import { test } from 'node:test';
import { mountsUnder } from '../../e2e/guest/scenarioWorkDir.ts';

const MOUNTINFO = [
  '22 1 0:20 / / rw,relatime - overlay overlay rw',
  '30 22 0:25 / /tmp rw,relatime - tmpfs tmpfs rw',
  '41 30 7:0 / /tmp/vbs-e2e/data-path-AbC123/mnt rw,relatime - ext4 /dev/mapper/vbs-x rw',
  '42 30 0:26 / /tmp/vbs-e2e/data-path-AbC1234 rw,relatime - tmpfs tmpfs rw',
  '43 30 0:27 / /tmp/vbs-e2e/with\\040space rw,relatime - tmpfs tmpfs rw',
].join('\n');

test('a mount inside the work directory is found, a sibling whose name merely starts the same is not', () => {
  assert.deepEqual(mountsUnder('/tmp/vbs-e2e/data-path-AbC123', MOUNTINFO), ['/tmp/vbs-e2e/data-path-AbC123/mnt']);
});

test('the directory itself being a mount point counts', () => {
  assert.deepEqual(mountsUnder('/tmp/vbs-e2e/data-path-AbC1234', MOUNTINFO), ['/tmp/vbs-e2e/data-path-AbC1234']);
  assert.deepEqual(mountsUnder('/tmp/vbs-e2e/with space', MOUNTINFO), ['/tmp/vbs-e2e/with space']);
});

test('a directory with nothing mounted in it has no mounts', () => {
  assert.deepEqual(mountsUnder('/tmp/vbs-e2e/lvm-Zz9', MOUNTINFO), []);
});
