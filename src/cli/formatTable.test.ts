import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { formatTable } from './formatTable.ts';

describe('formatTable', () => {
  it('pads each column to its widest cell, two spaces apart, with no trailing spaces', () => {
    const text = formatTable([{ header: 'ID' }, { header: 'SIZE', align: 'right' }, { header: 'NODE' }], [
      ['a/vbs-vol-1', '1 GiB', 'store-a'],
      ['b/vbs-vol-22', '512 MiB', ''],
    ]);
    assert.equal(text, ['ID               SIZE  NODE', 'a/vbs-vol-1     1 GiB  store-a', 'b/vbs-vol-22  512 MiB'].join('\n'));
  });
  it('prints only the header when there are no rows', () => {
    assert.equal(formatTable([{ header: 'ID' }, { header: 'SIZE' }], []), 'ID  SIZE');
  });
  it('treats a short row as empty cells', () => {
    assert.equal(formatTable([{ header: 'A' }, { header: 'B', align: 'right' }], [['x']]), 'A  B\nx');
  });
});
