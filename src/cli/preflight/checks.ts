import { parseNodeId } from '../../csi/nodeIds.ts';
import { parseInitiatorName } from '../../iscsi/initiatorName.ts';
import { filterAccepts, parseDevicesFile } from '../../lvm/index.ts';
import type { FilterRule } from '../../lvm/index.ts';
import { INITIATOR_NAME_FILE } from './facts.ts';
import type { HostDisk, PreflightFacts } from './facts.ts';

export type PreflightRole = 'node' | 'agent';
export type CheckStatus = 'ok' | 'warn' | 'fail' | 'unknown';

/** One finding: what was checked, how it stands, and what to do when it is not ok. */
export interface CheckResult {
  readonly check: string;
  readonly status: CheckStatus;
  readonly detail: string;
  readonly fix?: string;
}

export interface PreflightOptions {
  readonly roles: ReadonlySet<PreflightRole>;
  /** This host's Kubernetes node name (for the CSINode comparison). */
  readonly nodeName: string;
  readonly driverName: string;
}

/** Kernel modules each role needs (README "Install"; the roles' readiness checks look for the same). */
export const ROLE_MODULES: Readonly<Record<PreflightRole, readonly string[]>> = {
  node: ['iscsi_tcp', 'dm_mod'],
  agent: ['dm_thin_pool', 'target_core_mod', 'target_core_iblock', 'iscsi_target_mod'],
};

/**
 * Stand-ins for a disk the node plugin will log in and the device it stacks on it, for when
 * none is logged in now: what lvm's filters must reject. `/dev/sdzz` because a kernel name
 * cannot be known in advance: a filter that accepts every /dev/sd* accepts it.
 */
const EXAMPLE_DISKS: readonly HostDisk[] = [
  {
    device: '/dev/sdzz',
    names: ['/dev/sdzz', '/dev/disk/by-path/ip-192.0.2.1:3260-iscsi-iqn.2026-11.io.vbs-csi:example-lun-0', '/dev/disk/by-id/wwn-0x60014050000000000000000000000000', '/dev/disk/by-id/scsi-360014050000000000000000000000000'],
    vendor: 'LIO-ORG',
    holders: [],
  },
  { device: '/dev/dm-99', names: ['/dev/dm-99', '/dev/mapper/vbs-example', '/dev/disk/by-id/dm-name-vbs-example'], vendor: '', holders: [] },
];

/** Every check that applies to the roles asked for, in a fixed order. Pure. */
export function preflightChecks(facts: PreflightFacts, opts: PreflightOptions): CheckResult[] {
  const results: CheckResult[] = [];
  for (const role of ['node', 'agent'] as const) {
    if (!opts.roles.has(role)) continue;
    for (const module of ROLE_MODULES[role]) results.push(moduleCheck(facts, module, role));
  }
  if (opts.roles.has('node')) {
    results.push(iscsidCheck(facts));
    results.push(initiatorNameCheck(facts));
    if (facts.cluster !== undefined) results.push(initiatorUniqueCheck(facts, opts));
  }
  results.push(lvmFilterCheck(facts));
  if (opts.roles.has('agent')) results.push(scanLvsCheck(facts));
  if (opts.roles.has('node')) results.push(multipathCheck(facts));
  return results;
}

function moduleCheck(facts: PreflightFacts, module: string, role: PreflightRole): CheckResult {
  const check = `kernel module ${module}`;
  if (facts.modules.has(module)) return { check, status: 'ok', detail: 'loaded' };
  return {
    check,
    status: 'fail',
    detail: `not loaded (the ${role === 'node' ? 'node plugin' : 'storage agent'} needs it)`,
    fix: `modprobe ${module}; to load it at boot: echo ${module} >> /etc/modules-load.d/vbs-csi.conf`,
  };
}

function iscsidCheck(facts: PreflightFacts): CheckResult {
  const check = 'iscsid';
  if (facts.processes.has('iscsid')) return { check, status: 'ok', detail: 'running' };
  if (facts.iscsidSocket) return { check, status: 'ok', detail: 'not running, but its socket listens (started on first use)' };
  // Without the host's PID namespace only the container's processes are visible.
  if (!['systemd', 'init'].includes(facts.pid1)) {
    return { check, status: 'unknown', detail: `cannot see the host's processes (PID 1 is ${JSON.stringify(facts.pid1)})`, fix: 'run preflight on the host, or in a pod with hostPID and --host-root /proc/1/root' };
  }
  return { check, status: 'fail', detail: 'not running and its socket does not listen: logins to the storage nodes fail', fix: 'install open-iscsi, then systemctl enable --now iscsid.socket iscsid' };
}

