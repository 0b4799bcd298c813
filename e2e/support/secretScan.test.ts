import assert from 'node:assert/strict';
import { generateKeyPairSync } from 'node:crypto';
import { inspect } from 'node:util';
import { describe, test } from 'node:test';
import { describeHit, formsOf, scanForSecrets } from './secretScan.ts';
import type { ScannedSecret } from './secretScan.ts';

const password = 'Zq3_8xY-a7Kf2LmN0pQr9sTu'; // a derived CHAP password: 24 base64url characters
const chapKey = Buffer.from('fbefff3d4a5b6c7d8e9fa0b1c2d3e4f5061728394a5b6c7d8e9f0a1b2c3d4e5f', 'hex');
const keyPem = generateKeyPairSync('ec', { namedCurve: 'P-256' }).privateKey.export({ format: 'pem', type: 'pkcs8' }).toString();
const secrets: ScannedSecret[] = [
  { kind: 'chap-secret', label: 'pvc-1 on worker-1', value: password },
  { kind: 'chap-key', label: 'cluster key', value: chapKey },
  { kind: 'tls-private-key', label: 'agent store-a', value: keyPem },
];
const clean = [
  '{"level":20,"msg":"exec","file":"iscsiadm","args":["-m","node","-o","update","-n","node.session.auth.password","-v","[REDACTED]"]}',
  '{"level":30,"msg":"NodeStageVolume","publish_context":{"chapUsername":"vbs-AbCdEf0123456789","chapPassword":"[REDACTED]"}}',
  '{"level":30,"msg":"loaded TLS files","cert":"/tmp/tls/store-a.crt","key":"/tmp/tls/store-a.key"}',
].join('\n');

/** The one hit a log of three lines with `leak` on its second line gives, as [line, kind, forms]. */
function hitsOf(leak: string | Buffer): [number, string, readonly string[]][] {
  const content = Buffer.concat([Buffer.from('first line\nsecond: '), typeof leak === 'string' ? Buffer.from(leak) : leak, Buffer.from('\nthird line\n')]);
  const report = scanForSecrets(secrets, [{ file: 'agent.log', content }]);
  return report.hits.map((h) => [h.line, h.kind, h.forms]);
}

function pemBodyLines(pem: string): string[] {
  return pem.split('\n').filter((l) => l !== '' && !l.startsWith('-----'));
}

