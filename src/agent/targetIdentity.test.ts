import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { InvalidArgumentError } from '../errors.ts';
import { buildTargetIqn, isValidIqn } from '../lio/index.ts';
import { buildAgentId } from '../agentApi/ids.ts';
import { buildTargetName, lvUuidKey, parseTargetName, validateTargetIqnPrefix } from './targetIdentity.ts';

const ID = buildAgentId('pvc-1', 'volume');
const UUID = 'Zr1Yq8-TlJr-Kp0u-9WqE-Xx3b-Nn5o-AbCdEf';

describe('targetIdentity', () => {
  test('an lv-uuid volume is named <id>.<12 hex of the uuid>, a volume-id one by its id alone', () => {
    const name = buildTargetName({ id: ID, identity: 'lv-uuid', lvUuid: UUID });
    assert.match(name, new RegExp(`^${ID}\\.[0-9a-f]{12}$`));
    assert.equal(name, `${ID}.${lvUuidKey(UUID)}`);
    assert.equal(buildTargetName({ id: ID, identity: 'volume-id', lvUuid: UUID }), ID);
    assert.notEqual(lvUuidKey(UUID), lvUuidKey(UUID.toLowerCase()), 'the mixed-case uuid is hashed as it is');
  });

  test('two LVs of the same id get two names', () => {
    assert.notEqual(buildTargetName({ id: ID, identity: 'lv-uuid', lvUuid: UUID }), buildTargetName({ id: ID, identity: 'lv-uuid', lvUuid: `${UUID.slice(0, -1)}g` }));
  });

  test('reads both forms back, and nothing else', () => {
    assert.deepEqual(parseTargetName(`${ID}.${lvUuidKey(UUID)}`), { objectId: ID, lvKey: lvUuidKey(UUID) });
    assert.deepEqual(parseTargetName(ID), { objectId: ID, lvKey: undefined });
    for (const odd of [`${ID}.`, `${ID}.ABCDEF012345`, `${ID}.0123456789a`, 'vbs-vol-short.0123456789ab', 'hand-made']) assert.equal(parseTargetName(odd), undefined, odd);
  });

  test('the default prefix and the longest one the config accepts fit a full target name in 223 bytes', () => {
    validateTargetIqnPrefix('iqn.2026-11.io.vbs-csi');
    const longest = `iqn.2026-11.${'a'.repeat(148)}`; // 160 characters, the config's limit
    validateTargetIqnPrefix(longest);
    const iqn = buildTargetIqn(longest, buildTargetName({ id: buildAgentId('s', 'snapshot'), identity: 'lv-uuid', lvUuid: UUID }));
    assert.ok(isValidIqn(iqn));
    assert.throws(() => validateTargetIqnPrefix(`iqn.2026-11.${'a'.repeat(180)}`), InvalidArgumentError);
  });
});
