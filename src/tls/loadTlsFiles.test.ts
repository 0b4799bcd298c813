import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { createPrivateKey } from 'node:crypto';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { inspect } from 'node:util';
import { createCertificateAuthority, issueCertificate } from './createCertificates.ts';
import { loadTlsFiles, TlsFileError } from './loadTlsFiles.ts';
import type { PemPair } from './pemPair.ts';

const DAY_MS = 86_400_000;

describe('loadTlsFiles', () => {
  let dir: string;
  let ca: PemPair;
  let agent: PemPair;
  let otherCa: PemPair;
  let keyBody: string;

  /** Writes the given files into the temp dir and returns their paths. */
  async function files(contents: { ca?: string; cert?: string; key?: string }, prefix: string) {
    const paths = { caPath: join(dir, `${prefix}-ca.crt`), certPath: join(dir, `${prefix}.crt`), keyPath: join(dir, `${prefix}.key`) };
    if (contents.ca !== undefined) await writeFile(paths.caPath, contents.ca);
    if (contents.cert !== undefined) await writeFile(paths.certPath, contents.cert);
    if (contents.key !== undefined) await writeFile(paths.keyPath, contents.key);
    return paths;
  }

  /** Asserts loading fails with a TlsFileError naming `path` and matching `problem`, and no key material. */
  async function assertFails(paths: Parameters<typeof loadTlsFiles>[0], path: string, problem: RegExp) {
    const err = await loadTlsFiles(paths).then(
      () => assert.fail('loaded'),
      (e: unknown) => e as TlsFileError,
    );
    assert.ok(err instanceof TlsFileError, String(err));
    assert.equal(err.path, path);
    assert.ok(err.message.startsWith(`${path}: `), err.message);
    assert.match(err.message, problem);
    assert.doesNotMatch(err.message, /-----BEGIN [A-Z ]*PRIVATE KEY-----/);
    assert.ok(!err.message.includes(keyBody));
  }

  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'vbs-tls-'));
    ca = await createCertificateAuthority({ commonName: 'vbs-csi test CA', validDays: 30 });
    otherCa = await createCertificateAuthority({ commonName: 'another CA', validDays: 30 });
    agent = await issueCertificate(ca, { commonName: 'agent-a', ipAddresses: ['127.0.0.2'], usages: 'server', validDays: 7 });
    keyBody = agent.keyPem.split('\n')[2]!;
  });
  after(() => rm(dir, { recursive: true, force: true }));

  test('returns the PEMs and a loggable description of the certificate', async () => {
    const paths = await files({ ca: ca.certPem, cert: agent.certPem, key: agent.keyPem }, 'good');
    const loaded = await loadTlsFiles(paths);
    assert.equal(loaded.caPem, ca.certPem);
    assert.equal(loaded.certPem, agent.certPem);
    assert.equal(loaded.keyPem, agent.keyPem);
    assert.equal(loaded.subject, 'CN=agent-a');
    assert.equal(loaded.issuer, 'CN=vbs-csi test CA');
    assert.equal(loaded.subjectAltName, 'IP Address:127.0.0.2');
    assert.deepEqual(loaded.paths, paths);
    assert.ok(loaded.validTo.getTime() > Date.now() + 6 * DAY_MS);
    for (const shown of [JSON.stringify(loaded), inspect(loaded, { depth: 5 })]) {
      assert.doesNotMatch(shown, /PRIVATE KEY/);
      assert.ok(!shown.includes(keyBody));
    }
  });

  test('says which file does not exist', async () => {
    const paths = await files({ ca: ca.certPem, cert: agent.certPem }, 'nokey');
    await assertFails(paths, paths.keyPath, /the private key file does not exist/);
    const noCa = await files({ cert: agent.certPem, key: agent.keyPem }, 'noca');
    await assertFails(noCa, noCa.caPath, /the CA certificate file does not exist/);
  });

  test('says which file is not PEM', async () => {
    const paths = await files({ ca: ca.certPem, cert: 'hello\n', key: agent.keyPem }, 'notpem');
    await assertFails(paths, paths.certPath, /is not PEM/);
  });

  test('notices a key where the certificate should be and the other way round', async () => {
    const swapped = await files({ ca: ca.certPem, cert: agent.keyPem, key: agent.certPem }, 'swapped');
    await assertFails(swapped, swapped.certPath, /holds no "BEGIN CERTIFICATE" block/);
    const keyIsCert = await files({ ca: ca.certPem, cert: agent.certPem, key: agent.certPem }, 'keyiscert');
    await assertFails(keyIsCert, keyIsCert.keyPath, /holds no "BEGIN PRIVATE KEY" block/);
  });

  test('refuses a corrupt key block without quoting it', async () => {
    const truncated = agent.keyPem.replace(`${keyBody}\n`, '');
    const paths = await files({ ca: ca.certPem, cert: agent.certPem, key: truncated }, 'corrupt');
    await assertFails(paths, paths.keyPath, /the private key block cannot be parsed/);
  });

  test('refuses an encrypted key', async () => {
    const encrypted = createPrivateKey(agent.keyPem).export({ type: 'pkcs8', format: 'pem', cipher: 'aes-256-cbc', passphrase: 'pw' }).toString();
    const paths = await files({ ca: ca.certPem, cert: agent.certPem, key: encrypted }, 'encrypted');
    await assertFails(paths, paths.keyPath, /is encrypted/);
  });

  test("refuses a key that is not the certificate's", async () => {
    const other = await issueCertificate(ca, { commonName: 'agent-b', ipAddresses: ['127.0.0.3'], usages: 'server', validDays: 7 });
    const paths = await files({ ca: ca.certPem, cert: agent.certPem, key: other.keyPem }, 'mismatch');
    await assertFails(paths, paths.keyPath, /is not the private key of the certificate in .*mismatch\.crt \(CN=agent-a\)/);
  });

  test('refuses a certificate that another CA signed', async () => {
    const foreign = await issueCertificate(otherCa, { commonName: 'agent-a', ipAddresses: ['127.0.0.2'], usages: 'server', validDays: 7 });
    const paths = await files({ ca: ca.certPem, cert: foreign.certPem, key: foreign.keyPem }, 'foreign');
    await assertFails(paths, paths.certPath, /is not signed by the CA in/);
  });

  test('refuses a CA file that holds a leaf certificate', async () => {
    const paths = await files({ ca: agent.certPem, cert: agent.certPem, key: agent.keyPem }, 'leafca');
    await assertFails(paths, paths.caPath, /CN=agent-a is not a CA certificate/);
  });

  test('accepts a CA bundle in which any CA signed the certificate', async () => {
    const paths = await files({ ca: otherCa.certPem + ca.certPem, cert: agent.certPem, key: agent.keyPem }, 'bundle');
    assert.equal((await loadTlsFiles(paths)).subject, 'CN=agent-a');
  });

  test('refuses an expired certificate, and one not valid yet', async () => {
    const paths = await files({ ca: ca.certPem, cert: agent.certPem, key: agent.keyPem }, 'dates');
    await assert.rejects(loadTlsFiles(paths, new Date(Date.now() + 8 * DAY_MS)), /expired on .*issue a new certificate/);
    await assert.rejects(loadTlsFiles(paths, new Date(Date.now() - DAY_MS)), /not valid before .*clock/);
  });
});
