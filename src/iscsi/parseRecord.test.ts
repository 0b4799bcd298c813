import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { parseIfaceList, parseNodeList, parseRecord } from './parseRecord.ts';

const fixture = (name: string) => readFileSync(new URL(`./fixtures/${name}`, import.meta.url), 'utf8');

describe('parseRecord', () => {
  test('reads a node record captured from iscsiadm 2.1.8, with <empty> as the empty string', () => {
    const record = parseRecord(fixture('node-record-tpgt1-default.txt'));
    assert.equal(record.get('node.name'), 'iqn.2026-11.io.vbs.probe:x1');
    assert.equal(record.get('node.tpgt'), '1');
    assert.equal(record.get('iface.iscsi_ifacename'), 'default');
    assert.equal(record.get('node.session.auth.username'), '');
    assert.equal(record.get('node.conn[0].timeo.noop_out_interval'), '5');
    assert.equal(record.get('node.session.timeo.replacement_timeout'), '120');
  });

  test('keeps only the first record when iscsiadm prints several', () => {
    const one = fixture('node-record-tpgt1-default.txt');
    const record = parseRecord(`${one}${one.replace('iface.iscsi_ifacename = default', 'iface.iscsi_ifacename = second')}`);
    assert.equal(record.get('iface.iscsi_ifacename'), 'default');
  });
});

describe('parseIfaceList', () => {
  test('reads the iface list captured from iscsiadm 2.1.8', () => {
    assert.deepEqual(parseIfaceList(fixture('iface-list-host.txt')), [
      { name: 'vbsprobe', transport: 'tcp', initiatorName: undefined },
      { name: 'default', transport: 'tcp', initiatorName: undefined },
      { name: 'iser', transport: 'iser', initiatorName: undefined },
    ]);
  });

  test('reads the initiator names set on ifaces, captured in the test bed', () => {
    assert.deepEqual(parseIfaceList(fixture('iface-list-guest.txt')), [
      { name: 'vbs-e2e-other', transport: 'tcp', initiatorName: 'iqn.2026-11.io.vbs-e2e:no-acl' },
      { name: 'vbs-e2e-second', transport: 'tcp', initiatorName: 'iqn.2026-11.io.vbs-e2e:second' },
      { name: 'default', transport: 'tcp', initiatorName: undefined },
      { name: 'iser', transport: 'iser', initiatorName: undefined },
    ]);
  });
});

describe('parseNodeList', () => {
  test('reads target and portal of each record line, IPv6 included, and skips anything else', () => {
    const out = '127.0.0.2:3260,1 iqn.2026-11.io.vbs:vbs-vol-a\n[fd00::2]:3260,1 iqn.2026-11.io.vbs:vbs-vol-b\niscsiadm: a warning here\n';
    assert.deepEqual(parseNodeList(out), [
      { targetIqn: 'iqn.2026-11.io.vbs:vbs-vol-a', portal: { ip: '127.0.0.2', port: 3260 }, tpgt: 1 },
      { targetIqn: 'iqn.2026-11.io.vbs:vbs-vol-b', portal: { ip: 'fd00::2', port: 3260 }, tpgt: 1 },
    ]);
  });
});
