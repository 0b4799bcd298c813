import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { find, type K8sObject, render, yamlFilesIn } from './support.ts';

/**
 * What the schemas cannot say: the VM example meets KubeVirt's conditions for live migration
 * (docs/kubevirt.md), and the golden image does not wait for a consumer. Schema validity is
 * crdSchemas.test.ts's job.
 */
const examples = [...yamlFilesIn('examples').values()].flat();
const storageClass = find(render([]), 'StorageClass', 'vbs-thin');

interface Claim {
  storageClassName?: string;
  volumeMode?: string;
  accessModes?: string[];
}
interface Vm {
  spec: {
    dataVolumeTemplates?: { metadata: { name: string; annotations?: Record<string, string> }; spec: { storage?: Claim; pvc?: Claim } }[];
    template: {
      spec: {
        evictionStrategy?: string;
        domain: {
          cpu?: { model?: string };
          devices: { disks: { name: string; cache?: string }[]; interfaces?: ({ name: string; masquerade?: object; bridge?: object; ports?: { port: number }[] })[] };
        };
        networks?: { name: string; pod?: object }[];
        volumes: { name: string; dataVolume?: { name: string }; persistentVolumeClaim?: { claimName: string } }[];
      };
    };
  };
}

describe('examples/kubevirt-vm-block.yaml is live-migratable', () => {
  const vm = find(examples, 'VirtualMachine', 'vm1') as unknown as K8sObject & Vm;
  const vmi = vm.spec.template.spec;

  it('every disk is a Block ReadWriteMany volume of the chart StorageClass, or cloud-init', () => {
    const claims = new Map<string, Claim>();
    for (const t of vm.spec.dataVolumeTemplates ?? []) claims.set(`dv:${t.metadata.name}`, t.spec.storage ?? t.spec.pvc ?? {});
    for (const o of examples.filter((x) => x.kind === 'PersistentVolumeClaim')) claims.set(`pvc:${o.metadata.name}`, o['spec'] as Claim);
    const volumes = new Map(vmi.volumes.map((v) => [v.name, v]));
    let shared = 0;
    for (const disk of vmi.domain.devices.disks) {
      const volume = volumes.get(disk.name);
      assert.ok(volume, `disk ${disk.name} has a volume`);
      const ref = volume.dataVolume ? `dv:${volume.dataVolume.name}` : volume.persistentVolumeClaim ? `pvc:${volume.persistentVolumeClaim.claimName}` : undefined;
      if (ref === undefined) {
        assert.ok('cloudInitNoCloud' in volume, `disk ${disk.name}: a PVC, a DataVolume or cloud-init (KubeVirt copies it with the VM)`);
        continue;
      }
      const claim = claims.get(ref);
      assert.ok(claim, `${ref} is defined in examples/ or the VM's dataVolumeTemplates`);
      assert.equal(claim.storageClassName, storageClass.metadata.name, ref);
      assert.equal(claim.volumeMode, 'Block', ref);
      assert.deepEqual(claim.accessModes, ['ReadWriteMany'], ref);
      assert.equal(disk.cache, 'none', `disk ${disk.name}: O_DIRECT, as libvirt wants for migrating a shared disk`);
      shared++;
    }
    assert.ok(vmi.volumes.some((v) => v.name === 'rootdisk' && v.dataVolume), 'the root disk comes from a dataVolumeTemplates entry');
    assert.equal(shared, 2);
  });

  it('the pod network uses masquerade, without the migration proxy ports; eviction migrates; no host-passthrough CPU', () => {
    const pod = vmi.networks?.find((n) => n.pod !== undefined);
    assert.ok(pod, 'a pod network');
    const iface = vmi.domain.devices.interfaces?.find((i) => i.name === pod.name);
    assert.ok(iface?.masquerade, 'masquerade binding on the pod network');
    assert.equal(iface.bridge, undefined);
    for (const p of iface.ports ?? []) assert.ok(![49152, 49153].includes(p.port), `port ${p.port} is KubeVirt's migration proxy`);
    assert.equal(vmi.evictionStrategy, 'LiveMigrate');
    assert.notEqual(vmi.domain.cpu?.model, 'host-passthrough');
  });

  it('the migration example names this VM', () => {
    assert.equal((find(examples, 'VirtualMachineInstanceMigration', 'vm1-migration')['spec'] as { vmiName: string }).vmiName, 'vm1');
  });
});

describe('examples/cdi-datavolume.yaml', () => {
  it('the golden image binds at once under WaitForFirstConsumer; the clone, used by a VM, waits for it', () => {
    assert.equal(storageClass['volumeBindingMode'], 'WaitForFirstConsumer');
    const golden = find(examples, 'DataVolume', 'ubuntu-golden');
    assert.equal(golden.metadata['annotations'] && (golden.metadata['annotations'] as Record<string, string>)['cdi.kubevirt.io/storage.bind.immediate.requested'], 'true');
    const clone = find(examples, 'DataVolume', 'vm2-root') as K8sObject & { spec: { source: { pvc: { name: string } }; storage: { storageClassName: string } } };
    assert.equal(clone.spec.source.pvc.name, 'ubuntu-golden');
    assert.equal(clone.spec.storage.storageClassName, (golden['spec'] as { storage: { storageClassName: string } }).storage.storageClassName, 'same StorageClass, or CDI copies instead of a CSI clone');
  });
});
