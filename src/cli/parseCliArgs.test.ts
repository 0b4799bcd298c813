import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { parseCliArgs } from './parseCliArgs.ts';
import type { CliCommand } from './parseCliArgs.ts';

const GiB = 2 ** 30;
const TLS = ['--tls-ca', '/c/ca.crt', '--client-tls-cert', '/c/ctl.crt', '--client-tls-key', '/c/ctl.key'];

function run(argv: string[], env: Record<string, string> = {}) {
  const parsed = parseCliArgs(argv, env);
  if (parsed.kind !== 'run') assert.fail(`expected a command, got ${JSON.stringify(parsed)}`);
  return parsed;
}

describe('parseCliArgs: commands', () => {
  const cases: [string, string[], CliCommand][] = [
    ['volume create with defaults (ext4, rwo)', ['volume', 'create', 'pvc-1', '--size', '1Gi'], {
      name: 'volume create', volumeName: 'pvc-1', sizeBytes: GiB, volume: { kind: 'mount', fsType: 'ext4' }, access: 'rwo', parameters: {}, source: undefined,
    }],
    ['volume create block rwx from a snapshot with parameters', ['volume', 'create', 'vm-disk', '--size', '10G', '--block', '--access', 'rwx-block', '--param', 'tier=ssd', '--param', 'nodeLabels=zone=a', '--from-snapshot', 's/vbs-snap-1'], {
      name: 'volume create', volumeName: 'vm-disk', sizeBytes: 10e9, volume: { kind: 'block' }, access: 'rwx-block', parameters: { tier: 'ssd', nodeLabels: 'zone=a' }, source: { kind: 'snapshot', id: 's/vbs-snap-1' },
    }],
    ['volume create xfs clone', ['volume', 'create', 'c', '--size', '512Mi', '--fs', 'xfs', '--from-volume', 'a/vbs-vol-1'], {
      name: 'volume create', volumeName: 'c', sizeBytes: 512 * 2 ** 20, volume: { kind: 'mount', fsType: 'xfs' }, access: 'rwo', parameters: {}, source: { kind: 'volume', id: 'a/vbs-vol-1' },
    }],
    ['volume list', ['volume', 'list'], { name: 'volume list' }],
    ['volume describe', ['volume', 'describe', 'a/vbs-vol-1'], { name: 'volume describe', volumeId: 'a/vbs-vol-1' }],
    ['volume expand with the stage records default', ['volume', 'expand', 'a/v', '--size', '2Gi'], {
      name: 'volume expand', volumeId: 'a/v', sizeBytes: 2 * GiB, stagingPath: undefined, nodeStateDir: '/var/lib/vbs-csi/node',
    }],
    ['volume expand at a staging path', ['volume', 'expand', 'a/v', '--size', '2Gi', '--staging-path', '/s/x'], {
      name: 'volume expand', volumeId: 'a/v', sizeBytes: 2 * GiB, stagingPath: '/s/x', nodeStateDir: '/var/lib/vbs-csi/node',
    }],
    ['volume delete', ['volume', 'delete', 'a/v'], { name: 'volume delete', volumeId: 'a/v' }],
    ['snapshot create', ['snapshot', 'create', 'snap-1', '--volume', 'a/v'], { name: 'snapshot create', snapshotName: 'snap-1', volumeId: 'a/v' }],
    ['snapshot list of all', ['snapshot', 'list'], { name: 'snapshot list', volumeId: undefined }],
    ['snapshot list of a volume', ['snapshot', 'list', '--volume', 'a/v'], { name: 'snapshot list', volumeId: 'a/v' }],
    ['snapshot delete', ['snapshot', 'delete', 'a/s'], { name: 'snapshot delete', snapshotId: 'a/s' }],
    ['attach with defaults', ['attach', 'a/v', '--target', '/mnt/v'], {
      name: 'attach', volumeId: 'a/v', volume: { kind: 'mount', fsType: 'ext4' }, access: 'rwo', targetPath: '/mnt/v', workDir: '/var/lib/vbs-csi/cli',
    }],
    ['attach block read-only with a work dir', ['attach', 'a/v', '--block', '--access', 'rox', '--target', '/dev/vbs/v', '--work-dir', '/w'], {
      name: 'attach', volumeId: 'a/v', volume: { kind: 'block' }, access: 'rox', targetPath: '/dev/vbs/v', workDir: '/w',
    }],
    ['detach', ['detach', 'a/v', '--target', '/mnt/v'], { name: 'detach', volumeId: 'a/v', targetPath: '/mnt/v', workDir: '/var/lib/vbs-csi/cli' }],
    ['nodes', ['nodes', '--agents', '10.0.0.1:9500, agent-b.svc:9500', ...TLS], {
      name: 'nodes', agents: ['10.0.0.1:9500', 'agent-b.svc:9500'], agentServerName: undefined, tls: { caPath: '/c/ca.crt', certPath: '/c/ctl.crt', keyPath: '/c/ctl.key' },
    }],
  ];
  for (const [what, argv, command] of cases) {
    it(`reads ${what}`, () => assert.deepEqual(run(argv).command, command));
  }
});

