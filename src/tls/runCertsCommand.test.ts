import { afterEach, beforeEach, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { X509Certificate } from 'node:crypto';
import { mkdtemp, readdir, readFile, rename, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadTlsFiles } from './loadTlsFiles.ts';
import { runCertsCommand } from './runCertsCommand.ts';

describe('runCertsCommand', () => {
  let root: string;
  let dir: string;
  let printed = '';

  /** Runs the command; returns exit code and what it printed on each stream (also kept in `printed`). */
  async function run(...argv: string[]) {
    let stdout = '';
    let stderr = '';
    const code = await runCertsCommand(argv, { write: (t: string) => (stdout += t) }, { write: (t: string) => (stderr += t) });
    printed += stdout + stderr;
    return { code, stdout, stderr };
  }
  const read = (name: string) => readFile(join(dir, name), 'utf8');
  const cert = async (name: string) => new X509Certificate(await read(name));

  beforeEach(async () => {
    root = await mkdtemp(join(tmpdir(), 'vbs-certs-'));
    dir = join(root, 'certs');
    printed = '';
  });
  afterEach(async () => {
    // Whatever happened, no key material was printed.
    assert.doesNotMatch(printed, /-----BEGIN [A-Z ]*PRIVATE KEY-----/);
    for (const name of await readdir(dir).catch(() => [])) {
      if (!name.endsWith('.key')) continue;
      for (const line of (await read(name)).split('\n').filter((l) => l.length > 20)) assert.ok(!printed.includes(line), `${name} was printed`);
    }
    await rm(root, { recursive: true, force: true });
  });

  test('prints the usage on --help and exits 0', async () => {
    const { code, stdout, stderr } = await run('--help');
    assert.equal(code, 0);
    assert.match(stdout, /^Usage: vbs-csi certs --out DIR/);
    assert.match(stdout, /--agent SPEC/);
    assert.equal(stderr, '');
  });

  test('exits 2 with every usage error and the usage text, and writes nothing', async () => {
    for (const argv of [
      ['--agent', 'agent-a'],
      ['--out', dir, '--bogus'],
      ['--out', dir, '--agent', 'Agent_A'],
      ['--out', dir, '--agent', 'agent-a,ip=10.0.0'],
      ['--out', dir, '--agent', 'agent-a,port=1'],
      ['--out', dir, '--agent', 'ca'],
      ['--out', dir, '--agent', 'x', '--controller', 'x'],
      ['--out', dir, '--days', '0'],
      ['--out', dir, '--ca-days', 'ten'],
      ['--out', dir, 'positional'],
      ['--out', dir, '--client', 'controller'],
      ['--out', dir, '--controller', 'a', '--controller', 'b'],
      ['--out', dir, '--controller', 'controller,ip=10.0.0.1'],
      ['--out', dir, '--node', 'worker-1'],
      ['--out', dir, '--node', 'worker-1,iqn=worker-1'],
      ['--out', dir, '--node', 'worker-1,iqn=iqn.2026-01.a:b,iqn=iqn.2026-01.a:c'],
      ['--out', dir, '--agent', 'agent-a,iqn=iqn.2026-01.a:b'],
    ]) {
      const { code, stdout, stderr } = await run(...argv);
      assert.equal(code, 2, argv.join(' '));
      assert.equal(stdout, '');
      assert.match(stderr, /^vbs-csi certs: .+\n[\s\S]*Usage: vbs-csi certs/, argv.join(' '));
    }
    const { stderr } = await run('--agent', 'Agent_A', '--agent', 'b,ip=1.2.3.4.5', '--client', 'controller', '--node', 'w,iqn=nope');
    assert.match(stderr, /--out DIR is required/);
    assert.match(stderr, /--client is gone: .* use --controller NAME for the controller, --node NAME,iqn=IQN for a node plugin/);
    assert.match(stderr, /--node "w,iqn=nope": node identity "nope" is not an iSCSI initiator name/);
    assert.match(stderr, /"Agent_A"/);
    assert.match(stderr, /"1\.2\.3\.4\.5" is not an IPv4 or IPv6 address/);
    await assert.rejects(stat(dir), { code: 'ENOENT' });
  });

  test('makes a CA and the agent and client certificates, keys readable by the owner only', async () => {
    const { code, stdout } = await run('--out', dir, '--agent', 'agent-a,ip=127.0.0.2,dns=agent-a.vbs-agent.vbs-system.svc', '--controller', 'controller');
    assert.equal(code, 0);
    assert.deepEqual((await readdir(dir)).sort(), ['agent-a.crt', 'agent-a.key', 'ca.crt', 'ca.key', 'controller.crt', 'controller.key']);
    assert.equal((await stat(dir)).mode & 0o777, 0o700);
    for (const key of ['ca.key', 'agent-a.key', 'controller.key']) assert.equal((await stat(join(dir, key))).mode & 0o777, 0o600, key);
    for (const crt of ['ca.crt', 'agent-a.crt', 'controller.crt']) assert.equal((await stat(join(dir, crt))).mode & 0o022, 0, crt);

    const ca = await cert('ca.crt');
    const agent = await cert('agent-a.crt');
    const controller = await cert('controller.crt');
    assert.equal(ca.subject, 'CN=vbs-csi cluster CA');
    assert.ok(ca.ca);
    assert.ok(agent.checkIssued(ca) && agent.verify(ca.publicKey));
    assert.ok(controller.checkIssued(ca) && controller.verify(ca.publicKey));
    assert.equal(agent.subjectAltName, 'DNS:agent-a, DNS:agent-a.vbs-agent.vbs-system.svc, IP Address:127.0.0.2, URI:urn:vbs-csi:agent:agent-a');
    assert.equal(controller.subjectAltName, 'URI:urn:vbs-csi:controller');
    assert.deepEqual(agent.keyUsage, ['1.3.6.1.5.5.7.3.1']);
    assert.deepEqual(controller.keyUsage, ['1.3.6.1.5.5.7.3.2']);
    // The default validities: 825 days for leaves, 3650 for the CA.
    const days = (c: X509Certificate) => Math.round((new Date(c.validTo).getTime() - Date.now()) / 86_400_000);
    assert.equal(days(agent), 825);
    assert.equal(days(ca), 3650);
    assert.match(stdout, /wrote .*agent-a\.crt: agent CN=agent-a, DNS:agent-a/);

    // What loadTlsFiles, and so the agent and controller, will read.
    const loaded = await loadTlsFiles({ caPath: join(dir, 'ca.crt'), certPath: join(dir, 'agent-a.crt'), keyPath: join(dir, 'agent-a.key') });
    assert.equal(loaded.subject, 'CN=agent-a');
  });

  test('issues node plugin certificates naming their initiator, in lowercase as LIO compares it', async () => {
    const { code, stdout } = await run('--out', dir, '--node', 'worker-1,iqn=iqn.2004-10.com.ubuntu:01:Worker1', '--node', 'worker-2,iqn=iqn.2004-10.com.ubuntu:01:worker2');
    assert.equal(code, 0);
    assert.equal((await cert('worker-1.crt')).subjectAltName, 'URI:urn:vbs-csi:node:iqn.2004-10.com.ubuntu:01:worker1');
    assert.equal((await cert('worker-2.crt')).subjectAltName, 'URI:urn:vbs-csi:node:iqn.2004-10.com.ubuntu:01:worker2');
    assert.deepEqual((await cert('worker-1.crt')).keyUsage, ['1.3.6.1.5.5.7.3.2']);
    assert.match(stdout, /wrote .*worker-1\.crt: node CN=worker-1, URI:urn:vbs-csi:node:/);
  });

  test('honours --days, --ca-days and --ca-name for a new CA', async () => {
    assert.equal((await run('--out', dir, '--ca-days', '30', '--ca-name', 'dev CA', '--days', '7', '--controller', 'c')).code, 0);
    assert.equal((await cert('ca.crt')).subject, 'CN=dev CA');
    const days = (c: X509Certificate) => Math.round((new Date(c.validTo).getTime() - Date.now()) / 86_400_000);
    assert.equal(days(await cert('ca.crt')), 30);
    assert.equal(days(await cert('c.crt')), 7);
  });

  test('reuses the CA in the directory to add an agent later', async () => {
    await run('--out', dir, '--agent', 'agent-a,ip=127.0.0.2');
    const [caCrt, caKey] = [await read('ca.crt'), await read('ca.key')];
    const { code, stdout } = await run('--out', dir, '--agent', 'agent-b,ip=127.0.0.3', '--ca-days', '5');
    assert.equal(code, 0);
    assert.match(stdout, /using the existing CA .*ca\.crt \(CN=vbs-csi cluster CA.*--ca-days applies to new CAs only/);
    assert.equal(await read('ca.crt'), caCrt);
    assert.equal(await read('ca.key'), caKey);
    assert.ok((await cert('agent-b.crt')).checkIssued(new X509Certificate(caCrt)));
    assert.ok((await cert('agent-b.crt')).verify(new X509Certificate(caCrt).publicKey));
  });

  test('refuses to overwrite a certificate without --force, and replaces it with --force', async () => {
    await run('--out', dir, '--agent', 'agent-a,ip=127.0.0.2');
    const before = await read('agent-a.crt');
    const refused = await run('--out', dir, '--agent', 'agent-a,ip=127.0.0.9', '--controller', 'controller');
    assert.equal(refused.code, 1);
    assert.match(refused.stderr, /refusing to overwrite:\n.*agent-a\.crt exists; pass --force/);
    assert.equal(await read('agent-a.crt'), before);
    await assert.rejects(stat(join(dir, 'controller.crt')), { code: 'ENOENT' }, 'nothing is written when anything conflicts');

    const caCrt = await read('ca.crt');
    assert.equal((await run('--out', dir, '--agent', 'agent-a,ip=127.0.0.9', '--force')).code, 0);
    assert.equal((await cert('agent-a.crt')).subjectAltName, 'DNS:agent-a, IP Address:127.0.0.9, URI:urn:vbs-csi:agent:agent-a');
    assert.equal(await read('ca.crt'), caCrt, '--force alone never replaces the CA');
    assert.equal((await stat(join(dir, 'agent-a.key'))).mode & 0o777, 0o600);
    assert.deepEqual((await readdir(dir)).filter((n) => n.includes('.tmp-')), []);
  });

  test('refuses to replace an existing CA unless --new-ca comes with --force', async () => {
    await run('--out', dir, '--controller', 'controller');
    const caCrt = await read('ca.crt');
    const refused = await run('--out', dir, '--new-ca');
    assert.equal(refused.code, 1);
    assert.match(refused.stderr, /ca\.crt exists; pass --force with --new-ca to replace the CA/);
    assert.equal(await read('ca.crt'), caCrt);

    assert.equal((await run('--out', dir, '--new-ca', '--force', '--controller', 'controller')).code, 0);
    const newCa = await cert('ca.crt');
    assert.notEqual(newCa.fingerprint256, new X509Certificate(caCrt).fingerprint256);
    assert.ok((await cert('controller.crt')).verify(newCa.publicKey));
  });

  test('refuses a directory holding only half a CA', async () => {
    await run('--out', dir, '--controller', 'controller');
    await rm(join(dir, 'ca.key'));
    const { code, stderr } = await run('--out', dir, '--controller', 'other');
    assert.equal(code, 1);
    assert.match(stderr, /ca\.key is missing next to .*ca\.crt/);
  });

  test('refuses a CA whose key does not match, without printing either', async () => {
    await run('--out', dir, '--controller', 'controller');
    const other = join(root, 'other');
    await run('--out', other, '--controller', 'x');
    await rename(join(other, 'ca.key'), join(dir, 'ca.key'));
    const { code, stderr } = await run('--out', dir, '--controller', 'another');
    assert.equal(code, 1);
    assert.match(stderr, /cannot use the CA in .*: the CA key does not belong to the CA certificate/);
  });

  test('fails with exit 1, writing nothing (not even a new CA), when a certificate would outlive the CA', async () => {
    const tooLong = await run('--out', dir, '--ca-days', '10', '--controller', 'controller');
    assert.equal(tooLong.code, 1);
    assert.match(tooLong.stderr, /"controller" would be valid until .* after its CA expires .*ask for fewer days/);
    assert.deepEqual(await readdir(dir), []);

    assert.equal((await run('--out', dir, '--ca-days', '10', '--days', '5', '--controller', 'controller')).code, 0);
    const { code, stderr } = await run('--out', dir, '--controller', 'late', '--days', '11');
    assert.equal(code, 1);
    assert.match(stderr, /"late" would be valid until .* after its CA expires/);
    await assert.rejects(stat(join(dir, 'late.crt')), { code: 'ENOENT' });
  });
});
