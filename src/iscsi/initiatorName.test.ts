import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs/promises';
import { tmpdir } from 'node:os';
import * as nodePath from 'node:path';
import { FailedPreconditionError } from '../errors.ts';
import { parseInitiatorName, readInitiatorName } from './initiatorName.ts';

/** Debian's file as shipped, comments included. */
const DEBIAN = `## DO NOT EDIT OR REMOVE THIS FILE!
## If you remove this file, the iSCSI daemon will not start.
## If you change the InitiatorName, existing access control lists
## may reject this initiator.  The InitiatorName must be unique
## for each iSCSI initiator.  Do NOT duplicate iSCSI InitiatorNames.
InitiatorName=iqn.1993-08.org.debian:01:21874ff87d7
`;

describe('parseInitiatorName', () => {
  const cases = [
    { name: 'reads the name from a Debian initiatorname.iscsi', text: DEBIAN, expected: 'iqn.1993-08.org.debian:01:21874ff87d7' },
    { name: 'ignores a commented-out name', text: '#InitiatorName=iqn.2000-01.x:old\nInitiatorName=iqn.2026-11.io.vbs:new\n', expected: 'iqn.2026-11.io.vbs:new' },
    { name: 'accepts spaces around the equals sign', text: 'InitiatorName = iqn.2026-11.io.vbs:a \n', expected: 'iqn.2026-11.io.vbs:a' },
    { name: 'answers undefined when there is no name', text: '## nothing here\n', expected: undefined },
  ];
  for (const c of cases) test(c.name, () => assert.equal(parseInitiatorName(c.text), c.expected));
});

describe('readInitiatorName', () => {
  let dir: string;
  before(async () => {
    dir = await fs.mkdtemp(nodePath.join(tmpdir(), 'vbs-initiator-'));
  });
  after(async () => fs.rm(dir, { recursive: true, force: true }));

  test('reads the name from the given path', async () => {
    await fs.writeFile(nodePath.join(dir, 'ok'), DEBIAN);
    assert.equal(await readInitiatorName(nodePath.join(dir, 'ok')), 'iqn.1993-08.org.debian:01:21874ff87d7');
  });

  test('lowercases a mixed-case name, as LIO does before it matches ACLs', async () => {
    await fs.writeFile(nodePath.join(dir, 'mixed'), 'InitiatorName=iqn.1993-08.org.debian:01:ABC\n');
    assert.equal(await readInitiatorName(nodePath.join(dir, 'mixed')), 'iqn.1993-08.org.debian:01:abc');
  });

  test('fails with FailedPrecondition when the file is missing or has no name', async () => {
    await assert.rejects(readInitiatorName(nodePath.join(dir, 'absent')), FailedPreconditionError);
    await fs.writeFile(nodePath.join(dir, 'empty'), '## none\n');
    await assert.rejects(readInitiatorName(nodePath.join(dir, 'empty')), FailedPreconditionError);
  });
});
