import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { parseSessionList, parseSessionTree } from './parseSessions.ts';

/** Captured in the test bed (open-iscsi 2.1.8, Linux 6.1) by the LIO e2e scenario. */
const fixture = (name: string) => readFileSync(new URL(`./fixtures/${name}`, import.meta.url), 'utf8');
const IQN = 'iqn.2026-11.io.vbs-e2e:lio-scenario';
const PORTAL = { ip: '127.0.0.2', port: 3260 };

describe('parseSessionList', () => {
  test('reads one session per line', () => {
    assert.deepEqual(parseSessionList(fixture('session-list-two-ifaces.txt')), [
      { transport: 'tcp', sid: 1, portal: PORTAL, tpgt: 1, targetIqn: IQN },
      { transport: 'tcp', sid: 2, portal: PORTAL, tpgt: 1, targetIqn: IQN },
    ]);
  });

  test('reads an IPv6 portal', () => {
    assert.deepEqual(parseSessionList('tcp: [7] [fd00::2]:3260,1 iqn.2026-11.io.vbs:x (non-flash)\n'), [
      { transport: 'tcp', sid: 7, portal: { ip: 'fd00::2', port: 3260 }, tpgt: 1, targetIqn: 'iqn.2026-11.io.vbs:x' },
    ]);
  });

  test('ignores lines that are not sessions', () => {
    assert.deepEqual(parseSessionList('iscsiadm: some warning\n\n'), []);
  });
});

describe('parseSessionTree', () => {
  test('reads a session with its iface, initiator name, states and attached disk', () => {
    assert.deepEqual(parseSessionTree(fixture('session-P3-one.txt')), [
      {
        transport: 'tcp',
        sid: 1,
        portal: PORTAL,
        tpgt: 1,
        targetIqn: IQN,
        persistentPortal: PORTAL,
        ifaceName: 'default',
        initiatorName: 'iqn.2026-11.io.vbs-e2e:guest',
        connectionState: 'LOGGED IN',
        sessionState: 'LOGGED_IN',
        hostNumber: 0,
        disks: [{ lun: 0, device: 'sda', state: 'running' }],
      },
    ]);
  });

  test('reads two sessions to one target under two initiator names, each with its own disk', () => {
    const sessions = parseSessionTree(fixture('session-P3-two-ifaces.txt'));
    assert.deepEqual(
      sessions.map((s) => [s.sid, s.targetIqn, s.ifaceName, s.initiatorName, s.hostNumber, s.disks]),
      [
        [1, IQN, 'default', 'iqn.2026-11.io.vbs-e2e:guest', 0, [{ lun: 0, device: 'sda', state: 'running' }]],
        [2, IQN, 'vbs-e2e-second', 'iqn.2026-11.io.vbs-e2e:second', 1, [{ lun: 0, device: 'sdb', state: 'running' }]],
      ],
    );
  });

  test('starts a new session at each Target header', () => {
    const one = fixture('session-P3-one.txt');
    const other = one.replace(/lio-scenario/g, 'other').replace('SID: 1', 'SID: 5').replace(/disk sda/, 'disk sdc');
    const sessions = parseSessionTree(`${one}${other.split('\n').slice(2).join('\n')}`);
    assert.deepEqual(sessions.map((s) => [s.sid, s.targetIqn, s.disks[0]?.device]), [[1, IQN, 'sda'], [5, 'iqn.2026-11.io.vbs-e2e:other', 'sdc']]);
  });

  test('reads a session that has no disk attached yet', () => {
    const noDisk = fixture('session-P3-one.txt').split('\n').filter((l) => !/Attached scsi disk|Lun:/.test(l)).join('\n');
    assert.deepEqual(parseSessionTree(noDisk)[0]?.disks, []);
  });
});
