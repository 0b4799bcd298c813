import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';
import { negotiatedParams } from '../../bench/support/rawInitiator.ts';

const IQN = 'iqn.2026-11.io.vbs-bench-fio:vbs-vol-abc';

/** A sysfs tree with the iscsi_session and iscsi_connection class files of the given sessions. */
function fakeSysfs(sessions: { sid: number; target: string; maxRecv: string }[]): string {
  const root = mkdtempSync(join(tmpdir(), 'sysfs-'));
  for (const s of sessions) {
    const dir = join(root, 'iscsi_session', `session${s.sid}`);
    mkdirSync(dir, { recursive: true });
    const files = { targetname: s.target, first_burst_len: '262144', max_burst_len: '1048576', immediate_data: 'Yes', initial_r2t: 'No' };
    for (const [name, value] of Object.entries(files)) writeFileSync(join(dir, name), `${value}\n`);
    const conn = join(root, 'iscsi_connection', `connection${s.sid}:0`);
    mkdirSync(conn, { recursive: true });
    writeFileSync(join(conn, 'max_recv_dlength'), '262144\n');
    writeFileSync(join(conn, 'max_xmit_dlength'), `${s.maxRecv}\n`);
  }
  return root;
}

describe('negotiatedParams', () => {
  const roots: string[] = [];
  after(() => roots.forEach((r) => rmSync(r, { recursive: true, force: true })));

  test('shows the connection and session parameters of the session with that target, not of another', async () => {
    const root = fakeSysfs([{ sid: 3, target: 'iqn.2026-11.io.other:x', maxRecv: '8192' }, { sid: 7, target: IQN, maxRecv: '262144' }]);
    roots.push(root);
    assert.equal(
      await negotiatedParams(IQN, root),
      'max_recv_dlength=262144 max_xmit_dlength=262144 first_burst_len=262144 max_burst_len=1048576 immediate_data=Yes initial_r2t=No',
    );
  });

  test('says so when no session has that target', async () => {
    const root = fakeSysfs([{ sid: 1, target: 'iqn.2026-11.io.other:x', maxRecv: '8192' }]);
    roots.push(root);
    assert.equal(await negotiatedParams(IQN, root), `no session with ${IQN}`);
  });
});
