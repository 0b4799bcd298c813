import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { InvalidArgumentError } from '../../errors.ts';
import { requireSize } from './toWire.ts';

describe('requireSize', () => {
  it('refuses a size that is not a positive whole number', () => {
    for (const bad of [0, -1, 0.5, Number.NaN]) assert.throws(() => requireSize(bad, 'size_bytes'), InvalidArgumentError, String(bad));
  });

  it('passes a huge uint64 such as 2^64 - 1 on, so the agent answers OUT_OF_RANGE for it rather than INVALID_ARGUMENT', () => {
    assert.equal(requireSize(2 ** 64, 'size_bytes'), 2 ** 64);
  });
});
