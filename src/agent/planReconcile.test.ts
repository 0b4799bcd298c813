import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import type { ExportSummary } from '../lio/index.ts';
import { buildAgentId } from '../agentApi/ids.ts';
import { findOrphanExports, isExportInSync } from './planReconcile.ts';
import type { DesiredExport } from './planReconcile.ts';

const PREFIX = 'iqn.2026-11.io.vbs-test';
const PORTAL = { ip: '127.0.0.2', port: 3260 };
const ID = buildAgentId('pvc-1', 'volume');
const IQN = `${PREFIX}:${ID}`;
const NODE_A = 'iqn.1993-08.org.debian:01:node-a';

const DESIRED: DesiredExport = {
  volumeId: ID,
  targetIqn: IQN,
  devicePath: `/dev/vg0/${ID}`,
  serial: '0a1b2c3d-2345-8678-9abc-def012345678',
  thin: true,
  acls: [{ initiatorIqn: NODE_A, readOnly: false, chap: { username: 'u', password: 'p' } }],
};

const SUMMARY: ExportSummary = {
  targetIqn: IQN,
  tpgTag: 1,
  enabled: true,
  portals: [PORTAL],
  luns: [{ lun: 0, backstore: { plugin: 'iblock', hbaIndex: 0, name: ID, devicePath: `/dev/vg0/${ID}`, serial: DESIRED.serial, enabled: true, thin: true } }],
  acls: [{ initiatorIqn: NODE_A, mappedLuns: [{ lun: 0, readOnly: false }], chapUserid: 'u', chapPassword: 'p', mutualUserid: undefined, mutualPassword: '', cmdsnDepth: 128 }],
};

describe('isExportInSync', () => {
  test('an export exactly as the tags say is in sync', () => {
    assert.equal(isExportInSync(DESIRED, SUMMARY, PORTAL), true);
  });

  const backstore = SUMMARY.luns[0]!.backstore!;
  const acl = SUMMARY.acls[0]!;
  const drifts: Array<{ name: string; summary: ExportSummary | undefined }> = [
    { name: 'a missing target', summary: undefined },
    { name: 'a disabled TPG', summary: { ...SUMMARY, enabled: false } },
    { name: 'no portal of ours', summary: { ...SUMMARY, portals: [{ ip: '10.0.0.1', port: 3260 }] } },
    { name: 'a LUN without backstore', summary: { ...SUMMARY, luns: [{ lun: 0, backstore: undefined }] } },
    { name: 'another serial', summary: { ...SUMMARY, luns: [{ lun: 0, backstore: { ...backstore, serial: 'x' } }] } },
    { name: 'UNMAP not advertised', summary: { ...SUMMARY, luns: [{ lun: 0, backstore: { ...backstore, thin: false } }] } },
    { name: 'another device', summary: { ...SUMMARY, luns: [{ lun: 0, backstore: { ...backstore, devicePath: '/dev/sdz' } }] } },
    { name: 'a missing ACL', summary: { ...SUMMARY, acls: [] } },
    { name: 'an extra ACL', summary: { ...SUMMARY, acls: [acl, { ...acl, initiatorIqn: 'iqn.1993-08.org.debian:01:node-b' }] } },
    { name: 'another CHAP secret', summary: { ...SUMMARY, acls: [{ ...acl, chapPassword: 'q' }] } },
    { name: 'an unwanted mutual CHAP user', summary: { ...SUMMARY, acls: [{ ...acl, mutualUserid: 'm' }] } },
    { name: 'write protection that differs', summary: { ...SUMMARY, acls: [{ ...acl, mappedLuns: [{ lun: 0, readOnly: true }] }] } },
    { name: 'an ACL without its mapped LUN', summary: { ...SUMMARY, acls: [{ ...acl, mappedLuns: [] }] } },
  ];
  for (const d of drifts) {
    test(`${d.name} is drift`, () => assert.equal(isExportInSync(DESIRED, d.summary, PORTAL), false));
  }
});

describe('findOrphanExports', () => {
  const other = (targetIqn: string, name: string, devicePath: string): ExportSummary => ({
    ...SUMMARY,
    targetIqn,
    luns: [{ lun: 0, backstore: { plugin: 'iblock', hbaIndex: 0, name, devicePath, serial: 's', enabled: true, thin: true } }],
  });
  const gone = buildAgentId('gone', 'volume');
  const snap = buildAgentId('snap', 'snapshot');

  test('finds our targets that no volume wants and reports look-alikes without touching them', () => {
    const exports = [
      SUMMARY,
      other(`${PREFIX}:${gone}`, gone, `/dev/vg0/${gone}`),
      other(`${PREFIX}:${snap}`, snap, `/dev/vg0/${snap}`),
      { ...other(`${PREFIX}:${buildAgentId('half', 'volume')}`, '', ''), luns: [] },
      other(`${PREFIX}:hand-made`, 'hand-made', '/dev/sdb'),
      other(`${PREFIX}:${buildAgentId('elsewhere', 'volume')}`, buildAgentId('elsewhere', 'volume'), '/dev/other-vg/lv'),
      other('iqn.2003-01.org.linux-iscsi.host:sn.1', 'foreign', '/dev/vg0/foreign'),
      other(`${PREFIX}x:${gone}`, gone, `/dev/vg0/${gone}`),
    ];
    const { orphans, unrecognized } = findOrphanExports(exports, new Set([IQN]), PREFIX, 'vg0');
    assert.deepEqual(orphans, [
      { targetIqn: `${PREFIX}:${gone}`, objectId: gone },
      { targetIqn: `${PREFIX}:${snap}`, objectId: snap },
      { targetIqn: `${PREFIX}:${buildAgentId('half', 'volume')}`, objectId: buildAgentId('half', 'volume') },
    ]);
    assert.deepEqual(unrecognized, [`${PREFIX}:hand-made`, `${PREFIX}:${buildAgentId('elsewhere', 'volume')}`]);
  });
  test('knows targets named after an LV uuid too: an earlier LV of a wanted id is an orphan, an odd suffix is not ours', () => {
    const current = `${PREFIX}:${ID}.0123456789ab`;
    const earlier = `${PREFIX}:${ID}.ba9876543210`;
    const exports = [
      { ...SUMMARY, targetIqn: current },
      { ...SUMMARY, targetIqn: earlier },
      { ...SUMMARY, targetIqn: `${PREFIX}:${ID}.xyz` },
      { ...SUMMARY, targetIqn: `${PREFIX}:${ID}.0123456789abc` },
    ];
    const { orphans, unrecognized } = findOrphanExports(exports, new Set([current]), PREFIX, 'vg0');
    assert.deepEqual(orphans, [{ targetIqn: earlier, objectId: ID }]);
    assert.deepEqual(unrecognized, [`${PREFIX}:${ID}.xyz`, `${PREFIX}:${ID}.0123456789abc`]);
  });
});
