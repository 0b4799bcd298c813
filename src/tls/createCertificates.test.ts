import { describe, test, before } from 'node:test';
import assert from 'node:assert/strict';
import { X509Certificate, createPrivateKey } from 'node:crypto';
import { inspect } from 'node:util';
import { InvalidArgumentError } from '../errors.ts';
import { checkCertificateAuthority, createCertificateAuthority, issueCertificate } from './createCertificates.ts';
import type { PemPair } from './pemPair.ts';
import { identityOfSubjectAltName } from './identity.ts';
import { x509 } from './x509.ts';

const SERVER_AUTH = '1.3.6.1.5.5.7.3.1';
const CLIENT_AUTH = '1.3.6.1.5.5.7.3.2';
const DAY_MS = 86_400_000;
const MIN_MS = 60_000;

function extensions(pem: string) {
  const cert = new x509.X509Certificate(pem);
  return {
    basic: cert.getExtension(x509.BasicConstraintsExtension),
    keyUsage: cert.getExtension(x509.KeyUsagesExtension),
    ski: cert.getExtension(x509.SubjectKeyIdentifierExtension),
    aki: cert.getExtension(x509.AuthorityKeyIdentifierExtension),
  };
}

describe('createCertificateAuthority', () => {
  const now = new Date('2026-11-23T12:00:00Z');
  let ca: PemPair;
  before(async () => {
    ca = await createCertificateAuthority({ commonName: 'vbs-csi test CA', validDays: 30, now });
  });

  test('makes a self-signed CA certificate named by the common name', () => {
    const cert = new X509Certificate(ca.certPem);
    assert.equal(cert.subject, 'CN=vbs-csi test CA');
    assert.equal(cert.issuer, 'CN=vbs-csi test CA');
    assert.equal(cert.ca, true);
    assert.ok(cert.checkIssued(cert) && cert.verify(cert.publicKey));
  });

  test('marks it critical cA=true with pathLen 0 and keyCertSign + cRLSign only', () => {
    const { basic, keyUsage, ski } = extensions(ca.certPem);
    assert.deepEqual([basic?.ca, basic?.pathLength, basic?.critical], [true, 0, true]);
    assert.equal(keyUsage?.usages, x509.KeyUsageFlags.keyCertSign | x509.KeyUsageFlags.cRLSign);
    assert.equal(keyUsage?.critical, true);
    assert.ok(ski?.keyId);
  });

  test('uses an ECDSA P-256 key that belongs to the certificate', () => {
    const cert = new X509Certificate(ca.certPem);
    const key = createPrivateKey(ca.keyPem);
    assert.equal(key.asymmetricKeyType, 'ec');
    assert.equal(key.asymmetricKeyDetails?.namedCurve, 'prime256v1');
    assert.ok(cert.checkPrivateKey(key));
    assert.match(ca.keyPem, /^-----BEGIN PRIVATE KEY-----\n/);
  });

  test('starts 5 minutes before now (clock skew) and lasts the requested days', () => {
    const cert = new X509Certificate(ca.certPem);
    assert.equal(new Date(cert.validFrom).getTime(), now.getTime() - 5 * MIN_MS);
    assert.equal(new Date(cert.validTo).getTime(), now.getTime() + 30 * DAY_MS);
  });

  test('keeps the private key out of JSON and inspect output', () => {
    assert.doesNotMatch(JSON.stringify(ca), /PRIVATE KEY/);
    assert.doesNotMatch(inspect(ca, { depth: 5 }), /PRIVATE KEY/);
  });

  test('refuses an empty common name and a validity outside 1..36500 days', async () => {
    await assert.rejects(createCertificateAuthority({ commonName: '', validDays: 1 }), InvalidArgumentError);
    await assert.rejects(createCertificateAuthority({ commonName: 'ca', validDays: 0 }), /1 to 36500/);
    await assert.rejects(createCertificateAuthority({ commonName: 'ca', validDays: 1.5 }), /1 to 36500/);
  });
});

