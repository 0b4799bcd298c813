import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs/promises';
import { tmpdir } from 'node:os';
import * as nodePath from 'node:path';
import { findSessionIdInSysfs, readSessionStateInSysfs } from './sessionSysfs.ts';

const IQN = 'iqn.2026-11.io.vbs:pvc-1';

describe('findSessionIdInSysfs', () => {
  let sysRoot: string;

  /** One session as the kernel shows it: attributes end in a newline. */
  async function addSession(sid: number, s: { iqn: string; tpgt?: number; iface?: string; ip: string; port?: number }): Promise<void> {
    const dir = nodePath.join(sysRoot, 'class', 'iscsi_session', `session${sid}`);
    const conn = nodePath.join(sysRoot, 'class', 'iscsi_connection', `connection${sid}:0`);
    await fs.mkdir(dir, { recursive: true });
    await fs.mkdir(conn, { recursive: true });
    await fs.writeFile(nodePath.join(dir, 'targetname'), `${s.iqn}\n`);
    await fs.writeFile(nodePath.join(dir, 'tpgt'), `${s.tpgt ?? 1}\n`);
    await fs.writeFile(nodePath.join(dir, 'ifacename'), `${s.iface ?? 'default'}\n`);
    await fs.writeFile(nodePath.join(conn, 'persistent_address'), `${s.ip}\n`);
    await fs.writeFile(nodePath.join(conn, 'persistent_port'), `${s.port ?? 3260}\n`);
  }

  before(async () => {
    sysRoot = await fs.mkdtemp(nodePath.join(tmpdir(), 'vbs-sessions-'));
    await addSession(1, { iqn: 'iqn.2026-11.io.vbs:other', ip: '127.0.0.2' });
    await addSession(2, { iqn: IQN, ip: '127.0.0.3' });
    await addSession(3, { iqn: IQN, ip: '127.0.0.2', iface: 'second' });
    await addSession(4, { iqn: IQN, ip: '127.0.0.2' });
    await addSession(5, { iqn: IQN, ip: 'fd00::2' });
  });
  after(async () => {
    await fs.rm(sysRoot, { recursive: true, force: true });
  });

  test('finds the session of this target, portal and iface among others to the same target', async () => {
    assert.equal(await findSessionIdInSysfs({ targetIqn: IQN, portal: { ip: '127.0.0.2', port: 3260 } }, { sysRoot }), 4);
    assert.equal(await findSessionIdInSysfs({ targetIqn: IQN, portal: { ip: '127.0.0.2', port: 3260 }, iface: 'second' }, { sysRoot }), 3);
  });

  test('compares IPv6 portals in canonical form', async () => {
    assert.equal(await findSessionIdInSysfs({ targetIqn: IQN, portal: { ip: 'FD00:0:0::2', port: 3260 } }, { sysRoot }), 5);
  });

  test('finds nothing for another port, portal tag or iface, or when there is no session class at all', async () => {
    assert.equal(await findSessionIdInSysfs({ targetIqn: IQN, portal: { ip: '127.0.0.2', port: 3261 } }, { sysRoot }), undefined);
    assert.equal(await findSessionIdInSysfs({ targetIqn: IQN, portal: { ip: '127.0.0.2', port: 3260 }, tpgt: 2 }, { sysRoot }), undefined);
    assert.equal(await findSessionIdInSysfs({ targetIqn: IQN, portal: { ip: '127.0.0.2', port: 3260 }, iface: 'third' }, { sysRoot }), undefined);
    assert.equal(await findSessionIdInSysfs({ targetIqn: IQN, portal: { ip: '127.0.0.2', port: 3260 } }, { sysRoot: nodePath.join(sysRoot, 'nowhere') }), undefined);
  });

  test('skips a session whose connection attributes cannot be read', async () => {
    await addSession(6, { iqn: 'iqn.2026-11.io.vbs:half', ip: '127.0.0.9' });
    await fs.rm(nodePath.join(sysRoot, 'class', 'iscsi_connection', 'connection6:0'), { recursive: true });
    assert.equal(await findSessionIdInSysfs({ targetIqn: 'iqn.2026-11.io.vbs:half', portal: { ip: '127.0.0.9', port: 3260 } }, { sysRoot }), undefined);
  });
});

describe('readSessionStateInSysfs', () => {
  test('reads the session and connection states as the kernel shows them, undefined where absent', async () => {
    const sysRoot = await fs.mkdtemp(nodePath.join(tmpdir(), 'vbs-session-state-'));
    try {
      await fs.mkdir(nodePath.join(sysRoot, 'class', 'iscsi_session', 'session7'), { recursive: true });
      await fs.writeFile(nodePath.join(sysRoot, 'class', 'iscsi_session', 'session7', 'state'), 'FAILED\n');
      assert.deepEqual(await readSessionStateInSysfs(7, { sysRoot }), { sessionState: 'FAILED', connectionState: undefined });
      await fs.mkdir(nodePath.join(sysRoot, 'class', 'iscsi_connection', 'connection7:0'), { recursive: true });
      await fs.writeFile(nodePath.join(sysRoot, 'class', 'iscsi_connection', 'connection7:0', 'state'), 'failed\n');
      assert.deepEqual(await readSessionStateInSysfs(7, { sysRoot }), { sessionState: 'FAILED', connectionState: 'failed' });
      assert.deepEqual(await readSessionStateInSysfs(8, { sysRoot }), { sessionState: undefined, connectionState: undefined });
      await assert.rejects(readSessionStateInSysfs(-1, { sysRoot }), RangeError);
    } finally {
      await fs.rm(sysRoot, { recursive: true, force: true });
    }
  });
});
