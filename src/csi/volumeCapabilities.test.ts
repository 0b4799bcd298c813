import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { InvalidArgumentError } from '../errors.ts';
import type { VolumeCapability__Output } from '../generated/csi/v1/VolumeCapability.ts';
import { checkCapability, parseCapabilities, parseCapability } from './volumeCapabilities.ts';

function mount(mode: string, fsType = '', flags: string[] = [], group = ''): VolumeCapability__Output {
  return { access_type: 'mount', mount: { fs_type: fsType, mount_flags: flags, volume_mount_group: group }, access_mode: { mode: mode as never } } as VolumeCapability__Output;
}
function block(mode: string): VolumeCapability__Output {
  return { access_type: 'block', block: {}, access_mode: { mode: mode as never } } as VolumeCapability__Output;
}

describe('volume capabilities', () => {
  it('allows writers on several nodes for raw block only', () => {
    assert.deepEqual(checkCapability(block('MULTI_NODE_MULTI_WRITER')), { access: 'block', mode: 'MULTI_NODE_MULTI_WRITER' });
    assert.match(String(checkCapability(mount('MULTI_NODE_MULTI_WRITER', 'ext4'))), /volumeMode: Block/);
    assert.match(String(checkCapability(mount('MULTI_NODE_SINGLE_WRITER', 'xfs'))), /volumeMode: Block/);
    assert.deepEqual(checkCapability(mount('MULTI_NODE_READER_ONLY', 'xfs')), { access: 'mount', mode: 'MULTI_NODE_READER_ONLY', fsType: 'xfs', mountFlags: [] });
  });

  it('fills the filesystem from the StorageClass default and refuses unknown ones', () => {
    assert.deepEqual(checkCapability(mount('SINGLE_NODE_WRITER', '', ['noatime']), 'xfs'), { access: 'mount', mode: 'SINGLE_NODE_WRITER', fsType: 'xfs', mountFlags: ['noatime'] });
    assert.deepEqual(checkCapability(mount('SINGLE_NODE_WRITER')), { access: 'mount', mode: 'SINGLE_NODE_WRITER', fsType: 'ext4', mountFlags: [] });
    assert.match(String(checkCapability(mount('SINGLE_NODE_WRITER', 'btrfs'))), /btrfs/);
  });

  it('refuses mount flags that could smuggle options, a mount group, an unknown mode or an empty capability', () => {
    assert.match(String(checkCapability(mount('SINGLE_NODE_WRITER', 'ext4', ['ro,exec']))), /mount flag/);
    assert.match(String(checkCapability(mount('SINGLE_NODE_WRITER', 'ext4', ['a b']))), /mount flag/);
    assert.match(String(checkCapability(mount('SINGLE_NODE_WRITER', 'ext4', [], '1000'))), /volume_mount_group/);
    assert.match(String(checkCapability(block('UNKNOWN'))), /access mode/);
    assert.match(String(checkCapability({ access_mode: { mode: 'SINGLE_NODE_WRITER' } } as VolumeCapability__Output)), /block or mount/);
    assert.match(String(checkCapability(null)), /empty/);
  });

  it('parseCapabilities and parseCapability throw INVALID_ARGUMENT naming the problem', () => {
    assert.throws(() => parseCapabilities([]), /volume_capabilities is required/);
    assert.throws(() => parseCapabilities([block('SINGLE_NODE_WRITER'), mount('MULTI_NODE_MULTI_WRITER')]), (err: unknown) => err instanceof InvalidArgumentError && /capability 1/.test(err.message));
    assert.throws(() => parseCapability(undefined), /volume_capability is required/);
    assert.equal(parseCapability(block('SINGLE_NODE_READER_ONLY')).mode, 'SINGLE_NODE_READER_ONLY');
  });
});
