import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { formatPortalArg, parsePortal } from './portal.ts';

describe('parsePortal', () => {
  const cases: { name: string; input: string; expected: ReturnType<typeof parsePortal> }[] = [
    { name: 'reads ip:port,tpgt as iscsiadm -m session prints it', input: '127.0.0.2:3260,1', expected: { portal: { ip: '127.0.0.2', port: 3260 }, tpgt: 1 } },
    { name: 'defaults the port to 3260', input: '10.0.0.5', expected: { portal: { ip: '10.0.0.5', port: 3260 }, tpgt: undefined } },
    { name: 'reads a bracketed IPv6 portal with port and tag', input: '[fd00::2]:3261,1', expected: { portal: { ip: 'fd00::2', port: 3261 }, tpgt: 1 } },
    { name: 'reads a bare IPv6 address as an address without port', input: 'fd00::2', expected: { portal: { ip: 'fd00::2', port: 3260 }, tpgt: undefined } },
    { name: 'reads the tag -1 as no tag', input: '127.0.0.9:3260,-1', expected: { portal: { ip: '127.0.0.9', port: 3260 }, tpgt: undefined } },
    { name: 'reads the tag 4294967295 that iscsiadm -m node prints as no tag', input: '127.0.0.9:3260,4294967295', expected: { portal: { ip: '127.0.0.9', port: 3260 }, tpgt: undefined } },
    { name: 'refuses a host name', input: 'storage-1:3260', expected: undefined },
    { name: 'refuses a port above 65535', input: '127.0.0.2:70000', expected: undefined },
    { name: 'refuses a non-numeric tag', input: '127.0.0.2:3260,x', expected: undefined },
  ];
  for (const c of cases) test(c.name, () => assert.deepEqual(parsePortal(c.input), c.expected));
});

describe('formatPortalArg', () => {
  test('writes ip:port,tpgt and brackets IPv6', () => {
    assert.equal(formatPortalArg({ ip: '127.0.0.2', port: 3260 }, 1), '127.0.0.2:3260,1');
    assert.equal(formatPortalArg({ ip: 'fd00::2', port: 3260 }), '[fd00::2]:3260');
  });
});