function hostInitiatorName(facts: PreflightFacts): string | undefined {
  const raw = facts.initiatorNameFile === undefined ? undefined : parseInitiatorName(facts.initiatorNameFile);
  return raw === undefined ? undefined : parseNodeId(raw.toLowerCase());
}

function initiatorNameCheck(facts: PreflightFacts): CheckResult {
  const check = 'iSCSI initiator name';
  const regenerate = `echo "InitiatorName=$(iscsi-iname)" > ${INITIATOR_NAME_FILE}; systemctl restart iscsid; then restart the node plugin pod (the name is its CSI node id)`;
  if (facts.initiatorNameFile === undefined) return { check, status: 'fail', detail: `${INITIATOR_NAME_FILE} is missing`, fix: `install open-iscsi; ${regenerate}` };
  const raw = parseInitiatorName(facts.initiatorNameFile);
  if (raw === undefined) return { check, status: 'fail', detail: `${INITIATOR_NAME_FILE} has no InitiatorName= line`, fix: regenerate };
  if (hostInitiatorName(facts) === undefined) return { check, status: 'fail', detail: `${JSON.stringify(raw)} is not an iSCSI qualified name (iqn.YYYY-MM.domain[:suffix])`, fix: regenerate };
  return { check, status: 'ok', detail: raw.toLowerCase() };
}

function initiatorUniqueCheck(facts: PreflightFacts, opts: PreflightOptions): CheckResult {
  const check = 'initiator name unique in the cluster';
  const cluster = facts.cluster!;
  if ('error' in cluster) return { check, status: 'unknown', detail: `cannot list CSINodes: ${cluster.error}`, fix: 'give preflight a kubeconfig (KUBECONFIG) that may list csinodes.storage.k8s.io' };
  const mine = hostInitiatorName(facts);
  if (mine === undefined) return { check, status: 'unknown', detail: 'this host has no valid initiator name to compare' };
  const others = cluster.registrations.filter((r) => r.nodeId === mine && r.node !== opts.nodeName).map((r) => r.node).sort();
  if (others.length > 0) {
    return {
      check,
      status: 'fail',
      detail: `${mine} is also the node id of ${others.join(', ')}: LIO ACLs cannot tell these nodes apart, a volume published to one is open to the others`,
      fix: `on every node but one: echo "InitiatorName=$(iscsi-iname)" > ${INITIATOR_NAME_FILE}; systemctl restart iscsid; restart its node plugin pod (cloned images share one name)`,
    };
  }
  const own = cluster.registrations.find((r) => r.node === opts.nodeName);
  if (own !== undefined && own.nodeId !== mine) {
    return { check, status: 'warn', detail: `the CSINode of ${opts.nodeName} says ${own.nodeId} for ${opts.driverName}, the host's file says ${mine}`, fix: 'restart the node plugin pod on this node so it registers the current name (only while no volume is attached here)' };
  }
  const registered = own === undefined ? ` (${opts.nodeName} has not registered ${opts.driverName} yet)` : '';
  return { check, status: 'ok', detail: `no other of ${cluster.registrations.length} registered nodes uses ${mine}${registered}` };
}

function lvmFilterCheck(facts: PreflightFacts): CheckResult {
  const check = 'lvm keeps iSCSI disks out';
  const lvm = facts.lvm;
  if (lvm.kind === 'absent') return { check, status: 'ok', detail: 'lvm is not installed: nothing on this host scans the disks' };
  if (lvm.kind === 'error') return { check, status: 'unknown', detail: `cannot read lvm's configuration: ${lvm.message}` };
  const disks = [...facts.iscsiDisks, ...facts.vbsDmDevices];
  const subjects = disks.length > 0 ? disks : EXAMPLE_DISKS;
  const which = disks.length > 0 ? 'logged-in' : 'example';
  const fix =
    'allow-list the host\'s own PVs in /etc/lvm/lvm.conf, e.g. devices { global_filter = [ "a|^/dev/nvme0n1p3$|", "r|.*|" ] }, ' +
    'or use the devices file (lvmdevices --adddev each own PV; use_devicesfile = 1). A "reject iSCSI, accept the rest" filter does not work: ' +
    'lvm accepts a device when any of its names (/dev/sdX) is accepted. See docs/node-plugin.md';
  const { config } = lvm;
  if (config.useDevicesFile && lvm.devicesFileText !== undefined) {
    const entries = parseDevicesFile(lvm.devicesFileText);
    const ours = entries.filter((e) => /6001405/i.test(e.idName) || subjects.some((d) => d.names.includes(e.devName)));
    if (ours.length > 0) {
      return { check, status: 'fail', detail: `the devices file /etc/lvm/devices/${config.devicesFile} lists iSCSI (LIO) disks: ${ours.map((e) => e.devName || e.idName).join(', ')}`, fix: `lvmdevices --deldev ${ours[0]!.devName || ours[0]!.idName}` };
    }
    return { check, status: 'ok', detail: `the devices file /etc/lvm/devices/${config.devicesFile} limits lvm to ${entries.length} listed devices, none of them iSCSI` };
  }
  const scanned = subjects.filter((d) => filterAccepts(config.globalFilter, d.names) && filterAccepts(config.filter, d.names));
  if (scanned.length > 0) {
    const d = scanned[0]!;
    return {
      check,
      status: 'fail',
      detail: `lvm would scan the ${which} device ${d.names.find((n) => n.includes('-iscsi-') || n.includes('/vbs-')) ?? d.device} (global_filter ${show(config.globalFilter)}, filter ${show(config.filter)})`,
      fix,
    };
  }
  const onlyFilter = subjects.some((d) => filterAccepts(config.globalFilter, d.names));
  if (onlyFilter) {
    return { check, status: 'warn', detail: `only devices/filter rejects the ${which} devices; global_filter ${show(config.globalFilter)} accepts them`, fix: 'move the rules to devices/global_filter: with lvm 2.02, pvscan and lvmetad apply global_filter only' };
  }
  return { check, status: 'ok', detail: `global_filter ${show(config.globalFilter)} rejects the ${which} devices` };
}

