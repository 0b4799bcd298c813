import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { redactArgs, redactText } from './redactArgs.ts';
import { CommandFailedError } from './CommandFailedError.ts';

describe('redactArgs', () => {
  test('masks the value after an iscsiadm password name even when the caller listed no secret', () => {
    const args = ['-m', 'node', '-T', 'iqn.x', '-o', 'update', '-n', 'node.session.auth.password', '-v', 'topsecret'];
    assert.deepEqual(redactArgs(args), ['-m', 'node', '-T', 'iqn.x', '-o', 'update', '-n', 'node.session.auth.password', '-v', '***']);
  });

  test('masks name=value forms and listed secrets inside any argument', () => {
    assert.deepEqual(redactArgs(['--password=abc', 'user:abc123'], ['abc123']), ['--password=***', 'user:***']);
  });

  test('leaves ordinary arguments alone', () => {
    assert.deepEqual(redactArgs(['lvcreate', '-n', 'lv1', '-V', '1073741824b']), ['lvcreate', '-n', 'lv1', '-V', '1073741824b']);
  });
});

describe('CommandFailedError', () => {
  test('never carries a listed secret in its message, args or stderr', () => {
    const err = new CommandFailedError({
      file: 'iscsiadm',
      args: ['-n', 'node.session.auth.password', '-v', 'pw-123456'],
      secrets: ['pw-123456'],
      exitCode: 24,
      stdout: '',
      stderr: 'login failed for pw-123456',
    });
    assert.equal(err.message.includes('pw-123456'), false, err.message);
    assert.equal(err.stderr.includes('pw-123456'), false);
    assert.match(err.message, /exited with code 24/);
    assert.equal(redactText('a pw-123456 b', ['pw-123456']), 'a *** b');
  });
});
