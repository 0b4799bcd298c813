import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { pino } from 'pino';
import { UnavailableError } from '../errors.ts';
import { createCertificateAuthority, issueCertificate } from '../tls/index.ts';
import type { PemPair } from '../tls/index.ts';
import { NodeTls } from './nodeTls.ts';

const IQN = 'iqn.2026-12.io.example:worker-a';
const quiet = pino({ level: 'silent' });

describe('NodeTls: the node plugin reloads its certificate', () => {
  let dir: string;
  let ca: PemPair;
  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'vbs-node-tls-'));
    ca = await createCertificateAuthority({ commonName: 'ca', validDays: 10 });
  });
  after(async () => rm(dir, { recursive: true, force: true }));

  const write = async (sub: string) => {
    const leaf = await issueCertificate(ca, { commonName: 'n', usages: 'client', identity: { kind: 'node', initiatorIqn: IQN }, validDays: 1 });
    const paths = { caPath: join(dir, `${sub}-ca.crt`), certPath: join(dir, `${sub}-tls.crt`), keyPath: join(dir, `${sub}-tls.key`) };
    await writeFile(paths.caPath, ca.certPem);
    await writeFile(paths.keyPath, leaf.keyPem);
    await writeFile(paths.certPath, leaf.certPem);
    return { paths, leaf };
  };

  it('uses a renewed certificate from the next call on, without a restart', async () => {
    const { paths, leaf } = await write('r');
    const tls = await NodeTls.open(paths, IQN, quiet, 20);
    try {
      assert.equal((await tls.current()).certPem, leaf.certPem);
      const renewed = await write('r');
      await new Promise((r) => setTimeout(r, 150));
      assert.equal((await tls.current()).certPem, renewed.leaf.certPem);
    } finally {
      tls.stop();
    }
  });

  it('with in-cluster issuance starts without files, answers UNAVAILABLE until they are written, then uses them', async () => {
    const paths = { caPath: join(dir, 'l-ca.crt'), certPath: join(dir, 'l-tls.crt'), keyPath: join(dir, 'l-tls.key') };
    const tls = NodeTls.later(paths, IQN, quiet, 20);
    try {
      await assert.rejects(tls.currentOrUnavailable(), (err: Error) => err instanceof UnavailableError && /no usable certificate/.test(err.message));
      const { leaf } = await write('l');
      assert.equal((await tls.currentOrUnavailable()).certPem, leaf.certPem);
    } finally {
      tls.stop();
    }
  });

  it('refuses, at start, a certificate for another initiator', async () => {
    const { paths } = await write('o');
    await assert.rejects(NodeTls.open(paths, 'iqn.2026-12.io.example:worker-b', quiet), /not this node's identity/);
  });
});
