import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { InvalidArgumentError, OutOfRangeError } from '../errors.ts';
import { buildAgentId } from '../agentApi/ids.ts';
import { MAX_VOLUME_BYTES } from '../agentApi/limits.ts';
import { normalizeInitiatorIqn, roundUpToExtent, validateContentSource, validateName, validateSizeBytes, validateVolumeId } from './validateAgentRequest.ts';

describe('validateAgentRequest', () => {
  test('names are 1 to 128 bytes of UTF-8, counted in bytes', () => {
    assert.equal(validateName('a'.repeat(128), 'name'), 'a'.repeat(128));
    assert.throws(() => validateName('é'.repeat(65), 'name'), InvalidArgumentError);
    assert.throws(() => validateName('', 'name'), InvalidArgumentError);
    assert.throws(() => validateName('\uD800', 'name'), InvalidArgumentError);
  });

  test('sizes are positive whole bytes up to the maximum', () => {
    assert.equal(validateSizeBytes(1), 1);
    assert.equal(validateSizeBytes(MAX_VOLUME_BYTES), MAX_VOLUME_BYTES);
    for (const bad of [0, -1, 1.5, Number.NaN, Number.POSITIVE_INFINITY]) assert.throws(() => validateSizeBytes(bad), InvalidArgumentError, String(bad));
    for (const huge of [MAX_VOLUME_BYTES + 1, Number.MAX_SAFE_INTEGER + 2, 2 ** 64]) assert.throws(() => validateSizeBytes(huge), OutOfRangeError, String(huge));
  });

  test('ids must be ones this agent gives out', () => {
    const id = buildAgentId('pvc', 'volume');
    assert.equal(validateVolumeId(id), id);
    assert.throws(() => validateVolumeId(buildAgentId('pvc', 'snapshot')), InvalidArgumentError);
    assert.throws(() => validateVolumeId('-rf'), InvalidArgumentError);
    assert.throws(() => validateContentSource({ kind: 'volume', id: buildAgentId('s', 'snapshot') }), InvalidArgumentError);
    assert.deepEqual(validateContentSource({ kind: 'snapshot', id: buildAgentId('s', 'snapshot') }), { kind: 'snapshot', id: buildAgentId('s', 'snapshot') });
  });

  test('initiator IQNs are lowercased and validated', () => {
    assert.equal(normalizeInitiatorIqn(' IQN.1993-08.org.Debian:01:AB '), 'iqn.1993-08.org.debian:01:ab');
    assert.throws(() => normalizeInitiatorIqn('iqn.1993-08.org.debian:01:a_b'), InvalidArgumentError);
  });

  test('sizes round up to whole extents', () => {
    assert.equal(roundUpToExtent(1, 4), 4);
    assert.equal(roundUpToExtent(8, 4), 8);
    assert.equal(roundUpToExtent(9, 4), 12);
  });
});
