import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { InvalidArgumentError } from '../errors.ts';
import { MAX_IQN_BYTES, buildTargetIqn, isValidIqn, normalizeIqn } from './iqn.ts';

describe('normalizeIqn', () => {
  const accepted: { name: string; input: string; expected: string }[] = [
    { name: 'keeps a Debian initiator name as it is', input: 'iqn.1993-08.org.debian:01:21874ff87d7', expected: 'iqn.1993-08.org.debian:01:21874ff87d7' },
    { name: 'lowercases a mixed-case name, since LIO compares ACL names byte for byte', input: 'iqn.2026-11.IO.Vbs:Node-A', expected: 'iqn.2026-11.io.vbs:node-a' },
    { name: 'trims surrounding whitespace', input: '  iqn.2003-01.org.linux-iscsi.host:sn.1234\n', expected: 'iqn.2003-01.org.linux-iscsi.host:sn.1234' },
    { name: 'accepts a name without a suffix', input: 'iqn.2026-11.io.vbs', expected: 'iqn.2026-11.io.vbs' },
  ];
  for (const c of accepted) {
    test(c.name, () => assert.equal(normalizeIqn(c.input), c.expected));
  }

  const refused: { name: string; input: string }[] = [
    { name: 'refuses an underscore', input: 'iqn.2026-11.io.vbs:node_a' },
    { name: 'refuses a space inside the name', input: 'iqn.2026-11.io.vbs:node a' },
    { name: 'refuses a slash, which would escape the configfs directory', input: 'iqn.2026-11.io.vbs:../../core' },
    { name: 'refuses a month 13', input: 'iqn.2026-13.io.vbs:x' },
    { name: 'refuses a missing date', input: 'iqn.io.vbs:x' },
    { name: 'refuses an eui name, which is not an IQN', input: 'eui.02004567a425678d' },
    { name: 'refuses an empty string', input: '' },
    { name: 'refuses a suffix ending in a colon', input: 'iqn.2026-11.io.vbs:' },
    { name: 'refuses more than 223 bytes', input: `iqn.2026-11.io.vbs:${'a'.repeat(MAX_IQN_BYTES)}` },
  ];
  for (const c of refused) {
    test(c.name, () => {
      assert.throws(() => normalizeIqn(c.input), InvalidArgumentError);
      assert.equal(isValidIqn(c.input), false);
    });
  }
});

describe('buildTargetIqn', () => {
  test('joins the prefix and a clean volume key with a colon', () => {
    assert.equal(buildTargetIqn('iqn.2026-11.io.vbs', 'pvc-0a1b2c'), 'iqn.2026-11.io.vbs:pvc-0a1b2c');
  });

  test('lowercases the prefix', () => {
    assert.equal(buildTargetIqn('iqn.2026-11.IO.vbs', 'vol1'), 'iqn.2026-11.io.vbs:vol1');
  });

  test('turns a key with other characters into a valid suffix plus a hash, so a_b and a-b differ', () => {
    const underscored = buildTargetIqn('iqn.2026-11.io.vbs', 'a_b');
    const dashed = buildTargetIqn('iqn.2026-11.io.vbs', 'a-b');
    assert.match(underscored, /^iqn\.2026-11\.io\.vbs:a-b-[0-9a-f]{8}$/);
    assert.equal(dashed, 'iqn.2026-11.io.vbs:a-b');
    assert.notEqual(underscored, dashed);
  });

  test('is stable for the same key', () => {
    assert.equal(buildTargetIqn('iqn.2026-11.io.vbs', 'PVC_X'), buildTargetIqn('iqn.2026-11.io.vbs', 'PVC_X'));
  });

  test('shortens a key that would exceed 223 bytes and keeps it unique with a hash', () => {
    const a = buildTargetIqn('iqn.2026-11.io.vbs', `v${'x'.repeat(300)}a`);
    const b = buildTargetIqn('iqn.2026-11.io.vbs', `v${'x'.repeat(300)}b`);
    assert.ok(Buffer.byteLength(a) <= MAX_IQN_BYTES, a);
    assert.ok(isValidIqn(a));
    assert.notEqual(a, b);
  });

  test('refuses an empty key and an invalid prefix', () => {
    assert.throws(() => buildTargetIqn('iqn.2026-11.io.vbs', ''), InvalidArgumentError);
    assert.throws(() => buildTargetIqn('iqn_bad', 'vol'), InvalidArgumentError);
  });
});
