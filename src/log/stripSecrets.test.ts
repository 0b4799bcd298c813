import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { stripSecrets } from './stripSecrets.ts';

describe('stripSecrets', () => {
  test('masks CSI secrets maps and CHAP values at any depth, keeping the rest', () => {
    const request = {
      volume_id: 'v1',
      secrets: { user: 'u', pass: 'hunter2' },
      publish_context: { portal: '10.0.0.1:3260', chapPassword: 's3cret', chap_user: 'initiator' },
      nested: [{ password: 'p' }],
    };
    assert.deepEqual(stripSecrets(request), {
      volume_id: 'v1',
      secrets: '[REDACTED]',
      publish_context: { portal: '10.0.0.1:3260', chapPassword: '[REDACTED]', chap_user: '[REDACTED]' },
      nested: [{ password: '[REDACTED]' }],
    });
  });

  test('leaves empty secret fields visible so a missing secret can be diagnosed', () => {
    assert.deepEqual(stripSecrets({ secrets: {}, password: '' }), { secrets: '[REDACTED]', password: '' });
  });

  test('does not change the input and copes with cycles of depth', () => {
    const input = { a: { password: 'x' } };
    stripSecrets(input);
    assert.equal(input.a.password, 'x');
    let deep: Record<string, unknown> = { password: 'bottom' };
    for (let i = 0; i < 40; i++) deep = { next: deep };
    assert.doesNotThrow(() => stripSecrets(deep));
  });
  test('keeps CSI pagination cursors, which are ids, while other tokens stay redacted', () => {
    assert.deepEqual(stripSecrets({ starting_token: 'a/vbs-vol-x', next_token: 'b', token: 't', bearer_token: 'u' }), {
      starting_token: 'a/vbs-vol-x',
      next_token: 'b',
      token: '[REDACTED]',
      bearer_token: '[REDACTED]',
    });
  });
});