/** On a storage node the volumes are LVs: a tenant's VG inside one must not come up on the host. */
function scanLvsCheck(facts: PreflightFacts): CheckResult {
  const check = 'lvm does not scan inside LVs';
  if (facts.lvm.kind !== 'config') return { check, status: facts.lvm.kind === 'absent' ? 'fail' : 'unknown', detail: facts.lvm.kind === 'absent' ? 'lvm is not installed: the storage agent needs lvm2' : `cannot read lvm's configuration: ${facts.lvm.message}`, ...(facts.lvm.kind === 'absent' ? { fix: 'apt-get install lvm2 (or your distribution\'s lvm2 package)' } : {}) };
  if (!facts.lvm.config.scanLvs) return { check, status: 'ok', detail: 'scan_lvs = 0' };
  return { check, status: 'fail', detail: 'scan_lvs = 1: a VG a tenant made inside a volume is found, and may be activated, on this storage node', fix: 'set devices { scan_lvs = 0 } in /etc/lvm/lvm.conf (the default since lvm 2.03)' };
}

function show(rules: readonly FilterRule[]): string {
  return rules.length === 0 ? '(none)' : `[${rules.map((r) => JSON.stringify(r.text)).join(', ')}]`;
}

function multipathCheck(facts: PreflightFacts): CheckResult {
  const check = 'multipathd leaves iSCSI disks alone';
  const claimed = facts.iscsiDisks.flatMap((d) => d.holders.filter((h) => h.dmUuid.startsWith('mpath-')).map((h) => ({ disk: d.device, map: h.dmName || h.device })));
  const blacklistFix = 'add to /etc/multipath.conf: blacklist { device { vendor "LIO-ORG" product ".*" } }; systemctl reload multipathd';
  if (claimed.length > 0) {
    const c = claimed[0]!;
    return { check, status: 'fail', detail: `multipath map ${c.map} holds ${c.disk}: the node plugin cannot use the disk (mkfs and mount fail with "device busy")`, fix: `${blacklistFix}; then multipath -f ${c.map}` };
  }
  if (!facts.processes.has('multipathd')) return { check, status: 'ok', detail: 'multipathd is not running' };
  if (blacklistsLio(facts.multipathConf ?? '')) return { check, status: 'ok', detail: 'multipathd runs and blacklists LIO-ORG devices' };
  return { check, status: 'warn', detail: 'multipathd runs and /etc/multipath.conf does not blacklist LIO-ORG devices: with find_multipaths greedy, no or a wwids entry it claims the disks the node plugin logs in', fix: blacklistFix };
}

/** A `device { vendor "LIO…" }` inside the `blacklist { }` section (not blacklist_exceptions). */
export function blacklistsLio(conf: string): boolean {
  const text = conf.replace(/#.*$/gm, '');
  const start = /(^|\s)blacklist\s*\{/.exec(text);
  if (!start) return false;
  let depth = 0;
  let end = text.length;
  for (let i = start.index + start[0].length - 1; i < text.length; i++) {
    if (text[i] === '{') depth++;
    else if (text[i] === '}' && --depth === 0) {
      end = i;
      break;
    }
  }
  return /vendor\s+"?\^?LIO/.test(text.slice(start.index, end));
}
