import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { decodeLvAttr } from './decodeLvAttr.ts';
import { LvmReportError } from './LvmReportError.ts';

// Every attr string below was printed by lvm 2.03.16 (test/fixtures/lvm/*.json).
describe('decodeLvAttr', () => {
  const cases = [
    {
      name: 'reads an active, zeroing thin pool in good health',
      attr: 'twi-aotz--',
      expect: { volumeType: 'thin-pool', permissions: 'writeable', allocationPolicy: 'inherited', state: 'active', isOpen: true, targetType: 'thin', isZeroing: true, health: 'ok', hasActivationSkip: false },
    },
    {
      name: "reads a thin pool that ran out of data space ('D' in position 9)",
      attr: 'twi-aotzD-',
      expect: { volumeType: 'thin-pool', state: 'active', health: 'out-of-data' },
    },
    {
      name: 'reads an active thin volume that nothing holds open',
      attr: 'Vwi-a-tz--',
      expect: { volumeType: 'thin-volume', state: 'active', isOpen: false, hasActivationSkip: false },
    },
    {
      name: 'reads an open thin volume',
      attr: 'Vwi-aotz--',
      expect: { state: 'active', isOpen: true },
    },
    {
      name: "reads a fresh thin snapshot as inactive with the activation-skip flag ('k' in position 10)",
      attr: 'Vwi---tz-k',
      expect: { volumeType: 'thin-volume', state: 'inactive', isOpen: false, hasActivationSkip: true },
    },
    {
      name: 'reads a snapshot activated with -K as active and still skip-flagged',
      attr: 'Vwi-a-tz-k',
      expect: { state: 'active', hasActivationSkip: true },
    },
    {
      name: 'reads an inactive thin volume',
      attr: 'Vwi---tz--',
      expect: { state: 'inactive', hasActivationSkip: false },
    },
    {
      name: 'reads a plain linear LV',
      attr: '-wi-a-----',
      expect: { volumeType: 'plain', allocationPolicy: 'inherited', isAllocationLocked: false, targetType: 'none', isZeroing: false, health: 'ok' },
    },
    {
      name: 'reads a locked allocation policy, a fixed minor and a read-only thin pool with read-only metadata',
      attr: 'trIma-tzM-',
      expect: { permissions: 'read-only', allocationPolicy: 'inherited', isAllocationLocked: true, hasFixedMinor: true, health: 'metadata-read-only' },
    },
    {
      name: "reads an unknown open state ('X') as undefined rather than guessing",
      attr: 'Vwi-XXtzX-',
      expect: { state: 'unknown', isOpen: undefined, health: 'unknown' },
    },
    {
      name: 'reads a thin pool whose check is needed',
      attr: 'twi-cotz--',
      expect: { state: 'thin-pool-check-needed' },
    },
  ] as const;
  for (const c of cases) {
    it(c.name, () => {
      const decoded = decodeLvAttr(c.attr);
      for (const [key, value] of Object.entries(c.expect)) {
        assert.equal(decoded[key as keyof typeof decoded], value, `${c.attr} ${key}`);
      }
    });
  }

  it('refuses an attr of the wrong length', () => {
    assert.throws(() => decodeLvAttr('Vwi-a-tz-'), LvmReportError);
    assert.throws(() => decodeLvAttr('Vwi-a-tz---'), LvmReportError);
  });

  it('refuses a letter lvs(8) does not document, naming its position', () => {
    assert.throws(() => decodeLvAttr('Qwi-a-tz--'), /unknown letter 'Q' at position 1/);
    assert.throws(() => decodeLvAttr('Vwi-a-tzQ-'), /position 9/);
    assert.throws(() => decodeLvAttr('Vwi-a-tz-q'), /position 10/);
  });
});
