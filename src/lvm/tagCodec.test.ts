import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { InvalidArgumentError } from '../errors.ts';
import { decodeTag, decodeTags, encodeTag } from './tagCodec.ts';

/** LVM's tag alphabet (lvm(8)); every tag we write must stay inside it. */
const LVM_TAG_CHARS = /^[A-Za-z0-9_+.\-/=!:#&]+$/;

describe('encodeTag', () => {
  const cases: Array<{ name: string; value: string; tag: string }> = [
    { name: 'keeps a usual pvc name readable', value: 'pvc-0b5c7d3e-1f2a-4b6c-9d8e-7f6a5b4c3d2e', tag: 'vbs.name=pvc-0b5c7d3e-1f2a-4b6c-9d8e-7f6a5b4c3d2e' },
    { name: 'escapes a space and a slash as upper-case hex', value: 'ns/my vol', tag: 'vbs.name=ns:2Fmy:20vol' },
    { name: 'escapes the escape character itself', value: 'a:b', tag: 'vbs.name=a:3Ab' },
    { name: 'escapes every UTF-8 byte of a non-ASCII character', value: 'héllo', tag: 'vbs.name=h:C3:A9llo' },
    { name: 'keeps a leading dash: the vbs. prefix already keeps the tag from starting with one', value: '-x', tag: 'vbs.name=-x' },
    { name: 'encodes the empty string as an empty value', value: '', tag: 'vbs.name=' },
  ];
  for (const c of cases) {
    it(c.name, () => {
      const tag = encodeTag('name', c.value);
      assert.equal(tag, c.tag);
      assert.match(tag, LVM_TAG_CHARS);
      assert.deepEqual(decodeTag(tag), { key: 'name', value: c.value });
    });
  }

  it('round-trips names of every kind, including a 128-byte one of 4-byte characters', () => {
    const names = ['😀'.repeat(32), 'ä'.repeat(64), 'x'.repeat(128), '\u0000nul', 'a=b,c', '\uFEFFbom', 'tab\tnew\nline', '%41'];
    for (const name of names) {
      const tag = encodeTag('name', name);
      assert.match(tag, LVM_TAG_CHARS, name);
      assert.ok(tag.length <= 1024);
      assert.deepEqual(decodeTag(tag), { key: 'name', value: name }, name);
    }
  });

  it('refuses a value that is not well-formed Unicode (a lone surrogate cannot round-trip)', () => {
    assert.throws(() => encodeTag('name', 'a\uD800b'), InvalidArgumentError);
  });

  it('refuses keys outside the short lower-case alphabet', () => {
    for (const key of ['', 'Name', 'a=b', '_x', 'a b', 'k'.repeat(64)]) {
      assert.throws(() => encodeTag(key, 'v'), InvalidArgumentError, key);
    }
  });

  it('refuses a value whose tag would pass 1024 characters', () => {
    assert.throws(() => encodeTag('name', '/'.repeat(400)), /too long/);
  });
});

describe('decodeTag', () => {
  it('returns undefined for a foreign tag so it is left alone', () => {
    assert.equal(decodeTag('foreign-tag'), undefined);
    assert.equal(decodeTag('vbsx=1'), undefined);
  });

  const malformed: Array<{ name: string; tag: string }> = [
    { name: 'a vbs tag without "="', tag: 'vbs.name' },
    { name: 'a lower-case escape (not canonical)', tag: 'vbs.name=a:2f' },
    { name: 'an escaped pass-through character (not canonical)', tag: 'vbs.name=:41' },
    { name: 'a truncated escape', tag: 'vbs.name=a:2' },
    { name: 'a raw character that should have been escaped', tag: 'vbs.name=a/b' },
    { name: 'bytes that are not UTF-8', tag: 'vbs.name=:FF' },
    { name: 'a key with upper case', tag: 'vbs.Name=x' },
  ];
  for (const c of malformed) {
    it(`refuses ${c.name}`, () => {
      assert.throws(() => decodeTag(c.tag), InvalidArgumentError);
    });
  }
});

describe('decodeTags', () => {
  it('collects our tags into a record and skips foreign ones', () => {
    assert.deepEqual(decodeTags(['foreign', 'vbs.name=pvc-1', 'vbs.note=h:C3:A9llo:20w:3Ard']), { name: 'pvc-1', note: 'héllo w:rd' });
  });

  it('refuses a key that appears twice, since a lookup by it would be ambiguous', () => {
    assert.throws(() => decodeTags(['vbs.name=a', 'vbs.name=b']), /appears twice/);
  });
});
