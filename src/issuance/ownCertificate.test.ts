import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { pino } from 'pino';
import { createCertificateAuthority, loadTlsFiles } from '../tls/index.ts';
import { OwnCertificate } from './ownCertificate.ts';

describe('OwnCertificate: the controller issues its own client certificate from the CA it signs with', () => {
  let dir: string;
  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'vbs-own-'));
  });
  after(async () => rm(dir, { recursive: true, force: true }));

  it('writes urn:vbs-csi:controller files, keeps them until due or until the CA changes', async () => {
    const caDir = join(dir, 'ca');
    const putCa = async () => {
      const ca = await createCertificateAuthority({ commonName: 'ca', validDays: 10 });
      await rm(caDir, { recursive: true, force: true });
      await import('node:fs/promises').then((fs) => fs.mkdir(caDir, { recursive: true }));
      await writeFile(join(caDir, 'tls.crt'), ca.certPem);
      await writeFile(join(caDir, 'tls.key'), ca.keyPem);
      return ca;
    };
    const ca1 = await putCa();
    const paths = { caPath: join(dir, 'out', 'ca.crt'), certPath: join(dir, 'out', 'tls.crt'), keyPath: join(dir, 'out', 'tls.key') };
    const own = new OwnCertificate({ caDir, paths, validSeconds: 3 * 86_400, log: pino({ level: 'silent' }) });
    const now = new Date();
    assert.equal(await own.renewIfDue(now), true);
    const first = await loadTlsFiles(paths);
    assert.match(first.subjectAltName, /^URI:urn:vbs-csi:controller$/);
    assert.equal(first.caPem, ca1.certPem);
    assert.equal(await own.renewIfDue(new Date(now.getTime() + 86_400_000)), false, 'one day into three: not due');
    assert.equal(await own.renewIfDue(new Date(now.getTime() + 2.1 * 86_400_000)), true, 'two thirds in: renewed');
    const ca2 = await putCa();
    assert.equal(await own.renewIfDue(new Date(now.getTime() + 2.2 * 86_400_000)), true, 'a new CA: re-issued from it at once');
    assert.equal((await loadTlsFiles(paths, new Date(now.getTime() + 2.2 * 86_400_000))).caPem, ca2.certPem);
  });
});
