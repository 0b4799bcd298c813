import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { InvalidArgumentError } from '../errors.ts';
import { buildDmName, validateDmNameLength, validateLvName, validateVgName } from './validateNames.ts';

describe('validateLvName', () => {
  const valid = ['vbs-vol-abc', 'a', 'A+b_c.d-e', 'pool', 'my.snapshot', 'x_tdat'];
  for (const name of valid) {
    it(`accepts ${JSON.stringify(name)}`, () => assert.doesNotThrow(() => validateLvName(name)));
  }
  const invalid: Array<{ name: string; why: string }> = [
    { name: '', why: 'it is empty' },
    { name: '-lead', why: 'it starts with a hyphen' },
    { name: '.', why: 'it is reserved' },
    { name: '..', why: 'it is reserved' },
    { name: 'snapshot', why: 'it is a reserved word' },
    { name: 'snapshot1', why: 'lvm refuses names starting with "snapshot"' },
    { name: 'pvmove0', why: 'lvm refuses names starting with "pvmove"' },
    { name: 'data_tdata', why: 'it contains "_tdata"' },
    { name: 'x_tmeta_y', why: 'it contains "_tmeta"' },
    { name: 'a_rimage_0', why: 'it contains "_rimage"' },
    { name: 'has space', why: 'a space is not allowed' },
    { name: 'slash/y', why: 'a slash is not allowed' },
    { name: 'ünï', why: 'non-ASCII is not allowed' },
    { name: 'x'.repeat(128), why: 'it is longer than any dm name can be' },
  ];
  for (const c of invalid) {
    it(`refuses ${JSON.stringify(c.name.slice(0, 20))} because ${c.why}`, () => {
      assert.throws(() => validateLvName(c.name), InvalidArgumentError);
    });
  }
});

describe('validateVgName', () => {
  it('accepts a plain name and refuses a leading hyphen or a slash', () => {
    assert.doesNotThrow(() => validateVgName('vbs-data'));
    assert.throws(() => validateVgName('-vg'), InvalidArgumentError);
    assert.throws(() => validateVgName('a/b'), InvalidArgumentError);
  });

  it('allows "snapshot" as a VG name, since the reserved words are for LVs', () => {
    assert.doesNotThrow(() => validateVgName('snapshot'));
  });
});

describe('validateDmNameLength', () => {
  it('counts the doubled hyphens of the device-mapper name', () => {
    assert.equal(buildDmName('vg-a', 'lv-b'), 'vg--a-lv--b');
    assert.doesNotThrow(() => validateDmNameLength('v'.repeat(60), 'l'.repeat(66)));
    assert.throws(() => validateDmNameLength('v'.repeat(60), '-'.repeat(1) + 'l'.repeat(66)), InvalidArgumentError);
  });
});
