import assert from 'node:assert/strict';
import { X509Certificate } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import {
  type ControlPlanePorts,
  GUEST_API_SERVER,
  KUBERNETES_SERVICE_IP,
  SERVICE_CLUSTER_IP_RANGE,
  apiServerArgs,
  controlPlaneLayout,
  controllerManagerArgs,
  etcdArgs,
  kubeconfig,
  schedulerArgs,
  snapshotControllerArgs,
  tokenFile,
} from '../../e2e/cluster/controlPlaneArgs.ts';
import { secretsInLogs, writeControlPlaneCredentials } from '../../e2e/cluster/controlPlaneCredentials.ts';
import { readSnapshotCrds } from '../../e2e/cluster/snapshotCrds.ts';

const layout = controlPlaneLayout('/run/cp');
const ports: ControlPlanePorts = { etcd: 2379, etcdPeer: 2380, api: 6443, controllerManager: 10257, scheduler: 10259, snapshotController: 8080 };
const TOKEN = 'a'.repeat(48);

/** --name=value flags as a map; fails on a flag given twice (the later would silently win). */
function flags(args: readonly string[]): Map<string, string> {
  const map = new Map<string, string>();
  for (const arg of args) {
    const m = /^--([a-z-]+)=(.*)$/.exec(arg);
    assert.ok(m, `${arg} is not --name=value`);
    assert.ok(!map.has(m[1]!), `--${m[1]} twice`);
    map.set(m[1]!, m[2]!);
  }
  return map;
}

const all = { etcd: etcdArgs, apiserver: apiServerArgs, controllerManager: controllerManagerArgs, scheduler: schedulerArgs, snapshotController: snapshotControllerArgs };

