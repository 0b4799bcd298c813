import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { InvalidArgumentError } from '../errors.ts';
import { stripSecrets } from '../log/stripSecrets.ts';
import { buildPublishContext, parsePublishContext } from './publishContext.ts';
import type { PublishContext } from './publishContext.ts';

const CTX: PublishContext = { targetPortal: '[fd00::5]:3260', targetIqn: 'iqn.2026-11.io.vbs-csi:vbs-vol-x', lun: 0, serial: 'abc', chapUsername: 'u', chapPassword: 'p4ssw0rd-secret' };

describe('publish context', () => {
  it('round-trips, with and without mutual CHAP', () => {
    assert.deepEqual(parsePublishContext(buildPublishContext(CTX)), CTX);
    const mutual = { ...CTX, chapMutualUsername: 'tu', chapMutualPassword: 'tp-secret' };
    assert.deepEqual(parsePublishContext(buildPublishContext(mutual)), mutual);
  });

  it('refuses a missing key, a bad LUN, or half of the mutual credentials, naming the problem', () => {
    const full = buildPublishContext(CTX);
    for (const key of ['targetPortal', 'targetIqn', 'lun', 'serial', 'chapUsername', 'chapPassword']) {
      const { [key]: _dropped, ...rest } = full;
      assert.throws(() => parsePublishContext(rest), (err: unknown) => err instanceof InvalidArgumentError && err.message.includes(key), key);
    }
    assert.throws(() => parsePublishContext({ ...full, lun: '-1' }), InvalidArgumentError);
    assert.throws(() => parsePublishContext({ ...full, lun: '1e3' }), InvalidArgumentError);
    assert.throws(() => parsePublishContext({ ...full, chapMutualUsername: 'tu' }), /half/);
    assert.throws(() => parsePublishContext(undefined), InvalidArgumentError);
  });

  it('names its secret keys so that log redaction removes their values', () => {
    const mutual = buildPublishContext({ ...CTX, chapMutualUsername: 'tu', chapMutualPassword: 'tp-secret' });
    const logged = JSON.stringify(stripSecrets({ publish_context: mutual }));
    assert.ok(!logged.includes('p4ssw0rd-secret') && !logged.includes('tp-secret'), logged);
  });
});
