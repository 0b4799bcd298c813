import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { grpcAddress, parseEndpoint } from './endpoint.ts';

describe('parseEndpoint', () => {
  const good = [
    ['unix:///csi/csi.sock', { kind: 'unix', path: '/csi/csi.sock' }],
    ['unix:/csi/csi.sock', { kind: 'unix', path: '/csi/csi.sock' }],
    ['tcp://127.0.0.1:10000', { kind: 'tcp', host: '127.0.0.1', port: 10000 }],
    ['tcp://[::1]:0', { kind: 'tcp', host: '[::1]', port: 0 }],
    ['tcp://agent-0.vbs-agent:9443', { kind: 'tcp', host: 'agent-0.vbs-agent', port: 9443 }],
  ] as const;
  for (const [text, expected] of good) {
    test(`parses ${text}`, () => assert.deepEqual(parseEndpoint(text), expected));
  }

  const bad = [
    ['unix://relative.sock', 'a relative socket path'],
    ['unix:///csi/../etc/x.sock', 'a path with ..'],
    [`unix:///${'a'.repeat(120)}.sock`, 'a socket path too long for sun_path'],
    ['tcp://host:70000', 'a port out of range'],
    ['http://host:80', 'another scheme'],
    ['/csi/csi.sock', 'a bare path'],
  ] as const;
  for (const [text, what] of bad) {
    test(`refuses ${what}`, () => assert.throws(() => parseEndpoint(text), /endpoint/));
  }

  test('gives grpc-js a unix address with the scheme and a tcp one without', () => {
    assert.equal(grpcAddress({ kind: 'unix', path: '/a.sock' }), 'unix:///a.sock');
    assert.equal(grpcAddress({ kind: 'tcp', host: '127.0.0.1', port: 5 }), '127.0.0.1:5');
  });
});
