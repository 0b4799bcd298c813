import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { deriveChapCredentials } from './deriveChapCredentials.ts';

const key = Buffer.alloc(32, 7);
const otherKey = Buffer.alloc(32, 8);
const iqn = 'iqn.2026-11.io.example:worker-1';
/** What the code before the LV uuid was mixed in derived for (key, 'v1', iqn). */
const LEGACY_V1_PASSWORD = 'wj5OMY1Q5S2qwnUkkCxXtXKC';

describe('deriveChapCredentials', () => {
  test('gives the same credentials for the same key, volume and initiator', () => {
    assert.deepEqual(deriveChapCredentials(key, 'v1', iqn, { mutual: true }), deriveChapCredentials(key, 'v1', iqn, { mutual: true }));
  });

  test('treats initiator names case-insensitively, as LIO does', () => {
    assert.deepEqual(deriveChapCredentials(key, 'v1', iqn.toUpperCase(), { mutual: false }), deriveChapCredentials(key, 'v1', iqn, { mutual: false }));
  });

  test('changes every field with the key, the volume or the initiator', () => {
    const base = deriveChapCredentials(key, 'v1', iqn, { mutual: true });
    for (const other of [
      deriveChapCredentials(otherKey, 'v1', iqn, { mutual: true }),
      deriveChapCredentials(key, 'v2', iqn, { mutual: true }),
      deriveChapCredentials(key, 'v1', `${iqn}x`, { mutual: true }),
    ]) {
      assert.notEqual(other.username, base.username);
      assert.notEqual(other.password, base.password);
      assert.notEqual(other.mutual?.password, base.mutual?.password);
    }
  });

  test('changes every field with the LV uuid, so a volume created again under the same name gets new secrets', () => {
    const old = deriveChapCredentials(key, 'v1', iqn, { mutual: true, lvUuid: 'Aaaaaa-1111-2222-3333-4444-5555-666666' });
    const again = deriveChapCredentials(key, 'v1', iqn, { mutual: true, lvUuid: 'Bbbbbb-1111-2222-3333-4444-5555-666666' });
    const legacy = deriveChapCredentials(key, 'v1', iqn, { mutual: true });
    for (const other of [again, legacy]) {
      assert.notEqual(other.username, old.username);
      assert.notEqual(other.password, old.password);
      assert.notEqual(other.mutual?.username, old.mutual?.username);
      assert.notEqual(other.mutual?.password, old.mutual?.password);
    }
    assert.deepEqual(deriveChapCredentials(key, 'v1', iqn, { mutual: true, lvUuid: 'Aaaaaa-1111-2222-3333-4444-5555-666666' }), old, 'stable for one LV');
  });

  test('without an LV uuid, gives the secrets volumes made before the uuid was mixed in still use', () => {
    // Pinned: an agent upgrade must not change the secrets of volumes already published.
    assert.equal(deriveChapCredentials(key, 'v1', iqn, { mutual: false }).password, LEGACY_V1_PASSWORD);
  });

  test('keeps the mutual secret distinct from the initiator secret and within CHAP charset and length', () => {
    const c = deriveChapCredentials(key, 'v1', iqn, { mutual: true });
    assert.notEqual(c.mutual?.password, c.password);
    assert.notEqual(c.mutual?.username, c.username);
    for (const s of [c.password, c.mutual?.password ?? '']) assert.match(s, /^[A-Za-z0-9_-]{24}$/);
    assert.equal(deriveChapCredentials(key, 'v1', iqn, { mutual: false }).mutual, undefined);
  });

  test('refuses a key shorter than 32 bytes', () => {
    assert.throws(() => deriveChapCredentials(Buffer.alloc(31), 'v1', iqn, { mutual: false }), /at least 32 bytes/);
  });
});
