import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { formatSize, parseSize } from './parseSize.ts';

describe('parseSize', () => {
  const cases: [string, number][] = [
    ['1073741824', 1073741824],
    ['512Mi', 512 * 2 ** 20],
    ['1Gi', 2 ** 30],
    ['1GiB', 2 ** 30],
    ['1.5Gi', 1.5 * 2 ** 30],
    ['2Ti', 2 * 2 ** 40],
    ['64Ki', 65536],
    ['10G', 10e9],
    ['10GB', 10e9],
    ['100M', 100e6],
    ['1k', 1000],
    ['4096B', 4096],
    [' 1Gi ', 2 ** 30],
    ['0.5Ki', 512],
    ['1.0001Ki', 1025],
  ];
  for (const [text, bytes] of cases) {
    it(`reads ${JSON.stringify(text)} as ${bytes} bytes`, () => assert.equal(parseSize(text), bytes));
  }
  for (const bad of ['', 'Gi', '1Gb', '1 gigabyte', '-1Gi', '1e9', '0', '0Gi', '1Xi', '1,5Gi', '99999999Pi']) {
    it(`refuses ${JSON.stringify(bad)} with a message naming the forms`, () => assert.throws(() => parseSize(bad), /size|more than 0|too large/));
  }
});

describe('formatSize', () => {
  const cases: [number, string][] = [
    [0, '0 B'],
    [512, '512 B'],
    [1024, '1 KiB'],
    [512 * 2 ** 20, '512 MiB'],
    [2 ** 30, '1 GiB'],
    [1.5 * 2 ** 30, '1.5 GiB'],
    [10e9, '9.3 GiB'],
    [3 * 2 ** 40, '3 TiB'],
    [2 ** 60, '1024 PiB'],
  ];
  for (const [bytes, text] of cases) {
    it(`shows ${bytes} bytes as ${JSON.stringify(text)}`, () => assert.equal(formatSize(bytes), text));
  }
  it('round-trips every binary size it prints without a decimal', () => {
    for (const text of ['512 MiB', '1 GiB', '3 TiB']) assert.equal(formatSize(parseSize(text.replace(' ', '').replace('B', ''))), text);
  });
});