describe('control plane arguments', () => {
  test('the first address of the Service range is 10.0.2.1, the guestfwd address of the guest API server URL', () => {
    const [net, bits] = SERVICE_CLUSTER_IP_RANGE.split('/');
    const octets = net!.split('.').map(Number);
    octets[3]! += 1;
    assert.equal(octets.join('.'), KUBERNETES_SERVICE_IP);
    assert.equal(Number(bits), 28);
    assert.equal(new URL(GUEST_API_SERVER).hostname, KUBERNETES_SERVICE_IP);
    assert.equal(new URL(GUEST_API_SERVER).port, '');
  });

  test('kube-apiserver: loopback, the Service range, Node+RBAC with NodeRestriction, tokens and client certificates of the CA', () => {
    const f = flags(apiServerArgs(layout, ports));
    assert.equal(f.get('bind-address'), '127.0.0.1');
    assert.equal(f.get('secure-port'), '6443');
    assert.equal(f.get('etcd-servers'), 'http://127.0.0.1:2379');
    assert.equal(f.get('service-cluster-ip-range'), '10.0.2.0/28');
    assert.equal(f.get('authorization-mode'), 'Node,RBAC');
    assert.equal(f.get('enable-admission-plugins'), 'NodeRestriction');
    assert.equal(f.get('endpoint-reconciler-type'), 'none');
    assert.equal(f.get('anonymous-auth'), 'false');
    assert.equal(f.get('allow-privileged'), 'true');
    assert.equal(f.get('token-auth-file'), '/run/cp/tokens.csv');
    assert.equal(f.get('client-ca-file'), layout.ca);
    assert.equal(f.get('service-account-signing-key-file'), layout.serviceAccountKey);
    assert.equal(f.get('service-account-key-file'), layout.serviceAccountPub);
  });

  test('kube-controller-manager: every default controller, per-controller service accounts, the root CA, no leader election', () => {
    const f = flags(controllerManagerArgs(layout, ports));
    assert.equal(f.get('controllers'), '*');
    assert.equal(f.get('use-service-account-credentials'), 'true');
    assert.equal(f.get('service-account-private-key-file'), layout.serviceAccountKey);
    assert.equal(f.get('root-ca-file'), layout.ca);
    assert.equal(f.get('leader-elect'), 'false');
    assert.equal(f.get('kubeconfig'), layout.controllerManagerKubeconfig);
    assert.equal(f.get('secure-port'), '10257');
    assert.equal(f.get('bind-address'), '127.0.0.1');
  });

  test('kube-scheduler and snapshot-controller: their kubeconfigs, no leader election, loopback', () => {
    const s = flags(schedulerArgs(layout, ports));
    assert.equal(s.get('leader-elect'), 'false');
    assert.equal(s.get('kubeconfig'), layout.schedulerKubeconfig);
    assert.equal(s.get('secure-port'), '10259');
    const c = flags(snapshotControllerArgs(layout, ports));
    assert.equal(c.get('leader-election'), 'false');
    assert.equal(c.get('http-endpoint'), '127.0.0.1:8080');
    assert.equal(c.get('kubeconfig'), layout.snapshotControllerKubeconfig);
  });

  test('every file a command names is in the directory, every listener is on loopback', () => {
    for (const [name, build] of Object.entries(all)) {
      for (const [flag, value] of flags(build(layout, ports))) {
        if (value.startsWith('/')) assert.ok(value.startsWith('/run/cp/'), `${name} --${flag}=${value}`);
        // The issuer is a name in the tokens, not an address anything listens on.
        if (/^https?:\/\//.test(value) && flag !== 'service-account-issuer') assert.equal(new URL(value).hostname, '127.0.0.1', `${name} --${flag}`);
      }
    }
  });

  test('bad ports and a relative directory are refused', () => {
    assert.throws(() => apiServerArgs(layout, { ...ports, api: 0 }), /api port 0/);
    assert.throws(() => etcdArgs(layout, { ...ports, etcdPeer: 70000 }), /etcdPeer port 70000/);
    assert.throws(() => controlPlaneLayout('cp'), /absolute/);
  });
});

describe('token file and kubeconfig', () => {
  test('one line per user: token, user, uid, quoted groups', () => {
    assert.equal(
      tokenFile([
        { token: TOKEN, user: 'system:node:vbs-e2e', groups: ['system:nodes'] },
        { token: 'b'.repeat(48), user: 'system:kube-scheduler', groups: [] },
      ]),
      `${TOKEN},system:node:vbs-e2e,system:node:vbs-e2e,"system:nodes"\n${'b'.repeat(48)},system:kube-scheduler,system:kube-scheduler,""\n`,
    );
  });

  test('a name or token that could break a line is refused', () => {
    assert.throws(() => tokenFile([{ token: TOKEN, user: 'a,b', groups: [] }]), /"a,b" is not a user or group name/);
    assert.throws(() => tokenFile([{ token: TOKEN, user: 'a', groups: ['x"\ny'] }]), /not a user or group name/);
    assert.throws(() => tokenFile([{ token: 'short', user: 'a', groups: [] }]), /the token of a is not/);
  });

  test('a kubeconfig names the server, embeds the CA and holds the token', () => {
    const parsed = JSON.parse(kubeconfig({ server: GUEST_API_SERVER, caPem: 'PEM', user: 'u', token: TOKEN }));
    assert.equal(parsed.clusters[0].cluster.server, 'https://10.0.2.1:443');
    assert.equal(Buffer.from(parsed.clusters[0].cluster['certificate-authority-data'], 'base64').toString(), 'PEM');
    assert.equal(parsed.users[0].user.token, TOKEN);
    assert.equal(parsed['current-context'], parsed.contexts[0].name);
    assert.throws(() => kubeconfig({ server: 'http://127.0.0.1:1', caPem: 'PEM', user: 'u', token: TOKEN }), /https to an IP address/);
    assert.throws(() => kubeconfig({ server: 'https://kubernetes:443', caPem: 'PEM', user: 'u', token: TOKEN }), /https to an IP address/);
  });
});

describe('control plane credentials', () => {
  test('keys, tokens and kubeconfigs are 0600; the serving certificate names 127.0.0.1, 10.0.2.1 and the Service names; the kubelet is a node; the log scan finds tokens and keys', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'cp-creds-'));
    try {
      const l = controlPlaneLayout(dir);
      const { adminToken } = await writeControlPlaneCredentials(l, 6443);
      for (const secret of [l.caKey, l.apiServerKey, l.serviceAccountKey, l.tokens, l.adminKubeconfig, l.guestAdminKubeconfig, l.kubeletKubeconfig, l.controllerManagerKubeconfig]) {
        assert.equal(statSync(secret).mode & 0o777, 0o600, secret);
      }
      const san = new X509Certificate(readFileSync(l.apiServerCert)).subjectAltName ?? '';
      for (const name of ['IP Address:127.0.0.1', 'IP Address:10.0.2.1', 'DNS:kubernetes', 'DNS:kubernetes.default', 'DNS:kubernetes.default.svc', 'DNS:kubernetes.default.svc.cluster.local']) {
        assert.ok(san.split(', ').includes(name), `${name} in ${san}`);
      }
      const kubelet = JSON.parse(readFileSync(l.kubeletKubeconfig, 'utf8'));
      assert.equal(kubelet.clusters[0].cluster.server, 'https://10.0.2.1:443');
      const line = readFileSync(l.tokens, 'utf8').split('\n').find((row) => row.startsWith(`${kubelet.users[0].user.token},`));
      assert.match(line ?? '', /,system:node:vbs-e2e,system:node:vbs-e2e,"system:nodes"$/);
      assert.equal(JSON.parse(readFileSync(l.adminKubeconfig, 'utf8')).clusters[0].cluster.server, 'https://127.0.0.1:6443');
      assert.equal(JSON.parse(readFileSync(l.guestAdminKubeconfig, 'utf8')).users[0].user.token, adminToken);
      assert.notEqual(kubelet.users[0].user.token, adminToken);

      // The log scan: clean logs pass; a token or a line of a key's body in a log is named.
      writeFileSync(join(dir, 'etcd.log'), 'started\n');
      writeFileSync(join(dir, 'kube-apiserver.log'), `--token-auth-file=${l.tokens}\n`);
      assert.deepEqual(secretsInLogs(dir), []);
      writeFileSync(join(dir, 'kube-scheduler.log'), `Authorization: Bearer ${kubelet.users[0].user.token}\n`);
      writeFileSync(join(dir, 'snapshot-controller.log'), `key: ${readFileSync(l.serviceAccountKey, 'utf8').split('\n')[1]}\n`);
      assert.deepEqual(secretsInLogs(dir).sort(), ['kube-scheduler.log', 'snapshot-controller.log']);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('snapshot CRDs', () => {
  test('reads the CRD files of the directory, not kustomization.yaml; refuses a directory without volumesnapshots', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'cp-crds-'));
    try {
      const crd = (name: string) => `apiVersion: apiextensions.k8s.io/v1\nkind: CustomResourceDefinition\nmetadata:\n  name: ${name}\n`;
      writeFileSync(join(dir, 'kustomization.yaml'), 'apiVersion: kustomize.config.k8s.io/v1beta1\nkind: Kustomization\n');
      writeFileSync(join(dir, 'a.yaml'), crd('volumesnapshotclasses.snapshot.storage.k8s.io'));
      await assert.rejects(readSnapshotCrds(dir), /holds no volumesnapshots/);
      writeFileSync(join(dir, 'b.yaml'), `---\n${crd('volumesnapshots.snapshot.storage.k8s.io')}`);
      assert.deepEqual(
        (await readSnapshotCrds(dir)).map((d) => d.metadata?.name),
        ['volumesnapshotclasses.snapshot.storage.k8s.io', 'volumesnapshots.snapshot.storage.k8s.io'],
      );
      await assert.rejects(readSnapshotCrds(join(dir, 'missing')), /npm run kube:build/);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
