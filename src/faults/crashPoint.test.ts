import assert from 'node:assert/strict';
import { mkdtemp, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { isArmed } from './crashPoint.ts';

describe('crash points', () => {
  it('are off unless VBS_FAULT_POINT names them', () => {
    assert.equal(isArmed('agent.create-volume.after-lv', {}), false);
    assert.equal(isArmed('agent.create-volume.after-lv', { VBS_FAULT_POINT: 'agent.create-volume.after-export' }), false);
    assert.equal(isArmed('agent.create-volume.after-lv', { VBS_FAULT_POINT: 'agent.create-volume.after-lv' }), true);
  });

  it('take a comma-separated list and fire every time without a once dir', () => {
    const env = { VBS_FAULT_POINT: 'node.stage.after-login, node.stage.after-mkfs' };
    assert.equal(isArmed('node.stage.after-mkfs', env), true);
    assert.equal(isArmed('node.stage.after-mkfs', env), true);
    assert.equal(isArmed('node.stage.after-login', env), true);
    assert.equal(isArmed('node.stage', env), false, 'a prefix of a point is not the point');
  });

  it('fire once per point with a once dir, leaving a marker for each that fired', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'vbs-faults-'));
    try {
      const env = { VBS_FAULT_POINT: 'a.one,a.two', VBS_FAULT_ONCE_DIR: dir };
      assert.equal(isArmed('a.one', env), true);
      assert.equal(isArmed('a.one', env), false, 'the restarted process passes the point');
      assert.equal(isArmed('a.three', env), false);
      assert.deepEqual(await readdir(dir), ['a.one']);
      assert.equal(isArmed('a.two', env), true);
      assert.deepEqual((await readdir(dir)).sort(), ['a.one', 'a.two']);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  it('refuse a point name that would not be a plain file name', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'vbs-faults-'));
    try {
      assert.throws(() => isArmed('../escape', { VBS_FAULT_POINT: '../escape', VBS_FAULT_ONCE_DIR: dir }), /cannot name a marker file/);
      assert.deepEqual(await readdir(dir), []);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});
