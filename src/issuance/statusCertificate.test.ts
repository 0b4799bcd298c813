import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { pemCertificates } from '../tls/index.ts';
import { countPemCertificateBlocks } from '../kube/testing/FakeKubeApi.ts';

const one = '-----BEGIN CERTIFICATE-----\nMIIBnTCCAUOgAwIBAgIQ\nAAAA==\n-----END CERTIFICATE-----';

describe('the fake API server reads status.certificate as the real one does', () => {
  it('counts the blocks on lines of their own', () => {
    assert.equal(countPemCertificateBlocks(`${one}\n${one}\n`), 2);
    assert.equal(countPemCertificateBlocks(one), 1);
  });

  it('finds none in two PEMs glued without a newline (the API server answered 422 to that, issue 17)', () => {
    assert.equal(countPemCertificateBlocks(`${one}${one}\n`), 0);
  });

  it('pemCertificates puts each certificate of a glued text on its own lines again', () => {
    assert.equal(countPemCertificateBlocks([one, one].flatMap(pemCertificates).join('')), 2);
  });
});
