import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { csiSanityArgs, sanityProblems, summarizeGinkgoReport } from './csiSanity.ts';
import type { SanityRunOptions } from './csiSanity.ts';

/** A spec report as ginkgo v2 writes it in --ginkgo.json-report (the fields read here). */
function spec(containers: string[], text: string, state: string, message?: string, type = 'It') {
  return { ContainerHierarchyTexts: containers, LeafNodeType: type, LeafNodeText: text, State: state, ...(message === undefined ? {} : { Failure: { Message: message } }) };
}
function report(specs: object[], opts: { willRun?: number; succeeded?: boolean } = {}) {
  const its = specs.filter((s) => (s as { LeafNodeType: string }).LeafNodeType === 'It');
  const willRun = opts.willRun ?? its.filter((s) => (s as { State: string }).State !== 'pending').length;
  return [{ SuiteDescription: 'CSI Driver Test Suite', SuiteConfig: { RandomSeed: 1796645573 }, SuiteSucceeded: opts.succeeded ?? true, PreRunStats: { TotalSpecs: its.length, SpecsThatWillRun: willRun }, SpecReports: specs }];
}

const node = ['Node Service'];
const controller = ['Controller Service [Controller Server]', 'CreateVolume'];

describe('csi-sanity report', () => {
  it('counts specs by state, names them by their containers, and keeps the first line of a message', () => {
    const summary = summarizeGinkgoReport(
      report([
        spec(controller, 'should work', 'passed'),
        spec(node, 'should fail when no volume id is provided', 'failed', 'Expected\n    <codes.Code>: 5\nto equal 3'),
        spec(['Controller Service [Controller Server]', 'ModifyVolume'], 'should modify', 'skipped', 'Modify volume not supported'),
        spec(['Controller Service [Controller Server]', 'ListVolumes pagination'], 'should detect volumes added', 'pending'),
        spec([], '', 'passed', undefined, 'BeforeSuite'),
      ]),
    );
    assert.deepEqual(summary.passed.map((s) => s.name), ['Controller Service [Controller Server] CreateVolume should work']);
    assert.deepEqual(summary.failed, [{ name: 'Node Service should fail when no volume id is provided', state: 'failed', message: 'Expected' }]);
    assert.deepEqual(summary.skipped, [{ name: 'Controller Service [Controller Server] ModifyVolume should modify', state: 'skipped', message: 'Modify volume not supported' }]);
    assert.equal(summary.pending.length, 1);
    assert.equal(summary.specsThatWillRun, 3);
    assert.equal(summary.randomSeed, 1796645573);
  });

  it('a suite node that failed (BeforeSuite, a report hook) is a failure; panics and timeouts are failures', () => {
    const summary = summarizeGinkgoReport(
      report([spec([], '', 'panicked', 'boom', 'BeforeSuite'), spec(node, 'a', 'timedout'), spec(node, 'b', 'interrupted'), spec(node, 'c', 'passed')], { succeeded: false }),
    );
    assert.deepEqual(summary.failed.map((s) => `${s.name} ${s.state}`), ['[BeforeSuite] panicked', 'Node Service a timedout', 'Node Service b interrupted']);
  });

  it('refuses what is not one ginkgo suite report', () => {
    assert.throws(() => summarizeGinkgoReport({}), /one suite/);
    assert.throws(() => summarizeGinkgoReport([]), /0 suites/);
    assert.throws(() => summarizeGinkgoReport([{ SpecReports: [] }]), /PreRunStats/);
  });
});

describe('csi-sanity verdict', () => {
  const expected = [{ spec: /ModifyVolume/, reason: 'no ModifyVolume' }];

  it('passes when every spec passed except the expected skips', () => {
    const summary = summarizeGinkgoReport(report([spec(controller, 'should work', 'passed'), spec(['ModifyVolume'], 'x', 'skipped', 'not supported')]));
    assert.deepEqual(sanityProblems(summary, expected), []);
  });

  it('names a failed spec, an unexpected skip and an expected skip that passed', () => {
    const summary = summarizeGinkgoReport(
      report([spec(controller, 'should work', 'failed', 'rpc error: code = Internal'), spec(node, 'NodeExpandVolume should work', 'skipped', 'NodeExpandVolume not supported'), spec(['ModifyVolume'], 'x', 'passed')], { succeeded: false }),
    );
    const problems = sanityProblems(summary, expected);
    assert.match(problems[0]!, /^failed \(failed\): Controller Service .* should work: rpc error: code = Internal$/);
    assert.match(problems[1]!, /^skipped, and not an expected skip: Node Service NodeExpandVolume should work \(NodeExpandVolume not supported\)$/);
    assert.match(problems[2]!, /expected to be skipped \(no ModifyVolume\) but passed: ModifyVolume x/);
    assert.match(problems[3]!, /1 specs passed, expected at least 3/);
  });

  it('fails a run that stopped early (fewer specs reported than ginkgo meant to run) or ran nothing', () => {
    assert.deepEqual(sanityProblems(summarizeGinkgoReport(report([spec(controller, 'should work', 'passed')], { willRun: 5 })), []), ['1 specs passed, expected at least 5 (5 to run, 0 skipped as expected)']);
    assert.deepEqual(sanityProblems(summarizeGinkgoReport(report([])), []), ['no spec passed']);
  });

  it('fails a suite ginkgo failed even when no spec did', () => {
    assert.deepEqual(sanityProblems(summarizeGinkgoReport(report([spec(controller, 'should work', 'passed')], { succeeded: false })), []), ['ginkgo reports the suite failed, though no spec did']);
  });
});

describe('csi-sanity command line', () => {
  const options: SanityRunOptions = {
    endpoint: 'unix:///tmp/w/csi.sock',
    accessType: 'block',
    mountDir: '/tmp/w/mount',
    stagingDir: '/tmp/w/staging',
    volumeSizeBytes: 32 * 1024 * 1024,
    expandSizeBytes: 64 * 1024 * 1024,
    jsonReportPath: '/tmp/w/report.json',
    suiteTimeoutS: 900,
  };

  it('passes every option as the flag csi-sanity v5.6.0 names it', () => {
    const args = csiSanityArgs(options);
    for (const flag of [
      '--csi.endpoint=unix:///tmp/w/csi.sock',
      '--csi.testvolumeaccesstype=block',
      '--csi.mountdir=/tmp/w/mount',
      '--csi.stagingdir=/tmp/w/staging',
      '--csi.testvolumesize=33554432',
      '--csi.testvolumeexpandsize=67108864',
      '--csi.testnodevolumeattachlimit',
      '--ginkgo.json-report=/tmp/w/report.json',
      '--ginkgo.timeout=900s',
    ]) {
      assert.ok(args.includes(flag), `${flag} in ${args.join(' ')}`);
    }
  });

  it('refuses sizes that are not whole positive bytes, an expansion that does not grow, another endpoint scheme', () => {
    assert.throws(() => csiSanityArgs({ ...options, volumeSizeBytes: 0 }), /volumeSizeBytes/);
    assert.throws(() => csiSanityArgs({ ...options, expandSizeBytes: 1.5 }), /expandSizeBytes/);
    assert.throws(() => csiSanityArgs({ ...options, expandSizeBytes: options.volumeSizeBytes }), /must exceed/);
    assert.throws(() => csiSanityArgs({ ...options, endpoint: 'tcp://127.0.0.1:1' }), /unix:\/\/\//);
    assert.throws(() => csiSanityArgs({ ...options, suiteTimeoutS: 0 }), /suiteTimeoutS/);
  });
});
