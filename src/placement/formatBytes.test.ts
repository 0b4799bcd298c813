import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { formatBytes } from './formatBytes.ts';

describe('formatBytes', () => {
  const cases: Array<{ name: string; bytes: number; text: string }> = [
    { name: 'prints zero as 0 B', bytes: 0, text: '0 B' },
    { name: 'prints small counts in bytes', bytes: 1023, text: '1023 B' },
    { name: 'prints exact multiples in the largest whole unit', bytes: 10 * 1024 ** 3, text: '10 GiB' },
    { name: 'prints exact quarters with decimals', bytes: 1.5 * 1024 ** 3, text: '1.5 GiB' },
    { name: 'prints exact quarters of a mebibyte too', bytes: 2.25 * 1024 ** 2, text: '2.25 MiB' },
    { name: 'adds the exact count when the unit is not exact', bytes: 10 * 1024 ** 3 - 1, text: '10.00 GiB (10737418239 bytes)' },
    { name: 'prints a decimal gigabyte in MiB with the exact count', bytes: 1e9, text: '953.67 MiB (1000000000 bytes)' },
    { name: 'prints tebibytes', bytes: 2 * 1024 ** 4, text: '2 TiB' },
    { name: 'prints a negative figure with its sign', bytes: -2 * 1024 ** 3, text: '-2 GiB' },
    { name: 'prints a figure that is not a safe integer as it is', bytes: Number.NaN, text: 'NaN bytes' },
  ];
  for (const c of cases) it(c.name, () => assert.equal(formatBytes(c.bytes), c.text));
});