describe('issueCertificate', () => {
  let ca: PemPair;
  let agent: PemPair;
  before(async () => {
    ca = await createCertificateAuthority({ commonName: 'vbs-csi test CA', validDays: 30 });
    agent = await issueCertificate(ca, {
      commonName: 'agent-a',
      dnsNames: ['agent-a', 'agent-a.vbs-agent.vbs-system.svc'],
      ipAddresses: ['127.0.0.2', 'fd00::7'],
      usages: 'server',
      validDays: 7,
    });
  });

  test('is issued and signed by the CA, for the common name, and is not a CA', () => {
    const cert = new X509Certificate(agent.certPem);
    const caCert = new X509Certificate(ca.certPem);
    assert.equal(cert.subject, 'CN=agent-a');
    assert.equal(cert.issuer, caCert.subject);
    assert.ok(cert.checkIssued(caCert));
    assert.ok(cert.verify(caCert.publicKey));
    assert.equal(cert.ca, false);
    const { basic, keyUsage, ski, aki } = extensions(agent.certPem);
    assert.deepEqual([basic?.ca, basic?.critical], [false, true]);
    assert.deepEqual([keyUsage?.usages, keyUsage?.critical], [x509.KeyUsageFlags.digitalSignature, true]);
    assert.equal(aki?.keyId, extensions(ca.certPem).ski?.keyId);
    assert.notEqual(ski?.keyId, aki?.keyId);
  });

  test('lists every DNS name and IP address as subjectAltName', () => {
    assert.equal(
      new X509Certificate(agent.certPem).subjectAltName,
      'DNS:agent-a, DNS:agent-a.vbs-agent.vbs-system.svc, IP Address:127.0.0.2, IP Address:FD00:0:0:0:0:0:0:7',
    );
  });

  test('has its own P-256 key, not the CA key', () => {
    const cert = new X509Certificate(agent.certPem);
    assert.ok(cert.checkPrivateKey(createPrivateKey(agent.keyPem)));
    assert.ok(!cert.checkPrivateKey(createPrivateKey(ca.keyPem)));
    assert.equal(createPrivateKey(agent.keyPem).asymmetricKeyDetails?.namedCurve, 'prime256v1');
  });

  test('sets extKeyUsage from usages: serverAuth, clientAuth or both', async () => {
    const client = await issueCertificate(ca, { commonName: 'controller', usages: 'client', validDays: 1 });
    const both = await issueCertificate(ca, { commonName: 'all-in-one', ipAddresses: ['127.0.0.1'], usages: 'both', validDays: 1 });
    assert.deepEqual(new X509Certificate(agent.certPem).keyUsage, [SERVER_AUTH]);
    assert.deepEqual(new X509Certificate(client.certPem).keyUsage, [CLIENT_AUTH]);
    assert.deepEqual(new X509Certificate(both.certPem).keyUsage, [SERVER_AUTH, CLIENT_AUTH]);
    assert.equal(new X509Certificate(client.certPem).subjectAltName, undefined);
  });

  test('gives each certificate a different positive 128-bit serial number', async () => {
    const serials = new Set<string>();
    for (let i = 0; i < 5; i++) {
      const serial = new X509Certificate((await issueCertificate(ca, { commonName: 'c', usages: 'client', validDays: 1 })).certPem).serialNumber;
      assert.match(serial, /^[4-7][0-9A-F]{31}$/);
      serials.add(serial);
    }
    assert.equal(serials.size, 5);
  });

  test('can be made already expired by passing a past clock', async () => {
    const now = new Date(Date.now() - 10 * DAY_MS);
    const old = new X509Certificate((await issueCertificate(ca, { commonName: 'c', usages: 'client', validDays: 1, now })).certPem);
    assert.ok(new Date(old.validTo).getTime() < Date.now());
  });

  test('writes the identity as the one subjectAltName URI, after the host names, that identityOfSubjectAltName reads back', async () => {
    const server = await issueCertificate(ca, { commonName: 'agent-a', ipAddresses: ['127.0.0.2'], usages: 'server', identity: { kind: 'agent', storageNode: 'agent-a' }, validDays: 1 });
    const controller = await issueCertificate(ca, { commonName: 'controller', usages: 'client', identity: { kind: 'controller' }, validDays: 1 });
    const node = await issueCertificate(ca, { commonName: 'worker-1', usages: 'client', identity: { kind: 'node', initiatorIqn: 'iqn.2026-01.io.example:Worker-1' }, validDays: 1 });
    assert.equal(new X509Certificate(server.certPem).subjectAltName, 'IP Address:127.0.0.2, URI:urn:vbs-csi:agent:agent-a');
    assert.equal(new X509Certificate(controller.certPem).subjectAltName, 'URI:urn:vbs-csi:controller');
    assert.equal(new X509Certificate(node.certPem).subjectAltName, 'URI:urn:vbs-csi:node:iqn.2026-01.io.example:worker-1');
    assert.deepEqual(identityOfSubjectAltName(new X509Certificate(node.certPem).subjectAltName), { kind: 'node', initiatorIqn: 'iqn.2026-01.io.example:worker-1' });
  });

  test('refuses an identity whose role does not fit the usages, or that is malformed', async () => {
    await assert.rejects(
      issueCertificate(ca, { commonName: 'a', ipAddresses: ['127.0.0.1'], usages: 'both', identity: { kind: 'agent', storageNode: 'a' }, validDays: 1 }),
      /urn:vbs-csi:agent:a must have usages 'server' only/,
    );
    await assert.rejects(
      issueCertificate(ca, { commonName: 'c', ipAddresses: ['127.0.0.1'], usages: 'server', identity: { kind: 'controller' }, validDays: 1 }),
      /must have usages 'client' only/,
    );
    await assert.rejects(issueCertificate(ca, { commonName: 'n', usages: 'client', identity: { kind: 'node', initiatorIqn: 'worker-1' }, validDays: 1 }), /not an iSCSI initiator name/);
  });

  test('refuses a server certificate that names no DNS name or IP address', async () => {
    await assert.rejects(issueCertificate(ca, { commonName: 'agent-a', usages: 'server', validDays: 1 }), /names no DNS name or IP address/);
  });

  test('refuses malformed DNS names and IP addresses', async () => {
    for (const dnsNames of [['-agent'], ['a..b'], ['*.svc'], ['agent_a']]) {
      await assert.rejects(issueCertificate(ca, { commonName: 'a', dnsNames, usages: 'server', validDays: 1 }), /is not a host name/);
    }
    for (const ipAddresses of [['127.0.0'], ['10.0.0.256'], ['agent-a']]) {
      await assert.rejects(issueCertificate(ca, { commonName: 'a', ipAddresses, usages: 'server', validDays: 1 }), /not an IPv4 or IPv6/);
    }
  });

  test('refuses to outlive the CA', async () => {
    await assert.rejects(issueCertificate(ca, { commonName: 'c', usages: 'client', validDays: 31 }), /after its CA expires/);
  });

  test('refuses a CA whose key is not its own, or that is not a CA', async () => {
    const other = await createCertificateAuthority({ commonName: 'other', validDays: 30 });
    const mixed = { certPem: ca.certPem, keyPem: other.keyPem };
    await assert.rejects(issueCertificate(mixed, { commonName: 'c', usages: 'client', validDays: 1 }), /does not belong to the CA certificate/);
    await assert.rejects(checkCertificateAuthority(mixed), InvalidArgumentError);
    await assert.rejects(issueCertificate(agent, { commonName: 'c', usages: 'client', validDays: 1 }), /is not a CA/);
    await assert.rejects(checkCertificateAuthority({ certPem: 'garbage', keyPem: ca.keyPem }), /not a PEM X.509 certificate/);
    await assert.rejects(checkCertificateAuthority({ certPem: ca.certPem, keyPem: 'garbage' }), /not an unencrypted PEM private key/);
  });
});
