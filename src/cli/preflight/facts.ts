import type { CommandRunner } from '../../exec/index.ts';
import { CommandFailedError } from '../../exec/index.ts';
import type { CsiNodeRegistration } from '../../kube/listCsiNodeIds.ts';
import { readDeviceScanConfig } from '../../lvm/index.ts';
import type { DeviceScanConfig } from '../../lvm/index.ts';
import type { HostFiles } from './hostFiles.ts';

/** A block device the host sees, with every name lvm would match its filters against. */
export interface HostDisk {
  readonly device: string;
  readonly names: readonly string[];
  /** sysfs vendor (LIO exports say "LIO-ORG"). */
  readonly vendor: string;
  /** Device-mapper devices stacked on it: multipath maps have a uuid starting "mpath-". */
  readonly holders: readonly { readonly device: string; readonly dmName: string; readonly dmUuid: string }[];
}

export type LvmFacts =
  | { readonly kind: 'absent' }
  | { readonly kind: 'error'; readonly message: string }
  | { readonly kind: 'config'; readonly config: DeviceScanConfig; readonly devicesFileText: string | undefined };

/** What preflight knows about a host; the checks (checks.ts) are pure functions of it. */
export interface PreflightFacts {
  /** Loaded or built-in kernel modules (/proc/modules and /sys/module). */
  readonly modules: ReadonlySet<string>;
  /** Command names (comm) of the processes it can see, and PID 1's. */
  readonly processes: ReadonlySet<string>;
  readonly pid1: string;
  /** iscsid's abstract socket is listening (socket activation starts iscsid on first use). */
  readonly iscsidSocket: boolean;
  readonly initiatorNameFile: string | undefined;
  readonly lvm: LvmFacts;
  /** iSCSI disks logged in now (from /dev/disk/by-path/*-iscsi-*), and our /dev/mapper/vbs-* devices. */
  readonly iscsiDisks: readonly HostDisk[];
  readonly vbsDmDevices: readonly HostDisk[];
  readonly multipathConf: string | undefined;
  /** The driver's registrations in the cluster's CSINodes, when asked to look (--cluster). */
  readonly cluster: { readonly registrations: readonly CsiNodeRegistration[] } | { readonly error: string } | undefined;
}

export const INITIATOR_NAME_FILE = '/etc/iscsi/initiatorname.iscsi';
/** iscsid's listening socket (open-iscsi usr/iscsi_sysdeps / iscsid.socket ListenStream). */
const ISCSID_SOCKET = '@ISCSIADM_ABSTRACT_NAMESPACE';
const LINK_DIRS = ['/dev/disk/by-path', '/dev/disk/by-id', '/dev/disk/by-uuid', '/dev/disk/by-label', '/dev/disk/by-partuuid', '/dev/mapper'];

export interface GatherDeps {
  readonly files: HostFiles;
  readonly runner: CommandRunner;
  readonly lvmPath?: string;
  /** Lists the driver's CSINode registrations; absent when not asked to look at the cluster. */
  readonly listRegistrations?: () => Promise<CsiNodeRegistration[]>;
}

export async function gatherPreflightFacts(deps: GatherDeps): Promise<PreflightFacts> {
  const { files } = deps;
  const [moduleText, sysModules, procEntries, unixSockets, initiatorNameFile, multipathConf, lvm, links, cluster] = await Promise.all([
    files.readText('/proc/modules'),
    files.list('/sys/module'),
    files.list('/proc'),
    files.readText('/proc/net/unix'),
    files.readText(INITIATOR_NAME_FILE),
    files.readText('/etc/multipath.conf'),
    lvmFacts(deps),
    deviceLinks(files),
    deps.listRegistrations?.().then(
      (registrations) => ({ registrations }),
      (err: unknown) => ({ error: err instanceof Error ? err.message : String(err) }),
    ),
  ]);
  const modules = new Set([...(moduleText ?? '').split('\n').map((l) => l.split(' ')[0] ?? '').filter(Boolean), ...sysModules]);
  const pids = procEntries.filter((e) => /^\d+$/.test(e));
  const comms = await Promise.all(pids.map(async (pid) => [pid, (await files.readText(`/proc/${pid}/comm`))?.trim()] as const));
  const processes = new Set(comms.flatMap(([, c]) => (c ? [c] : [])));
  const pid1 = comms.find(([pid]) => pid === '1')?.[1] ?? '';

  const iscsiDevices = new Set([...links].filter(([name]) => /^\/dev\/disk\/by-path\/.*-iscsi-/.test(name)).map(([, dev]) => dev));
  const vbsDevices = new Set([...links].filter(([name]) => /^\/dev\/mapper\/vbs-/.test(name)).map(([, dev]) => dev));
  const describe = (dev: string) => describeDisk(files, dev, links);
  return {
    modules,
    processes,
    pid1,
    iscsidSocket: (unixSockets ?? '').split('\n').some((l) => l.trimEnd().endsWith(` ${ISCSID_SOCKET}`)),
    initiatorNameFile,
    lvm,
    iscsiDisks: await Promise.all([...iscsiDevices].sort().map(describe)),
    vbsDmDevices: await Promise.all([...vbsDevices].sort().map(describe)),
    multipathConf,
    cluster,
  };
}

async function lvmFacts(deps: GatherDeps): Promise<LvmFacts> {
  try {
    const config = await readDeviceScanConfig(deps.runner, deps.lvmPath === undefined ? {} : { lvmPath: deps.lvmPath });
    const devicesFileText = config.useDevicesFile ? await deps.files.readText(`/etc/lvm/devices/${config.devicesFile}`) : undefined;
    return { kind: 'config', config, devicesFileText };
  } catch (err: unknown) {
    if (err instanceof CommandFailedError && err.exitCode === undefined && /ENOENT/.test(err.message)) return { kind: 'absent' };
    return { kind: 'error', message: err instanceof Error ? err.message : String(err) };
  }
}

/** Every symlink in the udev link directories, name → the device it ends at. */
async function deviceLinks(files: HostFiles): Promise<Map<string, string>> {
  const links = new Map<string, string>();
  for (const dir of LINK_DIRS) {
    for (const entry of await files.list(dir)) {
      const name = `${dir}/${entry}`;
      const dev = await files.resolve(name);
      if (dev !== undefined) links.set(name, dev);
    }
  }
  return links;
}

async function describeDisk(files: HostFiles, device: string, links: ReadonlyMap<string, string>): Promise<HostDisk> {
  const names = [device, ...[...links].filter(([, dev]) => dev === device).map(([name]) => name)];
  const kernelName = device.replace(/^\/dev\//, '');
  const holders = await Promise.all(
    (await files.list(`/sys/block/${kernelName}/holders`)).map(async (h) => ({
      device: `/dev/${h}`,
      dmName: (await files.readText(`/sys/block/${h}/dm/name`))?.trim() ?? '',
      dmUuid: (await files.readText(`/sys/block/${h}/dm/uuid`))?.trim() ?? '',
    })),
  );
  return { device, names, vendor: (await files.readText(`/sys/block/${kernelName}/device/vendor`))?.trim() ?? '', holders };
}
