import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { kibToMiB, parseProcStatus } from '../../bench/memory/procStatus.ts';

/** /proc/<pid>/status of a Node 24 process (Linux 6.x), trimmed after the Vm lines. */
const NODE_STATUS = [
  'Name:\tMainThread',
  'Umask:\t0022',
  'State:\tS (sleeping)',
  'Tgid:\t29244',
  'Pid:\t29244',
  'VmPeak:\t 1241384 kB',
  'VmSize:\t 1176872 kB',
  'VmLck:\t       0 kB',
  'VmHWM:\t  294160 kB',
  'VmRSS:\t  135924 kB',
  'RssAnon:\t   69544 kB',
  'RssFile:\t   66380 kB',
  'Threads:\t11',
  '',
].join('\n');

describe('parseProcStatus', () => {
  test('reads VmRSS and VmHWM in KiB from a process status text', () => {
    assert.deepEqual(parseProcStatus(NODE_STATUS), { vmRssKiB: 135924, vmHwmKiB: 294160 });
  });
  test('does not mistake RssAnon or VmPeak for the figures it reads', () => {
    const reordered = NODE_STATUS.split('\n').reverse().join('\n');
    assert.deepEqual(parseProcStatus(reordered), { vmRssKiB: 135924, vmHwmKiB: 294160 });
  });
  test('a kernel thread (no Vm lines) or a figure not in kB is refused, naming the field', () => {
    assert.throws(() => parseProcStatus('Name:\tkworker/0:1\nState:\tI (idle)\n'), /no VmRSS in kB/);
    assert.throws(() => parseProcStatus(NODE_STATUS.replace('VmHWM:\t  294160 kB', 'VmHWM:\t  294160 MB')), /no VmHWM in kB \(got "294160 MB"\)/);
  });
  test('KiB become MiB', () => {
    assert.equal(kibToMiB(135168), 132);
  });
});
