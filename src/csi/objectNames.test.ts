import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { InvalidArgumentError } from '../errors.ts';
import { loadCsiProto } from '../grpc/loadProtos.ts';
import { validateObjectName } from './objectNames.ts';

describe('validateObjectName', () => {
  test('accepts 1 to 128 bytes of UTF-8, counted in bytes', () => {
    assert.equal(validateObjectName('pvc-0b8e5c4e-1d2f-4a7b-9c3d-5e6f7a8b9c0d', 'name'), 'pvc-0b8e5c4e-1d2f-4a7b-9c3d-5e6f7a8b9c0d');
    assert.equal(validateObjectName('héllo wörld', 'name'), 'héllo wörld');
    assert.equal(validateObjectName('x'.repeat(128), 'name').length, 128);
    assert.throws(() => validateObjectName('', 'name'), InvalidArgumentError);
    assert.throws(() => validateObjectName('x'.repeat(129), 'name'), InvalidArgumentError);
    assert.throws(() => validateObjectName('名'.repeat(43), 'name'), /1 to 128 bytes of UTF-8, got 129 bytes/);
    assert.throws(() => validateObjectName('lone \uD800 surrogate', 'name'), InvalidArgumentError);
  });

  test('refuses U+FFFD: two different invalid byte strings arrive as the same name', () => {
    const { CreateVolumeRequest } = loadCsiProto().csi.v1;
    // Field 1 (name), 5 bytes: "pvc-" and one byte that is not UTF-8, 0xFF in one request, 0xFE in the other.
    const decode = (last: number) => (CreateVolumeRequest.deserialize(Buffer.from([0x0a, 5, 0x70, 0x76, 0x63, 0x2d, last])) as { name: string }).name;
    assert.equal(decode(0xff), decode(0xfe), 'both requests carry the same decoded name');
    assert.throws(() => validateObjectName(decode(0xff), 'name'), /U\+FFFD/);
  });
});
