import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { InvalidArgumentError } from '../errors.ts';
import { validateAbsolutePath, validateDevicePath } from './validatePaths.ts';

describe('validateAbsolutePath', () => {
  it('accepts a kubelet path', () => {
    const path = '/var/lib/kubelet/plugins/kubernetes.io/csi/vbs.csi.example.com/0a1b/globalmount';
    assert.equal(validateAbsolutePath(path, 'staging path'), path);
  });

  it('accepts a space and dots that are not a ".." segment', () => {
    assert.doesNotThrow(() => validateAbsolutePath('/tmp/sp ace/..hidden/a..b', 'p'));
  });

  const invalid: Array<{ name: string; path: string }> = [
    { name: 'an empty path', path: '' },
    { name: 'a relative path', path: 'var/lib' },
    { name: 'an option-looking path', path: '-o' },
    { name: 'a ".." segment', path: '/var/lib/kubelet/../../etc' },
    { name: 'a trailing ".." segment', path: '/var/..' },
    { name: 'a NUL byte', path: '/var/lib\u0000/x' },
    { name: 'a newline', path: '/var/lib\n/x' },
    { name: 'a path longer than 4096 characters', path: '/' + 'a'.repeat(4096) },
  ];
  for (const c of invalid) {
    it(`refuses ${c.name}`, () => assert.throws(() => validateAbsolutePath(c.path, 'p'), InvalidArgumentError));
  }
});

describe('validateDevicePath', () => {
  it('accepts a device and a by-path link under /dev', () => {
    assert.doesNotThrow(() => validateDevicePath('/dev/sdb'));
    assert.doesNotThrow(() => validateDevicePath('/dev/disk/by-path/ip-127.0.0.1:3260-iscsi-iqn.2026-11.com.example:v1-lun-0'));
  });

  it('refuses paths outside /dev, /dev itself, and a climb out of /dev', () => {
    for (const path of ['/tmp/x', '/dev/', '/dev', '/devices/x', '/dev/../etc/passwd']) {
      assert.throws(() => validateDevicePath(path), InvalidArgumentError, path);
    }
  });
});