describe('parseCliArgs: globals and environment', () => {
  it('dials unix:///csi/csi.sock with tables and a 120 s deadline by default', () => {
    assert.deepEqual(run(['volume', 'list']).globals, { address: 'unix:///csi/csi.sock', json: false, timeoutMs: 120_000 });
  });
  it('takes CSI_ENDPOINT, and --endpoint over it', () => {
    assert.equal(run(['volume', 'list'], { CSI_ENDPOINT: 'unix:///run/x.sock' }).globals.address, 'unix:///run/x.sock');
    assert.equal(run(['volume', 'list', '--endpoint', 'tcp://127.0.0.1:10000'], { CSI_ENDPOINT: 'unix:///run/x.sock' }).globals.address, '127.0.0.1:10000');
    assert.equal(run(['volume', 'list', '--json', '--timeout-seconds', '5']).globals.timeoutMs, 5000);
    assert.equal(run(['volume', 'list'], { CSI_ENDPOINT: '' }).globals.address, 'unix:///csi/csi.sock');
  });
  it('tells `nodes remove NAME` from `nodes` with an argument', () => {
    assert.deepEqual(run(['nodes', 'remove', 'store-b', '--confirm-node-is-gone', '--removed-storage-nodes', 'configmap:vbs/removed']).command, {
      name: 'nodes remove', node: 'store-b', note: '', record: { kind: 'configmap', namespace: 'vbs', name: 'removed' },
    });
    assert.deepEqual(run(['nodes', 'removed'], { VBS_REMOVED_STORAGE_NODES: 'file:/var/lib/vbs/removed.json' }).command, { name: 'nodes removed', record: { kind: 'file', path: '/var/lib/vbs/removed.json' } });
  });

  it('reads the agents and TLS files of nodes from the controller environment variables', () => {
    const env = { VBS_AGENTS: 'a:1', VBS_TLS_CA: '/e/ca', VBS_CLIENT_TLS_CERT: '/e/c', VBS_CLIENT_TLS_KEY: '/e/k', VBS_AGENT_SERVER_NAME: 'agents.svc' };
    assert.deepEqual(run(['nodes'], env).command, { name: 'nodes', agents: ['a:1'], agentServerName: 'agents.svc', tls: { caPath: '/e/ca', certPath: '/e/c', keyPath: '/e/k' } });
  });
  it('takes the work dir and node state dir from VBS_CLI_WORK_DIR and VBS_NODE_STATE_DIR', () => {
    assert.equal((run(['detach', 'a/v', '--target', '/t'], { VBS_CLI_WORK_DIR: '/w' }).command as { workDir: string }).workDir, '/w');
    assert.equal((run(['volume', 'expand', 'a/v', '--size', '1Gi'], { VBS_NODE_STATE_DIR: '/n' }).command as { nodeStateDir: string }).nodeStateDir, '/n');
  });
});

describe('parseCliArgs: help and usage errors', () => {
  it('answers help for no arguments, help, --help and a command --help', () => {
    for (const argv of [[], ['help'], ['--help'], ['volume', 'create', '--help']]) assert.equal(parseCliArgs(argv, {}).kind, 'help');
  });
  const bad: [string, string[], RegExp][] = [
    ['an unknown command', ['volumes', 'list'], /unknown command "volumes"/],
    ['a group without its verb', ['volume'], /volume needs one of: create, list, describe, expand, delete/],
    ['an unknown flag', ['volume', 'list', '--colour'], /Unknown option '--colour'/],
    ['create without a size', ['volume', 'create', 'x'], /--size is required/],
    ['a bad size', ['volume', 'create', 'x', '--size', '1Gb'], /--size "1Gb" is not a size/],
    ['create without a name', ['volume', 'create', '--size', '1Gi'], /needs NAME/],
    ['two names', ['volume', 'describe', 'a/v', 'b/v'], /and nothing more/],
    ['arguments to list', ['volume', 'list', 'x'], /takes no arguments/],
    ['--fs with --block', ['volume', 'create', 'x', '--size', '1Gi', '--fs', 'xfs', '--block'], /exclusive/],
    ['an unknown filesystem', ['attach', 'a/v', '--fs', 'btrfs', '--target', '/t'], /expected ext4 or xfs/],
    ['rwx on a filesystem', ['volume', 'create', 'x', '--size', '1Gi', '--access', 'rwx-block'], /needs --block/],
    ['an unknown access', ['volume', 'create', 'x', '--size', '1Gi', '--access', 'rwx'], /expected rwo, rwx-block or rox/],
    ['two sources', ['volume', 'create', 'x', '--size', '1Gi', '--from-volume', 'a', '--from-snapshot', 'b'], /exclusive/],
    ['a parameter without =', ['volume', 'create', 'x', '--size', '1Gi', '--param', 'tier'], /not KEY=VALUE/],
    ['attach without a target', ['attach', 'a/v'], /--target PATH is required/],
    ['a relative target', ['attach', 'a/v', '--target', 'mnt'], /absolute, normalised path/],
    ['a target with ..', ['detach', 'a/v', '--target', '/mnt/../etc'], /absolute, normalised path/],
    ['snapshot create without a volume', ['snapshot', 'create', 's'], /--volume ID is required/],
    ['nodes without agents', ['nodes', ...TLS], /--agents HOST:PORT/],
    ['nodes with a bad agent', ['nodes', '--agents', 'a', ...TLS], /"a" is not host:port/],
    ['nodes without TLS', ['nodes', '--agents', 'a:1'], /--tls-ca FILE is required/],
    ['a bad endpoint', ['volume', 'list', '--endpoint', 'http://x'], /--endpoint/],
    ['a bad deadline', ['volume', 'list', '--timeout-seconds', '0'], /expected 1 to 3600/],
  ];
  for (const [what, argv, message] of bad) {
    it(`refuses ${what}`, () => {
      const parsed = parseCliArgs(argv, {});
      assert.equal(parsed.kind, 'usage-error');
      assert.match(parsed.kind === 'usage-error' ? parsed.errors.join('\n') : '', message);
    });
  }
  it('reports every problem at once', () => {
    const parsed = parseCliArgs(['volume', 'create', '--fs', 'zfs', '--access', 'x'], {});
    assert.equal(parsed.kind === 'usage-error' ? parsed.errors.length : 0, 4);
  });
});