describe('scanForSecrets', () => {
  test('passes a clean log that names secrets only as redacted values and file paths', () => {
    const report = scanForSecrets(secrets, [{ file: 'node.log', content: clean }]);
    assert.deepEqual(report.hits, []);
    assert.deepEqual(report.unscannable, []);
    assert.equal(report.secrets, 3);
    assert.equal(report.bytes, clean.length);
  });

  test('finds a CHAP password as it is, inside other text, with its file and line', () => {
    assert.deepEqual(hitsOf(`"args":["-v","${password}"]`), [[2, 'chap-secret', ['raw']]]);
  });

  test('finds a JSON-escaped secret and a secret base64-encoded as text', () => {
    const quoted: ScannedSecret = { kind: 'chap-secret', label: 'chosen', value: 'pa"ss\\word-12345' };
    const escaped = JSON.stringify({ password: quoted.value });
    assert.deepEqual(scanForSecrets([quoted], [{ file: 'x.log', content: escaped }]).hits.map((h) => h.forms), [['JSON-escaped']]);
    assert.deepEqual(hitsOf(Buffer.from(password).toString('base64')), [[2, 'chap-secret', ['base64 of the text']]]);
  });

  test('finds a binary key as raw bytes, hex in either case, base64 and base64url', () => {
    assert.deepEqual(hitsOf(chapKey), [[2, 'chap-key', ['raw bytes']]]);
    assert.deepEqual(hitsOf(chapKey.toString('hex')), [[2, 'chap-key', ['hex']]]);
    assert.deepEqual(hitsOf(chapKey.toString('hex').toUpperCase()), [[2, 'chap-key', ['HEX']]]);
    assert.deepEqual(hitsOf(`key=${chapKey.toString('base64')};`), [[2, 'chap-key', ['base64']]]);
    assert.deepEqual(hitsOf(chapKey.toString('base64url')), [[2, 'chap-key', ['base64url']]]);
  });

  test('finds a key buffer as JSON.stringify and util.inspect print it', () => {
    assert.deepEqual(hitsOf(JSON.stringify({ chapKey })), [[2, 'chap-key', ['JSON byte list']]]);
    assert.deepEqual(hitsOf(inspect(chapKey)), [[2, 'chap-key', ['inspected bytes']]]);
  });

  test('finds a PEM private key whole, by any one body line, and as its DER in base64', () => {
    const body = pemBodyLines(keyPem);
    assert.ok(body.length >= 3, 'a P-256 PKCS#8 key has three body lines');
    const whole = hitsOf(keyPem.replaceAll('\n', ' '));
    assert.deepEqual(whole.map(([line, kind]) => [line, kind]), [[2, 'tls-private-key']]);
    assert.ok(whole[0]![2].includes('PEM body line 1'));
    for (const [i, line] of body.entries()) {
      if (line.length < 12) continue;
      assert.deepEqual(hitsOf(`... ${line} ...`), [[2, 'tls-private-key', [`PEM body line ${i + 1}`]]]);
    }
    assert.deepEqual(hitsOf(body.join('')).map(([, , forms]) => forms.includes('DER as base64')), [true]);
    assert.deepEqual(hitsOf(Buffer.from(body.join(''), 'base64').toString('hex')), [[2, 'tls-private-key', ['DER as hex']]]);
  });

  test('finds a PEM key whose newlines a JSON log escaped', () => {
    const line = JSON.stringify({ msg: 'loaded', key: keyPem });
    const [hit] = scanForSecrets(secrets, [{ file: 'a.log', content: line }]).hits;
    assert.ok(hit?.forms.includes('JSON-escaped'), JSON.stringify(hit?.forms));
  });

  test('reports each leak once per line and secret, across files and lines, in order', () => {
    const report = scanForSecrets(secrets, [
      { file: 'a.log', content: `${clean}\n${password} and again ${password}\n` },
      { file: 'b.log', content: `x\ny\n${chapKey.toString('hex')}\n${password}` },
    ]);
    assert.deepEqual(
      report.hits.map((h) => `${h.file}:${h.line}:${h.kind}`),
      ['a.log:4:chap-secret', 'b.log:3:chap-key', 'b.log:4:chap-secret'],
    );
  });

  test('never prints the secret: a hit shows its first two characters and length', () => {
    const [hit] = scanForSecrets(secrets, [{ file: 'a.log', content: password }]).hits;
    const text = describeHit(hit!);
    assert.equal(text, 'a.log:1: chap-secret "pvc-1 on worker-1" (Zq… (24 chars)) as raw');
    assert.ok(!text.includes(password.slice(0, 3)));
  });

  test('reports a secret too short to look for instead of skipping it silently', () => {
    const report = scanForSecrets([{ kind: 'chap-secret', label: 'short', value: 'abc' }], [{ file: 'a.log', content: 'abc' }]);
    assert.deepEqual(report.unscannable, [{ kind: 'chap-secret', label: 'short', preview: 'ab… (3 chars)' }]);
  });

  test('looks for every form of a real secret: a 12-character CHAP password and a 32-byte key', () => {
    assert.deepEqual(formsOf('abcdefghijkl').map((f) => f.form), ['raw', 'base64 of the text']);
    assert.deepEqual(
      formsOf(chapKey).map((f) => f.form),
      ['raw bytes', 'hex', 'HEX', 'base64', 'base64url', 'JSON byte list', 'byte list', 'inspected bytes'],
    );
  });
});
