import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { InvalidArgumentError } from '../errors.ts';
import { buildUnitSerial, isValidUnitSerial, parseVpdUnitSerialAttr, validateUnitSerial } from './unitSerial.ts';

describe('buildUnitSerial', () => {
  test('returns the same serial for the same volume id', () => {
    assert.equal(buildUnitSerial('node-a/vg0/pvc-1'), buildUnitSerial('node-a/vg0/pvc-1'));
  });

  test('returns a lowercase version 8 UUID', () => {
    const serial = buildUnitSerial('node-a/vg0/pvc-1');
    assert.match(serial, /^[0-9a-f]{8}-[0-9a-f]{4}-8[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
    assert.ok(isValidUnitSerial(serial));
  });

  test('gives different volumes serials that differ within the 25 hex digits LIO puts into the NAA WWN', () => {
    const digits = (s: string) => s.replace(/-/g, '').slice(0, 25);
    const seen = new Set<string>();
    for (let i = 0; i < 1000; i++) seen.add(digits(buildUnitSerial(`pvc-${i}`)));
    assert.equal(seen.size, 1000);
  });

  test('refuses an empty volume id', () => {
    assert.throws(() => buildUnitSerial(''), InvalidArgumentError);
  });
});

describe('validateUnitSerial', () => {
  const refused = [
    { name: 'refuses uppercase hex', serial: 'ABCDEF01-2345-8678-9abc-def012345678' },
    { name: 'refuses a serial with a newline', serial: '0a1b2c3d-2345-8678-9abc-def012345678\n' },
    { name: 'refuses free text', serial: 'my disk' },
  ];
  for (const c of refused) test(c.name, () => assert.throws(() => validateUnitSerial(c.serial), InvalidArgumentError));
});

describe('parseVpdUnitSerialAttr', () => {
  test('reads the serial from the kernel show() format', () => {
    assert.equal(parseVpdUnitSerialAttr('T10 VPD Unit Serial Number: 0a1b2c3d-2345-8678-9abc-def012345678\n'), '0a1b2c3d-2345-8678-9abc-def012345678');
  });

  test('reads an unset serial on a fresh iblock backstore as empty', () => {
    assert.equal(parseVpdUnitSerialAttr('T10 VPD Unit Serial Number: \n'), '');
  });
});
